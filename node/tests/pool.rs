//! The CPU pool's bound after timeouts: a deadline stops the work itself,
//! and a slot is held until the work has really stopped. These tests hold
//! the process-wide pool, so they run one at a time in their own binary.

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use support::engine;
use taskproof_core::{Address, Outcome, Task, Verdict, Verifier, async_trait};
use taskproof_node::EngineOptions;

/// The pool is shared by the whole test binary.
static POOL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn task(proof: &str) -> Task {
    Task::new(proof, Vec::new(), Address::ZERO, 1)
}

/// Spins on the CPU pool. `cooperative` spinners stop at the deadline; the
/// others ignore it for `spin` (as a verifier without checks would).
struct Spins {
    spin: Duration,
    cooperative: bool,
    running: Arc<AtomicUsize>,
}

#[async_trait]
impl Verifier for Spins {
    async fn verify(&self, _task: &Task) -> Verdict {
        let (spin, cooperative, running) = (self.spin, self.cooperative, self.running.clone());
        let worked = taskproof_core::cpu::run(move || {
            running.fetch_add(1, Ordering::SeqCst);
            let began = Instant::now();
            let mut result = Ok(());
            while began.elapsed() < spin {
                if cooperative {
                    result = taskproof_core::deadline::check();
                    if result.is_err() {
                        break;
                    }
                }
                std::hint::spin_loop();
            }
            running.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await;
        match worked {
            Ok(Ok(())) => Verdict::Valid,
            Ok(Err(expired)) => expired.into(),
            Err(e) => Verdict::undecided(e.to_string()),
        }
    }
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// A deadline stops the CPU work itself, not only the wait for it: the
/// pool slot comes back as soon as the loop sees the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_verification_stops_its_cpu_work() {
    let _pool = POOL.lock().await;
    let running = Arc::new(AtomicUsize::new(0));
    let options = EngineOptions {
        timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let e = engine(
        "spins",
        Arc::new(Spins {
            spin: Duration::from_secs(30),
            cooperative: true,
            running: running.clone(),
        }),
        options,
    );
    let began = Instant::now();
    let verdict = e.judge(task("x")).await.unwrap();
    assert_eq!(verdict.outcome(), Outcome::Undecided, "{verdict:?}");
    let stopped = Instant::now();
    while running.load(Ordering::SeqCst) > 0 || taskproof_core::cpu::busy() > 0 {
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "the work went on after its deadline"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(began.elapsed() < Duration::from_secs(5));
}

/// A verifier that ignores its deadline keeps its pool slot until it really
/// stops, so the pool never runs more than one thread per core: requests
/// that arrive meanwhile wait for a slot and get their own undecided
/// verdict at their deadline, and no thread is started for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_held_past_a_timeout_answers_undecided_instead_of_starting_threads() {
    let _pool = POOL.lock().await;
    let cores = taskproof_core::cpu::parallelism();
    let running = Arc::new(AtomicUsize::new(0));
    let options = EngineOptions {
        timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let e = Arc::new(engine(
        "stubborn",
        Arc::new(Spins {
            spin: Duration::from_millis(1500),
            cooperative: false,
            running: running.clone(),
        }),
        options,
    ));
    // Warm the blocking pool so its threads exist before we count.
    let _ = taskproof_core::cpu::run(|| ()).await;
    let before = threads();
    let first: Vec<_> = (0..cores)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.judge(task("x")).await.unwrap() })
        })
        .collect();
    for job in first {
        let v = job.await.unwrap();
        assert!(v.message().unwrap().contains("timed out"), "{v:?}");
    }
    // Their work goes on, and holds every slot.
    assert_eq!(running.load(Ordering::SeqCst), cores);
    assert_eq!(taskproof_core::cpu::busy(), cores);
    let more: Vec<_> = (0..4 * cores)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.judge(task("x")).await.unwrap() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        running.load(Ordering::SeqCst),
        cores,
        "no work beyond the pool's bound"
    );
    assert!(
        threads() <= before + cores,
        "threads grew from {before} to {}",
        threads()
    );
    for job in more {
        let v = job.await.unwrap();
        assert_eq!(v.outcome(), Outcome::Undecided, "{v:?}");
        assert!(v.message().unwrap().contains("timed out"), "{v:?}");
    }
}
