//! Waits that listen: the event-driven path of the waits in [`crate::api::helpers`].
//!
//! Order matters: subscribe first, then read the current state, then wait for events, so
//! that a change between the read and the subscription cannot be missed. A change that
//! lasts one scheduler step is seen in its event's document, which a poll would miss. The
//! subscription only takes effect once the publisher has read it, which ZeroMQ does not
//! acknowledge; and events can be lost (a restarted oned, a lagging consumer). So the wait
//! also reads the state again on every gap the subscriber reports and, as a safety net, after
//! each [`WaitOptions::max_delay`] without a decisive event.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Event, Filter, StateEvent, Subscriber};
use crate::api::helpers::{wait_until, Check, HelperError, WaitOptions};

/// Longest time spent connecting to the bus before the wait falls back to polling.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Waits for `check` to say [`Check::Done`] on the documents of the state events `filter`
/// selects, reading the state with `fetch` first, on every reported gap and at least every
/// `options.max_delay`. `None` when the bus cannot be reached: the caller polls instead.
pub(crate) async fn listen_until<T, F, Fut>(
    endpoint: &str,
    filter: Filter,
    what: &str,
    options: WaitOptions,
    fetch: &mut F,
    check: &mut impl FnMut(&T) -> Check,
    document: impl Fn(StateEvent) -> Option<T>,
) -> Option<Result<T, HelperError>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    let started = tokio::time::Instant::now();
    let deadline = options.deadline(started);
    let subscriber = Subscriber::builder()
        .endpoint(endpoint)
        .filter(filter)
        .connect_timeout(CONNECT_TIMEOUT.min(options.timeout))
        .connect()
        .await;
    let mut subscriber = match subscriber {
        Ok(subscriber) => subscriber,
        Err(e) => {
            tracing::warn!(target: "opennebula::events", endpoint, error = %e, "waiting for {what} by polling: the event bus cannot be reached");
            return None;
        }
    };
    Some(
        listen(
            &mut subscriber,
            what,
            options,
            started,
            deadline,
            fetch,
            check,
            document,
        )
        .await,
    )
}

#[allow(clippy::too_many_arguments)]
async fn listen<T, F, Fut>(
    subscriber: &mut Subscriber,
    what: &str,
    options: WaitOptions,
    started: tokio::time::Instant,
    deadline: tokio::time::Instant,
    fetch: &mut F,
    check: &mut impl FnMut(&T) -> Check,
    document: impl Fn(StateEvent) -> Option<T>,
) -> Result<T, HelperError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    let mut last = match verdict(what, check, fetch().await?) {
        Ok(done) => return done,
        Err(last) => last,
    };
    let backstop = options.max_delay.max(Duration::from_millis(100));
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(HelperError::timed_out(what, now - started, last));
        }
        let wake = backstop.min(deadline - now);
        let reread = match tokio::time::timeout(wake, subscriber.next()).await {
            Ok(Some(Ok(Event::State(event)))) => {
                if let Some(value) = document(event) {
                    match verdict(what, check, value) {
                        Ok(done) => return done,
                        Err(pending) => last = pending,
                    }
                }
                false
            }
            Ok(Some(Ok(_))) => false,
            Ok(Some(Err(gap))) if gap.may_have_missed_events() => {
                tracing::debug!(target: "opennebula::events", error = %gap, "re-reading {what}");
                if matches!(gap, super::EventError::Stopped(_)) {
                    break;
                }
                true
            }
            // A malformed message may have been the awaited change.
            Ok(Some(Err(_))) => true,
            Ok(None) => break,
            // Nothing decisive for a while: read the state (the safety net).
            Err(_) => true,
        };
        if reread {
            match verdict(what, check, fetch().await?) {
                Ok(done) => return done,
                Err(pending) => last = pending,
            }
        }
    }
    // The subscriber stopped: poll for the rest of the time.
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    wait_until(
        what,
        WaitOptions {
            timeout: remaining,
            ..options
        },
        fetch,
        |value| check(value),
    )
    .await
}

/// `Ok` with the wait's result when `check` decides, `Err` with the pending state otherwise.
fn verdict<T>(
    what: &str,
    check: &mut impl FnMut(&T) -> Check,
    value: T,
) -> Result<Result<T, HelperError>, String> {
    match check(&value) {
        Check::Done => Ok(Ok(value)),
        Check::Unreachable(reason) => Ok(Err(HelperError::Unreachable {
            what: what.to_string(),
            reason,
        })),
        Check::Pending(last) => Err(last),
    }
}
