//! CID computation (every profile, one core and all cores) and CAR
//! verification throughput. The peer comparison (JS importer, openssl) is
//! `benches/scripts/cid_vs_js.sh`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use taskproof_verifiers::ipfs::{CarLimits, ImportProfile, Importer, IpfsCid, verify_car};

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(0x9E37_79B1) >> 24) as u8)
        .collect()
}

fn cid(c: &mut Criterion) {
    let input = data(64 << 20);
    let mut group = c.benchmark_group("ipfs/cid-64MiB");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    let cores = taskproof_core::cpu::parallelism();
    for profile in ImportProfile::ALL {
        for threads in [0, cores] {
            group.bench_function(format!("{profile}/threads-{threads}"), |b| {
                b.iter(|| {
                    let mut importer = Importer::new(&[profile], threads);
                    importer.read_from(&mut &input[..], |_| {}).unwrap();
                    importer.finish()
                })
            });
        }
    }
    group.finish();
}

fn car(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/ipfs/car");
    let mut group = c.benchmark_group("ipfs/car-verify");
    for (file, root) in [
        (
            "multi-unixfs-v0-2015.car",
            "QmRVja6XDV77XQY7iVyx2xvpqpoyXAw62WGZ1V55xVfc7J",
        ),
        (
            "multi-helia-default.car",
            "bafybeicnyxlrhx7wftzawhf5smdmz2qm5kycai3ffvnawhxgchsypllqiu",
        ),
    ] {
        let bytes = std::fs::read(format!("{dir}/{file}")).unwrap();
        let root = IpfsCid::try_from(root).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(file, |b| {
            b.iter(|| {
                verify_car(&bytes[..], Some(&root), &CarLimits::default(), &mut |_| {
                    Ok(())
                })
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cid, car);
criterion_main!(benches);
