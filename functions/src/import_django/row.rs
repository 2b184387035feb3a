//! One row of the old system's database as read, before any meaning is given to it. SQLite stores
//! whatever it was handed whatever the column's declared type, so every cell is read as what it holds and
//! the mapping decides what it accepts.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};
use shared::values::timestamps::{Timestamp, parse_iso};
use std::collections::BTreeMap;

/// A cell as SQLite holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob,
}

/// Why a cell was refused, with the column named by the caller.
pub type CellError = String;

/// A row by column name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub BTreeMap<String, Cell>);

/// The naive forms Django wrote (`USE_TZ=False`: UTC without an offset, space or `T`, microseconds only
/// when not zero); anything with an offset goes through the RFC 3339 parser.
const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];

pub fn parse_naive_utc(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    parse_iso(text)
        .or_else(|| NAIVE_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(text, f).ok()).map(|t| t.and_utc()))
}

impl Row {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Cell)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    fn cell(&self, col: &str) -> &Cell {
        self.0.get(col).unwrap_or(&Cell::Null)
    }

    /// Text, or a number written as text; `None` for NULL and for empty or blank text.
    pub fn text(&self, col: &str) -> Option<String> {
        match self.cell(col) {
            Cell::Text(s) if s.trim().is_empty() => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Real(x) => Some(x.to_string()),
            Cell::Null | Cell::Blob => None,
        }
    }

    /// A number (also from text); NULL is `Ok(None)`; anything else, or a non-finite value, is refused.
    pub fn number(&self, col: &str) -> Result<Option<f64>, CellError> {
        let x = match self.cell(col) {
            Cell::Null => return Ok(None),
            Cell::Int(i) => *i as f64,
            Cell::Real(x) => *x,
            Cell::Text(s) if s.trim().is_empty() => return Ok(None),
            Cell::Text(s) => s.trim().parse().map_err(|_| format!("{col} is not a number: {s:?}"))?,
            Cell::Blob => return Err(format!("{col} is binary")),
        };
        if x.is_finite() { Ok(Some(x)) } else { Err(format!("{col} is not a finite number")) }
    }

    /// Django's booleans (0/1); NULL is `None`.
    pub fn flag(&self, col: &str) -> Option<bool> {
        match self.cell(col) {
            Cell::Int(i) => Some(*i != 0),
            Cell::Real(x) => Some(*x != 0.0),
            Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "t" => Some(true),
                "0" | "false" | "f" => Some(false),
                _ => None,
            },
            Cell::Null | Cell::Blob => None,
        }
    }

    /// A time the old system wrote; NULL is `Ok(None)`.
    pub fn time(&self, col: &str) -> Result<Option<Timestamp>, CellError> {
        match self.text(col) {
            None => Ok(None),
            Some(s) => parse_naive_utc(&s).map(Some).ok_or_else(|| format!("{col} is not a time: {s:?}")),
        }
    }

    /// A time that must be there.
    pub fn required_time(&self, col: &str) -> Result<Timestamp, CellError> {
        self.time(col)?.ok_or_else(|| format!("{col} is empty"))
    }

    /// A JSON object column; NULL or empty text is an empty object, anything but an object is refused.
    pub fn object(&self, col: &str) -> Result<Map<String, Value>, CellError> {
        let Some(text) = self.text(col) else { return Ok(Map::new()) };
        match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(_) => Err(format!("{col} is not a JSON object")),
            Err(e) => Err(format!("{col} is not JSON: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Cell)]) -> Row {
        Row::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn reads_djangos_naive_times_as_utc() {
        let r = row(&[
            ("a", Cell::Text("2026-02-10 10:15:20.123456".into())),
            ("b", Cell::Text("2026-02-10 10:15:20".into())),
            ("c", Cell::Text("2026-02-10T12:15:20+02:00".into())),
            ("d", Cell::Text("yesterday".into())),
        ]);
        assert_eq!(shared::values::timestamps::iso(&r.required_time("a").unwrap()), "2026-02-10T10:15:20.123456Z");
        assert_eq!(shared::values::timestamps::iso(&r.required_time("b").unwrap()), "2026-02-10T10:15:20.000000Z");
        assert_eq!(r.required_time("c").unwrap(), r.required_time("b").unwrap());
        assert!(r.time("d").unwrap_err().contains("not a time"));
        assert_eq!(r.time("missing").unwrap(), None);
    }

    #[test]
    fn cells_are_read_for_what_they_hold() {
        let r = row(&[
            ("n", Cell::Text(" 0.5 ".into())),
            ("i", Cell::Int(3)),
            ("bad", Cell::Text("x".into())),
            ("flag", Cell::Int(1)),
            ("meta", Cell::Text(r#"{"a":1}"#.into())),
            ("list", Cell::Text("[1]".into())),
            ("blank", Cell::Text("  ".into())),
        ]);
        assert_eq!(r.number("n").unwrap(), Some(0.5));
        assert_eq!(r.number("i").unwrap(), Some(3.0));
        assert!(r.number("bad").is_err());
        assert_eq!(r.flag("flag"), Some(true));
        assert_eq!(r.object("meta").unwrap()["a"], 1);
        assert!(r.object("list").is_err());
        assert_eq!(r.text("blank"), None);
        assert!(r.object("blank").unwrap().is_empty());
    }
}
