//! The `oracle` params, as written in a task definition, and their checks at
//! load time (URLs, header names, JSON pointers, tolerances, quorum).

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;
use taskproof_core::{BuildContext, ConfigError};

use super::number::Decimal;
use crate::retrieval::{
    BACKOFF_MS, CONNECT_TIMEOUT_MS, Defaults, Endpoint, MAX_RESPONSE_BYTES, RETRIES,
    RetrievalParams, RetrievalPolicy, TIMEOUT_MS, refuse_moved_keys,
};

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
    /// How sources are fetched: timeouts, retries, redirects, size cap.
    #[serde(default)]
    pub retrieval: RetrievalParams,
    /// Concurrent validations share one in-flight fetch per source.
    #[serde(default = "default_true")]
    pub coalesce: bool,
    /// A successful response is reused for this long (0 disables the cache).
    #[serde(default = "default_cache_ttl_ms")]
    pub cache_ttl_ms: u64,
}

/// The `retrieval` defaults of `oracle`: two attempts of one source fit
/// under the node's default 10 s deadline.
const DEFAULTS: Defaults = Defaults {
    connect_timeout_ms: 2_000,
    attempt_timeout_ms: 5_000,
    total_timeout_ms: 8_000,
    retries: 1,
    backoff_ms: 200,
    max_redirects: 3,
    max_response_bytes: 1024 * 1024,
};

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
    /// An `http` or `https` URL answering with JSON. A userinfo is sent as
    /// basic auth, to this URL's origin only.
    pub url: String,
    /// Extra request headers (an API key, `accept`), sent to this URL's
    /// origin only, never after a redirect elsewhere.
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
    /// Largest allowed absolute difference (numbers only): a TOML number, or
    /// a decimal string for values no float holds.
    #[serde(default)]
    pub absolute: Option<Decimal>,
    /// Largest allowed difference relative to the observed value, e.g. `0.01`
    /// for 1 % (numbers only).
    #[serde(default)]
    pub relative: Option<Decimal>,
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
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tolerance {
    pub(crate) absolute: Option<Decimal>,
    pub(crate) relative: Option<Decimal>,
}

/// A source ready to fetch.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) endpoint: Endpoint,
    /// The fields this source provides: (index into the fields, pointer).
    pub(crate) provides: Vec<(usize, String)>,
}

/// The params after every load-time check.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) sources: Vec<Source>,
    pub(crate) fields: Vec<Field>,
    pub(crate) combine: Combine,
    pub(crate) freshness: Option<FreshnessParams>,
    pub(crate) policy: RetrievalPolicy,
    pub(crate) coalesce: bool,
    pub(crate) cache_ttl: Duration,
}

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
    value: Option<&Decimal>,
) -> Result<(), ConfigError> {
    match value {
        Some(v) if v.is_negative() => Err(ctx.error(key, "must be a number >= 0")),
        _ => Ok(()),
    }
}

/// Refuses the keys that moved into the `retrieval` table, before the
/// params are read (where they would be unknown fields with no hint).
pub(crate) fn refuse_moved(ctx: &BuildContext<'_>) -> Result<(), ConfigError> {
    refuse_moved_keys(
        ctx,
        &[
            TIMEOUT_MS,
            CONNECT_TIMEOUT_MS,
            RETRIES,
            BACKOFF_MS,
            MAX_RESPONSE_BYTES,
        ],
    )
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
        let field_index = |name: &str| self.fields.keys().position(|f| f == name);
        for (i, source) in self.sources.iter().enumerate() {
            let endpoint = Endpoint::parse(
                ctx,
                &format!("sources[{i}].url"),
                &source.url,
                &format!("sources[{i}].headers"),
                &source.headers,
            )?;
            let mut provides = Vec::new();
            for (field, pointer) in &source.fields {
                let key = format!("sources[{i}].fields.{field}");
                let Some(index) = field_index(field) else {
                    return Err(ctx.error(&key, format!("`{field}` is not one of `fields`")));
                };
                check_pointer(ctx, &key, pointer)?;
                provides.push((index, pointer.clone()));
            }
            sources.push(Source { endpoint, provides });
        }
        let mut fields = Vec::with_capacity(self.fields.len());
        for (name, field) in &self.fields {
            let key = format!("fields.{name}");
            check_pointer(ctx, &format!("{key}.pointer"), &field.pointer)?;
            check_tolerance(ctx, &format!("{key}.absolute"), field.absolute.as_ref())?;
            check_tolerance(ctx, &format!("{key}.relative"), field.relative.as_ref())?;
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
                    absolute: field.absolute.clone(),
                    relative: field.relative.clone(),
                },
                providers,
                required,
            });
        }
        if let Some(f) = &self.freshness {
            check_pointer(ctx, "freshness.pointer", &f.pointer)?;
        }
        let policy = self.retrieval.check(ctx, DEFAULTS)?;
        Ok(Checked {
            sources,
            fields,
            combine: self.combine,
            freshness: self.freshness,
            policy,
            coalesce: self.coalesce,
            cache_ttl: Duration::from_millis(self.cache_ttl_ms),
        })
    }
}
