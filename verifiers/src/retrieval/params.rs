//! The `retrieval` and `danger` params tables shared by the kinds that fetch
//! (`oracle`, `ipfs`, `eigenda`), and the refusal of the keys they replace.
//!
//! One vocabulary for every kind: a timeout's name says whether it bounds one
//! attempt or the whole retrieval, and the one option that weakens a check
//! sits behind a door named `danger`.

use std::time::Duration;

use serde::Deserialize;
use taskproof_core::{BuildContext, ConfigError};

/// The `retrieval` table: how one kind fetches. Every key is optional; the
/// kind supplies the defaults.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalParams {
    /// TCP (and TLS) connect timeout, per connection.
    pub connect_timeout_ms: Option<u64>,
    /// One attempt: connecting, redirects, headers and the whole body.
    pub attempt_timeout_ms: Option<u64>,
    /// The whole retrieval: every endpoint, attempt and backoff together.
    pub total_timeout_ms: Option<u64>,
    /// Further attempts of one endpoint after a transient failure
    /// (unreachable, timed out, HTTP 429 or 5xx, a body that broke off).
    pub retries: Option<u32>,
    /// The wait before the first retry, doubled for each further one.
    pub backoff_ms: Option<u64>,
    /// Redirects followed per attempt (0: none).
    pub max_redirects: Option<u32>,
    /// The largest response body read; reading stops there.
    pub max_response_bytes: Option<u64>,
}

/// A kind's defaults for the `retrieval` table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Defaults {
    pub(crate) connect_timeout_ms: u64,
    pub(crate) attempt_timeout_ms: u64,
    pub(crate) total_timeout_ms: u64,
    pub(crate) retries: u32,
    pub(crate) backoff_ms: u64,
    pub(crate) max_redirects: u32,
    pub(crate) max_response_bytes: u64,
}

/// At most this many retries: a retry storm is what the oracle's cache is
/// there to avoid, and a node's deadline cuts them short anyway.
pub const MAX_RETRIES: u32 = 10;

/// At most this many redirects per attempt.
pub const MAX_REDIRECTS: u32 = 10;

/// The checked `retrieval` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrievalPolicy {
    /// Per connection.
    pub connect_timeout: Duration,
    /// Per attempt: connecting, redirects, headers and body.
    pub attempt_timeout: Duration,
    /// Every endpoint, attempt and backoff together.
    pub total_timeout: Duration,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one.
    pub backoff: Duration,
    /// Redirects followed per attempt.
    pub max_redirects: u32,
    /// The largest response body read.
    pub max_response_bytes: u64,
}

impl RetrievalParams {
    /// Checks the table (located under `retrieval.`) against `defaults`. A
    /// default never exceeds a limit the config sets: with only
    /// `total_timeout_ms = 400`, one attempt may take 400 ms, not the
    /// default 5 s that could never act.
    pub(crate) fn check(
        &self,
        ctx: &BuildContext<'_>,
        defaults: Defaults,
    ) -> Result<RetrievalPolicy, ConfigError> {
        let positive = |key: &str, value: u64| {
            if value == 0 {
                Err(ctx.error(&format!("retrieval.{key}"), "must be greater than 0"))
            } else {
                Ok(value)
            }
        };
        let total = positive(
            "total_timeout_ms",
            self.total_timeout_ms.unwrap_or(defaults.total_timeout_ms),
        )?;
        let attempt = positive(
            "attempt_timeout_ms",
            self.attempt_timeout_ms
                .unwrap_or(defaults.attempt_timeout_ms.min(total)),
        )?;
        let connect = positive(
            "connect_timeout_ms",
            self.connect_timeout_ms
                .unwrap_or(defaults.connect_timeout_ms.min(attempt)),
        )?;
        if attempt > total {
            return Err(ctx.error(
                "retrieval.attempt_timeout_ms",
                format!(
                    "{attempt} ms is longer than total_timeout_ms ({total} ms): it could never act"
                ),
            ));
        }
        if connect > attempt {
            return Err(ctx.error(
                "retrieval.connect_timeout_ms",
                format!("{connect} ms is longer than attempt_timeout_ms ({attempt} ms): it could never act"),
            ));
        }
        let retries = self.retries.unwrap_or(defaults.retries);
        if retries > MAX_RETRIES {
            return Err(ctx.error("retrieval.retries", format!("at most {MAX_RETRIES}")));
        }
        let max_redirects = self.max_redirects.unwrap_or(defaults.max_redirects);
        if max_redirects > MAX_REDIRECTS {
            return Err(ctx.error(
                "retrieval.max_redirects",
                format!("at most {MAX_REDIRECTS}"),
            ));
        }
        let max_response_bytes = positive(
            "max_response_bytes",
            self.max_response_bytes
                .unwrap_or(defaults.max_response_bytes),
        )?;
        Ok(RetrievalPolicy {
            connect_timeout: Duration::from_millis(connect),
            attempt_timeout: Duration::from_millis(attempt),
            total_timeout: Duration::from_millis(total),
            retries,
            backoff: Duration::from_millis(self.backoff_ms.unwrap_or(defaults.backoff_ms)),
            max_redirects,
            max_response_bytes,
        })
    }
}

/// The `danger` table: options that weaken what a verdict means.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DangerParams {
    /// Content that no endpoint delivers is `Invalid` instead of `Undecided`:
    /// the attester then votes against a performer for its own (or its
    /// endpoints') trouble. Only for AVSs whose very task is publishing the
    /// content.
    #[serde(default)]
    pub unavailable_is_invalid: bool,
}

impl DangerParams {
    /// Logs, at start-up, every danger the task definition opted in to.
    pub(crate) fn announce(&self, ctx: &BuildContext<'_>) {
        if self.unavailable_is_invalid {
            tracing::warn!(
                task_definition = ctx.task_definition_id(),
                name = ctx.name(),
                "danger.unavailable_is_invalid is set: content no endpoint delivers is voted \
                 invalid, even when the fault is the attester's or its endpoints'"
            );
        }
    }
}

/// A key that moved into the `retrieval` or `danger` table, and where to.
pub(crate) type Moved = (&'static str, &'static str);

/// `timeout_ms` meant one attempt for `oracle` and the whole retrieval for
/// `ipfs` and `eigenda`: refused everywhere rather than guessed.
pub(crate) const TIMEOUT_MS: Moved = (
    "timeout_ms",
    "use `retrieval.total_timeout_ms` (all attempts and endpoints together) or \
     `retrieval.attempt_timeout_ms` (one attempt)",
);
pub(crate) const CONNECT_TIMEOUT_MS: Moved =
    ("connect_timeout_ms", "use `retrieval.connect_timeout_ms`");
pub(crate) const RETRIES: Moved = ("retries", "use `retrieval.retries`");
pub(crate) const BACKOFF_MS: Moved = ("backoff_ms", "use `retrieval.backoff_ms`");
pub(crate) const MAX_RESPONSE_BYTES: Moved =
    ("max_response_bytes", "use `retrieval.max_response_bytes`");
pub(crate) const UNAVAILABLE_IS_INVALID: Moved = (
    "unavailable_is_invalid",
    "use `danger = { unavailable_is_invalid = true }`",
);

/// Refuses, with a located error saying where it went, any key of `moved`
/// that the params still use: an old key must not silently change meaning.
pub(crate) fn refuse_moved_keys(
    ctx: &BuildContext<'_>,
    moved: &[Moved],
) -> Result<(), ConfigError> {
    for (key, instead) in moved {
        if ctx.raw_params().contains_key(*key) {
            return Err(ctx.error(key, format!("this key moved: {instead}")));
        }
    }
    Ok(())
}
