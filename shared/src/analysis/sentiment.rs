//! Sentiment without a model service: VADER's lexicon and rules (MIT, the `vader_sentiment` crate) per
//! utterance, combined per call and per role.

use super::roles::Role;
use crate::speech::transcript::Entry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use vader_sentiment::SentimentIntensityAnalyzer;

/// VADER's conventional neutral band.
const NEUTRAL: f64 = 0.05;

static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> = LazyLock::new(SentimentIntensityAnalyzer::new);

/// VADER's compound score of one text, in [-1, 1].
pub fn score(text: &str) -> f64 {
    ANALYZER.polarity_scores(text).get("compound").copied().unwrap_or(0.0).clamp(-1.0, 1.0)
}

pub fn label(score: f64) -> &'static str {
    if score <= -NEUTRAL {
        "negative"
    } else if score >= NEUTRAL {
        "positive"
    } else {
        "neutral"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallSentiment {
    /// Mean score over utterances with words, weighted by their word count.
    pub overall: f64,
    pub overall_label: &'static str,
    pub customer: Option<f64>,
    pub agent: Option<f64>,
    /// How much to trust `overall` (0–1): the share of utterances that carry sentiment, discounted
    /// for short calls.
    pub confidence: f64,
    /// Score per utterance, in transcript order, for the trend chart.
    pub trend: Vec<f64>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn call_sentiment(entries: &[Entry], roles: &BTreeMap<String, (Role, f64)>) -> CallSentiment {
    let scored: Vec<(&Entry, f64, f64)> = entries
        .iter()
        .filter(|e| !e.transcript.trim().is_empty())
        .map(|e| (e, score(&e.transcript), e.transcript.split_whitespace().count() as f64))
        .collect();
    let mean = |filter: &dyn Fn(&Entry) -> bool| {
        let (sum, weight) =
            scored.iter().filter(|(e, _, _)| filter(e)).fold((0.0, 0.0), |(s, w), (_, x, n)| (s + x * n, w + n));
        (weight > 0.0).then(|| round3(sum / weight))
    };
    let role_of = |e: &Entry| roles.get(&e.speaker_id).map(|r| r.0);
    let overall = mean(&|_| true).unwrap_or(0.0);
    let carrying = scored.iter().filter(|(_, x, _)| x.abs() >= NEUTRAL).count() as f64;
    let n = scored.len() as f64;
    CallSentiment {
        overall,
        overall_label: label(overall),
        customer: mean(&|e| role_of(e) == Some(Role::Customer)),
        agent: mean(&|e| role_of(e) == Some(Role::Agent)),
        confidence: if n > 0.0 { round3(carrying / n * (n / 5.0).min(1.0)) } else { 0.0 },
        trend: scored.iter().map(|(_, x, _)| round3(*x)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(speaker: &str, text: &str) -> Entry {
        Entry::new(speaker, 0.0, 1.0, text)
    }

    #[test]
    fn utterances_and_calls() {
        assert!(score("This is terrible, I am furious and I want my money back") < -0.5);
        assert!(score("Thank you so much, that was really helpful") > 0.5);
        assert_eq!(label(score("The parcel arrived on Tuesday")), "neutral");
        let entries = [
            e("a", "Thank you for calling, I am happy to help"),
            e("c", "This is awful, the product is broken and useless"),
            e("c", "I am really angry"),
            e("a", "I am sorry, let me fix that for you right away"),
            e("c", ""),
        ];
        let roles = BTreeMap::from([("a".to_string(), (Role::Agent, 0.9)), ("c".to_string(), (Role::Customer, 0.9))]);
        let s = call_sentiment(&entries, &roles);
        assert!(s.customer.unwrap() < -0.3 && s.agent.unwrap() > 0.2, "{s:?}");
        assert_eq!(s.trend.len(), 4, "empty utterances carry nothing");
        assert!(s.confidence > 0.5 && s.confidence <= 1.0, "{s:?}");
        let none = call_sentiment(&[], &roles);
        assert_eq!((none.overall, none.confidence, none.customer), (0.0, 0.0, None));
    }
}
