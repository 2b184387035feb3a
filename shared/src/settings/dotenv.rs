//! A `.env` file, as the Django system we replace read one (python-dotenv): settings for a process started
//! from a folder that holds it, under whatever the environment already sets (the environment wins). Parsing
//! is pure; [`load`] reads the file once per process.
//!
//! The format is python-dotenv's common subset: `KEY=value` lines, optionally `export KEY=value`; blank
//! lines and `#` comments skipped; a value in single quotes taken literally, in double quotes with `\n`,
//! `\"` and `\\` escapes, unquoted with a trailing ` # comment` dropped and spaces trimmed. A line that is
//! none of these is skipped and reported by number (never by content: it may hold a secret).

use std::collections::HashMap;
use std::sync::OnceLock;

/// `ENV_FILE` names another file; empty turns the file off. Default `.env` in the working directory.
pub const DEFAULT_PATH: &str = ".env";

/// The settings a file holds, and the numbers (from 1) of the lines that are not settings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DotEnv {
    pub vars: HashMap<String, String>,
    pub bad_lines: Vec<usize>,
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn value(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('\'') {
        return rest.strip_suffix('\'').map(str::to_string);
    }
    if let Some(rest) = raw.strip_prefix('"') {
        let inner = rest.strip_suffix('"')?;
        let (mut out, mut chars) = (String::with_capacity(inner.len()), inner.chars());
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return Some(out);
    }
    let unquoted = raw.split_once(" #").map_or(raw, |(v, _)| v);
    Some(unquoted.trim().to_string())
}

/// Parses a file's text; the last setting of a key wins, as in python-dotenv.
pub fn parse(text: &str) -> DotEnv {
    let mut env = DotEnv::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let parsed = line.split_once('=').and_then(|(k, v)| {
            let key = k.trim();
            valid_key(key).then_some(key).zip(value(v))
        });
        match parsed {
            Some((key, v)) => {
                env.vars.insert(key.to_string(), v);
            }
            None => env.bad_lines.push(n + 1),
        }
    }
    env
}

/// The process's `.env` settings (`ENV_FILE`, default `.env`), read once; a missing file is no settings.
/// Lines that are not settings are reported once on stderr, by number, when the file is first read.
pub fn load() -> &'static HashMap<String, String> {
    static FILE: OnceLock<HashMap<String, String>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var("ENV_FILE").unwrap_or_else(|_| DEFAULT_PATH.into());
        let Ok(text) = std::fs::read_to_string(path.trim()) else { return HashMap::new() };
        let parsed = parse(&text);
        if !parsed.bad_lines.is_empty() {
            eprintln!("{path}: lines {:?} are not KEY=value settings and were skipped", parsed.bad_lines);
        }
        parsed.vars
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_dotenv_forms() {
        let text = "# settings\n\nexport SARVAM_API_KEY=abc123\nDEBUG = true  # local only\n\
                    NAME='unterminated\nQUOTED=\"two\\nlines \\\"q\\\"\"\nEMPTY=\nURL=http://x/?a=b#frag\n\
                    not a setting\n1BAD=x\nDEBUG=false\n";
        let env = parse(text);
        assert_eq!(env.vars["SARVAM_API_KEY"], "abc123");
        assert_eq!(env.vars["DEBUG"], "false", "the last one wins");
        assert_eq!(env.vars["QUOTED"], "two\nlines \"q\"");
        assert_eq!(env.vars["EMPTY"], "");
        assert_eq!(env.vars["URL"], "http://x/?a=b#frag", "a # inside a value is kept");
        assert!(!env.vars.contains_key("NAME"), "an unterminated quote is not a value");
        assert_eq!(env.bad_lines, [5, 9, 10]);
    }
}
