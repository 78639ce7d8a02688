//! `format = "tls13-handshake"`: a TLS 1.3 handshake transcript bound to the
//! task by a nonce in the ClientHello.
//!
//! The server's CertificateVerify signs the transcript hash of everything
//! up to its Certificate, ClientHello included. When that ClientHello
//! carries a nonce derived from the task (the ALPN protocol name
//! `tp1-` + hex of `keccak256(abi.encode(address performer, uint16
//! taskDefinitionId, bytes data))`), the signature proves that the server
//! took part in a handshake made after the task's data existed, with the
//! negotiated version, suite and group. It proves nothing about what the
//! server sent afterwards: the client holds the traffic keys.
//!
//! What it trusts: the task definition (the server name, the roots, the
//! accepted suites and groups) and the attester's clock, against which the
//! chain is verified. The proof's `time` is the performer's word: freshness
//! rests on the nonce, and `max_age_secs` only bounds the claim.
//!
//! [`record`] is the performer's side: it makes such a handshake with rustls
//! and writes the proof.

mod check;
pub mod params;
pub mod proof;
pub mod record;
pub mod sigcache;
mod wire;

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_primitives::{Address, B256, Bytes, hex, keccak256};
use alloy_sol_types::SolValue;
use taskproof_core::{BuildContext, ConfigError, Task, Verdict, Verifier, async_trait, cpu};

pub use check::Negotiated;
pub use params::{
    DEFAULT_MAX_AGE_SECS, DEFAULT_MAX_CERTIFICATES, DEFAULT_MAX_PROOF_BYTES, HandshakeParams,
};
pub use proof::HandshakeProof;
pub use record::{RecordError, RecordRequest, Recording, Roots, record};

/// Builds a `tls` verifier of format `tls13-handshake`.
pub(crate) fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    Ok(Arc::new(HandshakeVerifier::from_context(ctx)?))
}

/// The task's nonce: `keccak256(abi.encode(address performer, uint16
/// taskDefinitionId, bytes data))`.
pub fn nonce(performer: Address, task_definition_id: u16, data: &[u8]) -> B256 {
    keccak256((performer, task_definition_id, Bytes::copy_from_slice(data)).abi_encode_params())
}

/// The nonce as the ALPN protocol name the ClientHello carries: `tp1-` and
/// 64 lowercase hex digits.
pub fn alpn_nonce(performer: Address, task_definition_id: u16, data: &[u8]) -> String {
    format!(
        "tp1-{}",
        hex::encode(nonce(performer, task_definition_id, data))
    )
}

/// A built `tls13-handshake` verifier.
#[derive(Clone, Debug)]
pub struct HandshakeVerifier {
    params: Arc<params::Checked>,
}

impl HandshakeVerifier {
    /// Builds from a task definition's params.
    pub fn from_context(ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        let raw: HandshakeParams = ctx.params()?;
        Ok(Self {
            params: Arc::new(raw.check(ctx)?),
        })
    }

    pub(crate) fn from_checked(params: params::Checked) -> Self {
        Self {
            params: Arc::new(params),
        }
    }

    /// Judges a task as of `now` (unix seconds): the chain is verified and
    /// the proof's `time` bounded at `now`. [`Verifier::verify`] calls it
    /// with the system clock; tests and benches pin the clock.
    pub fn check_at(&self, task: &Task, now: u64) -> Verdict {
        match check::check(&self.params, task, now) {
            Ok(_) => Verdict::Valid,
            Err(verdict) => verdict,
        }
    }

    /// [`HandshakeVerifier::check_at`], returning what a valid handshake
    /// negotiated.
    pub fn negotiated_at(&self, task: &Task, now: u64) -> Result<Negotiated, Verdict> {
        check::check(&self.params, task, now)
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl Verifier for HandshakeVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let now = unix_now();
        // A chain and a CertificateVerify are three signature checks or
        // more (about 150 µs): off the reactor.
        let (this, task) = (self.clone(), task.clone());
        cpu::run(move || this.check_at(&task, now))
            .await
            .unwrap_or_else(|e| Verdict::undecided(e.to_string()))
    }
}
