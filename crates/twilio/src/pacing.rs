//! Outbound pacing: call creations wait their turn at the account's calls-per-second limit
//! instead of being fired and throttled by Twilio.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket with a burst of one token, refilled at `rate` tokens per second.
///
/// Sans-IO: the time is passed in. A reservation may take the bucket below zero; the caller
/// then waits for the returned duration, so concurrent callers queue in reservation order.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    interval: Duration,
    next_free: Option<Instant>,
}

impl TokenBucket {
    /// A bucket for `rate` events per second (`rate` > 0).
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Self {
            interval: Duration::from_secs_f64(1.0 / rate),
            next_free: None,
        }
    }

    /// Reserves the next slot at or after `now`; returns how long to wait before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = match self.next_free {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next_free = Some(slot + self.interval);
        slot - now
    }
}

/// The async face of [`TokenBucket`].
#[derive(Debug)]
pub(crate) struct Pacer {
    bucket: Mutex<TokenBucket>,
}

impl Pacer {
    pub(crate) fn new(rate: f64) -> Self {
        Self {
            bucket: Mutex::new(TokenBucket::new(rate)),
        }
    }

    /// Waits for this caller's slot. Cancel safety: a dropped wait still used up its slot, which
    /// only makes the next caller wait a little longer than needed.
    pub(crate) async fn acquire(&self) {
        let wait = {
            let mut bucket = match self.bucket.lock() {
                Ok(b) => b,
                Err(poisoned) => poisoned.into_inner(),
            };
            bucket.reserve(Instant::now())
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Concurrent callers on tokio's paused clock: each gets its own slot, one interval
    /// apart, measured on the same virtual clock the pacer sleeps on (no second clock, so
    /// nothing to race on a loaded machine).
    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spaced_one_interval_apart_on_the_paused_clock() {
        let pacer = Arc::new(Pacer::new(5.0));
        let t0 = Instant::now();
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let pacer = Arc::clone(&pacer);
                tokio::spawn(async move {
                    pacer.acquire().await;
                    Instant::now() - t0
                })
            })
            .collect();
        let mut at = Vec::new();
        for caller in callers {
            at.push(caller.await.unwrap());
        }
        at.sort();
        let ms = Duration::from_millis;
        assert_eq!(at, [ms(0), ms(200), ms(400), ms(600)]);
        // A later caller after an idle spell goes at once, then the interval applies again.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t1 = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(Instant::now() - t1, ms(200));
    }

    #[test]
    fn one_per_second_queues_back_to_back_requests() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1.0);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        assert_eq!(bucket.reserve(t0), Duration::from_secs(1));
        assert_eq!(bucket.reserve(t0), Duration::from_secs(2));
        // After an idle period no credit is hoarded beyond one slot.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::from_secs(1));
    }

    #[test]
    fn fractional_rates() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(4.0);
        bucket.reserve(t0);
        assert_eq!(
            bucket.reserve(t0 + Duration::from_millis(100)),
            Duration::from_millis(150)
        );
        let mut bad = TokenBucket::new(0.0);
        bad.reserve(t0);
        assert_eq!(bad.reserve(t0), Duration::from_secs(1));
    }
}
