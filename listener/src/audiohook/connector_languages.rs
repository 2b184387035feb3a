//! Which languages the Transcription Connector offers and accepts. Genesys speaks in locales (`en-US`),
//! engines in languages (`en`): with an engine that knows its languages (the embedded whisper model), the
//! offer is the locales below whose language it knows and any locale of such a language is accepted; with
//! a remote provider, the configured list (`GENESYS_AUDIOHOOK_SUPPORTED_LANGUAGES`) is both.

/// Locales offered when the engine knows their language: Genesys' common contact-centre locales.
const LOCALES: &[&str] = &[
    "en-US", "en-GB", "en-AU", "en-IN", "en-ZA", "en-CA", "en-IE", "en-NZ", "fr-FR", "fr-CA", "de-DE", "es-ES",
    "es-US", "es-MX", "pt-BR", "pt-PT", "it-IT", "nl-NL", "nl-BE", "ja-JP", "ko-KR", "zh-CN", "zh-TW", "ar-SA",
    "hi-IN", "ru-RU", "pl-PL", "sv-SE", "da-DK", "nb-NO", "fi-FI", "tr-TR", "cs-CZ", "el-GR", "bg-BG", "he-IL",
    "id-ID", "th-TH", "uk-UA", "vi-VN", "ro-RO", "hu-HU",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Languages {
    offered: Vec<String>,
    /// The engine's languages (lower case); `None` when only the configured locales are known.
    engine: Option<Vec<String>>,
}

/// A locale's language subtag, lower case (`en` for `en-US`).
fn language_of(locale: &str) -> String {
    locale.split(['-', '_']).next().unwrap_or_default().trim().to_ascii_lowercase()
}

impl Languages {
    /// From the engine's languages (see `Transcriber::languages`) or, without them, the configured locales.
    pub fn new(engine: Option<Vec<String>>, configured: &[String]) -> Self {
        let engine = engine.map(|l| l.iter().map(|l| l.to_ascii_lowercase()).collect::<Vec<_>>());
        let offered = match &engine {
            Some(known) => LOCALES.iter().filter(|l| known.contains(&language_of(l))).map(|l| l.to_string()).collect(),
            None => configured.to_vec(),
        };
        Self { offered, engine }
    }

    /// What `opened` lists when asked (`supportedLanguages`).
    pub fn offered(&self) -> &[String] {
        &self.offered
    }

    /// Whether a conversation in `locale` can be transcribed.
    pub fn supports(&self, locale: &str) -> bool {
        match &self.engine {
            Some(known) => known.contains(&language_of(locale)),
            None => self.offered.iter().any(|l| l.eq_ignore_ascii_case(locale.trim())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_english_model_offers_english_locales_and_accepts_any_english() {
        let l = Languages::new(Some(vec!["en".into()]), &["fr-FR".into()]);
        assert!(l.offered().iter().all(|o| o.starts_with("en-")) && l.offered().contains(&"en-US".into()));
        assert!(l.supports("en-US") && l.supports("EN-nz") && l.supports("en"));
        assert!(!l.supports("fr-FR") && !l.supports(""), "the configured list does not matter");
    }

    #[test]
    fn a_multilingual_model_offers_its_languages_and_a_remote_provider_the_configured_ones() {
        let l = Languages::new(Some(vec!["en".into(), "fr".into(), "nl".into()]), &[]);
        assert_eq!(
            l.offered(),
            [
                "en-US", "en-GB", "en-AU", "en-IN", "en-ZA", "en-CA", "en-IE", "en-NZ", "fr-FR", "fr-CA", "nl-NL",
                "nl-BE"
            ]
        );
        assert!(l.supports("fr-BE") && !l.supports("de-DE"));
        let remote = Languages::new(None, &["en-US".into(), "nl-BE".into()]);
        assert_eq!(remote.offered(), ["en-US", "nl-BE"]);
        assert!(remote.supports("nl-be") && !remote.supports("nl-NL"));
    }
}
