//! One HTTP client and one security policy for every fetch.
//!
//! Trusts nothing a server sends, including where it redirects. Redirects
//! are followed by hand (reqwest's own policy would forward every header):
//! only to http(s), never from https down to http, at most `max_redirects`
//! per attempt, and the endpoint's secrets (custom headers, userinfo) go only
//! to the configured URL's origin (scheme, host, port) — once a hop leaves
//! it they are stripped for the rest of the chain, so a server cannot bounce
//! a key back to a path of its choosing. No `Referer` is sent. Every attempt
//! has a time limit, the whole retrieval another, and reading stops at the
//! size cap.
//!
//! Every failed attempt is reported to [`taskproof_core::observe`] against
//! the configured endpoint it was made to, with its cause: where it failed
//! (connecting, a status, a redirect, the body, a time limit) is known only
//! here, so the attempt in progress is tracked for the whole of
//! [`Fetcher::retrying`]'s call to it.

use std::{
    future::Future,
    sync::{Arc, OnceLock},
    time::Duration,
};

use futures_util::StreamExt;
use reqwest::{
    Response, StatusCode, Url,
    header::{ACCEPT, LOCATION},
};
use taskproof_core::observe::{self, FailureCause, RetrievalFailure};
use tokio::time::Instant;

use super::{Endpoint, RedactedUrl, RetrievalPolicy, endpoint::Configured};

/// Which time limit ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Connecting (`connect_timeout_ms`).
    Connect,
    /// One attempt (`attempt_timeout_ms`).
    Attempt(Duration),
    /// The whole retrieval (`total_timeout_ms`).
    Total(Duration),
}

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect => f.write_str("connecting timed out (connect_timeout_ms)"),
            Self::Attempt(d) => write!(
                f,
                "timed out after {} ms (attempt_timeout_ms)",
                d.as_millis()
            ),
            Self::Total(d) => write!(f, "timed out after {} ms (total_timeout_ms)", d.as_millis()),
        }
    }
}

/// Why a redirect was not followed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// The chain is longer than `max_redirects`.
    #[error("more than {0} redirects (max_redirects)")]
    TooMany(u32),
    /// A redirect status without a Location that resolves to a URL.
    #[error("a redirect without a usable Location")]
    NoLocation,
    /// A redirect to a scheme other than http(s).
    #[error("a redirect to a `{0}` URL (only http and https)")]
    Scheme(String),
    /// A redirect from https to plain http: what follows could be forged on
    /// the way.
    #[error("a redirect from https down to http ({0})")]
    Downgrade(RedactedUrl),
}

/// Why an endpoint gave no usable response: the peer's trouble or the
/// network's, never the performer's. Every URL in it is redacted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The connection failed (refused, reset, DNS, TLS).
    #[error("cannot connect: {0}")]
    Unreachable(String),
    /// A time limit ran out.
    #[error("{0}")]
    TimedOut(Timeout),
    /// A status other than success (after redirects).
    #[error("HTTP {0}")]
    Status(u16),
    /// The body is larger than `max_response_bytes` (or the kind's cap).
    #[error("the response exceeds the {0}-byte limit")]
    TooLarge(u64),
    /// The body broke off.
    #[error("the response broke off: {0}")]
    BrokenOff(String),
    /// A redirect was refused.
    #[error("redirect refused: {0}")]
    Redirect(RedirectError),
    /// The request failed otherwise (a protocol error).
    #[error("the request failed: {0}")]
    Request(String),
}

/// Whether another attempt may succeed.
pub trait Transient {
    /// True for the failures worth retrying.
    fn is_transient(&self) -> bool;
}

impl Transient for FetchError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_)
            | Self::BrokenOff(_)
            | Self::TimedOut(Timeout::Connect | Timeout::Attempt(_)) => true,
            Self::Status(code) => *code == 429 || (500..600).contains(code),
            Self::TimedOut(Timeout::Total(_))
            | Self::TooLarge(_)
            | Self::Redirect(_)
            | Self::Request(_) => false,
        }
    }
}

impl FetchError {
    /// The cause as reported to [`taskproof_core::observe`].
    pub fn cause(&self) -> FailureCause {
        match self {
            Self::Unreachable(_) => FailureCause::Unreachable,
            Self::TimedOut(_) => FailureCause::Timeout,
            Self::Status(code) => FailureCause::of_status(*code),
            Self::TooLarge(_) => FailureCause::TooLarge,
            Self::BrokenOff(_) => FailureCause::BrokenOff,
            Self::Redirect(_) => FailureCause::RedirectRefused,
            Self::Request(_) => FailureCause::Protocol,
        }
    }

    /// Describes a reqwest error without its URL (which may hold a query
    /// secret) but with its chain of causes ("connection refused" lives
    /// below "error sending request").
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        let e = e.without_url();
        if e.is_timeout() && e.is_connect() {
            return Self::TimedOut(Timeout::Connect);
        }
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            let text = inner.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            source = inner.source();
        }
        if e.is_connect() {
            Self::Unreachable(message)
        } else if e.is_body() || e.is_decode() {
            Self::BrokenOff(message)
        } else {
            Self::Request(message)
        }
    }
}

impl FetchError {
    /// A failure while reading a body: the body broke off, whatever reqwest
    /// calls it.
    pub(crate) fn broken_off(e: reqwest::Error) -> Self {
        match Self::from_reqwest(e) {
            Self::Request(m) | Self::Unreachable(m) => Self::BrokenOff(m),
            other => other,
        }
    }
}

/// The attempt in progress: which configured endpoint it went to, once
/// [`Fetcher::open`] knows.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    endpoint: OnceLock<Configured>,
}

impl Attempt {
    /// Reports `error` against the attempt's endpoint, if it has one.
    pub(crate) fn report(&self, error: &FetchError) {
        if let Some(endpoint) = self.endpoint.get() {
            observe::retrieval_failed(&RetrievalFailure::new(
                endpoint.task_definition,
                &endpoint.shown,
                error.cause(),
            ));
        }
    }

    /// The attempt running on this task, if any.
    pub(crate) fn current() -> Option<Arc<Self>> {
        ATTEMPT.try_with(Arc::clone).ok()
    }
}

tokio::task_local! {
    static ATTEMPT: Arc<Attempt>;
}

/// Reports `error` against the attempt running on this task.
pub(crate) fn report(error: &FetchError) {
    if let Some(attempt) = Attempt::current() {
        attempt.report(error);
    }
}

/// The next URL of a redirect chain, or why it is refused.
pub(crate) fn next_hop(current: &Url, location: Option<&str>) -> Result<Url, RedirectError> {
    let location = location.ok_or(RedirectError::NoLocation)?;
    let mut next = current
        .join(location)
        .map_err(|_| RedirectError::NoLocation)?;
    match next.scheme() {
        "http" | "https" => {}
        other => {
            // A scheme is short and harmless to show, but bound it anyway.
            let shown: String = other.chars().take(16).collect();
            return Err(RedirectError::Scheme(shown));
        }
    }
    if current.scheme() == "https" && next.scheme() == "http" {
        return Err(RedirectError::Downgrade(RedactedUrl::new(&next)));
    }
    // Credentials a server hands us are not ours to send anywhere.
    let _ = next.set_username("");
    let _ = next.set_password(None);
    next.set_fragment(None);
    Ok(next)
}

/// The HTTP client of one task definition, and its policy.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: RetrievalPolicy,
}

impl Fetcher {
    /// A client configured by `policy`: connect timeout, no automatic
    /// redirects, no `Referer`.
    pub fn new(policy: RetrievalPolicy) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(concat!("taskproof/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Request(e.without_url().to_string()))?;
        Ok(Self { client, policy })
    }

    /// The policy.
    pub fn policy(&self) -> &RetrievalPolicy {
        &self.policy
    }

    /// One request to `target`, redirects followed by the policy: the final
    /// response, whose status is a success. `accept` is sent on every hop;
    /// the endpoint's secrets only while the chain stays on its origin.
    pub(crate) async fn open(
        &self,
        target: &Endpoint,
        accept: Option<&'static str>,
    ) -> Result<Response, FetchError> {
        if let Some(attempt) = Attempt::current() {
            let _ = attempt.endpoint.set(target.configured().clone());
        }
        let opened = self.follow(target, accept).await;
        if let Err(e) = &opened {
            report(e);
        }
        opened
    }

    async fn follow(
        &self,
        target: &Endpoint,
        accept: Option<&'static str>,
    ) -> Result<Response, FetchError> {
        let origin = target.url().origin();
        let mut url = target.url().clone();
        let mut on_origin = true;
        let mut hops = 0;
        loop {
            on_origin = on_origin && url.origin() == origin;
            let mut request = self.client.get(url.clone());
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if on_origin {
                request = request.headers(target.secrets().clone());
                if let Some(c) = target.credentials() {
                    request = request.basic_auth(&c.user, c.password.as_ref());
                }
            }
            let response = request.send().await.map_err(FetchError::from_reqwest)?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let followed = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            if !followed {
                return Err(FetchError::Status(status.as_u16()));
            }
            if hops >= self.policy.max_redirects {
                return Err(FetchError::Redirect(RedirectError::TooMany(
                    self.policy.max_redirects,
                )));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok());
            url = next_hop(&url, location).map_err(FetchError::Redirect)?;
            hops += 1;
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries or
    /// the time (`deadline`, the end of the whole retrieval) run out. Each
    /// attempt is bounded by `attempt_timeout_ms` and by the time left;
    /// transient failures are retried after `backoff · 2^n`.
    pub(crate) async fn retrying<T, E, F, Fut>(
        &self,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<FetchError> + Transient,
    {
        let mut retry = 0u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FetchError::TimedOut(Timeout::Total(self.policy.total_timeout)).into());
            }
            let (limit, timeout) = if left < self.policy.attempt_timeout {
                (left, Timeout::Total(self.policy.total_timeout))
            } else {
                (
                    self.policy.attempt_timeout,
                    Timeout::Attempt(self.policy.attempt_timeout),
                )
            };
            let record = Arc::new(Attempt::default());
            let timed = ATTEMPT.scope(Arc::clone(&record), tokio::time::timeout(limit, attempt()));
            let error = match timed.await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => e,
                Err(_) => {
                    let e = FetchError::TimedOut(timeout);
                    record.report(&e);
                    e.into()
                }
            };
            if !error.is_transient() || retry >= self.policy.retries {
                return Err(error);
            }
            let wait = self.policy.backoff.saturating_mul(1u32 << retry.min(16));
            if Instant::now() + wait >= deadline {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    /// GETs `target` into memory, at most `cap` bytes, with the policy's
    /// retries, by `deadline`.
    pub(crate) async fn get_bytes(
        &self,
        target: &Endpoint,
        deadline: Instant,
        cap: u64,
    ) -> Result<Vec<u8>, FetchError> {
        self.retrying(deadline, || async {
            let response = self.open(target, None).await?;
            read_capped(response, cap).await
        })
        .await
    }
}

/// Refuses a response that announces more than `cap` bytes before reading
/// it (and reports the refusal).
pub(crate) fn check_announced_length(response: &Response, cap: u64) -> Result<(), FetchError> {
    match response.content_length() {
        Some(len) if len > cap => {
            let e = FetchError::TooLarge(cap);
            report(&e);
            Err(e)
        }
        _ => Ok(()),
    }
}

/// Reads a body into memory, stopping at `cap` bytes.
async fn read_capped(response: Response, cap: u64) -> Result<Vec<u8>, FetchError> {
    check_announced_length(&response, cap)?;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let failed = match chunk {
            Err(e) => FetchError::broken_off(e),
            Ok(chunk) if (body.len() as u64).saturating_add(chunk.len() as u64) > cap => {
                FetchError::TooLarge(cap)
            }
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                continue;
            }
        };
        report(&failed);
        return Err(failed);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_redirect_resolves_against_the_current_url() {
        let here = url("http://a.example/x/y?k=v");
        assert_eq!(
            next_hop(&here, Some("z")).unwrap().as_str(),
            "http://a.example/x/z"
        );
        assert_eq!(
            next_hop(&here, Some("//b.example/p")).unwrap().as_str(),
            "http://b.example/p"
        );
        assert_eq!(
            next_hop(&here, Some("http://evil:pw@b.example/#f"))
                .unwrap()
                .as_str(),
            "http://b.example/"
        );
    }

    #[test]
    fn a_redirect_to_another_scheme_or_down_to_http_is_refused() {
        let https = url("https://a.example/");
        assert_eq!(
            next_hop(&https, Some("http://a.example/?apikey=SECRET")),
            Err(RedirectError::Downgrade(RedactedUrl::new(&url(
                "http://a.example/?apikey=x"
            ))))
        );
        assert_eq!(
            next_hop(&https, Some("file:///etc/passwd")),
            Err(RedirectError::Scheme("file".into()))
        );
        assert_eq!(next_hop(&https, None), Err(RedirectError::NoLocation));
        assert_eq!(
            next_hop(&https, Some("http://[::1")),
            Err(RedirectError::NoLocation)
        );
    }

    #[test]
    fn only_trouble_that_may_pass_is_retried() {
        assert!(FetchError::Status(503).is_transient());
        assert!(FetchError::Status(429).is_transient());
        assert!(!FetchError::Status(404).is_transient());
        assert!(!FetchError::TooLarge(1).is_transient());
        assert!(FetchError::TimedOut(Timeout::Attempt(Duration::from_secs(1))).is_transient());
        assert!(!FetchError::TimedOut(Timeout::Total(Duration::from_secs(1))).is_transient());
    }
}
