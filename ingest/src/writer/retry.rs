//! Exponential backoff with full jitter for store writes.

use std::time::Duration;

/// Delay before retry `attempt` (0-based) is a random duration between zero and
/// `min(max, initial * multiplier^attempt)`, which spreads the retries of many writers and
/// replicas over time instead of synchronizing them.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// Returns the upper bound of the jittered delay for `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let seconds = self.initial.as_secs_f64() * factor;
        if seconds.is_finite() {
            Duration::from_secs_f64(seconds.min(self.max.as_secs_f64()))
        } else {
            self.max
        }
    }

    /// Returns the delay before retry `attempt`, at least `server_hint` when the store sent a
    /// `Retry-After`.
    pub fn delay(&self, attempt: u32, server_hint: Option<Duration>) -> Duration {
        let jittered = self.ceiling(attempt).mul_f64(fastrand::f64());
        match server_hint {
            Some(hint) => jittered.max(hint),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_then_caps() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.ceiling(20), Duration::from_secs(10));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn delay_stays_under_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 0..10 {
            assert!(policy.delay(attempt, None) <= policy.ceiling(attempt));
        }
    }

    #[test]
    fn delay_honours_retry_after() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
    }
}
