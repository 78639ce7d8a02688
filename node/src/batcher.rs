//! Micro-batching: requests for the same task definition that arrive within
//! a short window are verified together with `Verifier::verify_batch`.
//!
//! A batch closes when it is full or when its first task has waited
//! `max_wait`, so a lone request is never delayed beyond the window. Each
//! closed batch is verified on its own task while the next one fills.

use std::sync::Arc;

use futures_util::FutureExt;
use prometheus_client::metrics::histogram::Histogram;
use taskproof_core::{BatchPolicy, Deadline, Task, Verdict, Verifier};
use tokio::sync::{mpsc, oneshot};

type Job = (Task, Deadline, oneshot::Sender<Verdict>);

/// The sending side of one task definition's batching loop.
#[derive(Clone)]
pub(crate) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the batching loop on the current tokio runtime.
    pub(crate) fn spawn(
        verifier: Arc<dyn Verifier>,
        policy: BatchPolicy,
        capacity: usize,
        sizes: Histogram,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(collect(rx, verifier, policy, sizes));
        Self { jobs }
    }

    /// Queues a task and waits for its verdict. The batch it joins runs
    /// until the latest deadline of its tasks, and stops early once every
    /// task's deadline is cancelled (all their requests gave up).
    pub(crate) async fn submit(&self, task: Task, deadline: Deadline) -> Verdict {
        let (tx, rx) = oneshot::channel();
        if self.jobs.send((task, deadline, tx)).await.is_err() {
            return Verdict::undecided("the batching worker has stopped");
        }
        rx.await
            .unwrap_or_else(|_| Verdict::undecided("the batch verifier failed before answering"))
    }
}

async fn collect(
    mut rx: mpsc::Receiver<Job>,
    verifier: Arc<dyn Verifier>,
    policy: BatchPolicy,
    sizes: Histogram,
) {
    let max = policy.max_batch.max(1);
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + policy.max_wait;
        let mut batch = Vec::with_capacity(max);
        batch.push(first);
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => batch.push(job),
                Ok(None) | Err(_) => break,
            }
        }
        sizes.observe(batch.len() as f64);
        tokio::spawn(verify(verifier.clone(), batch));
    }
}

async fn verify(verifier: Arc<dyn Verifier>, batch: Vec<Job>) {
    let mut tasks = Vec::with_capacity(batch.len());
    let mut deadlines = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for (task, deadline, answer) in batch {
        tasks.push(task);
        deadlines.push(deadline);
        answers.push(answer);
    }
    let latest = deadlines.iter().map(Deadline::instant).max().flatten();
    let deadline = latest.map_or_else(Deadline::none, Deadline::at);
    let watch = abandon_when_all_cancelled(deadline.clone(), deadlines);
    let work =
        std::panic::AssertUnwindSafe(deadline.scope(verifier.verify_batch(&tasks))).catch_unwind();
    let verdicts = tokio::select! {
        verdicts = work => verdicts,
        () = watch => Ok(tasks.iter().map(|_| Verdict::undecided("every request of the batch gave up")).collect()),
    };
    match verdicts {
        Ok(verdicts) if verdicts.len() == answers.len() => {
            for (answer, verdict) in answers.into_iter().zip(verdicts) {
                let _ = answer.send(verdict);
            }
        }
        Ok(verdicts) => {
            tracing::error!(
                tasks = answers.len(),
                verdicts = verdicts.len(),
                "verify_batch returned the wrong number of verdicts"
            );
            for answer in answers {
                let _ = answer.send(Verdict::undecided(
                    "the batch verifier returned the wrong number of verdicts",
                ));
            }
        }
        Err(_) => {
            tracing::error!("verify_batch panicked");
            for answer in answers {
                let _ = answer.send(Verdict::undecided("the batch verifier failed"));
            }
        }
    }
}

/// Resolves (after cancelling `batch`) once every task's own deadline has
/// been cancelled or has passed: nobody waits for the batch any more.
async fn abandon_when_all_cancelled(batch: Deadline, tasks: Vec<Deadline>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if tasks.iter().all(Deadline::expired) {
            batch.cancel();
            return;
        }
    }
}
