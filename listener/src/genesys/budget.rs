//! A request budget: a token bucket that keeps REST calls under Genesys' 300 requests per minute per
//! OAuth client (with headroom), shared by token refreshes, channel calls and topic discovery.

use std::time::Duration;

/// Requests per minute we allow ourselves.
pub const REQUESTS_PER_MINUTE: f64 = 240.0;

#[derive(Debug, Clone)]
pub struct Budget {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    /// Seconds on the caller's clock at the last update.
    at: f64,
}

impl Budget {
    /// `burst` requests at once, refilled at `per_minute`.
    pub fn new(per_minute: f64, burst: f64, now: f64) -> Self {
        Self { capacity: burst, per_second: per_minute / 60.0, tokens: burst, at: now }
    }

    /// Takes one request at `now` (seconds): `None` when it may go now, else how long to wait first.
    pub fn take(&mut self, now: f64) -> Option<Duration> {
        self.tokens = (self.tokens + (now - self.at).max(0.0) * self.per_second).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces_below_the_limit() {
        let mut b = Budget::new(240.0, 10.0, 0.0);
        for _ in 0..10 {
            assert_eq!(b.take(0.0), None);
        }
        let wait = b.take(0.0).expect("the burst is spent");
        assert!((wait.as_secs_f64() - 0.25).abs() < 1e-9, "{wait:?}");
        assert_eq!(b.take(0.25), None, "one request per 250 ms after the burst");
        // Over a minute of asking as fast as allowed, never more than burst + 240.
        let (mut now, mut sent) = (0.25, 0);
        while now < 60.25 {
            match b.take(now) {
                None => sent += 1,
                Some(w) => now += w.as_secs_f64(),
            }
        }
        assert!(sent <= 241, "{sent}");
    }
}
