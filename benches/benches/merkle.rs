//! Merkle proof verification through the `merkle` verifier, as the node calls
//! it: JSON parsing and hashing included.

use criterion::{Criterion, criterion_group, criterion_main};
use rs_merkle::{Hasher, MerkleTree, algorithms::Sha256};
use serde_json::json;
use taskproof_benches::{fixture, verifier};
use taskproof_core::{Address, Task};

fn task(proof: String) -> Task {
    Task::new(proof, Vec::new(), Address::ZERO, 1)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("merkle");

    let f = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let oz = verifier(
        "merkle",
        &format!(
            "scheme = \"openzeppelin\"\nroot = \"{}\"\nleaf_encoding = [\"address\", \"uint256\"]\n",
            f["root"].as_str().unwrap()
        ),
    );
    let single = task(f["singles"][4].to_string());
    let multi = task(f["multi"].to_string());
    assert!(rt.block_on(oz.verify(&single)).is_valid());
    assert!(rt.block_on(oz.verify(&multi)).is_valid());
    g.bench_function("openzeppelin_single", |b| {
        b.to_async(&rt).iter(|| oz.verify(&single))
    });
    g.bench_function("openzeppelin_multiproof_4_of_13", |b| {
        b.to_async(&rt).iter(|| oz.verify(&multi))
    });

    // rs_merkle sha256 tree of 2^16 leaves: a 16-hash path, and a 32-leaf multiproof.
    let n = 1 << 16;
    let data: Vec<Vec<u8>> = (0..n).map(|i: u32| i.to_be_bytes().repeat(8)).collect();
    let tree = MerkleTree::<Sha256>::from_leaves(
        &data.iter().map(|d| Sha256::hash(d)).collect::<Vec<_>>(),
    );
    let v = verifier(
        "merkle",
        &format!(
            "scheme = \"sha256\"\nroot = \"0x{}\"\ntree_size = {n}\n",
            hex::encode(tree.root().unwrap())
        ),
    );
    let proof_for = |indices: Vec<usize>| {
        let p = tree.proof(&indices);
        task(
            json!({
                "indices": indices,
                "leaves": indices.iter().map(|&i| format!("0x{}", hex::encode(&data[i]))).collect::<Vec<_>>(),
                "proof": p.proof_hashes().iter().map(|h| format!("0x{}", hex::encode(h))).collect::<Vec<_>>(),
            })
            .to_string(),
        )
    };
    let one = proof_for(vec![12345]);
    let many = proof_for((0..32).map(|i| i * 2047).collect());
    assert!(rt.block_on(v.verify(&one)).is_valid());
    assert!(rt.block_on(v.verify(&many)).is_valid());
    g.bench_function("sha256_single_of_65536", |b| {
        b.to_async(&rt).iter(|| v.verify(&one))
    });
    g.bench_function("sha256_multiproof_32_of_65536", |b| {
        b.to_async(&rt).iter(|| v.verify(&many))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
