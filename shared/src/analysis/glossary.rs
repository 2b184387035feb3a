//! Glossary terms for transcription and analysis: a call's own terms, then the
//! glossary file's, else `GLOSSARY_TERMS`; at most 50, duplicates (any case) dropped.

use thiserror::Error;

pub const MAX_TERMS: usize = 50;
/// Longest term and largest glossary file accepted.
pub const MAX_TERM_CHARS: usize = 100;
pub const MAX_FILE_BYTES: usize = 64 * 1024;

#[derive(Debug, Error, PartialEq)]
pub enum GlossaryError {
    #[error("glossary file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("glossary term longer than {MAX_TERM_CHARS} characters: {0:?}")]
    TermTooLong(String),
    #[error("glossary contains a control character")]
    ControlCharacter,
}

fn push_unique(out: &mut Vec<String>, term: &str) {
    let t = term.trim();
    if !t.is_empty() && out.len() < MAX_TERMS && !out.iter().any(|x| x.eq_ignore_ascii_case(t)) {
        out.push(t.to_string());
    }
}

/// A call's terms: comma- or newline-separated.
pub fn split_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    text.split([',', '\n']).for_each(|t| push_unique(&mut out, t));
    out
}

/// A glossary file (`POST /api/glossary`, `GLOSSARY_PATH`): every non-empty cell of every line is a term,
/// a first cell `term` marks a header line. Validated, since it ends up in prompts.
pub fn parse_file(text: &str) -> Result<Vec<String>, GlossaryError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(GlossaryError::TooLarge);
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(GlossaryError::ControlCharacter);
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"').trim()).collect();
        if cells.first().is_some_and(|c| c.eq_ignore_ascii_case("term")) {
            continue;
        }
        for c in cells {
            if c.chars().count() > MAX_TERM_CHARS {
                return Err(GlossaryError::TermTooLong(c.chars().take(40).collect()));
            }
            push_unique(&mut out, c);
        }
    }
    Ok(out)
}

/// The call's terms followed by the file's; `fallback` (`GLOSSARY_TERMS`) only when both are empty.
pub fn merge(call_terms: &[String], file_terms: &[String], fallback: &str) -> Vec<String> {
    let mut out = Vec::new();
    call_terms.iter().chain(file_terms).for_each(|t| push_unique(&mut out, t));
    if out.is_empty() { split_terms(fallback) } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_terms_and_merging() {
        let file = parse_file("term,definition\nAcme Fiber, our broadband\n\"NPS\",score\nacme fiber\n").unwrap();
        assert_eq!(file, ["Acme Fiber", "our broadband", "NPS", "score"]);
        assert_eq!(split_terms("a, b\nA,,c"), ["a", "b", "c"]);
        let call = split_terms("NPS, Router X1");
        assert_eq!(merge(&call, &file, "ignored"), ["NPS", "Router X1", "Acme Fiber", "our broadband", "score"]);
        assert_eq!(merge(&[], &[], "x,y"), ["x", "y"]);
        let many: String = (0..80).map(|i| format!("t{i}\n")).collect();
        assert_eq!(parse_file(&many).unwrap().len(), MAX_TERMS);
        assert_eq!(parse_file(&"x".repeat(MAX_FILE_BYTES + 1)), Err(GlossaryError::TooLarge));
        assert!(matches!(parse_file(&"y".repeat(101)), Err(GlossaryError::TermTooLong(_))));
        assert_eq!(parse_file("a\u{0}b"), Err(GlossaryError::ControlCharacter));
    }
}
