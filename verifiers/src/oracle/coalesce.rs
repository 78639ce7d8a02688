//! Request coalescing and a short TTL cache, per source.
//!
//! Under load many validations of the same task definition arrive together;
//! without this, each would fetch every source and the node would hammer the
//! data provider. Concurrent callers share one in-flight fetch, and a
//! successful answer is reused for `ttl`. Failures are shared with the callers
//! already waiting but never cached.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::fetch::{SourceAnswer, SourceError};

type Answer = Result<Arc<SourceAnswer>, SourceError>;
type SharedFetch = Shared<BoxFuture<'static, Answer>>;

enum Slot {
    Empty,
    InFlight {
        id: u64,
        fetch: SharedFetch,
        started: Instant,
    },
    Fresh {
        value: Arc<SourceAnswer>,
        at: Instant,
    },
}

/// One source's shared fetch and cached answer.
pub(crate) struct Coalescer {
    slot: Mutex<Slot>,
    next_id: AtomicU64,
    coalesce: bool,
    ttl: Duration,
    /// An in-flight fetch older than this is abandoned (its callers were all
    /// cancelled and its timers have run out): a new one is started.
    stale_after: Duration,
}

impl Coalescer {
    pub(crate) fn new(coalesce: bool, ttl: Duration, stale_after: Duration) -> Self {
        Self {
            slot: Mutex::new(Slot::Empty),
            next_id: AtomicU64::new(0),
            coalesce,
            ttl,
            stale_after,
        }
    }

    /// The source's answer: cached, joined in flight, or fetched by `start`.
    pub(crate) async fn get(&self, start: impl FnOnce() -> BoxFuture<'static, Answer>) -> Answer {
        if !self.coalesce && self.ttl.is_zero() {
            return start().await;
        }
        let (id, fetch) = {
            // A poisoned lock only means another caller panicked mid-update;
            // the slot is still a valid state.
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Slot::Fresh { value, at } if at.elapsed() < self.ttl => {
                    return Ok(Arc::clone(value));
                }
                Slot::InFlight { id, fetch, started }
                    if self.coalesce && started.elapsed() < self.stale_after =>
                {
                    (*id, fetch.clone())
                }
                _ => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let fetch = start().shared();
                    if self.coalesce {
                        *slot = Slot::InFlight {
                            id,
                            fetch: fetch.clone(),
                            started: Instant::now(),
                        };
                    }
                    (id, fetch)
                }
            }
        };
        let answer = fetch.await;
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let ours = match &*slot {
            Slot::InFlight { id: current, .. } => *current == id,
            Slot::Empty => !self.coalesce,
            Slot::Fresh { .. } => !self.coalesce,
        };
        if ours {
            *slot = match &answer {
                Ok(value) if !self.ttl.is_zero() => Slot::Fresh {
                    value: Arc::clone(value),
                    at: Instant::now(),
                },
                _ => Slot::Empty,
            };
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting(hits: &Arc<AtomicUsize>, delay: Duration) -> BoxFuture<'static, Answer> {
        let hits = Arc::clone(hits);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            Ok(Arc::new(SourceAnswer::empty()))
        }
        .boxed()
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let c = Arc::new(Coalescer::new(
            true,
            Duration::ZERO,
            Duration::from_secs(60),
        ));
        let hits = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        for _ in 0..16 {
            let (c, hits) = (Arc::clone(&c), Arc::clone(&hits));
            joins.push(tokio::spawn(async move {
                c.get(|| counting(&hits, Duration::from_millis(50))).await
            }));
        }
        for j in joins {
            assert!(j.await.unwrap().is_ok());
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // Nothing is cached with a zero TTL: the next call fetches again.
        c.get(|| counting(&hits, Duration::ZERO)).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn cached_answer_expires_after_ttl() {
        let c = Coalescer::new(false, Duration::from_millis(40), Duration::from_secs(60));
        let hits = Arc::new(AtomicUsize::new(0));
        c.get(|| counting(&hits, Duration::ZERO)).await.unwrap();
        c.get(|| counting(&hits, Duration::ZERO)).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        c.get(|| counting(&hits, Duration::ZERO)).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn abandoned_fetch_is_replaced_once_stale() {
        let c = Coalescer::new(true, Duration::ZERO, Duration::from_millis(50));
        let hits = Arc::new(AtomicUsize::new(0));
        let hanging = |hits: &Arc<AtomicUsize>| {
            let hits = Arc::clone(hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<Answer>().await
            }
            .boxed()
        };
        // Callers give up (the node's timeout); the fetch stays in flight.
        let give_up = Duration::from_millis(10);
        assert!(
            tokio::time::timeout(give_up, c.get(|| hanging(&hits)))
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(give_up, c.get(|| hanging(&hits)))
                .await
                .is_err()
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "the second caller joined the first fetch"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        c.get(|| counting(&hits, Duration::ZERO)).await.unwrap();
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "a stale fetch is not joined"
        );
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let c = Coalescer::new(true, Duration::from_secs(60), Duration::from_secs(60));
        let hits = Arc::new(AtomicUsize::new(0));
        let failing = |hits: &Arc<AtomicUsize>| {
            let hits = Arc::clone(hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                Err(SourceError::Fetch(crate::retrieval::FetchError::Status(
                    503,
                )))
            }
            .boxed()
        };
        assert!(c.get(|| failing(&hits)).await.is_err());
        assert!(c.get(|| failing(&hits)).await.is_err());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}
