//! The `groth16` verifier: circom/snarkjs Groth16 proofs over BN254, strict
//! on hostile input, batched, and a drop-in for `snarkjs groth16 verify`.
//!
//! It trusts only the task definition's verification key (checked and
//! prepared once, at config load) and its `bind` table. The proof of task is
//! the JSON that `snarkjs.groth16.fullProve` returns,
//! `{"proof": {pi_a, pi_b, pi_c, protocol, curve}, "publicSignals": [...]}`,
//! and is read as hostile:
//!
//! - public signals must be canonical decimal strings below r: no silent
//!   reduction (input aliasing), no `0x`, sign, space or leading zero;
//! - there must be exactly as many public signals as the key declares;
//! - coordinates must be canonical decimals below q, points affine, on the
//!   curve and (G2 included, which snarkjs skips) in the prime-order
//!   subgroup; no point at infinity;
//! - `protocol` and `curve`, when present, must say `groth16` and BN254;
//! - signals pinned by `bind` must equal the performer address,
//!   keccak256(data) mod r or a constant.
//!
//! Nothing panics on any input: points are built with `new_unchecked` and
//! checked explicitly. A proof's bytes are never used as an identity (Groth16
//! proofs are malleable).
//!
//! Concurrent requests are verified together ([`Verifier::verify_batch`], the
//! `batch` module): N proofs in N + 3 Miller loops and one final exponentiation,
//! bisected on failure so each proof keeps its own verdict.
//!
//! The verification's [`Deadline`] is tested while proofs are parsed and
//! before every pairing check; once it has passed, every proof not already
//! refused by parsing is [`Verdict::Undecided`].

mod batch;
mod bind;
mod decimal;
mod files;
mod json;
mod key;
mod point;
mod proof;
mod single;
mod subgroup;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use alloy_primitives::Address;
use rayon::prelude::*;
use serde::Deserialize;
use taskproof_core::{
    BatchPolicy, BuildContext, ConfigError, Task, Verdict, Verifier, async_trait, cpu,
    deadline::{Deadline, Expired},
};

pub use bind::{Binding, data_field, performer_field, to_decimal};
pub use decimal::DecimalError;
pub use files::{FilesVerdict, verify_snarkjs_files};
pub use key::{KeyError, MAX_PUBLIC_SIGNALS, PreparedKey};
pub use point::PointError;
pub use proof::{CheckedProof, ProofError};

use bind::TaskFields;

/// Batches at least this large are parsed across rayon's threads.
const PARALLEL_PARSE_FROM: usize = 8;

/// The largest `batch.max` accepted.
const MAX_BATCH: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Params {
    verification_key: PathBuf,
    #[serde(default)]
    bind: BTreeMap<String, BindValue>,
    #[serde(default)]
    batch: BatchParams,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BindValue {
    Text(String),
    Integer(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchParams {
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default = "default_max")]
    max: usize,
    #[serde(default = "default_wait_ms")]
    wait_ms: u64,
}

fn default_true() -> bool {
    true
}
fn default_max() -> usize {
    64
}
fn default_wait_ms() -> u64 {
    2
}

impl Default for BatchParams {
    fn default() -> Self {
        Self {
            enabled: true,
            max: default_max(),
            wait_ms: default_wait_ms(),
        }
    }
}

/// The batch policy used when the task definition does not set one: up to
/// 64 proofs, waiting at most 2 ms for company.
pub const DEFAULT_BATCH_POLICY: BatchPolicy = BatchPolicy {
    max_batch: 64,
    max_wait: Duration::from_millis(2),
};

/// Builds a `groth16` verifier (registered as a closure factory).
pub(crate) fn build(p: Params, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    let bytes = ctx.read_file("verification_key", &p.verification_key)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        ctx.error(
            "verification_key",
            format!(
                "{} is not UTF-8 text",
                ctx.resolve_path(&p.verification_key).display()
            ),
        )
    })?;
    let key = PreparedKey::from_snarkjs_json(text).map_err(|e| {
        ctx.error(
            "verification_key",
            format!("{}: {e}", ctx.resolve_path(&p.verification_key).display()),
        )
    })?;
    let mut bindings = Vec::with_capacity(p.bind.len());
    for (index_text, value) in &p.bind {
        let at = format!("bind.{index_text}");
        let index = index_text
            .parse::<usize>()
            .ok()
            .filter(|i| i.to_string() == *index_text)
            .ok_or_else(|| ctx.error(&at, "the key must be a public signal index (0, 1, ...)"))?;
        if index >= key.public_signals() {
            return Err(ctx.error(
                &at,
                format!(
                    "public signal {index} does not exist: the key has {} public signals",
                    key.public_signals()
                ),
            ));
        }
        let binding = match value {
            BindValue::Text(text) => Binding::parse(text),
            BindValue::Integer(i) => Binding::parse(&i.to_string()),
        }
        .map_err(|e| ctx.error(&at, e))?;
        bindings.push((index, binding));
    }
    let batch = &p.batch;
    if batch.max == 0 || batch.max > MAX_BATCH {
        return Err(ctx.error("batch.max", format!("must be between 1 and {MAX_BATCH}")));
    }
    if batch.wait_ms > 1000 {
        return Err(ctx.error(
            "batch.wait_ms",
            "must be at most 1000 (a lone request waits this long)",
        ));
    }
    let policy = (batch.enabled && batch.max > 1).then(|| BatchPolicy {
        max_batch: batch.max,
        max_wait: Duration::from_millis(batch.wait_ms),
    });
    Ok(Arc::new(
        Groth16Verifier::new(key, bindings)
            .map_err(|e| ctx.error("bind", e))?
            .with_batch_policy(policy),
    ))
}

/// Checks Groth16 proofs of one task definition.
#[derive(Clone, Debug)]
pub struct Groth16Verifier {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    key: PreparedKey,
    bindings: Vec<(usize, Binding)>,
    batch: Option<BatchPolicy>,
}

impl Groth16Verifier {
    /// A verifier for `key`, with public signals pinned by `bindings`
    /// (index, binding). Fails if an index is not a public signal of the key.
    /// Batching is on with [`DEFAULT_BATCH_POLICY`].
    pub fn new(key: PreparedKey, bindings: Vec<(usize, Binding)>) -> Result<Self, String> {
        if let Some((index, _)) = bindings.iter().find(|(i, _)| *i >= key.public_signals()) {
            return Err(format!(
                "public signal {index} does not exist: the key has {} public signals",
                key.public_signals()
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                bindings,
                batch: Some(DEFAULT_BATCH_POLICY),
            }),
        })
    }

    /// The same verifier with another batch policy (`None`: no batching).
    pub fn with_batch_policy(self, batch: Option<BatchPolicy>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner { batch, ..inner }),
        }
    }

    /// The prepared verification key.
    pub fn key(&self) -> &PreparedKey {
        &self.inner.key
    }

    /// Parses and checks a proof of task for a performer and data, without
    /// the pairing: every strictness rule and every binding.
    pub fn check_fields(
        &self,
        proof_of_task: &str,
        performer: &Address,
        data: &[u8],
    ) -> Result<CheckedProof, ProofError> {
        self.inner
            .accept(proof_of_task, TaskFields { performer, data })
    }

    /// Judges one task synchronously (the CPU-heavy part of
    /// [`Verifier::verify`], for callers with their own threads).
    pub fn check(&self, task: &Task) -> Verdict {
        self.inner.check(task)
    }

    /// Judges many tasks together synchronously (see [`Verifier::verify_batch`]).
    pub fn check_batch(&self, tasks: &[Task]) -> Vec<Verdict> {
        self.inner.check_batch(tasks)
    }
}

fn verdict(result: Result<(), ProofError>) -> Verdict {
    match result {
        Ok(()) => Verdict::Valid,
        Err(e) => Verdict::invalid(e.to_string()),
    }
}

fn fields(task: &Task) -> TaskFields<'_> {
    TaskFields {
        performer: &task.performer,
        data: &task.data,
    }
}

impl Inner {
    fn accept(
        &self,
        proof_of_task: &str,
        task: TaskFields<'_>,
    ) -> Result<CheckedProof, ProofError> {
        let checked = CheckedProof::from_full_prove_json(proof_of_task, self.key.public_signals())?;
        for (index, binding) in &self.bindings {
            let expected = binding.value(&task);
            if checked.public_signals.get(*index) != Some(&expected) {
                return Err(ProofError::Binding {
                    index: *index,
                    expected: binding.to_string(),
                });
            }
        }
        Ok(checked)
    }

    fn check(&self, task: &Task) -> Verdict {
        let deadline = Deadline::current();
        if let Err(e) = deadline.check() {
            return e.into();
        }
        let checked = match self.accept(&task.proof_of_task, fields(task)) {
            Ok(checked) => checked,
            Err(e) => return verdict(Err(e)),
        };
        // Parsing a proof costs a G2 subgroup check; test again before the
        // pairing, the one expensive step left.
        if let Err(e) = deadline.check() {
            return e.into();
        }
        verdict(if single::verify(&self.key, &checked) {
            Ok(())
        } else {
            Err(ProofError::PairingFailed)
        })
    }

    fn check_batch(&self, tasks: &[Task]) -> Vec<Verdict> {
        let deadline = Deadline::current();
        if let Err(e) = deadline.check() {
            return vec![e.into(); tasks.len()];
        }
        // rayon's threads do not carry the deadline: it is passed in.
        let accept = |task: &Task| -> Result<Result<CheckedProof, ProofError>, Expired> {
            deadline.check()?;
            Ok(self.accept(&task.proof_of_task, fields(task)))
        };
        let parsed: Vec<Result<Result<CheckedProof, ProofError>, Expired>> =
            if tasks.len() >= PARALLEL_PARSE_FROM {
                tasks.par_iter().map(accept).collect()
            } else {
                tasks.iter().map(accept).collect()
            };
        let mut results: Vec<Result<Result<(), ProofError>, Expired>> =
            Vec::with_capacity(tasks.len());
        let mut well_formed = Vec::with_capacity(tasks.len());
        let mut positions = Vec::with_capacity(tasks.len());
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(Ok(checked)) => {
                    well_formed.push(checked);
                    positions.push(i);
                    results.push(Ok(Ok(())));
                }
                Ok(Err(e)) => results.push(Ok(Err(e))),
                Err(e) => results.push(Err(e)),
            }
        }
        match batch::verify_all(&self.key, &well_formed, &deadline) {
            Ok(holds) => {
                for (holds, i) in holds.into_iter().zip(positions) {
                    if !holds && let Some(slot) = results.get_mut(i) {
                        *slot = Ok(Err(ProofError::PairingFailed));
                    }
                }
            }
            Err(e) => {
                // Proofs refused while parsing keep their reasons; the rest
                // were not decided.
                for i in positions {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Err(e);
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.map_or_else(Verdict::from, verdict))
            .collect()
    }
}

#[async_trait]
impl Verifier for Groth16Verifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let inner = Arc::clone(&self.inner);
        let task = task.clone();
        cpu::run(move || inner.check(&task))
            .await
            .unwrap_or_else(|e| Verdict::undecided(e.to_string()))
    }

    async fn verify_batch(&self, tasks: &[Task]) -> Vec<Verdict> {
        let inner = Arc::clone(&self.inner);
        let owned = tasks.to_vec();
        match cpu::run(move || inner.check_batch(&owned)).await {
            Ok(verdicts) if verdicts.len() == tasks.len() => verdicts,
            Ok(_) => vec![Verdict::undecided("batch verification lost verdicts"); tasks.len()],
            Err(e) => vec![Verdict::undecided(e.to_string()); tasks.len()],
        }
    }

    fn batch_policy(&self) -> Option<BatchPolicy> {
        self.inner.batch
    }
}
