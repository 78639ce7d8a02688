//! Checking a 128 KiB blob (4096 symbols) against its KZG commitment: decode
//! the symbols as scalars and one 4096-point MSM, with the fixed-base table
//! the node builds at start-up and with arkworks' variable-base MSM.
//! Target: <= 25 ms.

use ark_bn254::Fr;
use criterion::{Criterion, criterion_group, criterion_main};
use taskproof_verifiers::eigenda::{Srs, blob_to_scalars, check_blob, encode_payload};

fn blob_commitment(c: &mut Criterion) {
    // Test SRS from a known secret: speed does not depend on the secret.
    let plain = Srs::insecure_from_known_secret(Fr::from(0x2a2a_2a2a_u64), 4096);
    let table = plain.clone().with_msm_table(64 << 20);
    assert_eq!(table.msm_table_points(), 4096);
    // The largest payload that fits 4096 symbols: 4095 × 31 bytes.
    let payload: Vec<u8> = (0..4095 * 31).map(|i| (i * 131 + 7) as u8).collect();
    let blob = encode_payload(&payload).unwrap();
    assert_eq!(blob.len(), 128 * 1024);
    let commitment = plain.commit(&blob_to_scalars(&blob).unwrap()).unwrap();
    assert_eq!(
        table.commit(&blob_to_scalars(&blob).unwrap()).unwrap(),
        commitment
    );
    c.bench_function("eigenda/check-128KiB-blob", |b| {
        b.iter(|| check_blob(&table, &blob, &commitment).unwrap())
    });
    c.bench_function("eigenda/check-128KiB-blob-no-table", |b| {
        b.iter(|| check_blob(&plain, &blob, &commitment).unwrap())
    });
}

criterion_group!(benches, blob_commitment);
criterion_main!(benches);
