//! The engine: from a task to a verdict, with the node's limits.
//!
//! It looks up the task definition, admits the verification or refuses it
//! when too many are pending (undecided, so the attester abstains rather than
//! voting on its own overload), applies the time limit, feeds batching
//! verifiers through their batcher, catches panics, and counts.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures_util::FutureExt;
use taskproof_core::{Task, TaskDefinition, TaskDefinitions, Verdict};
use tokio::sync::Semaphore;

use crate::{Metrics, batcher::Batcher};

/// The task names a task definition this node does not have
/// (`TaskDefinitionNotFound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TaskDefinitionNotFound({0})")]
pub struct UnknownTaskDefinition(pub u16);

/// The engine's limits.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Default per-verification time limit.
    pub timeout: Duration,
    /// Most verifications admitted at once.
    pub max_pending: usize,
    /// Whether to micro-batch verifiers that ask for it.
    pub batching: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_pending: 4096,
            batching: true,
        }
    }
}

/// Judges tasks against a set of task definitions.
pub struct Engine {
    definitions: TaskDefinitions,
    options: EngineOptions,
    pending: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    batchers: HashMap<u16, Batcher>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("definitions", &self.definitions.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `definitions`. Must be called inside a tokio runtime
    /// when batching is on: batching loops are spawned here.
    pub fn new(
        definitions: TaskDefinitions,
        options: EngineOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut batchers = HashMap::new();
        if options.batching {
            for def in definitions.iter() {
                if let (Some(policy), Some(m)) =
                    (def.verifier.batch_policy(), metrics.definition(def.id))
                {
                    let batcher = Batcher::spawn(
                        def.verifier.clone(),
                        policy,
                        options.max_pending,
                        m.batch_size.clone(),
                    );
                    batchers.insert(def.id, batcher);
                }
            }
        }
        Self {
            pending: Arc::new(Semaphore::new(options.max_pending)),
            definitions,
            options,
            metrics,
            batchers,
        }
    }

    /// The task definitions.
    pub fn definitions(&self) -> &TaskDefinitions {
        &self.definitions
    }

    /// The definition for an id.
    pub fn definition(&self, id: u16) -> Option<&TaskDefinition> {
        self.definitions.get(id)
    }

    /// The metrics this engine records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Verifies one task.
    pub async fn judge(&self, task: Task) -> Result<Verdict, UnknownTaskDefinition> {
        let id = task.task_definition_id;
        let def = self.definitions.get(id).ok_or(UnknownTaskDefinition(id))?;
        let Ok(_permit) = self.pending.try_acquire() else {
            let verdict = Verdict::undecided(format!(
                "node overloaded: {} verifications already pending",
                self.options.max_pending
            ));
            if let Some(m) = self.metrics.definition(id) {
                m.record(verdict.outcome(), 0.0);
            }
            return Ok(verdict);
        };
        let _gauge = PendingGauge::enter(&self.metrics.pending);
        let started = std::time::Instant::now();
        let limit = def.timeout.unwrap_or(self.options.timeout);
        let work = async {
            match self.batchers.get(&id) {
                Some(batcher) => batcher.submit(task).await,
                None => def.verifier.verify(&task).await,
            }
        };
        let verdict =
            match tokio::time::timeout(limit, std::panic::AssertUnwindSafe(work).catch_unwind())
                .await
            {
                Ok(Ok(verdict)) => verdict,
                Ok(Err(_)) => {
                    tracing::error!(task_definition = id, "verifier panicked");
                    Verdict::undecided("the verifier failed")
                }
                Err(_) => Verdict::undecided(format!(
                    "verification timed out after {} ms",
                    limit.as_millis()
                )),
            };
        if let Some(m) = self.metrics.definition(id) {
            m.record(verdict.outcome(), started.elapsed().as_secs_f64());
        }
        match &verdict {
            Verdict::Valid => tracing::debug!(task_definition = id, "valid"),
            Verdict::Invalid { reason } => tracing::info!(task_definition = id, %reason, "invalid"),
            Verdict::Undecided { cause } => {
                tracing::warn!(task_definition = id, %cause, "undecided")
            }
        }
        Ok(verdict)
    }
}

/// Counts a verification as pending for as long as it lives, including when
/// the request is dropped half-way (a client that hangs up).
struct PendingGauge<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> PendingGauge<'a> {
    fn enter(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for PendingGauge<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
