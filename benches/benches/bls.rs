//! Othentic's BLS on BN254 (`taskproof-consensus`): hash-to-point, sign and
//! verify over one of mcl-wasm's vectors (`fixtures/bls/vectors.json`), and
//! what an attester does with a signature from outside (parse and check both
//! points, then verify), and a key prepared once (an operator set's). Targets: hash-to-point ≤ 100 µs, sign ≤ 300 µs,
//! verify ≤ 1.5 ms. `benches/scripts/bls_vs_mcl.sh` times mcl-wasm on the same
//! inputs in the same run.

use std::hint::black_box;

use alloy_primitives::B256;
use criterion::{Criterion, criterion_group, criterion_main};
use taskproof_consensus::bls::{self, PublicKey, SecretKey, Signature};

fn bench(c: &mut Criterion) {
    let vectors = taskproof_benches::fixture("bls/vectors.json");
    let case = &vectors["cases"][0];
    let key = case["key"].as_str().expect("key");
    let message: B256 = case["message"]
        .as_str()
        .expect("message")
        .parse()
        .expect("hex");
    let domain = bls::TASKS_MANAGER_DOMAIN;
    let sk = SecretKey::from_operator_key(key).expect("key");
    let pk = sk.public_key();
    let signature = sk.sign(message.as_slice(), &domain);
    let (pk_json, signature_json) = (pk.to_json(), signature.to_json());

    let mut group = c.benchmark_group("bls");
    group.bench_function("hash_to_point", |b| {
        b.iter(|| bls::hash_to_point(black_box(message.as_slice()), &domain))
    });
    group.bench_function("sign", |b| {
        b.iter(|| sk.sign(black_box(message.as_slice()), &domain))
    });
    group.bench_function("verify", |b| {
        b.iter(|| assert!(pk.verify(black_box(message.as_slice()), &signature, &domain)))
    });
    let prepared = pk.prepare();
    group.bench_function("verify_prepared_key", |b| {
        b.iter(|| assert!(prepared.verify(black_box(message.as_slice()), &signature, &domain)))
    });
    group.bench_function("verify_from_json", |b| {
        b.iter(|| {
            let pk = PublicKey::from_json(black_box(&pk_json)).expect("key");
            let signature = Signature::from_json(black_box(&signature_json)).expect("sig");
            assert!(pk.verify(message.as_slice(), &signature, &domain));
        })
    });
    group.bench_function("public_key_from_json", |b| {
        b.iter(|| PublicKey::from_json(black_box(&pk_json)).expect("key"))
    });
    group.bench_function("secret_key_from_operator_key", |b| {
        b.iter(|| SecretKey::from_operator_key(black_box(key)).expect("key"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
