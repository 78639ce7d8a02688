//! The URLs an attester fetches from, checked once at load, and the only way
//! they are ever shown.
//!
//! A configured URL may carry secrets: a password in its userinfo, an API key
//! in its query, and its custom headers. [`Endpoint`] keeps them apart from
//! the address (the userinfo is sent as basic auth, under the same rule as the
//! custom headers: to the URL's own origin only) and [`RedactedUrl`] is what
//! errors, causes and logs print: no userinfo, every query value replaced by
//! `…`.
//! Secrets in a URL's *path* cannot be told from the path itself: put them in
//! the query or a header.

use std::{collections::BTreeMap, fmt, sync::Arc};

use percent_encoding::percent_decode_str;
use reqwest::{
    Url,
    header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue},
};
use taskproof_core::{BuildContext, ConfigError};

/// A URL as it may be shown: scheme, host, port and path, then the query's
/// names with every value replaced by `…`. Userinfo and fragment are dropped.
///
/// ```
/// # use taskproof_verifiers::retrieval::RedactedUrl;
/// let url = "https://me:pw@api.example/v1/price?ids=eth&apikey=SECRET".parse().unwrap();
/// assert_eq!(
///     RedactedUrl::new(&url).to_string(),
///     "https://api.example/v1/price?ids=…&apikey=…"
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Redacts `url`.
    pub fn new(url: &Url) -> Self {
        let mut bare = url.clone();
        // Setting userinfo fails only for URLs without a host, which have none.
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        bare.set_fragment(None);
        bare.set_query(None);
        let mut shown = String::from(bare.as_str());
        if let Some(query) = url.query() {
            shown.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=…"),
                    // A bare token may itself be the key (`?SECRET`).
                    None if pair.is_empty() => String::new(),
                    None => "…".to_owned(),
                })
                .collect();
            shown.push_str(&pairs.join("&"));
        }
        Self(shown)
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A configured http(s) URL with the secrets that go with it: its userinfo
/// (sent as basic auth) and its custom headers, both sent only to the URL's
/// own origin.
#[derive(Clone)]
pub struct Endpoint {
    url: Url,
    secrets: HeaderMap,
    credentials: Option<Credentials>,
    shown: RedactedUrl,
    configured: Configured,
}

/// Whose endpoint this is, as failures are reported
/// ([`taskproof_core::observe`]): the task definition and the URL as
/// configured, redacted. Paths joined later (a CID, a blob key) come from
/// tasks and are left out, so the reported endpoints are the configured ones.
#[derive(Clone, Debug)]
pub(crate) struct Configured {
    pub(crate) task_definition: u16,
    pub(crate) shown: Arc<str>,
}

/// A user name and password, percent-decoded from the URL's userinfo.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: Option<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.shown)
            .field("secret_headers", &self.secrets.keys().collect::<Vec<_>>())
            .field("userinfo", &self.credentials.is_some())
            .finish()
    }
}

impl Endpoint {
    /// Checks the URL param `key` (http or https, with a host) and the
    /// custom `headers` that go with it (`headers_key` locates their errors).
    /// Errors never repeat the URL or a header value.
    pub(crate) fn parse(
        ctx: &BuildContext<'_>,
        key: &str,
        text: &str,
        headers_key: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut url = Url::parse(text).map_err(|e| ctx.error(key, format!("not a URL: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ctx.error(
                key,
                format!(
                    "the scheme `{}` is not supported: only http and https",
                    url.scheme()
                ),
            ));
        }
        if url.host().is_none() {
            return Err(ctx.error(key, "the URL has no host"));
        }
        let mut secrets = HeaderMap::new();
        for (name, value) in headers {
            let at = format!("{headers_key}.{name}");
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ctx.error(&at, format!("not a header name: {e}")))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| ctx.error(&at, "not a header value (visible ASCII only)"))?;
            value.set_sensitive(true);
            secrets.insert(name, value);
        }
        let mut credentials = None;
        if !url.username().is_empty() || url.password().is_some() {
            if secrets.contains_key(AUTHORIZATION) {
                return Err(ctx.error(
                    key,
                    "the URL has userinfo and an `authorization` header: give one",
                ));
            }
            let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            let user = decode(url.username())
                .map_err(|_| ctx.error(key, "the URL's user name is not UTF-8"))?;
            let password = url
                .password()
                .map(decode)
                .transpose()
                .map_err(|_| ctx.error(key, "the URL's password is not UTF-8"))?;
            credentials = Some(Credentials { user, password });
            // Cannot fail: the URL has a host.
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        url.set_fragment(None);
        let shown = RedactedUrl::new(&url);
        let configured = Configured {
            task_definition: ctx.task_definition_id(),
            shown: Arc::from(shown.to_string()),
        };
        Ok(Self {
            url,
            secrets,
            credentials,
            shown,
            configured,
        })
    }

    /// A URL chosen at run time (by a plugin, within the task definition's
    /// `allow_http`): no secrets, no userinfo.
    #[cfg(feature = "wasm")]
    pub(crate) fn plain(mut url: Url, task_definition: u16) -> Self {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        let shown = RedactedUrl::new(&url);
        let configured = Configured {
            task_definition,
            shown: Arc::from(shown.to_string()),
        };
        Self {
            url,
            secrets: HeaderMap::new(),
            credentials: None,
            shown,
            configured,
        }
    }

    /// The same endpoint with `segments` appended to its path and, if given,
    /// one query pair appended to its query; same origin, same secrets.
    pub(crate) fn join(&self, segments: &[&str], query: Option<(&str, &str)>) -> Self {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if let Some((name, value)) = query {
            url.query_pairs_mut().append_pair(name, value);
        }
        let shown = RedactedUrl::new(&url);
        Self {
            url,
            secrets: self.secrets.clone(),
            credentials: self.credentials.clone(),
            shown,
            configured: self.configured.clone(),
        }
    }

    /// The configured endpoint this one was joined from, for reports.
    pub(crate) fn configured(&self) -> &Configured {
        &self.configured
    }

    /// The URL, without userinfo (for requests only: never print it).
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The headers only the URL's own origin may receive.
    pub(crate) fn secrets(&self) -> &HeaderMap {
        &self.secrets
    }

    /// The userinfo's credentials, for the URL's own origin only.
    pub(crate) fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The URL as it may be shown.
    pub fn redacted(&self) -> &RedactedUrl {
        &self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        RedactedUrl::new(&Url::parse(text).unwrap()).to_string()
    }

    #[test]
    fn redaction_drops_userinfo_query_values_and_fragment() {
        assert_eq!(
            redact("http://user:hunter2@127.0.0.1:8080/p/a?apikey=SECRET&x#frag"),
            "http://127.0.0.1:8080/p/a?apikey=…&…"
        );
        assert_eq!(redact("https://h/?a=1&b=&c"), "https://h/?a=…&b=…&…");
        assert_eq!(redact("https://h/path"), "https://h/path");
    }
}
