//! ECS task scale-in protection while AudioHook sessions are open, decided here without I/O
//! (`protection_agent.rs` asks the ECS agent). Genesys does not reconnect a cut AudioHook session, so a
//! task with calls must not be the one autoscaling stops: while sessions are open the task is protected,
//! the protection renewed before it lapses (so a listener that hangs or dies loses it within the period,
//! and autoscaling is not held up for ever), and cleared once the task has been idle for a while rather
//! than between every two calls (each change is an ECS API call, and a task that just ended a call is
//! likely to get the next one).

use crate::backoff;
use shared::settings::env::{self, EnvError, EnvSource};
use std::time::{Duration, Instant};

/// The ECS agent's bounds on `ExpiresInMinutes`.
const MINUTES: std::ops::RangeInclusive<u64> = 1..=2_880;
/// A failed request is retried after this, doubled per failure up to [`RETRY_MAX`] (with jitter).
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Where to ask and how long protection lasts; `None` from [`Settings::from_env`] off ECS.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `$ECS_AGENT_URI/task-protection/v1/state` (ECS sets `ECS_AGENT_URI` in every task's containers).
    pub url: String,
    pub policy: Policy,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// `GENESYS_AUDIOHOOK_PROTECTION_MINUTES` (60, 1–2880): the `ExpiresInMinutes` of each request,
    /// renewed when half has passed. How long a hung listener may still hold off scale-in.
    pub minutes: u64,
    /// `GENESYS_AUDIOHOOK_PROTECTION_IDLE_SECONDS` (120): how long without a session before protection is
    /// cleared.
    pub idle: Duration,
}

impl Settings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Option<Self>, EnvError> {
        let Some(agent) = env::string(e, "ECS_AGENT_URI") else { return Ok(None) };
        let minutes: u64 = env::parsed(e, "GENESYS_AUDIOHOOK_PROTECTION_MINUTES", 60, "whole number of minutes")?;
        let idle: u64 = env::parsed(e, "GENESYS_AUDIOHOOK_PROTECTION_IDLE_SECONDS", 120, "whole number of seconds")?;
        Ok(Some(Self {
            url: format!("{}/task-protection/v1/state", agent.trim_end_matches('/')),
            policy: Policy {
                minutes: minutes.clamp(*MINUTES.start(), *MINUTES.end()),
                idle: Duration::from_secs(idle),
            },
        }))
    }
}

/// What to ask the agent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Protect (or renew) for `Policy::minutes`.
    Protect,
    /// Clear the protection.
    Clear,
}

/// What the agent last confirmed and what the task has been doing since.
#[derive(Debug)]
pub struct Tracker {
    policy: Policy,
    /// When the protection the agent confirmed lapses; `None` = not protected.
    protected_until: Option<Instant>,
    /// Since when no session has been open (`None` while one is).
    idle_since: Option<Instant>,
    /// Failed requests in a row, and when the next may be made.
    failures: u32,
    retry_at: Option<Instant>,
}

impl Tracker {
    pub fn new(policy: Policy) -> Self {
        Self { policy, protected_until: None, idle_since: None, failures: 0, retry_at: None }
    }

    fn period(&self) -> Duration {
        Duration::from_secs(self.policy.minutes * 60)
    }

    /// The request due with `open` sessions at `now`, if any.
    pub fn next(&mut self, open: u64, now: Instant) -> Option<Request> {
        if open > 0 {
            self.idle_since = None;
        } else {
            self.idle_since.get_or_insert(now);
        }
        // Protection that lapsed on its own needs no clearing.
        if self.protected_until.is_some_and(|until| until <= now) {
            self.protected_until = None;
        }
        if self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        match (open > 0, self.protected_until) {
            (true, None) => Some(Request::Protect),
            (true, Some(until)) if until - now <= self.period() / 2 => Some(Request::Protect),
            (false, Some(_)) if self.idle_since.is_some_and(|since| now - since >= self.policy.idle) => {
                Some(Request::Clear)
            }
            _ => None,
        }
    }

    /// The agent did what `request` asked (made at `sent`).
    pub fn done(&mut self, request: Request, sent: Instant) {
        self.protected_until = match request {
            Request::Protect => Some(sent + self.period()),
            Request::Clear => None,
        };
        self.failures = 0;
        self.retry_at = None;
    }

    /// The agent refused or did not answer at `now`: the next request waits, longer after each failure.
    /// What the agent last confirmed stands.
    pub fn failed(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let wait = backoff::delay(RETRY_FIRST, self.failures, RETRY_MAX);
        self.retry_at = Some(now + wait);
        wait
    }

    /// Whether the agent last confirmed protection that has not lapsed.
    pub fn protected(&self, now: Instant) -> bool {
        self.protected_until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy { minutes: 60, idle: Duration::from_secs(120) };

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn protects_when_a_session_opens_and_renews_at_half_the_period() {
        let t0 = Instant::now();
        let mut t = Tracker::new(POLICY);
        assert_eq!(t.next(0, t0), None, "an idle task is not protected");
        assert_eq!(t.next(1, t0), Some(Request::Protect));
        t.done(Request::Protect, t0);
        assert!(t.protected(t0));
        assert_eq!(t.next(3, t0 + s(60)), None, "protected for an hour: nothing to ask");
        assert_eq!(t.next(1, t0 + s(29 * 60)), None);
        assert_eq!(t.next(1, t0 + s(30 * 60)), Some(Request::Protect), "renewed with half the hour left");
        t.done(Request::Protect, t0 + s(30 * 60));
        assert_eq!(t.next(1, t0 + s(59 * 60)), None, "the renewal counts from when it was made");
    }

    #[test]
    fn clears_only_after_the_idle_delay_and_a_new_session_keeps_it() {
        let t0 = Instant::now();
        let mut t = Tracker::new(POLICY);
        t.next(1, t0);
        t.done(Request::Protect, t0);
        assert_eq!(t.next(0, t0 + s(10)), None, "the call just ended");
        assert_eq!(t.next(0, t0 + s(129)), None);
        assert_eq!(t.next(1, t0 + s(129)), None, "a new call within the delay: still protected");
        assert_eq!(t.next(0, t0 + s(140)), None, "idle counts again from here");
        assert_eq!(t.next(0, t0 + s(259)), None);
        assert_eq!(t.next(0, t0 + s(260)), Some(Request::Clear));
        t.done(Request::Clear, t0 + s(260));
        assert!(!t.protected(t0 + s(260)));
        assert_eq!(t.next(0, t0 + s(400)), None, "cleared once");
        assert_eq!(t.next(2, t0 + s(401)), Some(Request::Protect));
    }

    #[test]
    fn lapsed_protection_is_not_cleared_and_is_taken_again_for_a_session() {
        let t0 = Instant::now();
        let mut t = Tracker::new(Policy { minutes: 1, idle: s(600) });
        t.next(1, t0);
        t.done(Request::Protect, t0);
        assert_eq!(t.next(0, t0 + s(61)), None, "lapsed on its own: nothing to clear");
        assert!(!t.protected(t0 + s(61)));
        assert_eq!(t.next(0, t0 + s(700)), None);
        assert_eq!(t.next(1, t0 + s(701)), Some(Request::Protect));
    }

    #[test]
    fn failures_are_retried_later_and_longer_each_time() {
        let t0 = Instant::now();
        let mut t = Tracker::new(POLICY);
        assert_eq!(t.next(1, t0), Some(Request::Protect));
        let first = t.failed(t0);
        assert!((s(4)..=s(6)).contains(&first), "{first:?}");
        assert!(!t.protected(t0));
        assert_eq!(t.next(1, t0 + first - Duration::from_millis(1)), None, "not before the retry is due");
        assert_eq!(t.next(1, t0 + first), Some(Request::Protect));
        let second = t.failed(t0 + first);
        assert!((s(8)..=s(12)).contains(&second), "{second:?}");
        let later = t0 + first + second;
        assert_eq!(t.next(1, later), Some(Request::Protect));
        t.done(Request::Protect, later);
        assert_eq!(t.next(0, later), None);
        let failed = (1..20).map(|_| t.failed(later)).max().unwrap();
        assert!(failed <= s(72), "capped at a minute (with jitter): {failed:?}");
    }

    #[test]
    fn settings_only_on_ecs_with_documented_defaults() {
        assert_eq!(Settings::from_env(&[]).unwrap(), None);
        let s = Settings::from_env(&[("ECS_AGENT_URI", "http://169.254.170.2/api/abc/")]).unwrap().unwrap();
        assert_eq!(s.url, "http://169.254.170.2/api/abc/task-protection/v1/state");
        assert_eq!(s.policy, Policy { minutes: 60, idle: Duration::from_secs(120) });
        let s = Settings::from_env(&[
            ("ECS_AGENT_URI", "http://agent"),
            ("GENESYS_AUDIOHOOK_PROTECTION_MINUTES", "5000"),
            ("GENESYS_AUDIOHOOK_PROTECTION_IDLE_SECONDS", "1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.policy, Policy { minutes: 2_880, idle: Duration::from_secs(1) }, "the agent's maximum");
        let bad = [("ECS_AGENT_URI", "http://agent"), ("GENESYS_AUDIOHOOK_PROTECTION_MINUTES", "soon")];
        assert!(Settings::from_env(&bad).is_err());
    }
}
