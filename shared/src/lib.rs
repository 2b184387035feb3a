//! Call Analytics core: the realtime and batch use cases, their pure engines, the ports they run on and the
//! adapters behind them. Nothing here knows about HTTP or Lambda; `functions/` maps it onto routes.
//!
//! # Layout
//!
//! One folder per area; inside each, pure modules (no I/O, no `async`) apart from the use cases and
//! adapters that do I/O (ARCHITECTURE.md lists which is which, and a test keeps the pure ones pure).
//!
//! | module | what it holds |
//! |---|---|
//! | [`realtime`] | live calls: event and audio-chunk payloads, the risk engine, alert rules, keywords, the live-audio window, WebSocket tickets, and the `RealtimeService` use cases |
//! | [`batch`] | uploaded calls: records, jobs, processing, the dashboard, exports and bulk actions (`BatchService`) |
//! | [`audio`] | reading recordings (WAV layouts, G.711, symphonia), channels, resampling, noise, pieces, silence |
//! | [`speech`] | speech to text (`Transcriber`: OpenAI-compatible, Sarvam, embedded whisper), whisper models, transcripts |
//! | [`analysis`] | the embedded analysis engine and the optional LLM enrichment |
//! | [`genesys`] | Genesys notifications mapped to realtime events |
//! | [`ports`] | the traits the use cases run on |
//! | [`adapters`] | the ports on SQLite and a folder (`embedded`) and on DynamoDB, S3, SQS and API Gateway (`aws`) |
//! | [`outbound`] | calling outside HTTP services: reading replies, OpenAI-compatible API settings, error text |
//! | [`settings`] | typed settings from the environment; secrets |
//! | [`process`] | what every long-running process needs: logging, the stop signal, worker health |
//! | [`values`] | values parsed once at the edge: identifiers and timestamps |

pub mod adapters;
pub mod analysis;
pub mod audio;
pub mod batch;
pub mod genesys;
pub mod outbound;
pub mod ports;
pub mod process;
pub mod realtime;
pub mod settings;
pub mod speech;
pub mod values;
