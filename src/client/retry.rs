//! Opt-in retries with exponential backoff and full jitter, only where they are safe.
//!
//! A call is retried when the failure is transient (connection refused or reset, timeout,
//! HTTP 502/503/504) **and** repeating it cannot do harm:
//! - the request certainly never reached the server ([`Error::is_never_sent`]), whatever the
//!   method; or
//! - the request says its method is read-only ([`Request::idempotent`](crate::rpc::Request::idempotent):
//!   info, pool info, monitoring, accounting, showback, raft status, version, config,
//!   sqlquery — the `idempotent` column of the method table, filled in by the API layer).
//!
//! An allocate, clone, instantiate or action whose response was lost is never sent again:
//! the caller gets the error and decides.

use std::time::Duration;

use crate::error::Error;

/// How a [`Client`](crate::Client) retries failed calls. Off unless configured with
/// [`ClientBuilder::retry`](crate::ClientBuilder::retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, backoff from 100 ms doubling up to 5 s, with full jitter.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy with `max_retries` retries after the first attempt and default backoff.
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..RetryPolicy::default()
        }
    }

    /// Backoff before the first retry; doubled for each further one.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Upper bound of the backoff.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether attempt number `attempt` (0 = the first) of a call that failed with `error`
    /// may be retried; `idempotent` says whether the call only reads
    /// ([`Request::idempotent`](crate::rpc::Request::idempotent)).
    pub fn should_retry(&self, idempotent: bool, error: &Error, attempt: u32) -> bool {
        attempt < self.max_retries && is_transient(error) && (error.is_never_sent() || idempotent)
    }

    /// The pause before retry number `attempt + 1`: a random duration up to the exponential
    /// backoff ("full jitter"), so that many clients do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        exponential.mul_f64(jitter_fraction())
    }
}

/// Failures worth another attempt: the transport, not the request, was the problem.
fn is_transient(error: &Error) -> bool {
    match error {
        Error::Connect { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
        Error::Http { status, .. } => matches!(status, 502..=504),
        Error::Grpc { code, .. } => *code == crate::GrpcCode::Unavailable,
        _ => false,
    }
}

/// A number in [0.5, 1.0) from a cheap per-call source: jitter needs spread, not
/// cryptographic quality, so no RNG dependency is pulled in for it.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    0.5 + (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64 / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_responses_of_writes_are_never_retried() {
        let policy = RetryPolicy::new(5);
        let lost = Error::Transport {
            message: "connection reset".into(),
            source: None,
        };
        assert!(!policy.should_retry(false, &lost, 0));
        assert!(policy.should_retry(true, &lost, 0));
        assert!(!policy.should_retry(true, &lost, 5));
        let refused = Error::Connect {
            message: "refused".into(),
            source: None,
        };
        assert!(policy.should_retry(false, &refused, 0));
        let busy = Error::Http {
            status: 503,
            body_excerpt: None,
        };
        assert!(policy.should_retry(true, &busy, 0));
        assert!(!policy.should_retry(false, &busy, 0));
        let not_found = Error::Http {
            status: 404,
            body_excerpt: None,
        };
        assert!(!policy.should_retry(true, &not_found, 0));
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let policy = RetryPolicy::new(10)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        for attempt in 0..40 {
            let pause = policy.backoff(attempt);
            assert!(pause <= Duration::from_secs(1), "{attempt}: {pause:?}");
        }
        assert!(policy.backoff(0) >= Duration::from_millis(50));
        assert!(policy.backoff(0) < Duration::from_millis(100));
        assert!(policy.backoff(3) >= Duration::from_millis(400));
    }
}
