//! Is the notifications socket alive? Genesys sends a `channel.metadata` heartbeat about every 30 s; after
//! `ping_after` of silence we send `{"message":"ping"}` (answered on `channel.metadata` with "pong"), and
//! if nothing arrives within `pong_within` the socket is treated as dead. Pure: the caller passes the clock.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Alive,
    /// Send `{"message":"ping"}` now.
    Ping,
    /// Nothing came back: close and reconnect.
    Dead,
}

#[derive(Debug, Clone)]
pub struct Watchdog {
    ping_after: Duration,
    pong_within: Duration,
    /// Time of the last message of any kind, and of the ping we are waiting on.
    last_heard: Duration,
    pinged_at: Option<Duration>,
}

impl Watchdog {
    /// Times are offsets on any monotonic clock; `now` is when the socket opened.
    pub fn new(ping_after: Duration, pong_within: Duration, now: Duration) -> Self {
        Self { ping_after, pong_within, last_heard: now, pinged_at: None }
    }

    /// Any message (heartbeat, pong, notification) proves the socket alive.
    pub fn heard(&mut self, now: Duration) {
        self.last_heard = now;
        self.pinged_at = None;
    }

    /// What to do at `now`.
    pub fn check(&mut self, now: Duration) -> Verdict {
        match self.pinged_at {
            Some(at) if now.saturating_sub(at) >= self.pong_within => Verdict::Dead,
            Some(_) => Verdict::Alive,
            None if now.saturating_sub(self.last_heard) >= self.ping_after => {
                self.pinged_at = Some(now);
                Verdict::Ping
            }
            None => Verdict::Alive,
        }
    }

    /// When `check` next needs to run.
    pub fn next_check(&self) -> Duration {
        match self.pinged_at {
            Some(at) => at + self.pong_within,
            None => self.last_heard + self.ping_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_then_ping_then_dead_unless_something_arrives() {
        let s = Duration::from_secs;
        let mut w = Watchdog::new(s(45), s(15), s(0));
        assert_eq!(w.check(s(30)), Verdict::Alive);
        w.heard(s(30)); // a heartbeat
        assert_eq!(w.next_check(), s(75));
        assert_eq!(w.check(s(74)), Verdict::Alive);
        assert_eq!(w.check(s(75)), Verdict::Ping);
        assert_eq!(w.check(s(80)), Verdict::Alive, "waiting for the pong, no second ping");
        assert_eq!(w.next_check(), s(90));
        assert_eq!(w.check(s(90)), Verdict::Dead);

        let mut w = Watchdog::new(s(45), s(15), s(0));
        assert_eq!(w.check(s(45)), Verdict::Ping);
        w.heard(s(46)); // the pong
        assert_eq!(w.check(s(60)), Verdict::Alive);
        assert_eq!(w.next_check(), s(91));
    }
}
