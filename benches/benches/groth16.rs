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
        let ts = tasks(circuit, 8);
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
        for n in [1usize, 8, 64, 256] {
            let ts = tasks(circuit, n);
            assert!(v.check_batch(&ts).iter().all(|v| *v == Verdict::Valid));
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(circuit, n), &ts, |b, ts| {
                b.iter(|| black_box(v.check_batch(ts)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, single, batch);
criterion_main!(benches);
