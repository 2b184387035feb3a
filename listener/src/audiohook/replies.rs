//! What a session's worker sends back on its own socket (the Transcription Connector's transcripts, its
//! pause and resume), and how the socket task turns it into protocol messages.

use super::session::{Output, Session, State};
use serde_json::Value;
use tokio::sync::mpsc;

/// What a session's worker asks the socket task to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An `event` with these entities.
    Event(Vec<Value>),
    /// Ask the client to pause (a language we cannot transcribe) or to resume.
    Pause,
    Resume,
    /// Everything due before `closed` has been sent.
    Flushed,
}

/// The worker's next reply; [`Reply::Flushed`] once it has stopped replying, and never for a session
/// without replies.
pub(super) async fn next_reply(replies: &mut Option<mpsc::UnboundedReceiver<Reply>>) -> Reply {
    let Some(rx) = replies.as_mut() else { return std::future::pending().await };
    match rx.recv().await {
        Some(reply) => reply,
        None => {
            *replies = None;
            Reply::Flushed
        }
    }
}

/// What the session sends for a worker's reply.
pub(super) fn answer(session: &mut Session, reply: Reply) -> Vec<Output> {
    match reply {
        Reply::Event(entities) => session.event(entities).into_iter().collect(),
        Reply::Pause => session.pause(),
        Reply::Resume => session.resume(),
        Reply::Flushed if session.state() == State::Closing => session.closed(),
        Reply::Flushed => Vec::new(),
    }
}
