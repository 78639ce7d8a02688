//! The `oracle` verifier: the performer claims values from the outside world
//! (prices, scores, flags) as a JSON proof of task; the attester fetches the
//! same data from its own sources and compares, field by field, within a
//! tolerance.
//!
//! What it trusts: the sources in the task definition, and nothing in the
//! proof but the claimed values themselves. What it refuses: to vote invalid
//! because of its own trouble. A source that is down, slow, answers with HTML,
//! answers too much, or lacks the field leaves the verdict `Undecided`; only a
//! well-formed claim outside the tolerance of a decisive observation is
//! `Invalid`, with a reason naming the field, the claimed value, the observed
//! value and the tolerance.
//!
//! Fetching is bounded in time (connect and total timeouts), in size (the body
//! is streamed and reading stops at `max_response_bytes`) and in retries
//! (exponential backoff). Concurrent validations share one in-flight fetch per
//! source, and a successful answer is cached for `cache_ttl_ms`, so a burst of
//! tasks costs the data provider one request.

mod coalesce;
mod compare;
mod fetch;
mod freshness;
mod params;

use std::{sync::Arc, time::SystemTime};

use futures_util::{FutureExt, future::join_all};
use serde_json::Value;
use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, VerifierFactory, async_trait,
};

use coalesce::Coalescer;
use compare::{FieldOutcome, Scalar};
pub use fetch::FetchError;
pub use params::{
    Combine, FieldKind, FieldParams, FreshnessParams, OracleParams, SourceParams, TimeUnit,
};

/// The factory for kind `oracle`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OracleFactory;

impl VerifierFactory for OracleFactory {
    fn kind(&self) -> &str {
        "oracle"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        Ok(Arc::new(OracleVerifier::from_context(ctx)?))
    }
}

/// A built `oracle` verifier: checked params, one HTTP client, one coalescer
/// per source.
pub struct OracleVerifier {
    params: params::Checked,
    client: reqwest::Client,
    sources: Vec<(Arc<params::Source>, Coalescer)>,
}

impl std::fmt::Debug for OracleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OracleVerifier")
            .field(
                "sources",
                &self
                    .params
                    .sources
                    .iter()
                    .map(|s| s.url.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "fields",
                &self
                    .params
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OracleVerifier {
    /// Builds from a task definition's params.
    pub fn from_context(ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        let raw: OracleParams = ctx.params()?;
        let params = raw.check(ctx)?;
        let client = fetch::client(&params.policy)
            .map_err(|e| ctx.error("", format!("cannot build the HTTP client: {e}")))?;
        let stale_after = params.policy.worst_case();
        let sources = params
            .sources
            .iter()
            .map(|s| {
                (
                    Arc::new(s.clone()),
                    Coalescer::new(params.coalesce, params.cache_ttl, stale_after),
                )
            })
            .collect();
        Ok(Self {
            params,
            client,
            sources,
        })
    }

    /// Reads the claimed values from the proof, and checks its freshness
    /// against `now`. `Err` is the verdict for a malformed or stale proof.
    fn claims(&self, proof: &str, now: SystemTime) -> Result<Vec<Scalar>, Verdict> {
        let proof: Value = serde_json::from_str(proof)
            .map_err(|e| Verdict::invalid(format!("proofOfTask is not JSON: {e}")))?;
        if let Some(f) = &self.params.freshness {
            freshness::check(f, &proof, now).map_err(Verdict::invalid)?;
        }
        self.params
            .fields
            .iter()
            .map(|field| {
                proof
                    .pointer(&field.pointer)
                    .and_then(|v| compare::read(field.kind, v))
                    .ok_or_else(|| {
                        Verdict::invalid(format!(
                            "field `{}`: the proof has no {} at `{}`",
                            field.name,
                            kind_name(field.kind),
                            field.pointer
                        ))
                    })
            })
            .collect()
    }

    /// Compares the claims with the sources' answers (one per source, in
    /// config order).
    fn compare(&self, claims: &[Scalar], answers: &[Result<Arc<Value>, FetchError>]) -> Verdict {
        let mut unknown = Vec::new();
        let mut failed_sources = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            if let Err(e) = answer {
                failed_sources.push(format!("source {i}: {e}"));
            }
        }
        let mut disagreements = Vec::new();
        for (field, claimed) in self.params.fields.iter().zip(claims) {
            let observed: Vec<(usize, Scalar)> = field
                .providers
                .iter()
                .filter_map(|(i, pointer)| {
                    let value = answers.get(*i)?.as_ref().ok()?;
                    let read = value
                        .pointer(pointer)
                        .and_then(|v| compare::read(field.kind, v));
                    if read.is_none() {
                        failed_sources.push(format!(
                            "source {i}: no {} at `{pointer}` for field `{}`",
                            kind_name(field.kind),
                            field.name
                        ));
                    }
                    read.map(|v| (*i, v))
                })
                .collect();
            match compare::compare(field, self.params.combine, claimed, &observed) {
                FieldOutcome::Agrees => {}
                FieldOutcome::Disagrees(reason) => disagreements.push(reason),
                FieldOutcome::Unknown(cause) => unknown.push(cause),
            }
        }
        if !disagreements.is_empty() {
            Verdict::invalid(disagreements.join("; "))
        } else if !unknown.is_empty() {
            unknown.extend(failed_sources);
            Verdict::undecided(unknown.join("; "))
        } else {
            Verdict::Valid
        }
    }

    /// The local part of a verification, without the network: judges `proof`
    /// against answers already fetched (one per configured source, in order).
    /// [`Verifier::verify`] is this plus fetching; benches and embedders call it
    /// directly.
    pub fn judge(&self, proof: &str, answers: &[Result<Arc<Value>, FetchError>]) -> Verdict {
        match self.claims(proof, SystemTime::now()) {
            Ok(claims) => self.compare(&claims, answers),
            Err(verdict) => verdict,
        }
    }

    async fn fetch_all(&self) -> Vec<Result<Arc<Value>, FetchError>> {
        join_all(self.sources.iter().map(|(source, coalescer)| {
            coalescer.get(|| {
                let client = self.client.clone();
                let source = Arc::clone(source);
                let policy = self.params.policy;
                async move { fetch::fetch(&client, &source, &policy).await }.boxed()
            })
        }))
        .await
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Number => "finite number",
        FieldKind::String => "string",
        FieldKind::Bool => "boolean",
    }
}

#[async_trait]
impl Verifier for OracleVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        // A malformed or stale proof is judged before any request is made.
        let claims = match self.claims(&task.proof_of_task, SystemTime::now()) {
            Ok(claims) => claims,
            Err(verdict) => return verdict,
        };
        let answers = self.fetch_all().await;
        self.compare(&claims, &answers)
    }
}
