//! The `oracle` verifier: the performer claims values from the outside world
//! (prices, scores, flags) as a JSON proof of task; the attester fetches the
//! same data from its own sources and compares, field by field, within a
//! tolerance.
//!
//! What it trusts: the sources in the task definition, and nothing in the
//! proof but the claimed values themselves. What it refuses: to vote invalid
//! because of its own trouble. A source that is down, slow, answers with HTML,
//! answers too much, redirects where it may not, or lacks the field leaves
//! the verdict `Undecided`; only a well-formed claim outside the tolerance of
//! a decisive observation is `Invalid`, with a reason naming the field, the
//! claimed value, the observed value and the tolerance.
//!
//! Numbers are compared exactly: the claim's and the sources' are read from
//! their literal text into bounded exact decimals ([`Decimal`]), never
//! through f64, so wei-sized values that differ in their last digit differ.
//!
//! Fetching follows the one policy of [`crate::retrieval`] (the `retrieval`
//! params table: timeouts per attempt and in total, retries with backoff,
//! redirects, size cap; secrets sent to their own origin only; URLs redacted
//! in every cause). Concurrent validations share one in-flight fetch per
//! source, and a successful answer is cached for `cache_ttl_ms`, so a burst of
//! tasks costs the data provider one request.

mod coalesce;
mod compare;
mod fetch;
mod freshness;
mod json;
mod number;
mod params;

use std::{sync::Arc, time::Duration, time::SystemTime};

use futures_util::{FutureExt, future::join_all};
use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, VerifierFactory, async_trait,
};

use crate::retrieval::Fetcher;
use coalesce::Coalescer;
use compare::FieldOutcome;
use json::{ReadError, Scalar};

pub use fetch::{SourceAnswer, SourceError};
pub use number::{Decimal, MAX_DIGITS, MAX_EXPONENT, MAX_NUMBER_CHARS, NumberError};
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
    params: Arc<params::Checked>,
    fetcher: Fetcher,
    coalescers: Vec<Coalescer>,
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
                    .map(|s| s.endpoint.redacted())
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
        params::refuse_moved(ctx)?;
        let raw: OracleParams = ctx.params()?;
        let params = raw.check(ctx)?;
        let fetcher = Fetcher::new(params.policy)
            .map_err(|e| ctx.error("", format!("cannot build the HTTP client: {e}")))?;
        let coalescers = params
            .sources
            .iter()
            .map(|_| {
                Coalescer::new(
                    params.coalesce,
                    params.cache_ttl,
                    params.policy.total_timeout,
                )
            })
            .collect();
        Ok(Self {
            params: Arc::new(params),
            fetcher,
            coalescers,
        })
    }

    /// Reads the claimed values from the proof, and checks its freshness
    /// against `now`. `Err` is the verdict for a malformed or stale proof.
    fn claims(&self, proof: &str, now: SystemTime) -> Result<Vec<Scalar>, Verdict> {
        let proof = json::document(proof)
            .map_err(|e| Verdict::invalid(format!("proofOfTask is not JSON: {e}")))?;
        if let Some(f) = &self.params.freshness {
            freshness::check(f, proof, now).map_err(Verdict::invalid)?;
        }
        self.params
            .fields
            .iter()
            .map(|field| {
                json::read(field.kind, json::pointer(proof, &field.pointer)).map_err(|e| {
                    Verdict::invalid(match e {
                        ReadError::Number(e) => format!(
                            "field `{}`: the claimed number at `{}` {e}",
                            field.name, field.pointer
                        ),
                        ReadError::Missing | ReadError::WrongType => format!(
                            "field `{}`: the proof has no {} at `{}`",
                            field.name,
                            kind_name(field.kind),
                            field.pointer
                        ),
                    })
                })
            })
            .collect()
    }

    /// Compares the claims with the sources' answers (one per source, in
    /// config order).
    fn compare(
        &self,
        claims: &[Scalar],
        answers: &[Result<Arc<SourceAnswer>, SourceError>],
    ) -> Verdict {
        let mut unknown = Vec::new();
        let mut failed_sources = Vec::new();
        let source_name = |i: usize| match self.params.sources.get(i) {
            Some(s) => format!("source {i} ({})", s.endpoint.redacted()),
            None => format!("source {i}"),
        };
        for (i, answer) in answers.iter().enumerate() {
            if let Err(e) = answer {
                failed_sources.push(format!("{}: {e}", source_name(i)));
            }
        }
        let mut disagreements = Vec::new();
        for (index, (field, claimed)) in self.params.fields.iter().zip(claims).enumerate() {
            let mut observed: Vec<(usize, Scalar)> = Vec::new();
            for (i, pointer) in &field.providers {
                let Some(Ok(answer)) = answers.get(*i) else {
                    continue;
                };
                match answer.value(index) {
                    Some(Ok(value)) => observed.push((*i, value.clone())),
                    Some(Err(e)) => failed_sources.push(format!(
                        "{}: {e} at `{pointer}` for field `{}` (a {} is needed)",
                        source_name(*i),
                        field.name,
                        kind_name(field.kind)
                    )),
                    None => {}
                }
            }
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

    /// Reads a body as source `source` (its index in the config) would have
    /// answered it: what [`OracleVerifier::judge`] takes. Benches and
    /// embedders that fetch by themselves call it.
    pub fn read_answer(&self, source: usize, body: &[u8]) -> Result<SourceAnswer, SourceError> {
        let Some(s) = self.params.sources.get(source) else {
            return Err(SourceError::NoSuchSource(source));
        };
        SourceAnswer::read(s, &self.params.fields, body)
    }

    /// The local part of a verification, without the network: judges `proof`
    /// against answers already fetched (one per configured source, in order).
    /// [`Verifier::verify`] is this plus fetching; benches and embedders call it
    /// directly.
    pub fn judge(
        &self,
        proof: &str,
        answers: &[Result<Arc<SourceAnswer>, SourceError>],
    ) -> Verdict {
        match self.claims(proof, SystemTime::now()) {
            Ok(claims) => self.compare(&claims, answers),
            Err(verdict) => verdict,
        }
    }

    async fn fetch_all(&self) -> Vec<Result<Arc<SourceAnswer>, SourceError>> {
        join_all(self.coalescers.iter().enumerate().map(|(i, coalescer)| {
            coalescer.get(move || {
                let fetcher = self.fetcher.clone();
                let params = Arc::clone(&self.params);
                async move {
                    let Some(source) = params.sources.get(i) else {
                        return Err(SourceError::NoSuchSource(i));
                    };
                    fetch::fetch(&fetcher, source, &params.fields).await
                }
                .boxed()
            })
        }))
        .await
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Number => "decimal number",
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

    fn time_needed(&self) -> Option<Duration> {
        Some(self.params.policy.total_timeout)
    }
}
