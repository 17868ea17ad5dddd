//! When and how long to wait before sending a failed request again.
//!
//! Exponential backoff with jitter, honouring `Retry-After`, everything capped. Which requests may
//! be sent again at all is decided per endpoint in `client.rs` (`Replay`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How failed requests are retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles with each further attempt.
    pub base_delay: Duration,
    /// No wait is longer, `Retry-After` included.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Six attempts, 0.5 s doubling, at most 30 s a wait (about 1.5 minutes in the worst case).
    pub const fn standard() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }

    /// Six attempts with no wait at all, `Retry-After` ignored: for tests, which must not sleep.
    pub const fn immediate() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// The policy with every wait divided by `time_scale` (`EMBEDCTL_TIME_SCALE`, for tests and
    /// benchmarks against a time-scaled simulator); a scale below 1 or not finite changes nothing.
    pub fn scaled(self, time_scale: f64) -> Self {
        if !time_scale.is_finite() || time_scale <= 1.0 {
            return self;
        }
        Self {
            max_attempts: self.max_attempts,
            base_delay: self.base_delay.div_f64(time_scale),
            max_delay: self.max_delay.div_f64(time_scale),
        }
    }

    /// The wait after failed attempt number `attempt` (from 1): the exponential delay with
    /// "equal jitter" (between half and all of it, so that concurrent clients spread out while
    /// the wait still grows), or `retry_after` when the server asked for longer; never more than
    /// `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let backoff = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jittered = backoff.mul_f64(0.5 + 0.5 * jitter_fraction());
        jittered
            .max(retry_after.unwrap_or_default())
            .min(self.max_delay)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

/// A number in [0, 1) that differs from call to call and from process to process. Jitter needs
/// no quality randomness, only spread; the standard library's randomly seeded hasher over a
/// counter gives that without a dependency.
fn jitter_fraction() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_and_stay_capped() {
        let policy = RetryPolicy::standard();
        for _ in 0..100 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
            let fourth = policy.delay(4, None);
            assert!(fourth >= Duration::from_secs(2) && fourth <= Duration::from_secs(4));
            assert!(policy.delay(30, None) <= Duration::from_secs(30));
        }
    }

    #[test]
    fn retry_after_wins_when_longer_but_not_past_the_cap() {
        let policy = RetryPolicy::standard();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_time_scale_divides_every_wait() {
        let policy = RetryPolicy::standard().scaled(60.0);
        assert_eq!(policy.max_attempts, 6);
        assert!(policy.delay(1, None) <= Duration::from_micros(8_334));
        assert!(policy.delay(30, None) <= Duration::from_millis(500));
        assert_eq!(RetryPolicy::standard().scaled(0.5), RetryPolicy::standard());
    }

    #[test]
    fn the_immediate_policy_never_waits() {
        let policy = RetryPolicy::immediate();
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(5))),
            Duration::ZERO
        );
    }
}
