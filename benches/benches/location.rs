//! The local work of the `location` verifier: EIP-712 signer recovery, the
//! geofence tests, and a whole attestation check against a 1,000-vertex
//! polygon fence (the target is under 100 µs).

use std::{f64::consts::TAU, hint::black_box, path::Path};

use alloy_primitives::{Address, Bytes, address};
use criterion::{Criterion, criterion_group, criterion_main};
use geo::{LineString, Point, Polygon};
use taskproof_core::{BuildContext, Task, Verdict};
use taskproof_verifiers::{
    builtin_registry,
    location::{
        LocationVerifier,
        attestation::{self, EasDomain},
        fence::Fence,
        geometry::Geometry,
    },
};

const VALID: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/location/valid.json"
));
const ALICE: Address = address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const NOW: u64 = 1_767_225_600 + 120;

/// A regular `n`-gon around the fixture's point (13.36, 52.505).
fn ring(n: usize) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = TAU * i as f64 / n as f64;
            [13.36 + 0.02 * a.cos(), 52.505 + 0.012 * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

fn bench(c: &mut Criterion) {
    let domain = EasDomain {
        version: "0.26".into(),
        chain_id: 11_155_111,
        verifying_contract: address!("C2679fBD37d54388Ce493F1DB75320D236e1815e"),
    };
    assert_eq!(attestation::verify(VALID, &domain).unwrap().signer, ALICE);
    // The floor: one secp256k1 public-key recovery and nothing else.
    // The fixture's (r, s) has a valid r, so recovery succeeds for any digest.
    let doc: serde_json::Value = serde_json::from_str(VALID).unwrap();
    let part = |k: &str| -> alloy_primitives::B256 {
        doc["sig"]["signature"][k]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let signature = alloy_primitives::Signature::from_scalars_and_parity(
        part("r"),
        part("s"),
        doc["sig"]["signature"]["v"] == 28,
    );
    let digest = alloy_primitives::B256::repeat_byte(0x33);
    assert!(signature.recover_address_from_prehash(&digest).is_ok());
    c.bench_function("location/secp256k1-recover-only", |b| {
        b.iter(|| black_box(&signature).recover_address_from_prehash(black_box(&digest)))
    });
    c.bench_function("location/recover-eip712-signer", |b| {
        b.iter(|| attestation::verify(black_box(VALID), &domain))
    });

    let polygon = Fence::Polygon(Polygon::new(
        LineString::from(
            ring(1000)
                .into_iter()
                .map(|[x, y]| (x, y))
                .collect::<Vec<_>>(),
        ),
        vec![],
    ));
    let inside = Geometry::Point(Point::new(13.36, 52.505));
    assert!(polygon.admits(&inside));
    c.bench_function("location/point-in-1000-vertex-polygon", |b| {
        b.iter(|| polygon.admits(black_box(&inside)))
    });
    let circle = Fence::Circle {
        center: Point::new(13.3777, 52.5163),
        radius_m: 5_000.0,
    };
    c.bench_function("location/point-in-circle", |b| {
        b.iter(|| circle.admits(black_box(&inside)))
    });

    let coordinates = serde_json::to_string(&vec![ring(1000)]).unwrap();
    let params = format!(
        r#"
schema_uid = "0xba4171c92572b1e4f241d044c32cdf083be9fd946b8766977558ca6378c824e2"
allowed_signers = ["0x1B146BAE123E9eEd209be03FA0B549EAd00627E3"]
max_age_secs = 3600
eas = {{ version = "0.26", chain_id = 11155111, verifying_contract = "0xC2679fBD37d54388Ce493F1DB75320D236e1815e" }}
plausibility = {{ max_speed_mps = 250 }}
[[fences]]
type = "polygon"
coordinates = {coordinates}
"#
    );
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let v = LocationVerifier::from_context(&BuildContext::standalone(
        &table,
        Path::new("."),
        &registry,
    ))
    .unwrap();
    let task = Task::new(VALID, Bytes::new(), ALICE, 30);
    assert_eq!(v.check_at(&task, NOW), Verdict::Valid);
    c.bench_function("location/check-attestation-1000-vertex-fence", |b| {
        b.iter(|| v.check_at(black_box(&task), NOW))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
