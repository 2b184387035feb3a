//! The subset of RFC 8941 structured fields the AudioHook signature headers use: dictionaries whose members
//! are inner lists or items with parameters, and the serialisation of an inner list with its parameters
//! (the signature base's `@signature-params` line is the re-serialised parsed value, as in the reference).
//!
//! Kept by hand rather than replaced by the `sfv` crate (weighed for issue 16; `sfv` 0.15 stays as the test
//! oracle in `structured_tests.rs`). Both parse Genesys' signed example and every header the tests use to the
//! same value and serialise `@signature-params` to the same bytes, at the same cost: in a release build `sfv`
//! took 0.96-0.99x this module's time for the example's `Signature-Input` (about 0.95 µs) and 1.15-1.35x for
//! its `Signature` (about 0.12 µs), once per upgrade either way. What decides is what each accepts. Where this
//! module departs from RFC 8941, `sfv` follows it, and so which upgrades pass would change:
//! - byte sequences: `sfv` accepts base64 without `=` padding or with non-zero pad bits (the RFC asks parsers
//!   to), so a non-canonically encoded `Signature` with the right bytes would verify. Its API decodes before a
//!   caller sees the text, so this cannot be refused on top of it;
//! - decimals: this module refuses the whole header, `sfv` parses them (a decimal in an unused member or in the
//!   `Signature` member's parameters would then pass);
//! - a repeated key or parameter: this module keeps every one in order (the signature check reads the first
//!   and the base re-serialises them all, as sent); `sfv` keeps the last value in the first one's place.
//!
//! The last two could be undone by implementing `sfv`'s five visitor traits (by estimate, about as much code as
//! this parser); the first cannot. It would also add three crates, and its latest release (0.16) needs rustc
//! 1.95, above the workspace's `rust-version`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bare {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

pub type Params = Vec<(String, Bare)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Bare, Params),
    InnerList(Vec<(Bare, Params)>, Params),
}

/// Parses a dictionary; `None` when it is not valid structured-field syntax.
pub fn parse_dictionary(input: &str) -> Option<Vec<(String, Member)>> {
    let mut p = Parser { s: input.as_bytes(), i: 0 };
    p.skip_sp();
    let mut out = Vec::new();
    while p.i < p.s.len() {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') { p.inner_list()? } else { Member::Item(p.bare()?, p.params()?) }
        } else {
            Member::Item(Bare::Boolean(true), p.params()?)
        };
        out.push((key, member));
        p.skip_ows();
        if p.i == p.s.len() {
            break;
        }
        if !p.eat(b',') {
            return None;
        }
        p.skip_ows();
        if p.i == p.s.len() {
            return None; // trailing comma
        }
    }
    Some(out)
}

/// Serialises an inner list and its parameters (`("a" "b");k="v";n=1`).
pub fn serialize_inner_list(items: &[(Bare, Params)], params: &Params) -> String {
    let inner: Vec<String> =
        items.iter().map(|(b, p)| format!("{}{}", serialize_bare(b), serialize_params(p))).collect();
    format!("({}){}", inner.join(" "), serialize_params(params))
}

fn serialize_params(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            Bare::Boolean(true) => format!(";{k}"),
            v => format!(";{k}={}", serialize_bare(v)),
        })
        .collect()
}

fn serialize_bare(b: &Bare) -> String {
    match b {
        Bare::Integer(n) => n.to_string(),
        Bare::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        Bare::Token(t) => t.clone(),
        Bare::Bytes(b) => format!(":{}:", STANDARD.encode(b)),
        Bare::Boolean(v) => {
            if *v {
                "?1".into()
            } else {
                "?0".into()
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default()
    }

    fn key(&mut self) -> Option<String> {
        if !self.peek().is_some_and(|c| c.is_ascii_lowercase() || c == b'*') {
            return None;
        }
        Some(self.take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c)).to_string())
    }

    fn params(&mut self) -> Option<Params> {
        let mut out = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let k = self.key()?;
            let v = if self.eat(b'=') { self.bare()? } else { Bare::Boolean(true) };
            out.push((k, v));
        }
        Some(out)
    }

    fn inner_list(&mut self) -> Option<Member> {
        self.eat(b'(');
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Some(Member::InnerList(items, self.params()?));
            }
            items.push((self.bare()?, self.params()?));
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return None;
            }
        }
    }

    fn bare(&mut self) -> Option<Bare> {
        match self.peek()? {
            b'"' => self.string(),
            b':' => {
                self.i += 1;
                let b64 = self.take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c)).to_string();
                self.eat(b':').then_some(())?;
                STANDARD.decode(b64).ok().map(Bare::Bytes)
            }
            b'?' => {
                self.i += 1;
                let v = match self.peek()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return None,
                };
                self.i += 1;
                Some(Bare::Boolean(v))
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let neg = self.eat(b'-');
                let digits = self.take_while(|c| c.is_ascii_digit()).to_string();
                if digits.is_empty() || digits.len() > 15 || self.peek() == Some(b'.') {
                    return None; // decimals are never used here
                }
                let n: i64 = digits.parse().ok()?;
                Some(Bare::Integer(if neg { -n } else { n }))
            }
            c if c.is_ascii_alphabetic() || c == b'*' => {
                let t = self.take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
                Some(Bare::Token(t.to_string()))
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<Bare> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek()? {
                b'\\' => {
                    self.i += 1;
                    let c = self.peek().filter(|c| *c == b'"' || *c == b'\\')?;
                    out.push(c as char);
                }
                b'"' => {
                    self.i += 1;
                    return Some(Bare::String(out));
                }
                c if (0x20..0x7f).contains(&c) => out.push(c as char),
                _ => return None,
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
#[path = "structured_tests.rs"]
mod tests;
