//! Escalation keyword matching: case-insensitive, on word boundaries, multi-word phrases allowed
//! (the seed matched substrings, so "illegal" hit `legal` and "management" hit `manager`).

/// Lower-cases and collapses whitespace so a phrase matches across line breaks and double spaces.
fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// True when `phrase` (already folded) occurs in `text` (already folded) between word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(start, m)| {
        let before = text[..start].chars().next_back();
        let after = text[start + m.len()..].chars().next();
        !is_word_char(before) && !is_word_char(after)
    })
}

/// The keywords (in list order) that occur in `text`.
pub fn matches<'k>(text: &str, keywords: &'k [String]) -> Vec<&'k str> {
    if text.is_empty() {
        return Vec::new();
    }
    let folded = fold(text);
    keywords
        .iter()
        .filter(|k| {
            let phrase = fold(k);
            !phrase.is_empty() && contains_phrase(&folded, &phrase)
        })
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_KEYWORDS;

    fn defaults() -> Vec<String> {
        DEFAULT_KEYWORDS.split(',').map(str::to_string).collect()
    }

    #[test]
    fn word_boundaries_not_substrings() {
        let k = defaults();
        assert!(matches("that is illegal", &k).is_empty());
        assert!(matches("our management team", &k).is_empty());
        assert_eq!(matches("This is LEGAL advice.", &k), vec!["legal"]);
        assert_eq!(matches("get me a manager!", &k), vec!["manager"]);
    }

    #[test]
    fn phrases_across_whitespace_in_list_order() {
        let k = defaults();
        assert_eq!(matches("I want to CANCEL\n  account, supervisor now", &k), vec!["supervisor", "cancel account"]);
        assert!(matches("cancel accounts", &k).is_empty());
        assert_eq!(matches("refund now", &k), vec!["refund now"]);
        assert!(matches("", &k).is_empty());
    }
}
