use std::time::Duration;

use crate::config::RetryPolicy;

/// Whether an HTTP status is worth retrying: throttled (429) or a server error.
pub(crate) fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// How long to wait before attempt `attempt + 1` (`attempt` counts from 1), honouring a
/// `Retry-After` header in seconds when there is one; never longer than `max_delay`.
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32, retry_after: Option<&str>) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let wait = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(exp);
    wait.min(policy.max_delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_then_capped_and_retry_after_wins() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(3),
        };
        assert_eq!(backoff(&p, 1, None), Duration::from_millis(500));
        assert_eq!(backoff(&p, 2, None), Duration::from_secs(1));
        assert_eq!(backoff(&p, 3, None), Duration::from_secs(2));
        assert_eq!(backoff(&p, 4, None), Duration::from_secs(3));
        assert_eq!(backoff(&p, 1, Some("2")), Duration::from_secs(2));
        assert_eq!(backoff(&p, 1, Some("120")), Duration::from_secs(3));
        assert_eq!(backoff(&p, 2, Some("soon")), Duration::from_secs(1));
        assert!(is_retryable(429) && is_retryable(503) && !is_retryable(404));
    }
}
