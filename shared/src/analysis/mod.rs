//! The embedded analysis engine (`engine::analyze`, no API key): speaker roles and names from what people
//! say, auto-tags and the SLA flag (seed-contract §6.5), lexicon sentiment, topics, action items,
//! question/answer pairs, a resolution guess and talk metrics, as pure functions over transcript entries.

pub mod engine;
pub mod glossary;
pub mod insights;
pub mod roles;
pub mod sentiment;
pub mod tags;
pub mod talk;
