//! Content retrieved over HTTP and handed on: limits, streaming, composition.
//!
//! Kinds whose proof of task *names* content (an IPFS CID, an EigenDA blob
//! commitment) fetch it from endpoints the attester configured, check it
//! against the name, then optionally hand it to an inner verifier
//! (`then = { verifier, params }`) as that verifier's proof of task. Nothing a
//! server sends is trusted: bodies are streamed with a size cap and time
//! limits, and a server that fails or lies only makes the attester
//! [`Verdict::Undecided`] — unless the task definition opts in to treating
//! unavailable content as invalid.

use std::{io, sync::Arc, time::Duration};

use futures_util::StreamExt;
use taskproof_core::{BuildContext, ConfigError, InnerVerifier, Task, Verdict, Verifier};
use tokio::sync::mpsc;

/// The default `connect_timeout_ms` of the kinds that retrieve content.
pub(crate) fn default_connect_timeout_ms() -> u64 {
    3_000
}

/// The default `timeout_ms` (all endpoints together) of the kinds that
/// retrieve content.
pub(crate) fn default_timeout_ms() -> u64 {
    20_000
}

/// Size and time limits on one retrieval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrievalLimits {
    /// The largest content accepted, in bytes.
    pub max_size: u64,
    /// How long connecting to one endpoint may take.
    pub connect_timeout: Duration,
    /// How long the whole retrieval, every endpoint included, may take.
    pub timeout: Duration,
}

impl RetrievalLimits {
    /// Checks a kind's endpoint list (`key`: at least one, each http(s)) and
    /// its limits (each greater than 0), and returns the limits.
    pub(crate) fn from_params(
        ctx: &BuildContext<'_>,
        key: &str,
        urls: &[String],
        max_size_bytes: u64,
        connect_timeout_ms: u64,
        timeout_ms: u64,
    ) -> Result<Self, ConfigError> {
        if urls.is_empty() {
            return Err(ctx.error(key, "give at least one URL"));
        }
        for (i, url) in urls.iter().enumerate() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ctx.error(
                    &format!("{key}[{i}]"),
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
        }
        if max_size_bytes == 0 || timeout_ms == 0 || connect_timeout_ms == 0 {
            return Err(ctx.error(
                "",
                "max_size_bytes, timeout_ms and connect_timeout_ms must be greater than 0",
            ));
        }
        Ok(Self {
            max_size: max_size_bytes,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// The HTTP client these limits call for.
    pub(crate) fn client(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::limited(4))
            .user_agent(concat!("taskproof/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// Why one endpoint did not deliver the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointFailure {
    /// The endpoint, as configured.
    pub endpoint: String,
    /// What went wrong.
    pub reason: String,
}

/// The verdict when no endpoint delivered: Undecided, naming every endpoint
/// and why; Invalid only when the task definition opted in.
pub(crate) fn unavailable(
    what: &str,
    failures: &[EndpointFailure],
    unavailable_is_invalid: bool,
) -> Verdict {
    let detail = failures
        .iter()
        .map(|f| format!("{}: {}", f.endpoint, f.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!("{what} could not be retrieved ({detail})");
    if unavailable_is_invalid {
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

/// A blocking [`io::Read`] over an HTTP body pumped by an async task.
pub(crate) struct BodyReader {
    chunks: mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
    received: u64,
    max_size: u64,
}

impl io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.received > self.max_size {
                        return Err(io::Error::other(format!(
                            "the response exceeds the {}-byte limit",
                            self.max_size
                        )));
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

/// Streams `response`'s body into `work`, run on a blocking thread, and
/// returns its result. `max_size` caps the bytes read (the body of a CAR is a
/// little larger than the file it holds: callers allow for it).
///
/// The blocking thread is tokio's, not the CPU pool's: it is paced by the
/// network, and holding a CPU permit while a slow server trickles bytes would
/// stall every other verification. Its hashing is bounded by `max_size`.
pub(crate) async fn stream_body<T: Send + 'static>(
    response: reqwest::Response,
    max_size: u64,
    work: impl FnOnce(BodyReader) -> T + Send + 'static,
) -> Result<T, String> {
    if let Some(len) = response.content_length()
        && len > max_size
    {
        return Err(format!(
            "the response announces {len} bytes, over the {max_size}-byte limit"
        ));
    }
    let (tx, rx) = mpsc::channel(16);
    let reader = BodyReader {
        chunks: rx,
        current: bytes::Bytes::new(),
        received: 0,
        max_size,
    };
    let worker = tokio::task::spawn_blocking(move || work(reader));
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let item = chunk.map_err(|e| format!("the response broke off: {e}"));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            // The worker stopped reading (it has its answer or gave up).
            break;
        }
    }
    drop(tx);
    worker
        .await
        .map_err(|e| format!("the verification worker failed: {e}"))
}

/// A short, stable account of a failed HTTP request, for Undecided causes.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        format!("cannot connect: {e}")
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}
