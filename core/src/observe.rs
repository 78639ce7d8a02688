//! What verifiers report about their own work, for whoever runs them to
//! count: today, each failed attempt to fetch from a configured endpoint.
//!
//! Verifiers do not know about metrics: they call [`retrieval_failed`], and
//! the node installs an [`Observer`] that turns the reports into counters
//! ([`set_observer`]). Without one, a report costs a read of a lock.
//!
//! What it trusts: the endpoint in a report is a URL from the attester's own
//! config, already redacted by the caller (no userinfo, no query values);
//! never a URL a task or a server chose, so the set of endpoints is bounded
//! by the config.

use std::sync::{Arc, RwLock};

/// Why one attempt to fetch from an endpoint failed. A fixed set, so a
/// counter labelled by it stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// The connection failed (refused, reset, DNS, TLS).
    Unreachable,
    /// A connect, attempt or total time limit ran out.
    Timeout,
    /// HTTP 429.
    RateLimited,
    /// Another HTTP 4xx status.
    ClientError,
    /// An HTTP 5xx status.
    ServerError,
    /// Any other status that is not a success (1xx, a 3xx not followed).
    OtherStatus,
    /// The body was larger than the configured cap.
    TooLarge,
    /// The body broke off.
    BrokenOff,
    /// A redirect was refused (too many, a downgrade, another scheme).
    RedirectRefused,
    /// The request failed otherwise (a protocol error).
    Protocol,
}

impl FailureCause {
    /// The cause as a metric label: `unreachable`, `timeout`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
            Self::OtherStatus => "other_status",
            Self::TooLarge => "too_large",
            Self::BrokenOff => "broken_off",
            Self::RedirectRefused => "redirect_refused",
            Self::Protocol => "protocol",
        }
    }

    /// The cause of an HTTP status that is not a success.
    pub fn of_status(status: u16) -> Self {
        match status {
            429 => Self::RateLimited,
            400..=499 => Self::ClientError,
            500..=599 => Self::ServerError,
            _ => Self::OtherStatus,
        }
    }

    /// Every cause, in a fixed order.
    pub const ALL: [Self; 10] = [
        Self::Unreachable,
        Self::Timeout,
        Self::RateLimited,
        Self::ClientError,
        Self::ServerError,
        Self::OtherStatus,
        Self::TooLarge,
        Self::BrokenOff,
        Self::RedirectRefused,
        Self::Protocol,
    ];
}

/// One failed attempt to fetch from a configured endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetrievalFailure<'a> {
    /// The task definition whose config names the endpoint.
    pub task_definition: u16,
    /// The endpoint as configured, redacted (no userinfo, no query values).
    pub endpoint: &'a str,
    /// What went wrong.
    pub cause: FailureCause,
}

impl<'a> RetrievalFailure<'a> {
    /// A report for `endpoint` of `task_definition`.
    pub fn new(task_definition: u16, endpoint: &'a str, cause: FailureCause) -> Self {
        Self {
            task_definition,
            endpoint,
            cause,
        }
    }
}

/// Receives the reports of every verifier in the process.
pub trait Observer: Send + Sync + 'static {
    /// An attempt to fetch from an endpoint failed. Called on the task or
    /// thread that fetched: keep it cheap and never block.
    fn retrieval_failed(&self, failure: &RetrievalFailure<'_>);
}

static OBSERVER: RwLock<Option<Arc<dyn Observer>>> = RwLock::new(None);

/// Makes `observer` receive every report from now on, replacing the one
/// before (a process runs one node; tests that start several see the last).
pub fn set_observer(observer: Arc<dyn Observer>) {
    let mut slot = OBSERVER.write().unwrap_or_else(|e| e.into_inner());
    *slot = Some(observer);
}

/// Stops delivering reports.
pub fn clear_observer() {
    let mut slot = OBSERVER.write().unwrap_or_else(|e| e.into_inner());
    *slot = None;
}

/// Reports a failed attempt to the installed observer, if any.
pub fn retrieval_failed(failure: &RetrievalFailure<'_>) {
    let observer = OBSERVER
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(Arc::clone);
    if let Some(observer) = observer {
        observer.retrieval_failed(failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<(u16, String, FailureCause)>>);

    impl Observer for Seen {
        fn retrieval_failed(&self, f: &RetrievalFailure<'_>) {
            self.0
                .lock()
                .unwrap()
                .push((f.task_definition, f.endpoint.to_owned(), f.cause));
        }
    }

    #[test]
    fn reports_reach_the_installed_observer_and_stop_when_cleared() {
        let seen = Arc::new(Seen::default());
        set_observer(seen.clone());
        retrieval_failed(&RetrievalFailure::new(
            7,
            "http://a/",
            FailureCause::Timeout,
        ));
        clear_observer();
        retrieval_failed(&RetrievalFailure::new(
            7,
            "http://b/",
            FailureCause::Timeout,
        ));
        assert_eq!(
            *seen.0.lock().unwrap(),
            vec![(7, "http://a/".to_owned(), FailureCause::Timeout)]
        );
    }

    #[test]
    fn statuses_map_to_their_class() {
        assert_eq!(FailureCause::of_status(429), FailureCause::RateLimited);
        assert_eq!(FailureCause::of_status(404), FailureCause::ClientError);
        assert_eq!(FailureCause::of_status(502), FailureCause::ServerError);
        assert_eq!(FailureCause::of_status(304), FailureCause::OtherStatus);
        let labels: std::collections::HashSet<_> =
            FailureCause::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(labels.len(), FailureCause::ALL.len());
    }
}
