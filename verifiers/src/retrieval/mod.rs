//! Fetching over HTTP for the kinds that check the outside world (`oracle`)
//! or content a proof names (`ipfs`, `eigenda`): one client, one URL check,
//! one redirect policy, one size cap, one way to show a URL, and typed errors.
//!
//! What it trusts: the URLs, headers and limits of the attester's own
//! config. What it does not trust: anything a server sends — its status, its
//! redirects, its length, its pace. Bodies are streamed under a size cap and
//! time limits; a server that fails or lies only makes the attester
//! [`Verdict::Undecided`], unless the task definition opened the
//! `danger = { unavailable_is_invalid = true }` door. Secrets in a configured
//! URL or its headers go only to that URL's origin and are never shown: every
//! URL in an error, a cause or a log is a [`RedactedUrl`].
//!
//! Kinds whose proof *names* content hand it on, once checked, to an optional
//! inner verifier (`then = { verifier, params }`) as its proof of task.

// Each kind uses its part of this layer: a build with only some kinds
// leaves the others' parts unused.
#![cfg_attr(
    not(all(feature = "oracle", feature = "ipfs", feature = "eigenda")),
    allow(dead_code, unused_imports)
)]

mod endpoint;
mod fetch;
mod params;

use std::{collections::BTreeMap, fmt, io, sync::Arc};

use futures_util::StreamExt;
use taskproof_core::{
    BuildContext, ConfigError, InnerVerifier, Task, Verdict, Verifier,
    deadline::{Deadline, Expired},
};
use tokio::sync::mpsc;

pub use endpoint::{Endpoint, RedactedUrl};
pub use fetch::{FetchError, Fetcher, RedirectError, Timeout, Transient};
pub use params::{DangerParams, MAX_REDIRECTS, MAX_RETRIES, RetrievalParams, RetrievalPolicy};

pub(crate) use fetch::check_announced_length;
pub(crate) use params::{
    BACKOFF_MS, CONNECT_TIMEOUT_MS, Defaults, MAX_RESPONSE_BYTES, Moved, RETRIES, TIMEOUT_MS,
    UNAVAILABLE_IS_INVALID, refuse_moved_keys,
};

/// Checks a kind's list of endpoint URLs (param `key`): at least one, each
/// http(s). They carry no custom headers; a userinfo is sent as basic auth.
pub(crate) fn endpoints(
    ctx: &BuildContext<'_>,
    key: &str,
    urls: &[String],
) -> Result<Vec<Endpoint>, ConfigError> {
    if urls.is_empty() {
        return Err(ctx.error(key, "give at least one URL"));
    }
    let none = BTreeMap::new();
    urls.iter()
        .enumerate()
        .map(|(i, url)| Endpoint::parse(ctx, &format!("{key}[{i}]"), url, "", &none))
        .collect()
}

/// Why one endpoint did not deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointFailure<E> {
    /// The endpoint, redacted.
    pub endpoint: RedactedUrl,
    /// What went wrong.
    pub error: E,
}

impl<E: fmt::Display> fmt::Display for EndpointFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.endpoint, self.error)
    }
}

/// The verdict when no endpoint delivered: Undecided, naming every endpoint
/// and why; Invalid only behind the `danger` door.
pub(crate) fn unavailable<E: fmt::Display>(
    what: &str,
    failures: &[EndpointFailure<E>],
    danger: DangerParams,
) -> Verdict {
    let detail = failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!("{what} could not be retrieved ({detail})");
    if danger.unavailable_is_invalid {
        Verdict::invalid(message)
    } else {
        Verdict::undecided(message)
    }
}

/// Builds the optional inner verifier of the param `then`.
pub(crate) fn build_then(
    ctx: &BuildContext<'_>,
    then: Option<&InnerVerifier>,
) -> Result<Option<Arc<dyn Verifier>>, ConfigError> {
    then.map(|inner| ctx.build_inner("then", inner)).transpose()
}

/// Judges retrieved content: Valid when there is no inner verifier,
/// otherwise the inner verifier's verdict on a task whose proof of task is
/// the content (which must then be UTF-8 text).
pub(crate) async fn hand_on(
    inner: Option<&Arc<dyn Verifier>>,
    task: &Task,
    what: &str,
    content: Vec<u8>,
) -> Verdict {
    let Some(inner) = inner else {
        return Verdict::Valid;
    };
    let text = match String::from_utf8(content) {
        Ok(text) => text,
        Err(e) => {
            return Verdict::invalid(format!(
                "{what} is not UTF-8 text (invalid byte at offset {}), so it cannot be the inner verifier's proof of task",
                e.utf8_error().valid_up_to()
            ));
        }
    };
    let mut inner_task = task.clone();
    inner_task.proof_of_task = text;
    match inner.verify(&inner_task).await {
        Verdict::Invalid { reason } => Verdict::invalid(format!("{what}: {reason}")),
        other => other,
    }
}

/// What stopped a [`BodyReader`]: the peer, or the verification's deadline.
#[derive(Debug)]
pub(crate) enum Stopped {
    Fetch(FetchError),
    Expired,
}

/// Why a [`BodyReader`] read failed, if it was the reader's own doing (and
/// not the parser's that reads from it).
pub(crate) fn stopped_by(e: &io::Error) -> Option<Stopped> {
    let inner = e.get_ref()?;
    if let Some(fetch) = inner.downcast_ref::<FetchError>() {
        Some(Stopped::Fetch(fetch.clone()))
    } else if inner.downcast_ref::<Expired>().is_some() {
        Some(Stopped::Expired)
    } else {
        None
    }
}

/// A blocking [`io::Read`] over an HTTP body pumped by an async task. Each
/// chunk checks the verification's deadline, so the hashing and walking fed
/// by it stop when the verification is abandoned.
pub(crate) struct BodyReader {
    chunks: mpsc::Receiver<Result<bytes::Bytes, FetchError>>,
    current: bytes::Bytes,
    received: u64,
    max_size: u64,
    /// The fetch this body belongs to, to report a body over the cap.
    attempt: Option<Arc<fetch::Attempt>>,
}

impl io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            taskproof_core::deadline::check().map_err(io::Error::other)?;
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.received > self.max_size {
                        let e = FetchError::TooLarge(self.max_size);
                        if let Some(attempt) = &self.attempt {
                            attempt.report(&e);
                        }
                        return Err(io::Error::other(e));
                    }
                    self.current = chunk;
                }
            }
        }
        let n = buf.len().min(self.current.len());
        let head = self.current.split_to(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(&head);
        }
        Ok(n)
    }
}

/// The blocking worker of [`stream_body`] panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the verification worker failed")]
pub struct WorkerPanicked;

/// Streams `response`'s body into `work`, run on a blocking thread under the
/// current verification's [`Deadline`], and returns its result. `max_size`
/// caps the bytes read (the body of a CAR is a little larger than the file it
/// holds: callers allow for it); a larger announced length is refused before
/// reading.
///
/// The blocking thread is tokio's, not the CPU pool's: it is paced by the
/// network, and holding a CPU permit while a slow server trickles bytes would
/// stall every other verification. Its work is bounded by `max_size`, and it
/// stops at the next chunk once the deadline passes, or as soon as this
/// future is dropped (the channel closes).
pub(crate) async fn stream_body<T: Send + 'static>(
    response: reqwest::Response,
    max_size: u64,
    work: impl FnOnce(BodyReader) -> T + Send + 'static,
) -> Result<Result<T, WorkerPanicked>, FetchError> {
    check_announced_length(&response, max_size)?;
    let (tx, rx) = mpsc::channel(16);
    let reader = BodyReader {
        chunks: rx,
        current: bytes::Bytes::new(),
        received: 0,
        max_size,
        attempt: fetch::Attempt::current(),
    };
    let deadline = Deadline::current();
    let worker = tokio::task::spawn_blocking(move || deadline.enter(|| work(reader)));
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let item = chunk.map_err(FetchError::broken_off);
        if let Err(e) = &item {
            fetch::report(e);
        }
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            // The worker stopped reading (it has its answer or gave up).
            break;
        }
    }
    drop(tx);
    Ok(worker.await.map_err(|_| WorkerPanicked))
}
