//! What a plugin may call: the `host` interface of `plugins/wit/verifier.wit`
//! (hashes, ecrecover, log, an allowlisted HTTP GET), and the limits every
//! call runs under (linear memory, tables, instances, log lines).
//!
//! What it trusts: nothing a plugin passes. Every argument is bounded by the
//! plugin's own linear memory, every host call first checks the task's
//! deadline, an HTTP GET goes only to a URL the task definition allows and
//! through the retrieval layer's limits, and a plugin's log lines are cut
//! and counted.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{Signature, keccak256};
use reqwest::Url;
use sha2::{Digest, Sha256};
use taskproof_core::{deadline::Deadline, quote};

use super::{Limits, allow::AllowHttp};
use crate::retrieval::{Endpoint, Fetcher};

wasmtime::component::bindgen!({
    path: "../plugins/wit/verifier.wit",
    world: "verifier",
    imports: { default: trappable },
});

pub(crate) use taskproof::verifier::types::Task as WitTask;
pub(crate) use taskproof::verifier::{
    host::add_to_linker, types::add_to_linker as add_types_to_linker,
};

/// The name under which a component imports the host interface.
pub(crate) const HOST_INTERFACE: &str = "taskproof:verifier/host@0.1.0";

/// The name under which a component may import the types interface (it holds
/// no functions, only the task and verdict types).
pub(crate) const TYPES_INTERFACE: &str = "taskproof:verifier/types@0.1.0";

/// Why a call stopped on the host's side; the verdict's cause names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stop {
    /// `memory.grow` past `limits.max_memory_bytes`.
    #[error(
        "the plugin asked for {asked} bytes of linear memory, more than limits.max_memory_bytes ({limit})"
    )]
    Memory { asked: usize, limit: u64 },
    /// `table.grow` past `limits.max_table_elements`.
    #[error(
        "the plugin asked for a table of {asked} elements, more than limits.max_table_elements ({limit})"
    )]
    Table { asked: usize, limit: u32 },
    /// More log lines than `limits.max_log_lines`.
    #[error("the plugin logged more than limits.max_log_lines ({0}) lines")]
    LogLines(u32),
    /// The task's deadline passed during a host call.
    #[error("the verification deadline passed during a host call")]
    Deadline,
}

/// Everything one call of a plugin may reach: its limits, the HTTP it is
/// allowed, and what it did (log lines, failed fetches).
pub(crate) struct HostState {
    pub(crate) limits: Limits,
    pub(crate) http: Option<Arc<HttpAccess>>,
    /// The task's deadline (its cancel flag, too).
    deadline: Deadline,
    /// The earlier of the task's deadline and the call's own `timeout_ms`.
    until: Option<Instant>,
    pub(crate) task_definition: u16,
    log_lines: u32,
    /// Why the last failed `http-get` failed: a verdict of `invalid` after
    /// one becomes `undecided` (the plugin may have judged without its data).
    pub(crate) http_failure: Option<String>,
    /// Why a limit stopped the call, when one did.
    pub(crate) stopped: Option<Stop>,
    /// The largest linear memory the instance has grown (an instance kept
    /// between calls is dropped once it passes half its limit).
    pub(crate) largest_memory: u64,
}

/// The HTTP a task definition opens to its plugin.
pub(crate) struct HttpAccess {
    pub(crate) allow: AllowHttp,
    pub(crate) fetcher: Fetcher,
    pub(crate) runtime: Option<tokio::runtime::Handle>,
}

impl HostState {
    pub(crate) fn new(
        limits: Limits,
        http: Option<Arc<HttpAccess>>,
        deadline: Deadline,
        until: Option<Instant>,
        task_definition: u16,
    ) -> Self {
        Self {
            limits,
            http,
            deadline,
            until,
            task_definition,
            log_lines: 0,
            http_failure: None,
            stopped: None,
            largest_memory: 0,
        }
    }

    /// Whether the call must stop now.
    pub(crate) fn past_deadline(&self) -> bool {
        self.deadline.is_cancelled() || self.until.is_some_and(|at| Instant::now() >= at)
    }

    fn stop(&mut self, why: Stop) -> wasmtime::Error {
        self.stopped = Some(why.clone());
        wasmtime::Error::new(why)
    }

    /// Every host call starts here: a plugin that calls the host in a loop
    /// is stopped at the deadline even between epoch ticks.
    fn enter(&mut self) -> wasmtime::Result<()> {
        if self.past_deadline() {
            return Err(self.stop(Stop::Deadline));
        }
        Ok(())
    }

    fn get(&mut self, url: &str) -> Result<Vec<u8>, String> {
        let Some(http) = self.http.clone() else {
            return Err(format!(
                "http-get {} refused: the task definition allows no URL (allow_http is empty)",
                quote(url)
            ));
        };
        let parsed = Url::parse(url).map_err(|e| format!("http-get {}: {e}", quote(url)))?;
        if !http.allow.allows(&parsed) {
            return Err(format!(
                "http-get {} refused: not allowed by allow_http",
                quote(url)
            ));
        }
        let Some(runtime) = http.runtime.clone() else {
            return Err("http-get needs the node's async runtime".into());
        };
        let endpoint = Endpoint::plain(parsed, self.task_definition);
        let policy = *http.fetcher.policy();
        let left = self.until.map_or(policy.total_timeout, |at| {
            at.saturating_duration_since(Instant::now())
        });
        let total = policy.total_timeout.min(left);
        let by = tokio::time::Instant::now() + total;
        let shown = endpoint.redacted().to_string();
        runtime
            .block_on(
                http.fetcher
                    .get_bytes(&endpoint, by, policy.max_response_bytes),
            )
            .map_err(|e| format!("http-get {shown}: {e}"))
    }
}

impl taskproof::verifier::host::Host for HostState {
    fn keccak256(&mut self, data: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        self.enter()?;
        Ok(keccak256(&data).to_vec())
    }

    fn sha256(&mut self, data: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        self.enter()?;
        Ok(Sha256::digest(&data).to_vec())
    }

    fn ecrecover(
        &mut self,
        digest: Vec<u8>,
        signature: Vec<u8>,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        self.enter()?;
        Ok(recover(&digest, &signature).map(|a| a.to_vec()))
    }

    fn log(&mut self, message: String) -> wasmtime::Result<()> {
        self.enter()?;
        if self.log_lines >= self.limits.max_log_lines {
            return Err(self.stop(Stop::LogLines(self.limits.max_log_lines)));
        }
        self.log_lines += 1;
        let mut cut = message.len().min(self.limits.max_log_bytes as usize);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        let shown = message[..cut].escape_debug();
        if cut < message.len() {
            tracing::info!(
                task_definition = self.task_definition,
                "plugin: {shown}… ({} bytes)",
                message.len()
            );
        } else {
            tracing::info!(task_definition = self.task_definition, "plugin: {shown}");
        }
        Ok(())
    }

    fn http_get(&mut self, url: String) -> wasmtime::Result<Result<Vec<u8>, String>> {
        self.enter()?;
        let got = self.get(&url);
        if let Err(cause) = &got {
            tracing::info!(task_definition = self.task_definition, "plugin: {cause}");
            self.http_failure = Some(cause.clone());
        }
        // The deadline may have passed while waiting.
        self.enter()?;
        Ok(got)
    }
}

impl taskproof::verifier::types::Host for HostState {}

/// The signer of a 65-byte r‖s‖v signature (v = 27/28 or 0/1) over a 32-byte
/// digest; none for any other length, a high s, or no recoverable key.
pub(crate) fn recover(digest: &[u8], signature: &[u8]) -> Option<alloy_primitives::Address> {
    let digest: [u8; 32] = digest.try_into().ok()?;
    let bytes: &[u8; 65] = signature.try_into().ok()?;
    let parity = match bytes[64] {
        27 | 0 => false,
        28 | 1 => true,
        _ => return None,
    };
    let signature = Signature::from_bytes_and_parity(&bytes[..64], parity);
    // The rules every verifier shares: scalars in range, low s.
    taskproof_core::ecrecover::recover(&digest.into(), &signature).ok()
}

/// Counts what a plugin instance allocates: linear memory, tables and
/// instances are refused past the task definition's limits, and the refusal
/// is remembered so the verdict names the limit rather than the trap.
impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.max_memory_bytes {
            return Err(self.stop(Stop::Memory {
                asked: desired,
                limit: self.limits.max_memory_bytes,
            }));
        }
        self.largest_memory = self.largest_memory.max(desired as u64);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.max_table_elements as usize {
            return Err(self.stop(Stop::Table {
                asked: desired,
                limit: self.limits.max_table_elements,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances as usize
    }

    fn tables(&self) -> usize {
        self.limits.max_instances as usize
    }

    fn memories(&self) -> usize {
        self.limits.max_instances as usize
    }
}

/// How long an HTTP GET of a plugin may take by default, all attempts
/// together: well inside the node's default deadline.
pub(crate) const HTTP_TOTAL_TIMEOUT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    /// An ethers v6 signature of fixtures/signatures/vectors.json.
    const DIGEST: &str = "829e1266439509c566f7cb005e86e7ca888e3e6bc56581611838318cbb9a41d0";
    const SIGNATURE: &str = "55faf6f567e2fb2932ed7a2a9d833595622f90dc172d646d7366c779b3fe55385693eee23285b1b13cb6d7e61b0f191f2e6b1c670ae69babb53559cccd26e9c51b";
    const SIGNER: &str = "70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn ecrecover_refuses_the_high_s_twin_of_a_valid_signature() {
        let digest = hex::decode(DIGEST).unwrap();
        let bytes = hex::decode(SIGNATURE).unwrap();
        let signer = recover(&digest, &bytes).expect("ethers' low-s signature recovers");
        assert_eq!(hex::encode(signer), SIGNER.to_lowercase());
        // The malleated twin: s' = n - s, parity flipped; it recovers the same
        // key mathematically, and is refused.
        let s = U256::from_be_slice(&bytes[32..64]);
        let n = taskproof_core::ecrecover::SECP256K1_ORDER;
        let mut high = bytes.clone();
        let twin: U256 = n - s;
        high[32..64].copy_from_slice(&twin.to_be_bytes::<32>());
        high[64] = if bytes[64] == 27 { 28 } else { 27 };
        assert_eq!(recover(&digest, &high), None, "high s is refused");
    }

    #[test]
    fn ecrecover_refuses_wrong_lengths_and_recovery_ids() {
        let digest = hex::decode(DIGEST).unwrap();
        let bytes = hex::decode(SIGNATURE).unwrap();
        assert_eq!(recover(&digest, &bytes[..64]), None);
        assert_eq!(recover(&digest[..31], &bytes), None);
        let mut v = bytes.clone();
        v[64] = 29;
        assert_eq!(recover(&digest, &v), None);
        assert_eq!(recover(&digest, &[0u8; 65]), None);
    }
}
