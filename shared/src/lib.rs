//! Call Analytics core: the realtime domain and its pure engines, the ports the handlers use, and the
//! embedded adapters. Nothing here knows about HTTP or Lambda; `functions/` maps it onto routes.

pub mod adapters;
pub mod alerts;
pub mod analysis;
pub mod audio;
pub mod audio_chunk;
pub mod batch;
pub mod config;
pub mod domain;
pub mod env;
pub mod errors;
pub mod exports;
pub mod g711;
pub mod genesys;
pub mod health;
pub mod http_reply;
pub mod ids;
pub mod keyed_lock;
pub mod keywords;
pub mod live_audio;
pub mod logging;
pub mod normalize;
pub mod openai_api;
pub mod ports;
pub mod realtime;
pub mod risk;
pub mod secret;
pub mod shutdown;
pub mod silence;
pub mod stt;
pub mod tickets;
pub mod timestamps;
pub mod transcript;
pub mod wav;
pub mod whisper_model;
