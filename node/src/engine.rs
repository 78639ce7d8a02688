//! The engine: every stage between a decoded task and its verdict, in one
//! place and in order. Each stage's refusal is a verdict the attester can
//! act on; none of them is ever `Invalid`.
//!
//! 1. **Task definition**: an unknown `taskDefinitionId` is
//!    [`UnknownTaskDefinition`] (`TaskDefinitionNotFound`).
//! 2. **Admission** (node-wide `max_pending`): [`Engine::admit`] hands out an
//!    [`Admission`], waiting at most `admission_wait` for a slot to free, or
//!    refuses with an undecided "overloaded" verdict. The HTTP layer admits
//!    before it reads a request body, so a refusal costs no parsing; and
//!    because a refusal comes only after the wait, a client that retries at
//!    once cannot make the node spend its CPU on refusals (each connection
//!    costs at most one refusal per wait), which keeps the admitted work at
//!    nearly full speed under overload.
//! 3. **Per-definition concurrency** (the definition's `max_pending`): one
//!    slow kind cannot hold every slot.
//! 4. **Deadline** (the definition's `timeout_ms`, else the node's): it
//!    travels with the task ([`Deadline::scope`]) into the verifier's CPU
//!    loops, which stop when it passes; the verdict is then undecided.
//! 5. **Panic isolation**: a panicking verifier is undecided, and the node
//!    lives on.
//! 6. **Batching**: verifiers with a [`taskproof_core::BatchPolicy`] are fed
//!    through their batcher, the others called directly.
//! 7. **Bound, count, log**: the message is cut to
//!    [`taskproof_core::MAX_MESSAGE_BYTES`], the outcome and latency counted,
//!    and invalid or undecided verdicts logged at a bounded rate.
//!
//! The HTTP layer adds its own stages before these (connection cap, header,
//! body and idle timeouts, content type, body size and the bytes buffered at
//! once); see [`crate::http`].

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::FutureExt;
use taskproof_core::{Deadline, Task, TaskDefinition, TaskDefinitions, Verdict};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    Metrics,
    batcher::Batcher,
    logging::{RateLimit, for_log},
};

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
    /// How long a task may wait for admission when `max_pending` are pending.
    pub admission_wait: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_pending: 4096,
            batching: true,
            admission_wait: Duration::from_millis(100),
        }
    }
}

/// One definition, ready to judge: its verifier, its own concurrency bound
/// and its batcher.
struct Lane {
    definition: TaskDefinition,
    limit: Duration,
    concurrency: Option<Arc<Semaphore>>,
    batcher: Option<Batcher>,
}

/// Judges tasks against a set of task definitions.
pub struct Engine {
    definitions: TaskDefinitions,
    lanes: HashMap<u16, Lane>,
    options: EngineOptions,
    pending: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("definitions", &self.definitions.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A verification the node has room for (stage 2). It holds its slot until
/// dropped.
#[derive(Debug)]
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    _pending: PendingGauge,
}

/// The node is at `max_pending`: the task is undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node overloaded: {0} verifications already pending")]
pub struct Overloaded(pub usize);

impl From<Overloaded> for Verdict {
    fn from(e: Overloaded) -> Self {
        Verdict::undecided(e.to_string())
    }
}

static INVALID_LOG: RateLimit = RateLimit::new(10);
static UNDECIDED_LOG: RateLimit = RateLimit::new(10);
static OVERLOAD_LOG: RateLimit = RateLimit::new(1);

impl Engine {
    /// An engine over `definitions`. Must be called inside a tokio runtime
    /// when batching is on: batching loops are spawned here.
    pub fn new(
        definitions: TaskDefinitions,
        options: EngineOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        let lanes = definitions
            .iter()
            .map(|def| {
                let batcher = match (options.batching, def.verifier.batch_policy()) {
                    (true, Some(policy)) => metrics
                        .definition(def.id)
                        .and_then(|m| m.batch_size.clone())
                        .map(|sizes| {
                            Batcher::spawn(def.verifier.clone(), policy, options.max_pending, sizes)
                        }),
                    _ => None,
                };
                let lane = Lane {
                    definition: def.clone(),
                    limit: def.timeout.unwrap_or(options.timeout),
                    concurrency: def
                        .max_pending
                        .filter(|&n| n < options.max_pending)
                        .map(|n| Arc::new(Semaphore::new(n))),
                    batcher,
                };
                (def.id, lane)
            })
            .collect();
        Self {
            pending: Arc::new(Semaphore::new(options.max_pending)),
            definitions,
            lanes,
            options,
            metrics,
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

    /// Stage 2: room for one more verification, waiting at most the
    /// admission wait for one, or a refusal.
    pub async fn admit(&self) -> Result<Admission, Overloaded> {
        let permit = match Arc::clone(&self.pending).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => tokio::time::timeout(
                self.options.admission_wait,
                Arc::clone(&self.pending).acquire_owned(),
            )
            .await
            .ok()
            .and_then(Result::ok),
        };
        match permit {
            Some(permit) => Ok(Admission {
                _permit: permit,
                _pending: PendingGauge::enter(&self.metrics.pending),
            }),
            None => {
                self.metrics.refused();
                if let Some(suppressed) = OVERLOAD_LOG.admit() {
                    tracing::warn!(
                        max_pending = self.options.max_pending,
                        suppressed,
                        "node overloaded: new verifications are undecided (503) until some finish"
                    );
                }
                Err(Overloaded(self.options.max_pending))
            }
        }
    }

    /// Verifies one task: admission, then [`Engine::judge_admitted`].
    pub async fn judge(&self, task: Task) -> Result<Verdict, UnknownTaskDefinition> {
        let id = task.task_definition_id;
        if !self.lanes.contains_key(&id) {
            return Err(UnknownTaskDefinition(id));
        }
        match self.admit().await {
            Ok(admission) => self.judge_admitted(&admission, task).await,
            Err(overloaded) => Ok(overloaded.into()),
        }
    }

    /// Stages 1 and 3 to 7 for a task already admitted.
    pub async fn judge_admitted(
        &self,
        _admission: &Admission,
        task: Task,
    ) -> Result<Verdict, UnknownTaskDefinition> {
        let id = task.task_definition_id;
        let lane = self.lanes.get(&id).ok_or(UnknownTaskDefinition(id))?;
        let started = Instant::now();
        let verdict = match &lane.concurrency {
            Some(slots) => match slots.try_acquire() {
                Ok(_slot) => run(lane, task).await,
                Err(_) => Verdict::undecided(format!(
                    "task definition {id} overloaded: {} of its verifications already pending",
                    lane.definition.max_pending.unwrap_or_default()
                )),
            },
            None => run(lane, task).await,
        }
        .bounded();
        if let Some(m) = self.metrics.definition(id) {
            m.record(verdict.outcome(), started.elapsed().as_secs_f64());
        }
        log(&lane.definition, &verdict);
        Ok(verdict)
    }
}

/// Stages 4 to 6.
async fn run(lane: &Lane, task: Task) -> Verdict {
    let deadline = Deadline::after(lane.limit);
    let verifier = &lane.definition.verifier;
    let work = async {
        match &lane.batcher {
            Some(batcher) => batcher.submit(task, deadline.clone()).await,
            None => verifier.verify(&task).await,
        }
    };
    let guarded = std::panic::AssertUnwindSafe(work).catch_unwind();
    let verdict = match tokio::time::timeout(lane.limit, deadline.clone().scope(guarded)).await {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(_)) => {
            tracing::error!(
                task_definition = lane.definition.id,
                "verifier panicked; the verdict is undecided"
            );
            Verdict::undecided("the verifier failed")
        }
        Err(_) => Verdict::undecided(format!(
            "verification timed out after {} ms",
            lane.limit.as_millis()
        )),
    };
    // Whatever still runs for this task stops at its next deadline check.
    deadline.cancel();
    verdict
}

fn log(def: &TaskDefinition, verdict: &Verdict) {
    match verdict {
        Verdict::Valid => tracing::debug!(task_definition = def.id, name = %def.name, "valid"),
        Verdict::Invalid { reason } => {
            if let Some(suppressed) = INVALID_LOG.admit() {
                tracing::info!(
                    task_definition = def.id,
                    name = %def.name,
                    reason = for_log(reason),
                    suppressed,
                    "invalid"
                );
            }
        }
        Verdict::Undecided { cause } => {
            if let Some(suppressed) = UNDECIDED_LOG.admit() {
                tracing::warn!(
                    task_definition = def.id,
                    name = %def.name,
                    cause = for_log(cause),
                    suppressed,
                    "undecided"
                );
            }
        }
    }
}

/// Counts a verification as pending for as long as it lives, including when
/// the request is dropped half-way (a client that hangs up).
#[derive(Debug)]
struct PendingGauge(prometheus_client::metrics::gauge::Gauge);

impl PendingGauge {
    fn enter(gauge: &prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for PendingGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}
