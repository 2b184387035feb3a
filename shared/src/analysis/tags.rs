//! Auto-tags (`AUTO_TAGS`, `label:kw,kw;label:kw`) and the SLA flag (`SLA_MINUTES`), as the seed set them.

use crate::settings::env::{self, EnvError, EnvSource};
use serde_json::{Value, json};

pub const DEFAULT_AUTO_TAGS: &str =
    "billing:refund,invoice;churn risk:cancel,close account;escalation:manager,supervisor";

#[derive(Debug, Clone, PartialEq)]
pub struct TagRules {
    /// (label, lower-cased keywords), in the configured order.
    rules: Vec<(String, Vec<String>)>,
    /// `SLA_MINUTES` (10).
    pub sla_minutes: f64,
}

impl TagRules {
    pub fn parse(spec: &str, sla_minutes: f64) -> Self {
        let rules = spec
            .split(';')
            .filter_map(|rule| {
                let (label, words) = rule.split_once(':')?;
                let words: Vec<String> =
                    words.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
                (!label.trim().is_empty() && !words.is_empty()).then(|| (label.trim().to_string(), words))
            })
            .collect();
        Self { rules, sla_minutes }
    }

    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let spec = env::string(e, "AUTO_TAGS").unwrap_or_else(|| DEFAULT_AUTO_TAGS.into());
        Ok(Self::parse(&spec, env::float(e, "SLA_MINUTES", 10.0)?.max(0.0)))
    }

    /// Labels whose keywords occur in `text` (any case), in rule order.
    pub fn tags(&self, text: &str) -> Vec<String> {
        let text = text.to_lowercase();
        self.rules
            .iter()
            .filter(|(_, words)| words.iter().any(|w| text.contains(w.as_str())))
            .map(|(l, _)| l.clone())
            .collect()
    }

    /// `{"breach", "threshold_minutes", "resolution_status"}`, or `None` when the duration is unknown.
    pub fn sla(&self, duration_seconds: Option<f64>, resolution_status: &str) -> Option<Value> {
        let d = duration_seconds?;
        Some(json!({"breach": d > self.sla_minutes * 60.0, "threshold_minutes": self.sla_minutes,
            "resolution_status": resolution_status.to_lowercase()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_rule_order_and_sla() {
        let t = TagRules::from_env(&[]).unwrap();
        assert_eq!(
            t.tags("I want to CANCEL and get a Refund, get me a supervisor"),
            ["billing", "churn risk", "escalation"]
        );
        assert!(t.tags("all good").is_empty());
        let custom = TagRules::parse("vip: gold member ; broken;:x;shipping:late,delayed", 5.0);
        assert_eq!(custom.tags("my parcel is delayed, I'm a gold member"), ["vip", "shipping"]);
        assert_eq!(
            t.sla(Some(601.0), "Resolved").unwrap(),
            json!({"breach": true, "threshold_minutes": 10.0, "resolution_status": "resolved"})
        );
        assert_eq!(t.sla(Some(600.0), "").unwrap()["breach"], false);
        assert_eq!(t.sla(None, "resolved"), None);
    }
}
