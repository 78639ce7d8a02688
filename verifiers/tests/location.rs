//! The `location` verifier against attestations signed by the real
//! `@ethereum-attestation-service/eas-sdk` (fixtures/location, see its README).

#![cfg(feature = "location")]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::Path,
    time::{Duration, Instant},
};

use alloy_primitives::{Address, Bytes, U256, address};
use taskproof_core::{BuildContext, Deadline, Task, Verdict};
use taskproof_verifiers::{builtin_registry, location::LocationVerifier};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/location");
const ALICE: Address = address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const BOB: Address = address!("F5500990377f2c3b594926058D5fc655b9725eFC");
/// The attestations' `time`: 2026-01-01T00:00:00Z.
const T: u64 = 1_767_225_600;

const BASE: &str = r#"
schema_uid = "0xba4171c92572b1e4f241d044c32cdf083be9fd946b8766977558ca6378c824e2"
allowed_signers = ["0x1B146BAE123E9eEd209be03FA0B549EAd00627E3"]
max_age_secs = 86400
eas = { version = "0.26", chain_id = 11155111, verifying_contract = "0xC2679fBD37d54388Ce493F1DB75320D236e1815e" }
[[fences]]
type = "polygon"
geojson_file = "fence.geojson"
"#;

fn build(params: &str) -> LocationVerifier {
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&table, Path::new(FIXTURES), &registry);
    LocationVerifier::from_context(&ctx).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).unwrap()
}

fn task(proof: String, performer: Address) -> Task {
    Task::new(proof, Bytes::new(), performer, 30)
}

fn check(v: &LocationVerifier, name: &str, now: u64) -> Verdict {
    v.check_at(&task(fixture(name), ALICE), now)
}

fn reason(verdict: Verdict) -> String {
    match verdict {
        Verdict::Invalid { reason } => reason,
        other => panic!("expected invalid, got {other:?}"),
    }
}

/// Counts the heap bytes live on each thread, and their peak, so that a test
/// can measure what one verification allocates while the other tests of this
/// file run on other threads. Written here because the crate for heap tests
/// (`dhat`) counts the whole process and runs one profiler at a time. Past
/// `LIMIT` bytes on the measured thread an allocation fails, which aborts the
/// test run instead of exhausting the machine when a defence is missing.
struct PerThread;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LIMIT: Cell<isize> = const { Cell::new(isize::MAX) };
}

fn account(delta: isize) -> bool {
    LIVE.try_with(|live| {
        let now = live.get().saturating_add(delta);
        if delta > 0 && now > LIMIT.get() {
            return false;
        }
        live.set(now);
        PEAK.set(PEAK.get().max(now));
        true
    })
    .unwrap_or(true)
}

// SAFETY: every call goes to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !account(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !account(new_size as isize - layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static HEAP: PerThread = PerThread;

/// Runs `work` and returns its result, its wall time and the peak of the heap
/// bytes it held, refusing allocations past `limit` bytes.
fn measured<R>(limit: usize, work: impl FnOnce() -> R) -> (R, Duration, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    LIMIT.with(|l| l.set(base.saturating_add(limit as isize)));
    let start = Instant::now();
    let result = work();
    let elapsed = start.elapsed();
    LIMIT.with(|l| l.set(isize::MAX));
    let peak = PEAK.with(Cell::get) - base;
    (result, elapsed, peak.max(0) as usize)
}

#[test]
fn valid_attestations_from_the_eas_sdk_are_valid() {
    let v = build(BASE);
    for name in ["valid", "valid-plain", "valid-polygon"] {
        assert_eq!(check(&v, name, T + 120), Verdict::Valid, "{name}");
    }
}

#[test]
fn on_the_boundary_is_inside() {
    assert_eq!(check(&build(BASE), "on-boundary", T + 120), Verdict::Valid);
}

#[test]
fn outside_the_fence_is_invalid() {
    let r = reason(check(&build(BASE), "outside-fence", T + 120));
    assert!(r.contains("outside every geofence"), "{r}");
}

#[test]
fn rejects_signer_not_in_allowlist() {
    let r = reason(check(&build(BASE), "wrong-signer", T + 120));
    assert_eq!(r, format!("signer {BOB} is not an allowed signer"));
}

#[test]
fn without_allowlist_the_signer_must_be_the_performer() {
    let v = build(&BASE.replace(
        "allowed_signers = [\"0x1B146BAE123E9eEd209be03FA0B549EAd00627E3\"]\n",
        "",
    ));
    assert_eq!(
        v.check_at(&task(fixture("valid"), ALICE), T + 120),
        Verdict::Valid
    );
    let r = reason(v.check_at(&task(fixture("valid"), BOB), T + 120));
    assert_eq!(r, format!("signer {ALICE} is not the performer {BOB}"));
}

#[test]
fn rejects_tampered_location() {
    let r = reason(check(&build(BASE), "tampered-location", T + 120));
    assert!(r.contains("uid"), "{r}");
    // Even with the uid recomputed to match, the signature recovers someone else.
    let expected_uid = r.split("expected ").nth(1).unwrap().trim_end_matches(')');
    let mut doc: serde_json::Value = serde_json::from_str(&fixture("tampered-location")).unwrap();
    doc["sig"]["uid"] = expected_uid.into();
    let r = reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120));
    assert!(r.contains("recovers"), "{r}");
    // And without the package's `signer`, the recovered signer is not allowed.
    let r = reason(build(BASE).check_at(&task(doc["sig"].to_string(), ALICE), T + 120));
    assert!(r.contains("not an allowed signer"), "{r}");
}

#[test]
fn rejects_expired_and_stale_attestations() {
    let v = build(BASE);
    // Before its expiry the attestation is fine...
    assert_eq!(check(&v, "expired", T + 120), Verdict::Valid);
    // ...after it, not.
    let r = reason(check(&v, "expired", T + 7200));
    assert_eq!(
        r,
        format!("attestation expired at {} (now {})", T + 3600, T + 7200)
    );
    let r = reason(check(&v, "valid", T + 86_401));
    assert!(
        r.starts_with("attestation too old: time 1767225600 is 86401 s"),
        "{r}"
    );
    let r = reason(check(&v, "valid", T - 3600));
    assert!(
        r.starts_with("attested in the future: time 1767225600"),
        "{r}"
    );
}

#[test]
fn rejects_wrong_schema() {
    let r = reason(check(&build(BASE), "wrong-schema", T + 120));
    assert!(r.contains("wrong schema"), "{r}");
}

#[test]
fn rejects_signature_for_another_chain() {
    let r = reason(check(&build(BASE), "wrong-chain", T + 120));
    assert!(r.contains("chainId is 1"), "{r}");
}

#[test]
fn rejects_domain_for_another_contract_or_version() {
    let other = BASE.replace(
        "0xC2679fBD37d54388Ce493F1DB75320D236e1815e",
        "0x4200000000000000000000000000000000000021",
    );
    let r = reason(check(&build(&other), "valid", T + 120));
    assert!(
        r.starts_with("wrong EAS domain: verifyingContract is 0xC2679fBD"),
        "{r}"
    );
    let other = BASE.replace("version = \"0.26\"", "version = \"1.0.1\"");
    let r = reason(check(&build(&other), "valid", T + 120));
    assert_eq!(r, "wrong EAS domain: version is 0.26, expected 1.0.1");
}

#[test]
fn rejects_high_s_malleated_signature() {
    let mut doc: serde_json::Value = serde_json::from_str(&fixture("valid")).unwrap();
    let n: U256 = "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"
        .parse()
        .unwrap();
    let s: U256 = doc["sig"]["signature"]["s"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let v = doc["sig"]["signature"]["v"].as_u64().unwrap();
    doc["sig"]["signature"]["s"] = format!("{:#066x}", n - s).into();
    doc["sig"]["signature"]["v"] = (55 - v).into();
    let r = reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120));
    assert!(r.contains("high s"), "{r}");
}

#[test]
fn rejects_package_naming_a_signer_who_did_not_sign() {
    let doc = fixture("valid").replace(&ALICE.to_string(), &BOB.to_string());
    let r = reason(build(BASE).check_at(&task(doc, ALICE), T + 120));
    assert!(r.contains("recovers"), "{r}");
}

#[test]
fn rejects_typed_data_of_another_shape() {
    let mut doc: serde_json::Value = serde_json::from_str(&fixture("valid")).unwrap();
    doc["sig"]["primaryType"] = "Attestation".into();
    let r = reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120));
    assert_eq!(r, "the typed data is not EAS's version-2 `Attest` type");
    let mut doc: serde_json::Value = serde_json::from_str(&fixture("valid")).unwrap();
    doc["sig"]["version"] = 1.into();
    doc["sig"]["message"]["version"] = 1.into();
    let r = reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120));
    assert_eq!(
        r,
        "unsupported off-chain attestation version 1 (only version 2)"
    );
}

#[test]
fn rejects_impossible_speed_between_two_attestations() {
    let params = format!(
        "{BASE}\n[[fences]]\ntype = \"circle\"\ncenter = [2.2945, 48.8584]\nradius_m = 10000\n[plausibility]\nmax_speed_mps = 250\n"
    );
    let v = build(&params);
    assert_eq!(check(&v, "speed-a", T + 700), Verdict::Valid);
    let r = reason(check(&v, "speed-b", T + 700));
    assert!(r.contains("implausible travel"), "{r}");
    // Each alone is fine.
    let fresh = build(&params);
    assert_eq!(check(&fresh, "speed-b", T + 700), Verdict::Valid);
}

#[test]
fn garbage_is_invalid_never_a_panic() {
    let v = build(BASE);
    let valid = fixture("valid");
    let malformed = "malformed attestation: neither an attestation package";
    let mut inputs: Vec<(String, &str)> = vec![
        (String::new(), malformed),
        ("null".into(), malformed),
        ("[]".into(), malformed),
        ("{\"sig\": 5}".into(), malformed),
        ("{\"sig\": {}, \"signer\": 7}".into(), malformed),
    ];
    for cut in (0..valid.len()).step_by(97) {
        inputs.push((valid[..cut].to_string(), malformed));
    }
    inputs.push((
        valid.replace("\"v\": 28", "\"v\": 99"),
        "bad signature: v = 99",
    ));
    inputs.push((
        valid.replace("\"time\": \"1767225600\"", "\"time\": \"-1\""),
        "\"-1\" is not a u64",
    ));
    inputs.push((
        valid.replace(
            "\"time\": \"1767225600\"",
            "\"time\": \"99999999999999999999999\"",
        ),
        "is not a u64",
    ));
    for (input, expected) in inputs {
        let r = reason(v.check_at(&task(input.clone(), ALICE), T + 120));
        assert!(r.contains(expected), "{input}: {r}");
    }
}

#[test]
fn rejects_an_event_observed_after_its_attestation() {
    let r = reason(check(&build(BASE), "future-event", T + 120));
    assert_eq!(
        r,
        format!(
            "eventTimestamp {} is after the attestation time {T}",
            T + 3600
        )
    );
    // Within the clock skew it is tolerated.
    let lenient = build(&format!("max_clock_skew_secs = 3600\n{BASE}"));
    assert_eq!(check(&lenient, "future-event", T + 120), Verdict::Valid);
}

#[test]
fn rejects_a_spatial_reference_other_than_epsg_4326() {
    let r = reason(check(&build(BASE), "wrong-srs", T + 120));
    assert_eq!(r, "unsupported srs \"EPSG:3857\" (only EPSG:4326)");
}

/// The attack that made `relate` quadratic: a signed LineString whose
/// segments almost all cross each other, at the default `max_vertices`, all
/// inside the fence so that every segment is tested. It must cost what the
/// README states (well under a millisecond in release; here, unoptimised, a
/// generous bound), not seconds and gigabytes.
#[test]
fn a_self_crossing_claim_at_max_vertices_is_judged_in_milliseconds_not_gigabytes() {
    let v = build(BASE);
    let proof = fixture("self-crossing");
    let t = task(proof, ALICE);
    let (verdict, elapsed, peak) = measured(256 << 20, || v.check_at(&t, T + 120));
    eprintln!("self-crossing claim: {elapsed:?}, {peak} bytes at the peak");
    assert_eq!(verdict, Verdict::Valid);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert!(peak < 8 << 20, "held {peak} bytes at its peak");
    // The fixture has exactly the default number of vertices.
    let fewer = build(&format!(
        "max_vertices = {}\n{BASE}",
        taskproof_verifiers::location::DEFAULT_MAX_VERTICES - 1
    ));
    let r = reason(check(&fewer, "self-crossing", T + 120));
    assert_eq!(
        r,
        format!(
            "more than {} vertices",
            taskproof_verifiers::location::DEFAULT_MAX_VERTICES - 1
        )
    );
}

/// `valid.json` with its memo grown to make the document about `size`
/// bytes, its uid set to what the message now hashes to, and no package
/// `signer`: the signature then recovers some other address, returned.
fn grown(size: usize) -> (String, Address) {
    use taskproof_verifiers::location::attestation::{self, AttestationError, EasDomain};
    let valid = fixture("valid");
    let mut doc: serde_json::Value = serde_json::from_str(&valid).unwrap();
    let data = doc["sig"]["message"]["data"].as_str().unwrap().to_owned();
    // The memo is the payload's last field: its length word and one padded
    // word end the ABI encoding.
    let memo_at = data.len() - 128;
    let memo_len = size.saturating_sub(valid.len()) / 2 / 32 * 32;
    doc["sig"]["message"]["data"] = format!(
        "{}{:064x}{}",
        &data[..memo_at],
        memo_len,
        "61".repeat(memo_len)
    )
    .into();
    doc.as_object_mut().unwrap().remove("signer");
    let domain = EasDomain {
        version: "0.26".into(),
        chain_id: 11_155_111,
        verifying_contract: address!("C2679fBD37d54388Ce493F1DB75320D236e1815e"),
    };
    let Err(AttestationError::UidMismatch { expected, .. }) =
        attestation::verify(&doc.to_string(), &domain)
    else {
        panic!("the grown document should only differ in its uid");
    };
    doc["sig"]["uid"] = expected.to_string().into();
    let text = doc.to_string();
    let signer = attestation::verify(&text, &domain).unwrap().signer;
    (text, signer)
}

/// A performer who signs its own attestations (no allowlist) can send the
/// largest proof the default `max_proof_bytes` admits; the check still holds
/// a few MiB, and one byte more is refused before any parsing.
#[test]
fn a_proof_at_max_proof_bytes_holds_a_few_mib_and_one_byte_more_is_refused() {
    let v = build(&BASE.replace(
        "allowed_signers = [\"0x1B146BAE123E9eEd209be03FA0B549EAd00627E3\"]\n",
        "",
    ));
    let (proof, signer) = grown((1 << 20) - 64);
    assert!(proof.len() <= 1 << 20 && proof.len() > (1 << 20) - 4096);
    let t = task(proof.clone(), signer);
    let (verdict, elapsed, peak) = measured(256 << 20, || v.check_at(&t, T + 120));
    eprintln!("1 MiB proof: {elapsed:?}, {peak} bytes at the peak");
    assert_eq!(verdict, Verdict::Valid);
    assert!(peak < 8 << 20, "held {peak} bytes at its peak");
    let padded = format!("{proof}{}", " ".repeat((1 << 20) + 1 - proof.len()));
    let r = reason(v.check_at(&task(padded, signer), T + 120));
    assert_eq!(r, "proofOfTask is larger than 1048576 bytes");
}

#[test]
fn a_claim_past_its_deadline_is_undecided() {
    let v = build(BASE);
    let t = task(fixture("self-crossing"), ALICE);
    let verdict = Deadline::at(Instant::now()).enter(|| v.check_at(&t, T + 120));
    assert_eq!(
        verdict,
        Verdict::undecided("the verification deadline passed before the work finished")
    );
    let cancelled = Deadline::none();
    cancelled.cancel();
    assert!(matches!(
        cancelled.enter(|| v.check_at(&t, T + 120)),
        Verdict::Undecided { .. }
    ));
    // A point is decoded without a check, so here it is the fence test that
    // stops: that must not read as "outside every geofence".
    let point = task(fixture("valid"), ALICE);
    assert_eq!(
        cancelled.enter(|| v.check_at(&point, T + 120)),
        Verdict::undecided("the verification deadline passed before the work finished")
    );
}

#[test]
fn config_mistakes_are_located() {
    let registry = builtin_registry();
    let load = |params: &str| {
        let table: toml::Table = params.parse().unwrap();
        let ctx = BuildContext::standalone(&table, Path::new(FIXTURES), &registry);
        LocationVerifier::from_context(&ctx).unwrap_err()
    };
    let e = load(&BASE.replace("fence.geojson", "missing.geojson"));
    assert_eq!(e.key, "params.fences[0].geojson_file", "{e}");
    let bowtie = BASE.replace(
        "geojson_file = \"fence.geojson\"",
        "coordinates = [[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]",
    );
    let e = load(&bowtie);
    assert!(e.message.contains("valid polygon"), "{e}");
    let e = load(&BASE.replace(
        "[[fences]]\ntype = \"polygon\"\ngeojson_file = \"fence.geojson\"\n",
        "fences = []\n",
    ));
    assert_eq!(e.key, "params.fences", "{e}");
}

#[test]
fn builds_through_the_registry() {
    let text = format!(
        "[[task_definitions]]\nid = 30\nname = \"loc\"\nverifier = \"location\"\n[task_definitions.params]\n{}",
        BASE.replace("[[fences]]", "[[task_definitions.params.fences]]")
    );
    let defs = taskproof_core::TaskDefinitions::from_toml_str(
        &text,
        &Path::new(FIXTURES).join("taskproof.toml"),
        &builtin_registry(),
    )
    .unwrap();
    assert_eq!(defs.get(30).unwrap().kind, "location");
}
