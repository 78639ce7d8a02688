//! Fetching one source: bounded in time (connect and total), in size (the body
//! is streamed and reading stops at the cap) and in retries (exponential
//! backoff). Every failure here is the attester's trouble, never the
//! performer's: it ends as `Undecided`.

use std::sync::Arc;

use reqwest::Client;
use serde_json::Value;

use super::params::{FetchPolicy, Source};

/// Why a source gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The connection failed (refused, reset, DNS, TLS).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The source did not answer within the timeout.
    #[error("timed out")]
    TimedOut,
    /// The source answered with a non-success HTTP status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than `max_response_bytes`.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// The body is not JSON.
    #[error("response is not JSON: {0}")]
    NotJson(String),
}

impl FetchError {
    /// Whether another attempt may succeed.
    fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::TimedOut => true,
            Self::Status(code) => *code == 429 || (500..600).contains(code),
            Self::TooLarge(_) | Self::NotJson(_) => false,
        }
    }

    fn from_reqwest(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::TimedOut
        } else {
            // The chain of sources says "connection refused" where the top
            // level only says "error sending request".
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                message = format!("{message}: {inner}");
                source = inner.source();
            }
            Self::Unreachable(message)
        }
    }
}

/// A client configured with the policy's timeouts.
pub(crate) fn client(policy: &FetchPolicy) -> Result<Client, reqwest::Error> {
    Client::builder()
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
}

/// One attempt: GET, check the status, stream the body up to the cap, parse.
async fn fetch_once(client: &Client, source: &Source, cap: u64) -> Result<Value, FetchError> {
    let mut response = client
        .get(source.url.clone())
        .headers(source.headers.clone())
        .send()
        .await
        .map_err(|e| FetchError::from_reqwest(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(FetchError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::from_reqwest(&e))?
    {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > cap {
            return Err(FetchError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()))
}

/// Fetches with retries; transient failures are retried after
/// `backoff · 2^attempt`.
pub(crate) async fn fetch(
    client: &Client,
    source: &Source,
    policy: &FetchPolicy,
) -> Result<Arc<Value>, FetchError> {
    let mut attempt = 0;
    loop {
        match fetch_once(client, source, policy.max_response_bytes).await {
            Ok(value) => return Ok(Arc::new(value)),
            Err(e) if e.is_transient() && attempt < policy.retries => {
                let wait = policy.backoff.saturating_mul(1u32 << attempt.min(16));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
