//! What CloudFormation makes of the template for one set of parameter values: which conditions hold,
//! which resources and outputs exist, which branch each `!If` takes, and which Rules refuse the values.
//! Only the functions the template uses are known; any other fails the test that meets it, so a new one
//! is added here rather than silently misread.

use super::str_of;
use serde_yaml::Value;
use std::collections::BTreeMap;

pub struct Deployment<'t> {
    template: &'t Value,
    /// Every parameter's value: the one given, else its default (numbers as text, as CloudFormation has them).
    values: BTreeMap<String, String>,
}

impl<'t> Deployment<'t> {
    /// The deployment with `given` parameter values and the defaults for the rest.
    pub fn new(template: &'t Value, given: &[(&str, &str)]) -> Self {
        let mut values: BTreeMap<String, String> = template["Parameters"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(name, p)| (str_of(name).to_string(), scalar(&p["Default"])))
            .collect();
        for (name, value) in given {
            assert!(values.insert(name.to_string(), value.to_string()).is_some(), "no parameter {name}");
        }
        Self { template, values }
    }

    /// Whether the template's condition `name` holds.
    pub fn condition(&self, name: &str) -> bool {
        let c = &self.template["Conditions"][name];
        assert!(!c.is_null(), "no condition {name}");
        self.holds(c)
    }

    /// Whether a section's entry (a resource or an output) is created: it has no `Condition`, or it holds.
    pub fn exists(&self, entry: &Value) -> bool {
        entry.get("Condition").is_none_or(|c| self.condition(str_of(c)))
    }

    /// The `AssertDescription` of every Rules assertion these values fail.
    pub fn refusals(&self) -> Vec<String> {
        let mut refused = Vec::new();
        for (_, rule) in self.template["Rules"].as_mapping().into_iter().flatten() {
            if rule.get("RuleCondition").is_some_and(|c| !self.holds(c)) {
                continue;
            }
            for a in rule["Assertions"].as_sequence().unwrap() {
                if !self.holds(&a["Assert"]) {
                    refused.push(str_of(&a["AssertDescription"]).to_string());
                }
            }
        }
        refused
    }

    /// `v` with each `!If` replaced by the branch it takes (other functions left as they are).
    pub fn chosen(&self, v: &Value) -> Value {
        match v {
            Value::Tagged(t) if t.tag == "!If" => {
                let s = t.value.as_sequence().unwrap();
                self.chosen(&s[if self.condition(str_of(&s[0])) { 1 } else { 2 }])
            }
            Value::Tagged(t) => Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: t.tag.clone(),
                value: self.chosen(&t.value),
            })),
            Value::Mapping(m) => Value::Mapping(m.iter().map(|(k, v)| (k.clone(), self.chosen(v))).collect()),
            Value::Sequence(s) => Value::Sequence(s.iter().map(|x| self.chosen(x)).collect()),
            other => other.clone(),
        }
    }

    /// A parameter's value as CloudFormation passes it (`!Ref` to a parameter), or a literal.
    pub fn value(&self, v: &Value) -> Value {
        self.operand(v)
    }

    /// A condition function's result (`!Equals`, `!Not`, `!And`, `!Or`, `!Condition`, `!Contains`).
    fn holds(&self, v: &Value) -> bool {
        let Value::Tagged(t) = v else { panic!("not a condition: {v:?}") };
        let args = || t.value.as_sequence().unwrap_or_else(|| panic!("{}: expected a list", t.tag));
        match t.tag.to_string().as_str() {
            "!Equals" => self.operand(&args()[0]) == self.operand(&args()[1]),
            "!Not" => !self.holds(&args()[0]),
            "!And" => args().iter().all(|c| self.holds(c)),
            "!Or" => args().iter().any(|c| self.holds(c)),
            "!Condition" => self.condition(str_of(&t.value)),
            "!Contains" => self.operand(&args()[0]).as_sequence().unwrap().contains(&self.operand(&args()[1])),
            other => panic!("condition function {other} is not known to these tests"),
        }
    }

    /// A value inside a condition: a literal, a list, `!Ref` to a parameter, or `!Join`.
    fn operand(&self, v: &Value) -> Value {
        match v {
            Value::Tagged(t) if t.tag == "!Ref" => {
                let name = str_of(&t.value);
                let value = self.values.get(name).unwrap_or_else(|| panic!("!Ref {name} is not a parameter"));
                if self.template["Parameters"][name]["Type"] == "CommaDelimitedList" {
                    Value::Sequence(value.split(',').map(|s| Value::String(s.into())).collect())
                } else {
                    Value::String(value.clone())
                }
            }
            Value::Tagged(t) if t.tag == "!Join" => {
                let s = t.value.as_sequence().unwrap();
                let parts = self.operand(&s[1]);
                let parts: Vec<&str> = parts.as_sequence().unwrap().iter().map(str_of).collect();
                Value::String(parts.join(str_of(&s[0])))
            }
            Value::Tagged(t) => panic!("{} inside a condition is not known to these tests", t.tag),
            Value::Sequence(s) => Value::Sequence(s.iter().map(|x| self.operand(x)).collect()),
            other => Value::String(scalar(other)),
        }
    }
}

/// A scalar as CloudFormation passes it: text (an absent default is empty).
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}
