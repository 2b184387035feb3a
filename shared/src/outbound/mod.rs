//! Calling services outside the platform over HTTP (speech to text, the LLM, Genesys, model downloads):
//! one reading of a reply, the settings of an OpenAI-compatible API, and error text with its causes.

pub mod http_reply;
pub mod openai_api;

/// The error with its causes ("error sending request: connection refused"), which reqwest's own text omits.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_appended() {
        let e = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        assert_eq!(super::error_chain(&e), "error sending request: connection refused");
    }
}
