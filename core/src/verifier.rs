//! What a verifier kind implements.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{BuildContext, ConfigError, Task, Verdict};

/// Checks one kind of proof of task.
///
/// A verifier is built once per task definition, at config load, by its
/// [`VerifierFactory`]; all expensive preparation (parsing and preparing a
/// verification key, loading an SRS) happens there. `verify` must never panic
/// on any input and must return [`Verdict::Undecided`], not
/// [`Verdict::Invalid`], when it fails for reasons of its own.
///
/// CPU-heavy work (pairings, hashing megabytes) belongs on
/// [`crate::cpu::run`], not on the async reactor.
#[async_trait]
pub trait Verifier: Send + Sync + 'static {
    /// Judges one task.
    async fn verify(&self, task: &Task) -> Verdict;

    /// Judges many tasks of the same task definition, returning one verdict per
    /// task in the same order. The default checks them one by one; kinds with
    /// real batching (Groth16) override it.
    async fn verify_batch(&self, tasks: &[Task]) -> Vec<Verdict> {
        let mut verdicts = Vec::with_capacity(tasks.len());
        for task in tasks {
            verdicts.push(self.verify(task).await);
        }
        verdicts
    }

    /// How the node should group concurrent requests for this verifier, or
    /// `None` (the default) to call [`Verifier::verify`] per request.
    fn batch_policy(&self) -> Option<BatchPolicy> {
        None
    }

    /// The longest one verification may take by this verifier's own limits
    /// (for a kind that fetches: its total retrieval timeout), or `None` when
    /// it sets none. The node refuses a task definition whose deadline is
    /// shorter, since the verifier's own limit could then never act.
    fn time_needed(&self) -> Option<Duration> {
        None
    }
}

/// How long, and for how many tasks, the node may hold requests to verify them
/// together with [`Verifier::verify_batch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchPolicy {
    /// A batch is verified as soon as it holds this many tasks.
    pub max_batch: usize,
    /// A lone task waits at most this long for company.
    pub max_wait: Duration,
}

/// Builds a [`Verifier`] of one kind from a task definition's params.
///
/// The factory reads its params with [`BuildContext::params`], which names the
/// config file, the task definition and the key in every error.
pub trait VerifierFactory: Send + Sync + 'static {
    /// The kind name used in `verifier = "..."`.
    fn kind(&self) -> &str;

    /// Builds the verifier for one task definition.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError>;
}
