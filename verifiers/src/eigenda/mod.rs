//! # `eigenda`: a blob fetched and checked against its KZG commitment
//!
//! The performer posts its result to EigenDA and sends the blob's KZG
//! commitment as proofOfTask. The attester fetches the payload from an
//! eigenda-proxy style endpoint it configured (`GET {endpoint}/get/{key}`),
//! re-encodes it into a blob exactly as EigenDA does ([`encode_payload`]),
//! commits to the blob's symbols as polynomial coefficients with the SRS
//! (`Σ c_i [τ^i]G1`, one MSM), and compares with the commitment. With `then`,
//! the payload becomes an inner verifier's proofOfTask.
//!
//! What it trusts: the SRS file the attester configured (EigenDA's
//! `g1.point`) and its own config. What it does not trust: the endpoint (its
//! answer must match the commitment) and the commitment's bytes (a point off
//! the curve or outside the subgroup, or a coordinate ≥ p, is rejected).
//! What it does not check: that the commitment was certified by EigenDA's
//! operators (the DA certificate); the task names the commitment, and the
//! attester checks the content against it.
//!
//! proofOfTask: the commitment as `0x` hex, 64 bytes (x ‖ y, the
//! `G1Commitment` of EigenDA's API) or 32 bytes (compressed), or the JSON
//! `{"commitment": "0x…", "key": "0x…"}` when the endpoint's key (e.g. an
//! eigenda-proxy certificate) differs from the commitment.
//!
//! Fetching follows the one policy of [`crate::retrieval`] (the `retrieval`
//! params table, redirects, secrets, redacted URLs); the response cap is
//! `retrieval.max_response_bytes`.

mod encoding;
mod point;
mod srs;

use std::{sync::Arc, time::Duration};

use ark_bn254::G1Affine;
use serde::Deserialize;
use taskproof_core::{
    BuildContext, ConfigError, InnerVerifier, Task, Verdict, Verifier, VerifierFactory,
    async_trait,
    deadline::{Deadline, Expired},
};

pub use encoding::{
    BYTES_PER_SYMBOL, EncodingError, PAYLOAD_BYTES_PER_SYMBOL, PAYLOAD_ENCODING_VERSION_0,
    blob_to_scalars, decode_blob, encode_payload,
};
pub use point::{PointError, decode_g1, encode_g1_compressed, encode_g1_uncompressed};
pub use srs::{PUBLISHED_TEST_SECRET, Srs, SrsError, insecure_power, published_test_secret};

use crate::retrieval::{
    CONNECT_TIMEOUT_MS, DangerParams, Defaults, Endpoint, EndpointFailure, FetchError, Fetcher,
    Moved, RetrievalParams, TIMEOUT_MS, UNAVAILABLE_IS_INVALID, build_then, endpoints, hand_on,
    refuse_moved_keys, unavailable,
};

/// Why a blob does not match a commitment.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The blob is malformed.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The SRS cannot commit to it.
    #[error(transparent)]
    Srs(#[from] SrsError),
    /// The blob commits to another point.
    #[error("the blob's commitment differs from the claimed one")]
    CommitmentMismatch,
}

/// Checks a blob (its 32-byte symbols as coefficients) against a commitment.
pub fn check_blob(srs: &Srs, blob: &[u8], commitment: &G1Affine) -> Result<(), BlobError> {
    let scalars = blob_to_scalars(blob)?;
    if srs.commit(&scalars)? == *commitment {
        Ok(())
    } else {
        Err(BlobError::CommitmentMismatch)
    }
}

/// Encodes a payload and checks the blob against a commitment.
pub fn check_payload(srs: &Srs, payload: &[u8], commitment: &G1Affine) -> Result<(), BlobError> {
    check_blob(srs, &encode_payload(payload)?, commitment)
}

/// What the endpoint returns.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Served {
    /// The decoded payload (eigenda-proxy's default).
    Payload,
    /// The encoded blob.
    Blob,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EigenDaParams {
    /// Base URLs, tried in order.
    endpoints: Vec<String>,
    /// EigenDA's `g1.point` file.
    srs_g1_file: String,
    /// Points to load: the largest blob accepted, in symbols.
    #[serde(default = "default_srs_points")]
    srs_points: usize,
    /// Memory for the fixed-base MSM table, in MiB (0: none).
    #[serde(default = "default_msm_table_mib")]
    msm_table_mib: usize,
    #[serde(default = "default_served")]
    serves: Served,
    #[serde(default)]
    retrieval: RetrievalParams,
    #[serde(default)]
    danger: DangerParams,
    #[serde(default)]
    then: Option<InnerVerifier>,
}

/// The response is the content: one size cap, the retrieval's.
const MAX_SIZE_BYTES: Moved = (
    "max_size_bytes",
    "use `retrieval.max_response_bytes` (the endpoint's response is the payload or blob)",
);

/// The `retrieval` defaults of `eigenda`: the whole retrieval, every
/// endpoint included, fits under the node's default 10 s deadline.
const DEFAULTS: Defaults = Defaults {
    connect_timeout_ms: 2_000,
    attempt_timeout_ms: 5_000,
    total_timeout_ms: 8_000,
    retries: 0,
    backoff_ms: 200,
    max_redirects: 3,
    // 512 KiB: the blob of the default 16384 SRS points.
    max_response_bytes: 512 * 1024,
};

fn default_srs_points() -> usize {
    // 512 KiB of blob: 16384 symbols.
    16_384
}
fn default_msm_table_mib() -> usize {
    // The default 16384 points need 23 MiB.
    64
}
fn default_served() -> Served {
    Served::Payload
}

/// Builds `eigenda` verifiers.
pub struct EigenDaFactory;

impl VerifierFactory for EigenDaFactory {
    fn kind(&self) -> &str {
        "eigenda"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        refuse_moved_keys(
            ctx,
            &[
                TIMEOUT_MS,
                CONNECT_TIMEOUT_MS,
                UNAVAILABLE_IS_INVALID,
                MAX_SIZE_BYTES,
            ],
        )?;
        let p: EigenDaParams = ctx.params()?;
        let endpoints = endpoints(ctx, "endpoints", &p.endpoints)?;
        let policy = p.retrieval.check(ctx, DEFAULTS)?;
        if p.srs_points == 0 {
            return Err(ctx.error("srs_points", "must be greater than 0"));
        }
        let path = ctx.resolve_path(&p.srs_g1_file);
        let srs = Srs::from_g1_point_file(&path, p.srs_points)
            .map_err(|e| ctx.error("srs_g1_file", format!("{}: {e}", path.display())))?
            .with_msm_table(p.msm_table_mib.saturating_mul(1 << 20));
        if srs.is_published_test_srs() {
            tracing::warn!(
                task_definition = ctx.task_definition_id(),
                srs = %path.display(),
                "this SRS was made from a published test secret: anyone can forge a commitment \
                 opening against it, so every blob check of this task definition is worthless; \
                 use EigenDA's g1.point in production"
            );
        }
        if srs.msm_table_points() < p.srs_points {
            tracing::info!(
                task_definition = ctx.task_definition_id(),
                covered = srs.msm_table_points(),
                srs_points = p.srs_points,
                "the MSM table covers only part of the SRS; longer blobs use the slower plain MSM \
                 (raise msm_table_mib to cover them)"
            );
        }
        let fetcher = Fetcher::new(policy)
            .map_err(|e| ctx.error("endpoints", format!("cannot build the HTTP client: {e}")))?;
        let inner = build_then(ctx, p.then.as_ref())?;
        p.danger.announce(ctx);
        Ok(Arc::new(EigenDaVerifier {
            srs: Arc::new(srs),
            fetcher,
            endpoints,
            serves: p.serves,
            danger: p.danger,
            inner,
        }))
    }
}

/// Verifies that an EigenDA blob is retrievable and matches its commitment.
pub struct EigenDaVerifier {
    srs: Arc<Srs>,
    fetcher: Fetcher,
    endpoints: Vec<Endpoint>,
    serves: Served,
    danger: DangerParams,
    inner: Option<Arc<dyn Verifier>>,
}

/// Why one endpoint delivered nothing the commitment confirms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The endpoint gave no usable response.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// What it served fails the check against the commitment.
    #[error("served content that fails the check: {0}")]
    Check(BlobError),
}

/// The commitment and the endpoint key a proof of task names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobReference {
    /// The KZG commitment.
    pub commitment: G1Affine,
    /// What to ask the endpoint for (`/get/{key}`), `0x`-prefixed hex.
    pub key: String,
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| format!("not hex: {e}"))
}

/// Reads a proof of task: `0x` commitment hex, or `{"commitment", "key"}` JSON.
pub fn parse_reference(proof_of_task: &str) -> Result<BlobReference, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Json {
        commitment: String,
        #[serde(default)]
        key: Option<String>,
    }
    let text = proof_of_task.trim();
    let (commitment_hex, key) = if text.starts_with('{') {
        let json: Json = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
        (json.commitment.clone(), json.key.unwrap_or(json.commitment))
    } else {
        (text.to_owned(), text.to_owned())
    };
    let bytes = parse_hex(&commitment_hex).map_err(|e| format!("commitment: {e}"))?;
    let commitment = decode_g1(&bytes).map_err(|e| format!("commitment: {e}"))?;
    let key_bytes = parse_hex(&key).map_err(|e| format!("key: {e}"))?;
    Ok(BlobReference {
        commitment,
        key: format!("0x{}", hex::encode(key_bytes)),
    })
}

#[async_trait]
impl Verifier for EigenDaVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let reference = match parse_reference(&task.proof_of_task) {
            Ok(r) => r,
            Err(e) => return Verdict::invalid(format!("proofOfTask: {e}")),
        };
        let what = format!("the blob of {}", reference.key);
        let deadline = tokio::time::Instant::now() + self.fetcher.policy().total_timeout;
        let cap = self.fetcher.policy().max_response_bytes;
        let mut failures = Vec::new();
        for endpoint in &self.endpoints {
            let target = endpoint.join(&["get", &reference.key], None);
            let body = match self.fetcher.get_bytes(&target, deadline, cap).await {
                Ok(body) => body,
                Err(e) => {
                    failures.push(EndpointFailure {
                        endpoint: endpoint.redacted().clone(),
                        error: EndpointError::Fetch(e),
                    });
                    continue;
                }
            };
            let srs = self.srs.clone();
            let serves = self.serves;
            let commitment = reference.commitment;
            let checked = taskproof_core::cpu::run(move || -> Result<_, CheckStopped> {
                let (blob, payload) = match serves {
                    Served::Payload => {
                        (encode_payload(&body).map_err(BlobError::from)?, Some(body))
                    }
                    Served::Blob => (body, None),
                };
                let scalars = blob_to_scalars(&blob).map_err(BlobError::from)?;
                // The commitment is the costly part: not worth starting if
                // the verification was abandoned meanwhile.
                Deadline::current().check()?;
                if srs.commit(&scalars).map_err(BlobError::from)? != commitment {
                    return Err(BlobError::CommitmentMismatch.into());
                }
                match payload {
                    Some(payload) => Ok(payload),
                    None => Ok(decode_blob(&blob).map_err(BlobError::from)?),
                }
            })
            .await;
            match checked {
                Ok(Ok(payload)) => {
                    return hand_on(self.inner.as_ref(), task, &what, payload).await;
                }
                Ok(Err(CheckStopped::Expired(e))) => return Verdict::from(e),
                Ok(Err(CheckStopped::Blob(e))) => failures.push(EndpointFailure {
                    endpoint: endpoint.redacted().clone(),
                    error: EndpointError::Check(e),
                }),
                Err(e) => return Verdict::undecided(e.to_string()),
            }
        }
        unavailable(&what, &failures, self.danger)
    }

    fn time_needed(&self) -> Option<Duration> {
        let own = self.fetcher.policy().total_timeout;
        let inner = self.inner.as_ref().and_then(|v| v.time_needed());
        Some(own.saturating_add(inner.unwrap_or_default()))
    }
}

/// Why the check of one endpoint's content stopped.
#[derive(Debug, thiserror::Error)]
enum CheckStopped {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Expired(#[from] Expired),
}
