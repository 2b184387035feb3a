//! Escalation keyword matching: case-insensitive, whole words, multi-word phrases allowed, and each word
//! also matching its regular English inflections. The seed matched substrings, so "illegal" hit `legal` and
//! "management" hit `manager`; whole words alone then missed what callers say most: "managers",
//! "complaints", "escalated".
//!
//! A text word matches a keyword word when it is that word or one of its inflections: `-s`/`-es`, `-ed`
//! (`-d` after a final `e`), `-ing` (a final `e` dropped), `-ies`/`-ied` for a final consonant + `y`, and a
//! final consonant doubled after a short vowel ("cancel" → "cancelled", "cancelling"). Derived words are
//! not inflections: "cancellation", "management", "escalation", "complainant" and "illegal" do not match
//! (list them as keywords of their own to catch them). The words of a phrase each inflect and follow one
//! another with only whitespace between ("cancelled accounts" matches `cancel account`, "cancel my
//! account" does not); punctuation inside a keyword must appear as written ("e-mail"), punctuation around
//! it is ignored.

/// Lower-cases and collapses whitespace so a phrase matches across line breaks and double spaces.
fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The words of folded text (maximal runs of alphanumerics), each with the text between it and the
/// previous word (empty before the first).
fn words(folded: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut gap_start = 0;
    let mut word_start = None;
    for (i, c) in folded.char_indices().chain(std::iter::once((folded.len(), ' '))) {
        match (c.is_alphanumeric(), word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(start)) => {
                let gap = if out.is_empty() { "" } else { &folded[gap_start..start] };
                out.push((gap, &folded[start..i]));
                gap_start = i;
                word_start = None;
            }
            _ => {}
        }
    }
    out
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

fn is_consonant(c: char) -> bool {
    c.is_ascii_lowercase() && !is_vowel(c)
}

/// The final consonant English may double before `-ed`/`-ing` (consonant, short vowel, consonant other
/// than w, x or y: "cancel" → "cancelled"), if `base` ends that way. Stress is unknown here, so it also
/// allows forms nobody writes ("managerred"): those cost nothing, a missed "cancelled" costs an alert.
fn doubled(base: &str) -> Option<char> {
    let mut tail = base.chars().rev();
    let (last, vowel, before) = (tail.next()?, tail.next()?, tail.next()?);
    (is_consonant(last) && !matches!(last, 'w' | 'x' | 'y') && is_vowel(vowel) && is_consonant(before)).then_some(last)
}

/// True when `word` is `base` or one of its inflections (both folded).
fn inflects(word: &str, base: &str) -> bool {
    if let Some(ending) = word.strip_prefix(base) {
        return matches!(ending, "" | "s" | "es" | "ed" | "ing")
            || (ending == "d" && base.ends_with('e'))
            || doubled(base).is_some_and(|c| matches!(ending.strip_prefix(c), Some("ed" | "ing")));
    }
    let stem_then = |last: char, endings: &[&str]| {
        base.strip_suffix(last)
            .filter(|stem| stem.chars().next_back().is_some_and(is_consonant))
            .and_then(|stem| word.strip_prefix(stem))
            .is_some_and(|ending| endings.contains(&ending))
    };
    stem_then('e', &["ing"]) || stem_then('y', &["ies", "ied"])
}

/// True when the words of `phrase` follow one another in `text` from some word on.
fn contains_phrase(text: &[(&str, &str)], phrase: &[(&str, &str)]) -> bool {
    !phrase.is_empty()
        && text.windows(phrase.len()).any(|w| {
            w.iter()
                .zip(phrase)
                .enumerate()
                .all(|(i, ((gap, word), (want_gap, want)))| (i == 0 || gap == want_gap) && inflects(word, want))
        })
}

/// The keywords (in list order) that occur in `text`.
pub fn matches<'k>(text: &str, keywords: &'k [String]) -> Vec<&'k str> {
    if text.is_empty() {
        return Vec::new();
    }
    let folded = fold(text);
    let text_words = words(&folded);
    keywords
        .iter()
        .filter(|k| {
            let phrase = fold(k);
            contains_phrase(&text_words, &words(&phrase))
        })
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
#[path = "keywords_tests.rs"]
mod tests;
