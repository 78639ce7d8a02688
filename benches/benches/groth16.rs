//! Groth16 verification with a prepared key: one proof (parse, checks,
//! pairing), and batches of 1, 8, 64 and 256 proofs (random linear
//! combination, rayon across cores), per circuit.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use taskproof_benches::groth16::{proofs, verifier};
use taskproof_core::{Address, Task, Verdict};

fn tasks(circuit: &str, n: usize) -> Vec<Task> {
    proofs(circuit, n)
        .into_iter()
        .map(|p| Task::new(p, Vec::new(), Address::ZERO, 10))
        .collect()
}

fn single(c: &mut Criterion) {
    let mut group = c.benchmark_group("groth16/single");
    for circuit in ["multiplier", "attest"] {
        let v = verifier(circuit);
        let ts = tasks(circuit, 64);
        assert!(ts.iter().all(|t| v.check(t) == Verdict::Valid));
        let mut i = 0;
        group.bench_function(circuit, |b| {
            b.iter(|| {
                i = (i + 1) % ts.len();
                black_box(v.check(&ts[i]))
            })
        });
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("groth16/batch");
    group.sample_size(20);
    for circuit in ["multiplier", "attest"] {
        let v = verifier(circuit);
        // Distinct proofs in every iteration: verifying the same bytes over
        // and over lets the CPU's branch predictors learn them, and reads
        // up to 20 % fast.
        let pool = tasks(circuit, 512);
        for n in [1usize, 8, 64, 256] {
            let batches: Vec<&[Task]> = pool.chunks_exact(n).collect();
            assert!(
                batches
                    .iter()
                    .all(|b| v.check_batch(b).iter().all(|v| *v == Verdict::Valid))
            );
            group.throughput(Throughput::Elements(n as u64));
            let mut i = 0;
            group.bench_function(BenchmarkId::new(circuit, n), |b| {
                b.iter(|| {
                    i = (i + 1) % batches.len();
                    black_box(v.check_batch(batches[i]))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, single, batch);
criterion_main!(benches);
