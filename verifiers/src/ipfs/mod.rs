//! # `ipfs`: content named by a CID, fetched and proven
//!
//! The performer stores its result on IPFS and sends the CID as proofOfTask.
//! The attester fetches the content from the gateways it configured, proves
//! that it is exactly what the CID names, and optionally hands it to an inner
//! verifier (`then`), so a Groth16 proof or an oracle answer stored on IPFS is
//! checked with no extra code.
//!
//! What it trusts: the CID in the task (it is the claim) and the attester's
//! own configuration. What it does not trust: gateways. A CAR from a trustless
//! gateway is checked block by block ([`verify_car`]); plain bytes are
//! rebuilt into a DAG with the configured [`ImportProfile`]s
//! ([`BytesCheck`]). A gateway that is down, slow, or lying leaves the attester
//! [`Verdict::Undecided`] (naming every gateway and why), unless the task
//! definition opens `danger = { unavailable_is_invalid = true }` — for AVSs
//! whose very task is publishing the content. Fetching follows the one policy
//! of [`crate::retrieval`]: the `retrieval` params table, redirects, secrets
//! and redacted URLs.
//!
//! Supported: CIDv0 and CIDv1; sha2-256 (and, inside CARs, the other hashes
//! of `multihash-codetable`'s sha2 family); UnixFS files with a balanced or any
//! other layout (CAR) and dag-pb or raw leaves; raw single blocks; identity
//! CIDs. Not supported: directories, HAMT shards, symlinks.
//!
//! ```toml
//! [[task_definitions]]
//! id = 40
//! name = "result-on-ipfs"
//! verifier = "ipfs"
//! [task_definitions.params]
//! gateways = ["http://127.0.0.1:8080"]
//! profiles = ["unixfs-v0-2015", "unixfs-v1-2025", "helia-default"]
//! max_size_bytes = 16777216
//! retrieval = { total_timeout_ms = 8000 }
//! then = { verifier = "merkle", params = { ... } }
//! ```

mod bytes_check;
mod car;
mod gateway;
mod import;
mod ordered;
mod profile;
mod recycle;
mod unixfs;

use std::{sync::Arc, time::Duration};

use cid::Cid;
use serde::Deserialize;
use taskproof_core::{
    BuildContext, ConfigError, InnerVerifier, Task, Verdict, Verifier, VerifierFactory,
    async_trait, deadline::Expired, quote,
};

pub use bytes_check::{BytesCheck, BytesCheckError, ContentMatch, check_bytes};
pub use car::{CarError, CarLimits, CarReader, VerifiedCar, verify_car, verify_dag};
pub use cid::Cid as IpfsCid;
pub use gateway::{GatewayError, GatewayFailure, Gateways, Proven, Retrieved};
pub use import::{ImportedRoot, Importer, cid_of, cid_of_file, cid_of_reader};
pub use profile::{ImportProfile, UnknownProfile};
pub use unixfs::UnixfsError;

use crate::retrieval::{
    CONNECT_TIMEOUT_MS, DangerParams, Defaults, RetrievalParams, TIMEOUT_MS,
    UNAVAILABLE_IS_INVALID, build_then, endpoints, hand_on, refuse_moved_keys, unavailable,
};

/// The `ipfs` kind's params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IpfsParams {
    /// Gateway base URLs, tried in order.
    gateways: Vec<String>,
    /// Profiles the plain-bytes fallback rebuilds with.
    #[serde(default = "default_profiles")]
    profiles: Vec<ImportProfile>,
    /// Whether plain bytes are fetched when a gateway serves no CAR.
    #[serde(default = "yes")]
    plain_fallback: bool,
    /// The largest file accepted (the content, not the response).
    #[serde(default = "default_max_size")]
    max_size_bytes: u64,
    #[serde(default)]
    retrieval: RetrievalParams,
    #[serde(default)]
    danger: DangerParams,
    #[serde(default)]
    then: Option<InnerVerifier>,
}

fn default_profiles() -> Vec<ImportProfile> {
    ImportProfile::ALL.to_vec()
}
fn yes() -> bool {
    true
}
fn default_max_size() -> u64 {
    16 * 1024 * 1024
}

/// The largest CAR that can hold a file of `max_size` bytes under the
/// default profiles: block framing and inner nodes add well under 1/8.
fn car_body_cap(max_size: u64) -> u64 {
    max_size
        .saturating_add(max_size / 8)
        .saturating_add(64 * 1024)
}

/// The `retrieval` defaults of `ipfs`: the whole retrieval, every gateway
/// included, fits under the node's default 10 s deadline.
fn defaults(max_size: u64) -> Defaults {
    Defaults {
        connect_timeout_ms: 2_000,
        attempt_timeout_ms: 5_000,
        total_timeout_ms: 8_000,
        retries: 0,
        backoff_ms: 200,
        max_redirects: 3,
        max_response_bytes: car_body_cap(max_size),
    }
}

/// Builds `ipfs` verifiers.
pub struct IpfsFactory;

impl VerifierFactory for IpfsFactory {
    fn kind(&self) -> &str {
        "ipfs"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        refuse_moved_keys(
            ctx,
            &[TIMEOUT_MS, CONNECT_TIMEOUT_MS, UNAVAILABLE_IS_INVALID],
        )?;
        let p: IpfsParams = ctx.params()?;
        let bases = gateway_bases(ctx, &p.gateways);
        let gateways = endpoints(ctx, "gateways", &bases)?;
        if p.max_size_bytes == 0 {
            return Err(ctx.error("max_size_bytes", "must be greater than 0"));
        }
        let policy = p.retrieval.check(ctx, defaults(p.max_size_bytes))?;
        let gateways = Gateways::new(
            gateways,
            p.profiles,
            policy,
            p.max_size_bytes,
            p.plain_fallback,
        )
        .map_err(|e| ctx.error("gateways", format!("cannot build the HTTP client: {e}")))?;
        let inner = build_then(ctx, p.then.as_ref())?;
        p.danger.announce(ctx);
        Ok(Arc::new(IpfsVerifier {
            gateways,
            max_size: p.max_size_bytes,
            danger: p.danger,
            inner,
        }))
    }
}

/// A gateway's base URL. Pinata's and Othentic's examples write gateways as
/// their `/ipfs/` path (`https://gateway.example/ipfs/`); the requests here
/// add `/ipfs/{cid}` themselves, so that suffix is dropped, and said so.
fn gateway_bases(ctx: &BuildContext<'_>, gateways: &[String]) -> Vec<String> {
    gateways
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let trimmed = url.trim_end_matches('/');
            match trimmed.strip_suffix("/ipfs") {
                Some(base) if base.contains("://") && !base.ends_with(':') => {
                    tracing::info!(
                        task_definition = ctx.task_definition_id(),
                        "params.gateways[{i}]: using {base} (the gateway's base; /ipfs/CID is added to it)"
                    );
                    base.to_owned()
                }
                _ => url.clone(),
            }
        })
        .collect()
}

/// Verifies that the content a CID names is retrievable (and, with `then`,
/// that it passes an inner verifier).
pub struct IpfsVerifier {
    gateways: Gateways,
    max_size: u64,
    danger: DangerParams,
    inner: Option<Arc<dyn Verifier>>,
}

/// Reads the CID of a proof of task: a bare CID, `ipfs://CID` or `/ipfs/CID`.
pub fn parse_cid(proof_of_task: &str) -> Result<Cid, String> {
    let text = proof_of_task.trim();
    let text = text
        .strip_prefix("ipfs://")
        .or_else(|| text.strip_prefix("/ipfs/"))
        .unwrap_or(text);
    Cid::try_from(text).map_err(|e| format!("{} is not a CID: {e}", quote(text)))
}

#[async_trait]
impl Verifier for IpfsVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let cid = match parse_cid(&task.proof_of_task) {
            Ok(cid) => cid,
            Err(e) => return Verdict::invalid(format!("proofOfTask: {e}")),
        };
        let codec = cid.codec();
        if codec != import::RAW && codec != import::DAG_PB {
            return Verdict::invalid(format!(
                "CID {cid} has codec 0x{codec:x}: it names no file (raw or dag-pb)"
            ));
        }
        let what = format!("the content of {cid}");
        if cid.hash().code() == 0 && codec == import::RAW {
            // An identity CID carries its content: nothing to fetch.
            let content = cid.hash().digest().to_vec();
            return hand_on(self.inner.as_ref(), task, &what, content).await;
        }
        match self.gateways.retrieve(cid, self.inner.is_some()).await {
            Ok(retrieved) => {
                if retrieved.size > self.max_size {
                    return Verdict::undecided(format!("{what} exceeds the size limit"));
                }
                hand_on(
                    self.inner.as_ref(),
                    task,
                    &what,
                    retrieved.content.unwrap_or_default(),
                )
                .await
            }
            Err(failures) if failures.iter().any(|f| f.error.expired()) => Verdict::from(Expired),
            Err(failures) => unavailable(&what, &failures, self.danger),
        }
    }

    fn time_needed(&self) -> Option<Duration> {
        let own = self.gateways.policy().total_timeout;
        let inner = self.inner.as_ref().and_then(|v| v.time_needed());
        Some(own.saturating_add(inner.unwrap_or_default()))
    }
}

#[cfg(test)]
mod gateway_url_tests {
    use super::*;

    #[test]
    fn a_gateway_written_as_its_ipfs_path_is_used_by_its_base() {
        let params = toml::Table::new();
        let registry = taskproof_core::Registry::new();
        let ctx = BuildContext::standalone(&params, std::path::Path::new("."), &registry);
        let written = [
            "https://gateway.pinata.cloud/ipfs/",
            "https://ipfs.io/ipfs",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://dweb.example/ipfs-mirror/",
        ]
        .map(String::from);
        assert_eq!(
            gateway_bases(&ctx, &written),
            [
                "https://gateway.pinata.cloud",
                "https://ipfs.io",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/",
                "https://dweb.example/ipfs-mirror/",
            ]
        );
    }
}
