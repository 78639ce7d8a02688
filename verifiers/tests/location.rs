//! The `location` verifier against attestations signed by the real
//! `@ethereum-attestation-service/eas-sdk` (fixtures/location, see its README).

#![cfg(feature = "location")]

use std::path::Path;

use alloy_primitives::{Address, Bytes, U256, address};
use taskproof_core::{BuildContext, Task, Verdict};
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
    assert!(r.contains(&BOB.to_string()), "{r}");
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
    assert!(r.contains("not the performer"), "{r}");
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
    assert!(r.contains("expired"), "{r}");
    let r = reason(check(&v, "valid", T + 86_401));
    assert!(r.contains("too old"), "{r}");
    let r = reason(check(&v, "valid", T - 3600));
    assert!(r.contains("future"), "{r}");
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
    assert!(reason(check(&build(&other), "valid", T + 120)).contains("verifyingContract"));
    let other = BASE.replace("version = \"0.26\"", "version = \"1.0.1\"");
    assert!(reason(check(&build(&other), "valid", T + 120)).contains("version"));
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
    assert!(
        reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120)).contains("Attest")
    );
    let mut doc: serde_json::Value = serde_json::from_str(&fixture("valid")).unwrap();
    doc["sig"]["version"] = 1.into();
    doc["sig"]["message"]["version"] = 1.into();
    assert!(
        reason(build(BASE).check_at(&task(doc.to_string(), ALICE), T + 120)).contains("version")
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
    let mut inputs: Vec<String> = vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "{\"sig\": 5}".into(),
        "{\"sig\": {}, \"signer\": 7}".into(),
    ];
    for cut in (0..valid.len()).step_by(97) {
        inputs.push(valid[..cut].to_string());
    }
    inputs.push(valid.replace("\"v\": 28", "\"v\": 99"));
    inputs.push(valid.replace("\"time\": \"1767225600\"", "\"time\": \"-1\""));
    inputs.push(valid.replace(
        "\"time\": \"1767225600\"",
        "\"time\": \"99999999999999999999999\"",
    ));
    for input in inputs {
        assert!(
            matches!(
                v.check_at(&task(input.clone(), ALICE), T + 120),
                Verdict::Invalid { .. }
            ),
            "{input}"
        );
    }
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
