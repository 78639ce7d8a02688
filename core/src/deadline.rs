//! The deadline a verification runs under, carried into its CPU loops.
//!
//! An attester's node gives every verification a time limit. Dropping the
//! future that waits for a verification does not stop work already running
//! on a blocking thread, so the limit must reach the work itself: the node
//! runs each verification inside [`Deadline::scope`], [`crate::cpu::run`]
//! hands the same deadline to the thread that does the work, and long loops
//! (bisection, fence tests, walking a CAR, hashing) call [`check`] and stop
//! with [`Expired`] once it has passed or the verification was abandoned.
//!
//! Checking costs an atomic load and, every [`CLOCK_EVERY`]th call, a read
//! of the monotonic clock, so it can sit in inner loops.

use std::{
    cell::{Cell, RefCell},
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// How often [`check`] reads the clock (the cancel flag is read every time).
pub const CLOCK_EVERY: u32 = 64;

/// The time limit of one verification, and whether it was abandoned.
///
/// Clones share the cancel flag: [`Deadline::cancel`] on one is seen by all.
#[derive(Clone, Debug, Default)]
pub struct Deadline {
    at: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

/// The deadline passed, or the verification was abandoned: the work stopped
/// without a verdict. Verifiers turn it into [`crate::Verdict::Undecided`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the verification deadline passed before the work finished")]
pub struct Expired;

impl From<Expired> for crate::Verdict {
    fn from(e: Expired) -> Self {
        crate::Verdict::undecided(e.to_string())
    }
}

impl Deadline {
    /// No time limit (still cancellable).
    pub fn none() -> Self {
        Self::default()
    }

    /// A limit `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Self {
            at: Instant::now().checked_add(limit),
            cancelled: Arc::default(),
        }
    }

    /// A limit at `at`.
    pub fn at(at: Instant) -> Self {
        Self {
            at: Some(at),
            cancelled: Arc::default(),
        }
    }

    /// When the limit falls, if there is one.
    pub fn instant(&self) -> Option<Instant> {
        self.at
    }

    /// Time left, `None` without a limit.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Marks the verification as abandoned: work under this deadline stops at
    /// its next [`check`].
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Deadline::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Whether the work must stop now (reads the clock).
    pub fn expired(&self) -> bool {
        self.is_cancelled() || self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err(Expired)` when the work must stop now (reads the clock).
    pub fn check(&self) -> Result<(), Expired> {
        if self.expired() { Err(Expired) } else { Ok(()) }
    }

    /// The deadline of the verification running on this task or thread;
    /// [`Deadline::none`] outside any.
    pub fn current() -> Self {
        if let Ok(d) = SCOPE.try_with(Clone::clone) {
            return d;
        }
        THREAD.with(|t| t.borrow().clone()).unwrap_or_default()
    }

    /// Runs `future` with this deadline as [`Deadline::current`] (for async
    /// code and for [`crate::cpu::run`], which passes it on to its thread).
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        SCOPE.scope(self, future).await
    }

    /// Runs `work` on the current thread with this deadline as
    /// [`Deadline::current`] and as what [`check`] tests.
    pub fn enter<R>(&self, work: impl FnOnce() -> R) -> R {
        struct Restore(Option<Deadline>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                THREAD.with(|t| *t.borrow_mut() = previous);
                COUNTER.with(|c| c.set(0));
            }
        }
        let previous = THREAD.with(|t| t.borrow_mut().replace(self.clone()));
        let _restore = Restore(previous);
        work()
    }

    /// Whether two handles share one cancel flag (test support).
    #[doc(hidden)]
    pub fn same_flag(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cancelled, &other.cancelled)
    }
}

tokio::task_local! {
    static SCOPE: Deadline;
}

thread_local! {
    static THREAD: RefCell<Option<Deadline>> = const { RefCell::new(None) };
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// Stops the work running on this thread once its deadline has passed or its
/// verification was abandoned. Cheap enough for inner loops: the clock is read
/// every [`CLOCK_EVERY`] calls. Outside [`Deadline::enter`] (tests, the CLI
/// without a limit) it never fails.
pub fn check() -> Result<(), Expired> {
    THREAD.with(|t| {
        let t = t.borrow();
        let Some(deadline) = t.as_ref() else {
            return Ok(());
        };
        if deadline.is_cancelled() {
            return Err(Expired);
        }
        let n = COUNTER.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n
        });
        if n.is_multiple_of(CLOCK_EVERY) {
            deadline.check()
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_after_the_deadline_and_after_cancel() {
        assert!(check().is_ok(), "no deadline outside enter");
        let passed = Deadline::at(Instant::now());
        passed.enter(|| {
            let stopped = (0..CLOCK_EVERY * 2).any(|_| check().is_err());
            assert!(stopped, "an expired deadline stops the loop");
        });
        assert!(check().is_ok(), "the thread's deadline is restored");
        let far = Deadline::after(Duration::from_secs(3600));
        far.enter(|| {
            assert!((0..1000).all(|_| check().is_ok()));
            far.cancel();
            assert_eq!(check(), Err(Expired), "cancel is seen at once");
        });
    }

    #[tokio::test]
    async fn scope_makes_the_deadline_current() {
        let d = Deadline::after(Duration::from_secs(5));
        let seen = d.clone().scope(async { Deadline::current() }).await;
        assert!(seen.same_flag(&d));
        assert!(!Deadline::current().same_flag(&d));
    }
}
