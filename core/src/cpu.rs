//! A bounded pool for CPU-heavy verification.
//!
//! Pairings and bulk hashing must not run on the async reactor, where they
//! would stall every other connection. [`run`] hands a closure to a pool of
//! exactly [`parallelism`] threads, started on first use and kept for the
//! life of the process: the rest wait their turn instead of oversubscribing
//! the machine, and no request ever starts a thread.
//!
//! The bound holds after a timeout too. A pool slot belongs to the closure,
//! not to the future that waits for it: when the waiting future is dropped
//! (the node's deadline passed, the client hung up), the closure's
//! [`Deadline`] is cancelled so that its loops stop at their next
//! [`crate::deadline::check`], and the slot is released only when the closure
//! has returned. New work waits for the slot meanwhile, and the node answers
//! it with its own deadline.

use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, OnceLock, mpsc},
};

use tokio::sync::{Semaphore, oneshot};

use crate::deadline::Deadline;

type Job = Box<dyn FnOnce() + Send>;

/// The pool's threads and the slots that admit work to them (as many as
/// threads, so admitted work never waits for a thread).
struct Pool {
    jobs: mpsc::Sender<Job>,
    slots: Arc<Semaphore>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..parallelism() {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("taskproof-cpu-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            // Without its threads the pool still answers: every job's
            // sender is dropped unanswered and `run` reports WorkerFailed.
            drop(spawned);
        }
        Pool {
            jobs,
            slots: Arc::new(Semaphore::new(parallelism())),
        }
    })
}

/// The number of cores verification may use at once.
pub fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pool slots held right now by running closures (for metrics and tests).
pub fn busy() -> usize {
    parallelism().saturating_sub(pool().slots.available_permits())
}

/// The pool is gone (the runtime is shutting down) or the closure panicked.
#[derive(Debug, thiserror::Error)]
#[error("verification worker failed: {0}")]
pub struct WorkerFailed(String);

/// Cancels the closure's deadline if the waiting future is dropped before the
/// closure has answered.
struct CancelOnDrop {
    deadline: Deadline,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.deadline.cancel();
        }
    }
}

/// Runs `work` on the pool, at most [`parallelism`] at a time, under the
/// current verification's [`Deadline`] (see [`Deadline::current`]).
///
/// A panic inside `work` is caught and reported as [`WorkerFailed`], so a bug
/// in a verifier never takes the node down; callers turn it into
/// [`crate::Verdict::Undecided`].
pub async fn run<R, F>(work: F) -> Result<R, WorkerFailed>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let deadline = Deadline::current();
    let pool = pool();
    let slot = Arc::clone(&pool.slots)
        .acquire_owned()
        .await
        .map_err(|e| WorkerFailed(e.to_string()))?;
    let mut guard = CancelOnDrop {
        deadline: deadline.clone(),
        armed: true,
    };
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| deadline.enter(work)));
        // The slot is released when the work has really finished, even if
        // nobody waits for it any more.
        drop(slot);
        let _ = answer.send(result);
    });
    pool.jobs
        .send(job)
        .map_err(|_| WorkerFailed("the verification pool has stopped".into()))?;
    let result = match answered.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_panic)) => Err(WorkerFailed("worker panicked".into())),
        Err(_) => Err(WorkerFailed("the verification pool has stopped".into())),
    };
    guard.armed = false;
    result
}

/// Queues `work` on the pool without waiting for it: for work that must run
/// even when nothing awaits it (the drainer of a queue whose callers come and
/// go, on runtimes that may shut down). It holds a slot when one is free;
/// either way it runs on one of the pool's threads, so the machine is never
/// oversubscribed, and admitted work waits at most for it to return. A panic
/// inside `work` is caught. `Err` when the pool has no threads left.
pub fn spawn(work: impl FnOnce() + Send + 'static) -> Result<(), WorkerFailed> {
    let pool = pool();
    let slot = Arc::clone(&pool.slots).try_acquire_owned().ok();
    let job: Job = Box::new(move || {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(work));
        drop(slot);
    });
    pool.jobs
        .send(job)
        .map_err(|_| WorkerFailed("the verification pool has stopped".into()))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn a_panicking_worker_is_reported_not_propagated() {
        let result = run(|| -> u32 { panic!("boom") }).await;
        assert!(result.is_err());
        assert_eq!(run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_worker_keeps_its_slot_until_it_stops() {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
        let deadline = Deadline::none();
        let waiting = tokio::spawn(deadline.clone().scope(run(move || {
            started_tx.send(()).unwrap();
            let began = Instant::now();
            while crate::deadline::check().is_ok() {
                assert!(began.elapsed() < Duration::from_secs(10), "never cancelled");
                std::hint::spin_loop();
            }
            stopped_tx.send(()).unwrap();
        })));
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(busy() >= 1);
        waiting.abort();
        stopped_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("dropping the waiting future cancels the work");
        assert!(deadline.is_cancelled());
        let began = Instant::now();
        while busy() != 0 {
            assert!(began.elapsed() < Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
