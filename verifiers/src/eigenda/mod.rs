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

mod encoding;
mod point;
mod srs;

use std::sync::Arc;

use ark_bn254::G1Affine;
use futures_util::StreamExt;
use serde::Deserialize;
use taskproof_core::{
    BuildContext, ConfigError, InnerVerifier, Task, Verdict, Verifier, VerifierFactory, async_trait,
};

pub use encoding::{
    BYTES_PER_SYMBOL, EncodingError, PAYLOAD_BYTES_PER_SYMBOL, PAYLOAD_ENCODING_VERSION_0,
    blob_to_scalars, decode_blob, encode_payload,
};
pub use point::{PointError, decode_g1, encode_g1_compressed, encode_g1_uncompressed};
pub use srs::{Srs, SrsError, insecure_power};

use crate::retrieval::{EndpointFailure, RetrievalLimits, build_then, hand_on, unavailable};

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
    #[serde(default = "default_max_size")]
    max_size_bytes: u64,
    #[serde(default = "crate::retrieval::default_connect_timeout_ms")]
    connect_timeout_ms: u64,
    #[serde(default = "crate::retrieval::default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default)]
    unavailable_is_invalid: bool,
    #[serde(default)]
    then: Option<InnerVerifier>,
}

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
fn default_max_size() -> u64 {
    512 * 1024
}

/// Builds `eigenda` verifiers.
pub struct EigenDaFactory;

impl VerifierFactory for EigenDaFactory {
    fn kind(&self) -> &str {
        "eigenda"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        let p: EigenDaParams = ctx.params()?;
        let limits = RetrievalLimits::from_params(
            ctx,
            "endpoints",
            &p.endpoints,
            p.max_size_bytes,
            p.connect_timeout_ms,
            p.timeout_ms,
        )?;
        if p.srs_points == 0 {
            return Err(ctx.error("srs_points", "must be greater than 0"));
        }
        let path = ctx.resolve_path(&p.srs_g1_file);
        let srs = Srs::from_g1_point_file(&path, p.srs_points)
            .map_err(|e| ctx.error("srs_g1_file", format!("{}: {e}", path.display())))?
            .with_msm_table(p.msm_table_mib.saturating_mul(1 << 20));
        if srs.msm_table_points() < p.srs_points {
            tracing::info!(
                task_definition = ctx.task_definition_id(),
                covered = srs.msm_table_points(),
                srs_points = p.srs_points,
                "the MSM table covers only part of the SRS; longer blobs use the slower plain MSM \
                 (raise msm_table_mib to cover them)"
            );
        }
        let client = limits
            .client()
            .map_err(|e| ctx.error("endpoints", format!("cannot build the HTTP client: {e}")))?;
        let inner = build_then(ctx, p.then.as_ref())?;
        Ok(Arc::new(EigenDaVerifier {
            srs: Arc::new(srs),
            client,
            endpoints: p
                .endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect(),
            serves: p.serves,
            limits,
            unavailable_is_invalid: p.unavailable_is_invalid,
            inner,
        }))
    }
}

/// Verifies that an EigenDA blob is retrievable and matches its commitment.
pub struct EigenDaVerifier {
    srs: Arc<Srs>,
    client: reqwest::Client,
    endpoints: Vec<String>,
    serves: Served,
    limits: RetrievalLimits,
    unavailable_is_invalid: bool,
    inner: Option<Arc<dyn Verifier>>,
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
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        let mut failures = Vec::new();
        for endpoint in &self.endpoints {
            let fetched =
                tokio::time::timeout_at(deadline, self.fetch(endpoint, &reference.key)).await;
            let body = match fetched {
                Ok(Ok(body)) => body,
                Ok(Err(reason)) => {
                    failures.push(EndpointFailure {
                        endpoint: endpoint.clone(),
                        reason,
                    });
                    continue;
                }
                Err(_) => {
                    failures.push(EndpointFailure {
                        endpoint: endpoint.clone(),
                        reason: format!("timed out after {} ms", self.limits.timeout.as_millis()),
                    });
                    break;
                }
            };
            let srs = self.srs.clone();
            let serves = self.serves;
            let commitment = reference.commitment;
            let checked = taskproof_core::cpu::run(move || match serves {
                Served::Payload => check_payload(&srs, &body, &commitment).map(|()| body),
                Served::Blob => {
                    check_blob(&srs, &body, &commitment)?;
                    Ok(decode_blob(&body)?)
                }
            })
            .await;
            match checked {
                Ok(Ok(payload)) => {
                    return hand_on(self.inner.as_ref(), task, &what, payload).await;
                }
                Ok(Err(e)) => failures.push(EndpointFailure {
                    endpoint: endpoint.clone(),
                    reason: format!("served content that fails the check: {e}"),
                }),
                Err(e) => return Verdict::undecided(e.to_string()),
            }
        }
        unavailable(&what, &failures, self.unavailable_is_invalid)
    }
}

impl EigenDaVerifier {
    async fn fetch(&self, endpoint: &str, key: &str) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(format!("{endpoint}/get/{key}"))
            .send()
            .await
            .map_err(|e| crate::retrieval::describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let max = self.limits.max_size;
        if let Some(len) = response.content_length()
            && len > max
        {
            return Err(format!(
                "the response announces {len} bytes, over the {max}-byte limit"
            ));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("the response broke off: {e}"))?;
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(format!("the response exceeds the {max}-byte limit"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
