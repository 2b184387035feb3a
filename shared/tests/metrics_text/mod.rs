//! Test support: reading a Prometheus text scrape (included by path from the crates that serve `/metrics`).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeMap, BTreeSet};

/// One scrape: its text and its samples by name and labels.
pub struct Scrape {
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, labels(rest.trim_end_matches('}'))),
                    None => (series, BTreeMap::new()),
                };
                (name.to_string(), labels, value.parse().unwrap_or_else(|_| panic!("not a number: {l}")))
            })
            .collect();
        Self { text: text.to_string(), samples }
    }

    /// The value of series `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.iter().find(|(n, l, _)| n == name && *l == want).map(|(_, _, v)| *v)
    }

    /// Every series (name and labels) in the scrape.
    pub fn series(&self) -> BTreeSet<(String, BTreeMap<String, String>)> {
        self.samples.iter().map(|(n, l, _)| (n.clone(), l.clone())).collect()
    }
}

/// `k="v",k2="v2"` (our label values never hold quotes or commas).
fn labels(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}
