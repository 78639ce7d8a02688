//! The local work of the `location` verifier: EIP-712 signer recovery, the
//! geofence tests, a whole attestation check against a 1,000-vertex polygon
//! fence (the target is under 100 µs), and the worst claims at the default
//! `max_vertices` (README, location cost model): a signed self-crossing line
//! against the bundled fence, the worst chords of a 1,000-vertex fence, and
//! a 1,000-vertex comb, the shape that reaches the O(n·m) bound.

use std::{f64::consts::TAU, hint::black_box, path::Path};

use alloy_primitives::{Address, Bytes, address};
use criterion::{Criterion, criterion_group, criterion_main};
use geo::{LineString, Point, Polygon};
use taskproof_core::{BuildContext, Task, Verdict};
use taskproof_verifiers::{
    builtin_registry,
    location::{
        DEFAULT_MAX_VERTICES, LocationVerifier,
        attestation::{self, EasDomain},
        fence::Fence,
        geometry::Geometry,
    },
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/location");
const VALID: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/location/valid.json"
));
const SELF_CROSSING: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/location/self-crossing.json"
));
const ALICE: Address = address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const NOW: u64 = 1_767_225_600 + 120;

const HEADER: &str = r#"
schema_uid = "0xba4171c92572b1e4f241d044c32cdf083be9fd946b8766977558ca6378c824e2"
allowed_signers = ["0x1B146BAE123E9eEd209be03FA0B549EAd00627E3"]
max_age_secs = 3600
eas = { version = "0.26", chain_id = 11155111, verifying_contract = "0xC2679fBD37d54388Ce493F1DB75320D236e1815e" }
"#;

/// A regular `n`-gon around the fixture's point (13.36, 52.505), closed.
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

fn polygon(ring: &[[f64; 2]]) -> Polygon {
    Polygon::new(
        LineString::from(ring.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>()),
        vec![],
    )
}

fn line(points: impl Iterator<Item = [f64; 2]>) -> Geometry {
    Geometry::LineString(LineString::from(
        points.map(|[x, y]| (x, y)).collect::<Vec<_>>(),
    ))
}

/// A comb of `teeth` teeth (each 1 wide and 10 tall, 1 apart) on a bar
/// below `y = 0`: `4 · teeth + 2` vertices, every tooth's root on `y = 0`.
fn comb(teeth: usize) -> Vec<[f64; 2]> {
    let right = (2 * teeth - 1) as f64;
    let mut ring = vec![[0.0, -1.0], [right, -1.0]];
    for i in (0..teeth).rev() {
        let (x0, x1) = ((2 * i) as f64, (2 * i + 1) as f64);
        ring.extend([[x1, 10.0], [x0, 10.0]]);
        if i > 0 {
            ring.extend([[x0, 0.0], [x0 - 1.0, 0.0]]);
        }
    }
    ring.push([0.0, -1.0]);
    ring
}

fn location(params: &str) -> LocationVerifier {
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    LocationVerifier::from_context(&BuildContext::standalone(
        &table,
        Path::new(FIXTURES),
        &registry,
    ))
    .unwrap()
}

/// `valid.json` with its memo grown so that the document is `size` bytes,
/// re-signed by nobody: the signature then recovers some other address, which
/// the caller makes the performer (no allowlist), and the uid is set to the
/// one the message now hashes to. Every per-byte step of a check runs.
fn grown(size: usize) -> (String, Address) {
    let mut doc: serde_json::Value = serde_json::from_str(VALID).unwrap();
    let data = doc["sig"]["message"]["data"].as_str().unwrap().to_owned();
    // The memo is the payload's last field: its length word and one padded
    // word end the ABI encoding.
    let memo_at = data.len() - 128;
    let memo_len = size.saturating_sub(VALID.len()) / 2 / 32 * 32;
    let data = format!(
        "{}{:064x}{}",
        &data[..memo_at],
        memo_len,
        "61".repeat(memo_len)
    );
    doc["sig"]["message"]["data"] = data.into();
    let domain = EasDomain {
        version: "0.26".into(),
        chain_id: 11_155_111,
        verifying_contract: address!("C2679fBD37d54388Ce493F1DB75320D236e1815e"),
    };
    let Err(attestation::AttestationError::UidMismatch { expected, .. }) =
        attestation::verify(&doc.to_string(), &domain)
    else {
        panic!("the grown document should only differ in its uid");
    };
    doc["sig"]["uid"] = expected.to_string().into();
    doc.as_object_mut().unwrap().remove("signer");
    let text = doc.to_string();
    let signer = attestation::verify(&text, &domain).unwrap().signer;
    (text, signer)
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

    let ring1000 = ring(1000);
    let polygon1000 = Fence::polygon(&polygon(&ring1000)).unwrap();
    let inside = Geometry::Point(Point::new(13.36, 52.505));
    assert_eq!(polygon1000.admits(&inside), Ok(true));
    c.bench_function("location/point-in-1000-vertex-polygon", |b| {
        b.iter(|| polygon1000.admits(black_box(&inside)))
    });
    let circle = Fence::Circle {
        center: Point::new(13.3777, 52.5163),
        radius_m: 5_000.0,
    };
    c.bench_function("location/point-in-circle", |b| {
        b.iter(|| circle.admits(black_box(&inside)))
    });

    let coordinates = serde_json::to_string(&vec![ring(1000)]).unwrap();
    let v = location(&format!(
        "{HEADER}plausibility = {{ max_speed_mps = 250 }}\n[[fences]]\ntype = \"polygon\"\ncoordinates = {coordinates}\n"
    ));
    let task = Task::new(VALID, Bytes::new(), ALICE, 30);
    assert_eq!(v.check_at(&task, NOW), Verdict::Valid);
    c.bench_function("location/check-attestation-1000-vertex-fence", |b| {
        b.iter(|| v.check_at(black_box(&task), NOW))
    });

    // The largest proof the default max_proof_bytes lets in.
    let (big, signer) = grown(1024 * 1024 - 64);
    assert!(big.len() <= 1024 * 1024);
    let any_signer = location(&format!(
        "{}[[fences]]\ntype = \"polygon\"\ngeojson_file = \"fence.geojson\"\n",
        HEADER.replace(
            "allowed_signers = [\"0x1B146BAE123E9eEd209be03FA0B549EAd00627E3\"]\n",
            ""
        )
    ));
    let task = Task::new(big, Bytes::new(), signer, 30);
    assert_eq!(any_signer.check_at(&task, NOW), Verdict::Valid);
    c.bench_function("location/check-1-mib-proof", |b| {
        b.iter(|| any_signer.check_at(black_box(&task), NOW))
    });

    // The attack on relate: every segment crosses almost every other.
    let bundled = location(&format!(
        "{HEADER}[[fences]]\ntype = \"polygon\"\ngeojson_file = \"fence.geojson\"\n"
    ));
    let task = Task::new(SELF_CROSSING, Bytes::new(), ALICE, 30);
    assert_eq!(bundled.check_at(&task, NOW), Verdict::Valid);
    c.bench_function("location/check-self-crossing-line-at-max-vertices", |b| {
        b.iter(|| bundled.check_at(black_box(&task), NOW))
    });

    // Chords between fence corners `step` corners apart: each segment runs
    // close to the boundary over `step` edges and meets two corners. The
    // steps that cost most on a 1,000-gon (measured: 20 to 80).
    let m = ring1000.len() - 1;
    for step in [1, 40, 499] {
        let chords = line((0..DEFAULT_MAX_VERTICES).map(|i| ring1000[(i * step) % m]));
        assert_eq!(polygon1000.admits(&chords), Ok(true));
        c.bench_function(
            &format!(
                "location/fence-chords-{step}-corners-apart-1000-vertex-fence-at-max-vertices"
            ),
            |b| b.iter(|| polygon1000.admits(black_box(&chords))),
        );
    }
    // The same at 10,000 vertices, the former default: why it is no longer.
    let chords = line((0..10_000).map(|i| ring1000[(i * 40) % m]));
    assert_eq!(polygon1000.admits(&chords), Ok(true));
    c.bench_function(
        "location/fence-chords-40-corners-apart-1000-vertex-fence-10000-vertices",
        |b| b.iter(|| polygon1000.admits(black_box(&chords))),
    );
    // Many small rings, each located from scratch.
    let rings: Vec<LineString> = (0..DEFAULT_MAX_VERTICES / 4)
        .map(|i| {
            let a = TAU * i as f64 / (DEFAULT_MAX_VERTICES / 4) as f64;
            let (x, y) = (13.36 + 0.015 * a.cos(), 52.505 + 0.009 * a.sin());
            LineString::from(vec![(x, y), (x + 1e-4, y), (x, y + 1e-4), (x, y)])
        })
        .collect();
    let many_rings = Geometry::Polygon(Polygon::new(rings[0].clone(), rings[1..].to_vec()));
    assert_eq!(polygon1000.admits(&many_rings), Ok(true));
    c.bench_function(
        "location/fence-polygon-of-500-rings-1000-vertex-fence",
        |b| b.iter(|| polygon1000.admits(black_box(&many_rings))),
    );

    // The bound itself: a line back and forth along the roots of a comb's
    // teeth touches every corner and runs along every root edge.
    let comb = comb(250);
    let comb_fence = Fence::polygon(&polygon(&comb)).unwrap();
    let right = comb[1][0];
    let along =
        line((0..DEFAULT_MAX_VERTICES).map(|i| [if i % 2 == 0 { 0.0 } else { right }, 0.0]));
    assert_eq!(comb_fence.admits(&along), Ok(true));
    c.bench_function(
        "location/fence-line-along-a-1002-vertex-comb-at-max-vertices",
        |b| b.iter(|| comb_fence.admits(black_box(&along))),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
