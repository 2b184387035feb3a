//! The embedded analysis engine (`engine::analyze`, no API key): speaker roles and names from what people
//! say, auto-tags and the SLA flag, lexicon sentiment, topics, action items,
//! question/answer pairs, a resolution guess and talk metrics, as pure functions over transcript entries;
//! and the optional LLM enrichment over it (`llm`, `LLM_PROVIDER`).

pub mod engine;
pub mod glossary;
pub mod insights;
pub mod llm;
pub mod llm_prompt;
pub mod llm_reply;
pub mod roles;
pub mod sentiment;
pub mod tags;
pub mod talk;
