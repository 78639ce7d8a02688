//! The engine's limits with verifiers that misbehave on purpose: slow,
//! panicking, and batching.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use taskproof_core::{Address, BatchPolicy, Outcome, Task, Verdict, Verifier, async_trait};
use taskproof_node::{EngineOptions, UnknownTaskDefinition};

mod support;
use support::engine;

struct Slow(Duration);

#[async_trait]
impl Verifier for Slow {
    async fn verify(&self, _task: &Task) -> Verdict {
        tokio::time::sleep(self.0).await;
        Verdict::Valid
    }
}

struct Panics;

#[async_trait]
impl Verifier for Panics {
    async fn verify(&self, _task: &Task) -> Verdict {
        panic!("a bug in a verifier")
    }
}

/// Valid when proofOfTask starts with "ok"; records every batch's proofs.
struct Batches(Arc<Mutex<Vec<Vec<String>>>>);

#[async_trait]
impl Verifier for Batches {
    async fn verify(&self, task: &Task) -> Verdict {
        self.verify_batch(std::slice::from_ref(task))
            .await
            .remove(0)
    }
    async fn verify_batch(&self, tasks: &[Task]) -> Vec<Verdict> {
        self.0
            .lock()
            .unwrap()
            .push(tasks.iter().map(|t| t.proof_of_task.clone()).collect());
        tasks
            .iter()
            .map(|t| {
                if t.proof_of_task.starts_with("ok") {
                    Verdict::Valid
                } else {
                    Verdict::invalid("not ok")
                }
            })
            .collect()
    }
    fn batch_policy(&self) -> Option<BatchPolicy> {
        Some(BatchPolicy {
            max_batch: 8,
            max_wait: Duration::from_millis(50),
        })
    }
}

fn task(proof: &str) -> Task {
    Task::new(proof, Vec::new(), Address::ZERO, 1)
}

#[tokio::test]
async fn a_verification_past_its_time_limit_is_undecided_never_invalid() {
    let options = EngineOptions {
        timeout: Duration::from_millis(50),
        ..Default::default()
    };
    let e = engine("slow", Arc::new(Slow(Duration::from_secs(5))), options);
    let verdict = e.judge(task("x")).await.unwrap();
    assert_eq!(verdict.outcome(), Outcome::Undecided);
    assert!(verdict.message().unwrap().contains("timed out"));
}

#[tokio::test]
async fn an_overloaded_node_abstains_instead_of_queueing_forever() {
    let options = EngineOptions {
        max_pending: 2,
        ..Default::default()
    };
    let e = Arc::new(engine(
        "slow",
        Arc::new(Slow(Duration::from_millis(300))),
        options,
    ));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.judge(task("x")).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = e.judge(task("x")).await.unwrap();
    assert_eq!(refused.outcome(), Outcome::Undecided);
    assert!(refused.message().unwrap().contains("overloaded"));
    for b in busy {
        assert_eq!(b.await.unwrap().unwrap(), Verdict::Valid);
    }
    // Capacity is back once they finish.
    assert_eq!(e.judge(task("x")).await.unwrap(), Verdict::Valid);
    assert!(
        e.metrics()
            .render()
            .contains("taskproof_pending_verifications 0")
    );
}

#[tokio::test]
async fn a_panicking_verifier_is_undecided_and_the_engine_survives() {
    let e = engine("panics", Arc::new(Panics), EngineOptions::default());
    for _ in 0..3 {
        let verdict = e.judge(task("x")).await.unwrap();
        assert_eq!(verdict.outcome(), Outcome::Undecided);
    }
}

#[tokio::test]
async fn unknown_task_definitions_are_reported_as_such() {
    let e = engine(
        "slow",
        Arc::new(Slow(Duration::ZERO)),
        EngineOptions::default(),
    );
    let mut t = task("x");
    t.task_definition_id = 9;
    assert_eq!(e.judge(t).await, Err(UnknownTaskDefinition(9)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_batched_and_each_gets_its_own_verdict() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::new(engine(
        "batches",
        Arc::new(Batches(sizes.clone())),
        EngineOptions::default(),
    ));
    let proofs: Vec<String> = (0..16)
        .map(|i| format!("{}-{i}", if i % 3 == 0 { "bad" } else { "ok" }))
        .collect();
    let jobs: Vec<_> = proofs
        .iter()
        .map(|proof| {
            let e = e.clone();
            let proof = proof.clone();
            tokio::spawn(async move {
                let verdict = e.judge(task(&proof)).await.unwrap();
                (proof, verdict)
            })
        })
        .collect();
    for j in jobs {
        let (proof, verdict) = j.await.unwrap();
        assert_eq!(
            verdict.is_valid(),
            proof.starts_with("ok"),
            "{proof}: {verdict:?}"
        );
    }
    let batches = sizes.lock().unwrap().clone();
    // Every task was verified exactly once, in some batch.
    let mut seen: Vec<String> = batches.iter().flatten().cloned().collect();
    seen.sort();
    let mut expected = proofs.clone();
    expected.sort();
    assert_eq!(seen, expected, "{batches:?}");
    assert!(batches.iter().all(|b| b.len() <= 8), "{batches:?}");
    assert!(batches.len() < 16, "requests were not grouped: {batches:?}");
    assert!(
        e.metrics().render().contains("taskproof_batch_size_count"),
        "batch sizes are exported"
    );
}

#[tokio::test]
async fn a_lone_request_is_not_held_beyond_the_batch_window() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let e = engine(
        "batches",
        Arc::new(Batches(sizes.clone())),
        EngineOptions::default(),
    );
    let started = std::time::Instant::now();
    assert_eq!(e.judge(task("ok")).await.unwrap(), Verdict::Valid);
    // The window is 50 ms; allow generous scheduling slack but not seconds.
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(*sizes.lock().unwrap(), vec![vec!["ok".to_owned()]]);
}
