//! Opt-in retries with exponential backoff and full jitter, only where they are safe.
//!
//! A call is retried when the failure is transient (connection refused or reset, timeout,
//! HTTP 502/503/504) **and** repeating it cannot do harm:
//! - the request certainly never reached the server ([`Error::is_never_sent`]), whatever the
//!   method; or
//! - the method is read-only ([`is_idempotent`]: info, pool info, monitoring, accounting,
//!   showback, raft status, version, config, sqlquery — the `idempotent` column of
//!   OpenNebula's method table).
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

    /// Whether attempt number `attempt` (0 = the first) of `method` that failed with `error`
    /// may be retried.
    pub fn should_retry(&self, method: &str, error: &Error, attempt: u32) -> bool {
        attempt < self.max_retries
            && is_transient(error)
            && (error.is_never_sent() || is_idempotent(method))
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
        _ => false,
    }
}

/// Whether an OpenNebula method only reads (so sending it twice is harmless).
///
/// The method table (`schemas/api/methods.api`, see [`crate::api::method_info`]) decides for
/// every known method. A name it does not know (a newer OpenNebula's) is judged by its last
/// part, the rule the table itself follows: `info`, `infoextended`, `infoset`, `monitoring`,
/// `accounting`, `showback`, `raftstatus`, `version`, `config` and `sqlquery` read;
/// everything else (`calculateshowback`, `system.sql` ...) may write.
pub fn is_idempotent(method: &str) -> bool {
    match crate::api::method_info(method) {
        Some(info) => info.idempotent,
        None => reads_by_name(method),
    }
}

fn reads_by_name(method: &str) -> bool {
    let last = method.rsplit('.').next().unwrap_or(method);
    matches!(
        last,
        "info"
            | "infoextended"
            | "infoset"
            | "monitoring"
            | "accounting"
            | "showback"
            | "raftstatus"
            | "version"
            | "config"
            | "sqlquery"
    )
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
    fn only_read_methods_are_idempotent() {
        for m in [
            "one.vm.info",
            "one.vmpool.infoextended",
            "one.zone.raftstatus",
            "one.system.version",
            "one.vmpool.showback",
        ] {
            assert!(is_idempotent(m), "{m}");
        }
        for m in [
            "one.vm.allocate",
            "one.vm.action",
            "one.template.instantiate",
            "one.vmpool.calculateshowback",
            "one.system.sql",
            "one.image.clone",
        ] {
            assert!(!is_idempotent(m), "{m}");
        }
    }

    #[test]
    fn the_name_rule_agrees_with_the_method_table() {
        for method in crate::api::METHODS {
            assert_eq!(
                reads_by_name(method.name),
                method.idempotent,
                "{}",
                method.name
            );
        }
        assert!(reads_by_name("one.newobject.info"));
        assert!(!reads_by_name("one.newobject.frobnicate"));
    }

    #[test]
    fn lost_responses_of_writes_are_never_retried() {
        let policy = RetryPolicy::new(5);
        let lost = Error::Transport {
            message: "connection reset".into(),
            source: None,
        };
        assert!(!policy.should_retry("one.vm.allocate", &lost, 0));
        assert!(policy.should_retry("one.vm.info", &lost, 0));
        assert!(!policy.should_retry("one.vm.info", &lost, 5));
        let refused = Error::Connect {
            message: "refused".into(),
            source: None,
        };
        assert!(policy.should_retry("one.vm.allocate", &refused, 0));
        let busy = Error::Http {
            status: 503,
            body_excerpt: None,
        };
        assert!(policy.should_retry("one.vm.info", &busy, 0));
        assert!(!policy.should_retry("one.vm.action", &busy, 0));
        let not_found = Error::Http {
            status: 404,
            body_excerpt: None,
        };
        assert!(!policy.should_retry("one.vm.info", &not_found, 0));
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
