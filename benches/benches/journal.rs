//! The redb vote journal (`taskproof-consensus`): durable votes per second
//! with 64 requests in flight (group commit: they share fsyncs; target
//! ≥ 5,000/s), and one vote alone, which pays a whole fsync. The journal
//! lives under `target/journal-bench`, on the disk the build runs on: on
//! tmpfs an fsync costs nothing and the figures would mean nothing.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use alloy_primitives::B256;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use taskproof_consensus::journal::{Journal, Recorded, RedbJournal};
use tokio::task::JoinSet;

const IN_FLIGHT: u64 = 64;

fn fresh_task(counter: &AtomicU64) -> B256 {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    B256::from(key)
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/journal-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let journal = Arc::new(RedbJournal::open(dir.join("journal.redb")).expect("journal"));
    let counter = Arc::new(AtomicU64::new(0));

    let mut group = c.benchmark_group("journal");
    group.throughput(Throughput::Elements(IN_FLIGHT));
    let (records_before, commits_before) = (counter.load(Ordering::Relaxed), journal.commits());
    // 64 callers, each recording one vote after another: always 64 in
    // flight, as under a node's load, not rounds of 64 that wait for their
    // slowest vote.
    group.bench_function("durable_votes_64_in_flight", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (journal, counter) = (Arc::clone(&journal), Arc::clone(&counter));
            async move {
                let started = Instant::now();
                let mut callers = JoinSet::new();
                for _ in 0..IN_FLIGHT {
                    let (journal, counter) = (Arc::clone(&journal), Arc::clone(&counter));
                    callers.spawn(async move {
                        for _ in 0..iters {
                            let vote = journal.record(fresh_task(&counter), true).await;
                            assert_eq!(vote, Ok(Recorded::New));
                        }
                    });
                }
                while let Some(caller) = callers.join_next().await {
                    caller.expect("join");
                }
                started.elapsed()
            }
        })
    });
    let records = counter.load(Ordering::Relaxed) - records_before;
    let commits = journal.commits() - commits_before;
    eprintln!(
        "journal: {records} votes in {commits} commits, mean batch {:.1} votes per fsync",
        records as f64 / commits.max(1) as f64
    );

    group.throughput(Throughput::Elements(1));
    group.bench_function("one_vote_alone", |b| {
        b.to_async(&runtime).iter(|| async {
            let task = fresh_task(&counter);
            assert_eq!(journal.record(task, false).await, Ok(Recorded::New));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
