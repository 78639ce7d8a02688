//! Hashing on every core while reading, results kept in reading order.
//!
//! Leaf chunks are independent, so their hashes can be computed in parallel;
//! the DAG above them must be built in order. [`OrderedWorkers`] runs a job
//! function on worker threads and hands the results back in submission order,
//! with a bound on jobs in flight so memory stays constant whatever the input
//! size. With zero workers, jobs run inline on the caller's thread.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        mpsc::{Receiver, SyncSender, sync_channel},
    },
    thread::JoinHandle,
};

type Job<T> = (u64, T);

/// A bounded pool of worker threads returning results in submission order.
pub(crate) struct OrderedWorkers<T: Send + 'static, R: Send + 'static> {
    work: Arc<dyn Fn(T) -> R + Send + Sync>,
    jobs: Option<SyncSender<Job<T>>>,
    results: Option<Receiver<(u64, R)>>,
    threads: Vec<JoinHandle<()>>,
    max_in_flight: usize,
    next_submit: u64,
    next_deliver: u64,
    parked: BTreeMap<u64, R>,
}

impl<T: Send + 'static, R: Send + 'static> OrderedWorkers<T, R> {
    /// A pool of `threads` workers (0: run inline) with at most
    /// `max_in_flight` jobs submitted but not yet delivered.
    pub(crate) fn new(
        threads: usize,
        max_in_flight: usize,
        work: impl Fn(T) -> R + Send + Sync + 'static,
    ) -> Self {
        let work: Arc<dyn Fn(T) -> R + Send + Sync> = Arc::new(work);
        let mut pool = Self {
            work: work.clone(),
            jobs: None,
            results: None,
            threads: Vec::new(),
            max_in_flight: max_in_flight.max(1),
            next_submit: 0,
            next_deliver: 0,
            parked: BTreeMap::new(),
        };
        if threads > 0 {
            let (job_tx, job_rx) = sync_channel::<Job<T>>(pool.max_in_flight);
            let (result_tx, result_rx) = sync_channel::<(u64, R)>(pool.max_in_flight);
            let job_rx = Arc::new(Mutex::new(job_rx));
            for _ in 0..threads {
                let job_rx = job_rx.clone();
                let result_tx = result_tx.clone();
                let work = work.clone();
                let spawned = std::thread::Builder::new()
                    .name("taskproof-hash".into())
                    .spawn(move || {
                        loop {
                            let job = match job_rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok((seq, item)) = job else { return };
                            if result_tx.send((seq, work(item))).is_err() {
                                return;
                            }
                        }
                    });
                // Without threads the pool still works, inline.
                if let Ok(handle) = spawned {
                    pool.threads.push(handle);
                }
            }
            if !pool.threads.is_empty() {
                pool.jobs = Some(job_tx);
                pool.results = Some(result_rx);
            }
        }
        pool
    }

    /// Submits a job; returns the results that are ready, in order. Blocks
    /// while `max_in_flight` jobs are outstanding.
    pub(crate) fn submit(&mut self, item: T) -> Vec<R> {
        let seq = self.next_submit;
        self.next_submit += 1;
        let Some(jobs) = &self.jobs else {
            self.next_deliver += 1;
            return vec![(self.work)(item)];
        };
        if let Err(std::sync::mpsc::SendError((_, item))) = jobs.send((seq, item)) {
            // Every worker died (they only stop when the pool is dropped): finish inline.
            self.parked.insert(seq, (self.work)(item));
        }
        let mut ready = self.drain(false);
        while self.next_submit - self.next_deliver >= self.max_in_flight as u64 {
            let more = self.drain(true);
            if more.is_empty() && self.results.is_none() {
                break;
            }
            ready.extend(more);
        }
        ready
    }

    /// Waits for every outstanding job; returns the remaining results in order.
    pub(crate) fn finish(&mut self) -> Vec<R> {
        let mut ready = Vec::new();
        while self.next_deliver < self.next_submit {
            let more = self.drain(true);
            if more.is_empty() && self.results.is_none() {
                break;
            }
            ready.extend(more);
        }
        ready
    }

    fn drain(&mut self, block: bool) -> Vec<R> {
        let mut ready = self.take_in_order();
        if !ready.is_empty() {
            return ready;
        }
        let Some(results) = &self.results else {
            return ready;
        };
        if block {
            match results.recv() {
                Ok((seq, r)) => {
                    self.parked.insert(seq, r);
                }
                Err(_) => self.results = None,
            }
        }
        if let Some(results) = &self.results {
            while let Ok((seq, r)) = results.try_recv() {
                self.parked.insert(seq, r);
            }
        }
        ready.extend(self.take_in_order());
        ready
    }

    fn take_in_order(&mut self) -> Vec<R> {
        let mut ready = Vec::new();
        while let Some(r) = self.parked.remove(&self.next_deliver) {
            ready.push(r);
            self.next_deliver += 1;
        }
        ready
    }
}

impl<T: Send + 'static, R: Send + 'static> Drop for OrderedWorkers<T, R> {
    fn drop(&mut self) {
        self.jobs = None;
        // Unblock workers waiting to send results, then join them.
        self.results = None;
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_submission_order() {
        for threads in [0, 1, 3] {
            let mut pool = OrderedWorkers::new(threads, 4, |x: u64| {
                if x.is_multiple_of(3) {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                x * 2
            });
            let mut out = Vec::new();
            for i in 0..50 {
                out.extend(pool.submit(i));
            }
            out.extend(pool.finish());
            assert_eq!(out, (0..50).map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
