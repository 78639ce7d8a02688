//! A bounded pool for CPU-heavy verification.
//!
//! Pairings and bulk hashing must not run on the async reactor, where they
//! would stall every other connection. [`run`] moves a closure onto tokio's
//! blocking threads, but never more at once than there are cores: the rest
//! wait their turn instead of oversubscribing the machine.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(parallelism()))
}

/// The number of cores verification may use at once.
pub fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The pool is gone (the runtime is shutting down) or the closure panicked.
#[derive(Debug, thiserror::Error)]
#[error("verification worker failed: {0}")]
pub struct WorkerFailed(String);

/// Runs `work` on a blocking thread, at most [`parallelism`] at a time.
///
/// A panic inside `work` is caught and reported as [`WorkerFailed`], so a bug
/// in a verifier never takes the node down; callers turn it into
/// [`crate::Verdict::Undecided`].
pub async fn run<R, F>(work: F) -> Result<R, WorkerFailed>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| WorkerFailed(e.to_string()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        WorkerFailed(if e.is_panic() {
            "worker panicked".into()
        } else {
            e.to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_worker_is_reported_not_propagated() {
        let result = run(|| -> u32 { panic!("boom") }).await;
        assert!(result.is_err());
        assert_eq!(run(|| 7).await.unwrap(), 7);
    }
}
