//! Retry delays: exponential from a first delay, capped, with ±20 % jitter so clients that failed
//! together do not retry together.

use std::time::Duration;

/// The delay before retry number `attempt` (1 = the first retry).
pub fn delay(first: Duration, attempt: u32, max: Duration) -> Duration {
    let base = first.saturating_mul(1 << attempt.clamp(1, 16).saturating_sub(1)).min(max);
    let mut b = [0u8; 1];
    base.mul_f64(getrandom::fill(&mut b).map_or(1.0, |()| 0.8 + f64::from(b[0]) / 255.0 * 0.4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_jitters_within_a_fifth() {
        let s = Duration::from_secs;
        for (attempt, expected) in [(1, 1.5), (2, 3.0), (3, 6.0), (10, 30.0)] {
            let d = delay(Duration::from_millis(1500), attempt, s(30)).as_secs_f64();
            assert!((expected * 0.8 - 1e-9..=expected * 1.2 + 1e-9).contains(&d), "attempt {attempt}: {d}");
        }
    }
}
