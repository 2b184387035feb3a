//! What an import did, counted per kind of record, and its progress while it runs. Progress goes to
//! stderr: one line redrawn in place on a terminal, a line per tenth of the way otherwise (a log or a CI
//! job would fill with carriage returns).

use super::mapping::Skipped;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

/// Imported, already present and skipped rows of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub imported: u64,
    pub present: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// By kind: `batch calls`, `realtime calls`, `events`, `alerts`, `files`.
    pub counts: BTreeMap<&'static str, Counts>,
    pub skipped: Vec<Skipped>,
    /// Imported, but with something missing (a batch call whose upload file was not found).
    pub warnings: Vec<String>,
}

/// How one row (and what came with it) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Present,
}

impl Summary {
    pub fn add(&mut self, kind: &'static str, outcome: Outcome, n: u64) {
        let c = self.counts.entry(kind).or_default();
        match outcome {
            Outcome::Imported => c.imported += n,
            Outcome::Present => c.present += n,
        }
    }

    pub fn skip(&mut self, skipped: Skipped) {
        let kind = match skipped.kind {
            "call" => "batch calls",
            "realtime call" => "realtime calls",
            "event" => "events",
            _ => "alerts",
        };
        self.counts.entry(kind).or_default().skipped += 1;
        self.skipped.push(skipped);
    }

    /// The summary as printed at the end.
    pub fn render(&self) -> String {
        let mut out = String::from("import-django summary:\n");
        for (kind, c) in &self.counts {
            out += &format!(
                "  {kind:<15} {:>7} imported  {:>7} already present  {:>7} skipped\n",
                c.imported, c.present, c.skipped
            );
        }
        for s in &self.skipped {
            out += &format!("  skipped {} {}: {}\n", s.kind, s.id, s.reason);
        }
        for w in &self.warnings {
            out += &format!("  warning: {w}\n");
        }
        out
    }
}

/// Progress through the old rows on stderr.
pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    tty: bool,
    last_tenth: u64,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Self {
        Self { label, total, done: 0, tty: std::io::stderr().is_terminal(), last_tenth: 0 }
    }

    pub fn step(&mut self) {
        self.done += 1;
        let tenth = (self.done * 10).checked_div(self.total).unwrap_or(10);
        if self.tty {
            let width = 30;
            let filled = (self.done * width).checked_div(self.total).unwrap_or(width) as usize;
            let bar = format!("{}{}", "#".repeat(filled), "-".repeat(width as usize - filled.min(width as usize)));
            eprint!("\r{:<15} [{bar}] {}/{}", self.label, self.done, self.total);
            if self.done == self.total {
                eprintln!();
            }
        } else if tenth > self.last_tenth || self.done == self.total {
            eprintln!("{}: {}/{}", self.label, self.done, self.total);
        }
        self.last_tenth = tenth;
        let _ = std::io::stderr().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_reasons_are_rendered() {
        let mut s = Summary::default();
        s.add("events", Outcome::Imported, 3);
        s.add("events", Outcome::Present, 2);
        s.skip(Skipped { kind: "event", id: "9".into(), reason: "occurred_at is empty".into() });
        s.warnings.push("call 1: upload file not found".into());
        assert_eq!(s.counts["events"], Counts { imported: 3, present: 2, skipped: 1 });
        let text = s.render();
        assert!(text.contains("events                3 imported        2 already present        1 skipped"), "{text}");
        assert!(text.contains("skipped event 9: occurred_at is empty"), "{text}");
        assert!(text.contains("warning: call 1: upload file not found"), "{text}");
    }
}
