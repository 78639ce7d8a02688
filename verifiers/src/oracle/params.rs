//! The `oracle` params, as written in a task definition, and their checks at
//! load time (URLs, header names, JSON pointers, tolerances, quorum).

use std::{collections::BTreeMap, time::Duration};

use reqwest::{
    Url,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use serde::Deserialize;
use taskproof_core::{BuildContext, ConfigError};

/// The params of an `oracle` task definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleParams {
    /// Where the attester fetches the data itself.
    pub sources: Vec<SourceParams>,
    /// The fields of the proof to compare, by name.
    pub fields: BTreeMap<String, FieldParams>,
    /// How several sources' observations are combined.
    #[serde(default)]
    pub combine: Combine,
    /// How many sources must answer (per field) for a decision. Default: a
    /// majority of the sources providing the field for `median`, all of them
    /// for `all`.
    #[serde(default)]
    pub min_sources: Option<usize>,
    /// When set, the proof must carry a recent timestamp.
    #[serde(default)]
    pub freshness: Option<FreshnessParams>,
    /// TCP (and TLS) connect timeout per attempt, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Whole-request timeout per attempt (connect, headers and body), in
    /// milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Further attempts after a failed one (connection error, timeout, HTTP
    /// 429 or 5xx).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The wait before the first retry, doubled for each further one.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// The largest response body read from a source; a larger one is cut off
    /// and the source counts as failed.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
    /// Concurrent validations share one in-flight fetch per source.
    #[serde(default = "default_true")]
    pub coalesce: bool,
    /// A successful response is reused for this long (0 disables the cache).
    #[serde(default = "default_cache_ttl_ms")]
    pub cache_ttl_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}
fn default_timeout_ms() -> u64 {
    5_000
}
fn default_retries() -> u32 {
    1
}
fn default_backoff_ms() -> u64 {
    200
}
fn default_max_response_bytes() -> u64 {
    1024 * 1024
}
fn default_true() -> bool {
    true
}
fn default_cache_ttl_ms() -> u64 {
    1_000
}

/// One data source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceParams {
    /// An `http` or `https` URL answering with JSON.
    pub url: String,
    /// Extra request headers (an API key, `accept`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// For each compared field this source provides: a JSON pointer
    /// (RFC 6901) into the source's response.
    pub fields: BTreeMap<String, String>,
}

/// One compared field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldParams {
    /// A JSON pointer (RFC 6901) into the proof of task.
    pub pointer: String,
    /// The value's type; numbers may also be written as decimal strings.
    #[serde(rename = "type", default)]
    pub kind: FieldKind,
    /// Largest allowed absolute difference (numbers only).
    #[serde(default)]
    pub absolute: Option<f64>,
    /// Largest allowed difference relative to the observed value, e.g. `0.01`
    /// for 1 % (numbers only).
    #[serde(default)]
    pub relative: Option<f64>,
}

/// A field's type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A finite number, compared within tolerance.
    #[default]
    Number,
    /// A string, compared exactly.
    String,
    /// A boolean, compared exactly.
    Bool,
}

/// How observations from several sources are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// The median of the numbers (the value a strict majority reports, for
    /// strings and booleans) is compared with the claim.
    #[default]
    Median,
    /// Every answering source must agree with the others and with the claim
    /// within tolerance.
    All,
}

/// The proof must carry a recent timestamp.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessParams {
    /// A JSON pointer to the timestamp in the proof (a number or a decimal
    /// string).
    pub pointer: String,
    /// The largest allowed distance between the timestamp and the attester's
    /// clock, in either direction.
    pub max_age_secs: u64,
    /// The timestamp's unit.
    #[serde(default)]
    pub unit: TimeUnit,
}

/// The unit of a timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Unix seconds.
    #[default]
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
}

/// A field ready to compare: tolerance resolved.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) pointer: String,
    pub(crate) kind: FieldKind,
    pub(crate) tolerance: Tolerance,
    /// Indexes of the sources providing this field, with the pointer into each.
    pub(crate) providers: Vec<(usize, String)>,
    pub(crate) required: usize,
}

/// Allowed difference between a claim and an observation: within the absolute
/// bound *or* within the relative bound (of the observed value); exact when
/// neither is given.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Tolerance {
    pub(crate) absolute: Option<f64>,
    pub(crate) relative: Option<f64>,
}

/// A source ready to fetch.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
}

/// Network behaviour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchPolicy {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_response_bytes: u64,
}

impl FetchPolicy {
    /// The longest a fetch with every retry can take.
    pub(crate) fn worst_case(&self) -> Duration {
        let attempts = self.retries.saturating_add(1);
        let backoffs = (0..self.retries).fold(Duration::ZERO, |total, i| {
            total.saturating_add(self.backoff.saturating_mul(1u32 << i.min(16)))
        });
        self.timeout
            .saturating_mul(attempts)
            .saturating_add(backoffs)
    }
}

/// The params after every load-time check.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) sources: Vec<Source>,
    pub(crate) fields: Vec<Field>,
    pub(crate) combine: Combine,
    pub(crate) freshness: Option<FreshnessParams>,
    pub(crate) policy: FetchPolicy,
    pub(crate) coalesce: bool,
    pub(crate) cache_ttl: Duration,
}

/// At most this many retries: a retry storm is what the cache is there to avoid.
const MAX_RETRIES: u32 = 10;

fn check_pointer(ctx: &BuildContext<'_>, key: &str, pointer: &str) -> Result<(), ConfigError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(ctx.error(
            key,
            format!(
                "`{pointer}` is not a JSON pointer (RFC 6901): it must be empty or start with `/`"
            ),
        ))
    }
}

fn check_tolerance(
    ctx: &BuildContext<'_>,
    key: &str,
    value: Option<f64>,
) -> Result<(), ConfigError> {
    match value {
        Some(v) if !v.is_finite() || v < 0.0 => Err(ctx.error(key, "must be a finite number >= 0")),
        _ => Ok(()),
    }
}

impl OracleParams {
    pub(crate) fn check(self, ctx: &BuildContext<'_>) -> Result<Checked, ConfigError> {
        if self.sources.is_empty() {
            return Err(ctx.error("sources", "at least one source is required"));
        }
        if self.fields.is_empty() {
            return Err(ctx.error("fields", "at least one field is required"));
        }
        let mut sources = Vec::with_capacity(self.sources.len());
        for (i, source) in self.sources.iter().enumerate() {
            let url = Url::parse(&source.url)
                .map_err(|e| ctx.error(&format!("sources[{i}].url"), format!("not a URL: {e}")))?;
            if url.scheme() != "http" && url.scheme() != "https" {
                return Err(ctx.error(
                    &format!("sources[{i}].url"),
                    "only http and https sources are supported",
                ));
            }
            let mut headers = HeaderMap::new();
            for (name, value) in &source.headers {
                let key = format!("sources[{i}].headers.{name}");
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| ctx.error(&key, format!("not a header name: {e}")))?;
                let value = HeaderValue::from_str(value)
                    .map_err(|e| ctx.error(&key, format!("not a header value: {e}")))?;
                headers.insert(name, value);
            }
            for (field, pointer) in &source.fields {
                let key = format!("sources[{i}].fields.{field}");
                if !self.fields.contains_key(field) {
                    return Err(ctx.error(&key, format!("`{field}` is not one of `fields`")));
                }
                check_pointer(ctx, &key, pointer)?;
            }
            sources.push(Source { url, headers });
        }
        let mut fields = Vec::with_capacity(self.fields.len());
        for (name, field) in &self.fields {
            let key = format!("fields.{name}");
            check_pointer(ctx, &format!("{key}.pointer"), &field.pointer)?;
            check_tolerance(ctx, &format!("{key}.absolute"), field.absolute)?;
            check_tolerance(ctx, &format!("{key}.relative"), field.relative)?;
            if field.kind != FieldKind::Number
                && (field.absolute.is_some() || field.relative.is_some())
            {
                return Err(ctx.error(
                    &key,
                    "tolerances apply to numbers only; strings and booleans compare exactly",
                ));
            }
            let providers: Vec<(usize, String)> = self
                .sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.fields.get(name).map(|p| (i, p.clone())))
                .collect();
            if providers.is_empty() {
                return Err(ctx.error(&key, "no source provides this field"));
            }
            let default_required = match self.combine {
                Combine::Median => providers.len() / 2 + 1,
                Combine::All => providers.len(),
            };
            let required = self
                .min_sources
                .unwrap_or(default_required)
                .min(providers.len());
            if self.min_sources == Some(0) {
                return Err(ctx.error("min_sources", "must be at least 1"));
            }
            fields.push(Field {
                name: name.clone(),
                pointer: field.pointer.clone(),
                kind: field.kind,
                tolerance: Tolerance {
                    absolute: field.absolute,
                    relative: field.relative,
                },
                providers,
                required,
            });
        }
        if let Some(f) = &self.freshness {
            check_pointer(ctx, "freshness.pointer", &f.pointer)?;
        }
        if self.connect_timeout_ms == 0 {
            return Err(ctx.error("connect_timeout_ms", "must be greater than 0"));
        }
        if self.timeout_ms == 0 {
            return Err(ctx.error("timeout_ms", "must be greater than 0"));
        }
        if self.retries > MAX_RETRIES {
            return Err(ctx.error("retries", format!("at most {MAX_RETRIES}")));
        }
        if self.max_response_bytes == 0 {
            return Err(ctx.error("max_response_bytes", "must be greater than 0"));
        }
        Ok(Checked {
            sources,
            fields,
            combine: self.combine,
            freshness: self.freshness,
            policy: FetchPolicy {
                connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                timeout: Duration::from_millis(self.timeout_ms),
                retries: self.retries,
                backoff: Duration::from_millis(self.backoff_ms),
                max_response_bytes: self.max_response_bytes,
            },
            coalesce: self.coalesce,
            cache_ttl: Duration::from_millis(self.cache_ttl_ms),
        })
    }
}
