//! The `tls` verifier, `format = "reclaim"`, against claims built with ethers
//! and checked by the real `@reclaimprotocol/js-sdk` (fixtures/tls/reclaim,
//! see its README), and against real proofs signed by Reclaim's production
//! attestor.

#![cfg(feature = "tls")]

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy_primitives::{Address, Bytes, address, hex};
use serde_json::Value;
use taskproof_core::{
    BuildContext, ConfigError, Deadline, Registry, Task, Verdict, Verifier, VerifierFactory,
    async_trait,
};
use taskproof_verifiers::{
    register_builtins,
    tls::{
        TlsFactory,
        reclaim::{ReclaimError, ReclaimVerifier},
    },
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tls/reclaim");
const ATTESTOR_A: Address = address!("E7fe416892C3CB84598045c5cde74a99241Aa057");
const ATTESTOR_B: Address = address!("1D72B2B9f1D15fAE18aC51d835b82460A7bc0885");
const OUTSIDER: Address = address!("C43695094684dEd2db12Be83e5A32Cd928F7B1C1");
const PERFORMER: Address = address!("9f63784186F3EF9870b9B0C78bcd39b17F7Eba53");
const SOMEONE_ELSE: Address = address!("7AE6D2964D79965AD2562B08E564842639FeF1A9");
const PRODUCTION_ATTESTOR: Address = address!("244897572368eadf65bfbc5aec98d8e5443a9072");
/// The claims' `timestampS`: 2026-01-01T00:00:00Z.
const T: u64 = 1_767_225_600;
/// The attester's clock in most tests: a minute after the claims.
const NOW: u64 = T + 60;
/// The task's data, whose keccak256 is the fixtures' contextMessage.
const DATA: &[u8] = b"taskproof reclaim fixture: ETH/USD on 2026-01-01";

/// The test task definition.
const BASE: &str = r#"
format = "reclaim"
attestors = ["0xE7fe416892C3CB84598045c5cde74a99241Aa057", "0x1D72B2B9f1D15fAE18aC51d835b82460A7bc0885"]
url = "https://api.coingecko.com/api/v3/simple/price?*"
method = "GET"
context_message = "keccak256(data)"
"#;

fn params(overrides: &str) -> toml::Table {
    let mut table: toml::Table = BASE.parse().unwrap();
    let extra: toml::Table = overrides.parse().unwrap();
    table.extend(extra);
    table
}

fn try_build_in(table: &toml::Table, registry: &Registry) -> Result<ReclaimVerifier, ConfigError> {
    let ctx = BuildContext::standalone(table, Path::new(FIXTURES), registry);
    ReclaimVerifier::from_context(&ctx)
}

fn try_build(overrides: &str) -> Result<ReclaimVerifier, ConfigError> {
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    try_build_in(&params(overrides), &registry)
}

fn build(overrides: &str) -> ReclaimVerifier {
    try_build(overrides).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).unwrap()
}

fn task(proof: String) -> Task {
    Task::new(proof, Bytes::from_static(DATA), PERFORMER, 60)
}

fn judge(v: &ReclaimVerifier, proof: String, now: u64) -> Verdict {
    match v.check_claim_at(&task(proof), now) {
        Ok(_) => Verdict::Valid,
        Err(e) => e.verdict(),
    }
}

fn reason(verdict: Verdict) -> String {
    match verdict {
        Verdict::Invalid { reason } => reason,
        other => panic!("expected invalid, got {other:?}"),
    }
}

/// The reason `fixture` is refused for under `overrides`.
fn refused(overrides: &str, name: &str) -> String {
    reason(judge(&build(overrides), fixture(name), NOW))
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

// ---- the fixtures and the SDK ----------------------------------------------

fn toml_value(v: &Value) -> toml::Value {
    match v {
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Number(n) => toml::Value::Integer(n.as_i64().unwrap()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        other => panic!("no TOML for {other}"),
    }
}

#[test]
fn every_fixture_gets_the_verdict_its_manifest_records() {
    let manifest = json("manifest");
    assert_eq!(manifest["keys"]["attestorA"], ATTESTOR_A.to_string());
    assert_eq!(manifest["keys"]["attestorB"], ATTESTOR_B.to_string());
    assert_eq!(manifest["keys"]["outsider"], OUTSIDER.to_string());
    assert_eq!(manifest["keys"]["someoneElse"], SOMEONE_ELSE.to_string());
    assert_eq!(manifest["task"]["performer"], PERFORMER.to_string());
    assert_eq!(manifest["task"]["data"], hex::encode_prefixed(DATA));
    assert_eq!(manifest["timestampS"], T);
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    let mut sdk_accepts_we_refuse = Vec::new();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let mut table = params("");
        if let Some(Value::Object(overrides)) = case.get("params") {
            for (k, v) in overrides {
                table.insert(k.clone(), toml_value(v));
            }
        }
        let v = try_build_in(&table, &registry).unwrap();
        let proof = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
        let verdict = judge(&v, proof, NOW);
        let expected = case["taskproof"].as_str().unwrap();
        assert_eq!(
            verdict.outcome().as_str(),
            expected,
            "{file} ({}): {verdict:?}",
            case["note"]
        );
        if case["sdk"] == true && expected == "invalid" {
            sdk_accepts_we_refuse.push(file.trim_end_matches(".json"));
        }
    }
    // What the SDK's verifyProof lets through and this verifier does not:
    // the SDK checks only that one listed attestor signed.
    assert_eq!(
        sdk_accepts_we_refuse,
        [
            "identifier-field-edited",
            "v-35",
            "duplicate-signer",
            "owner-not-performer",
            "url-other-host",
            "url-userinfo",
            "url-dot-segments",
            "url-secret-in-path",
            "url-http",
            "method-post",
            "no-context-message",
            "context-not-object",
        ]
    );
}

// ---- real proofs -----------------------------------------------------------

#[test]
fn real_proofs_signed_by_reclaims_production_attestor_are_valid() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/real/manifest.json")).unwrap(),
    )
    .unwrap();
    let vectors = manifest["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for vector in vectors {
        let file = vector["file"].as_str().unwrap();
        let ts = vector["timestampS"].as_u64().unwrap();
        let table: toml::Table = format!(
            "format = \"reclaim\"\nattestors = [\"{PRODUCTION_ATTESTOR}\"]\nowner = \"any\"\nurl = \"{}\"\nmethod = \"{}\"",
            vector["url"].as_str().unwrap(),
            vector["method"].as_str().unwrap(),
        )
        .parse()
        .unwrap();
        let mut registry = Registry::new();
        register_builtins(&mut registry).unwrap();
        let v = try_build_in(&table, &registry).unwrap();
        let proof = std::fs::read_to_string(format!("{FIXTURES}/real/{file}")).unwrap();
        let claim = v
            .check_claim_at(&task(proof.clone()), ts + 30)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(claim.attestors, [PRODUCTION_ATTESTOR], "{file}");
        assert_eq!(claim.timestamp_s, ts);

        // One character of what was fetched, edited: refused.
        let edited = proof.replacen("https://", "https://x", 1);
        let why = reason(judge(&v, edited, ts + 30));
        assert!(
            why.contains("keccak256(provider, parameters, context)")
                || why.contains("is not https://"),
            "{file}: {why}"
        );
    }
}

// ---- both shapes -----------------------------------------------------------

#[test]
fn the_on_chain_shape_is_judged_like_the_sdk_shape() {
    let v = build("");
    let sdk = v.check_claim_at(&task(fixture("valid")), NOW).unwrap();
    let on_chain = v
        .check_claim_at(&task(fixture("valid-onchain")), NOW)
        .unwrap();
    assert_eq!(sdk, on_chain);
    assert_eq!(sdk.attestors, [ATTESTOR_A]);
    assert_eq!(sdk.owner, PERFORMER);
}

#[test]
fn a_proof_in_both_shapes_at_once_is_refused() {
    let mut doc = json("valid");
    let on_chain = json("valid-onchain");
    doc["claimInfo"] = on_chain["claimInfo"].clone();
    doc["signedClaim"] = on_chain["signedClaim"].clone();
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert!(why.contains("mixes the SDK shape"), "{why}");
}

// ---- identifier ------------------------------------------------------------

/// Edits whose identifier fields were recomputed: only the signatures can
/// catch them, and the recovered signer is nobody the attester trusts.
#[test]
fn edited_provider_parameters_context_or_extracted_value_is_refused() {
    for (name, overrides) in [
        // The edited provider is the configured one, so only the signature
        // can tell.
        ("edited-provider", "provider = \"http-v2\""),
        ("edited-parameters", ""),
        // The edited contextMessage is no longer the task's: without the
        // binding, only the signature can tell.
        ("edited-context", "context_message = \"-\""),
        ("edited-extracted-value", ""),
    ] {
        let mut table = params(overrides);
        if table.get("context_message").and_then(|c| c.as_str()) == Some("-") {
            table.remove("context_message");
        }
        let mut registry = Registry::new();
        register_builtins(&mut registry).unwrap();
        let v = try_build_in(&table, &registry).unwrap();
        let why = reason(judge(&v, fixture(name), NOW));
        assert!(
            why.starts_with("0 of the attestors signed the claim, 1 required")
                && why.contains("not in attestors, ignored: 0x"),
            "{name}: {why}"
        );
    }
}

#[test]
fn rejects_an_identifier_that_disagrees_with_the_content() {
    let why = refused("", "identifier-mismatch");
    assert!(
        why.starts_with("identifier is \"0x")
            && why.contains("but keccak256(provider, parameters, context) is 0x"),
        "{why}"
    );
    // The SDK accepts this one: it never reads the identifier fields.
    let why = refused("", "identifier-field-edited");
    assert!(why.starts_with("claimData.identifier is \"0x"), "{why}");
    // The on-chain shape's identifier too.
    let mut doc = json("valid-onchain");
    doc["signedClaim"]["claim"]["identifier"] = Value::from(format!("0x{}", "11".repeat(32)));
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert!(
        why.starts_with("signedClaim.claim.identifier is \"0x1111"),
        "{why}"
    );
    // Not even hex.
    let mut doc = json("valid");
    doc["identifier"] = Value::from("not an identifier");
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert!(
        why.starts_with("identifier is \"not an identifier\""),
        "{why}"
    );
}

#[test]
fn a_context_in_another_key_order_has_the_same_identifier() {
    let v = build("");
    let canonical = v.check_claim_at(&task(fixture("valid")), NOW).unwrap();
    let reordered = v
        .check_claim_at(&task(fixture("valid-noncanonical-context")), NOW)
        .unwrap();
    assert_eq!(canonical.identifier, reordered.identifier);
}

#[test]
fn a_context_that_is_not_a_json_object_is_refused() {
    let why = refused("", "context-not-object");
    assert_eq!(why, "the claim's context is not a JSON object");
    let mut doc = json("valid");
    doc["claimData"]["context"] = Value::from("{\"contextMessage\": ");
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert!(
        why.starts_with("the claim's context is not JSON: "),
        "{why}"
    );
}

// ---- signatures ------------------------------------------------------------

#[test]
fn rejects_a_signature_over_another_owner_timestamp_or_epoch() {
    for name in [
        "signed-for-other-owner",
        "signed-at-other-timestamp",
        "signed-in-other-epoch",
    ] {
        let why = refused("", name);
        assert!(
            why.starts_with("0 of the attestors signed the claim, 1 required (min_signatures); signed by 1 address(es) not in attestors"),
            "{name}: {why}"
        );
    }
}

#[test]
fn rejects_v_other_than_27_28_0_or_1() {
    assert_eq!(
        refused("", "v-29"),
        "signatures[0] is malformed: v = 29, not 27, 28, 0 or 1"
    );
    // ethers (and so the SDK) reads 35 as an EIP-155 parity and accepts it.
    let why = refused("", "v-35");
    assert!(
        why.starts_with("signatures[0] is malformed: v = 3"),
        "{why}"
    );
    for v in [2u8, 26, 29, 30, 37, 255] {
        let mut doc = json("valid");
        let sig = doc["signatures"][0].as_str().unwrap().to_owned();
        doc["signatures"][0] = Value::from(format!("{}{v:02x}", &sig[..130]));
        let why = reason(judge(&build(""), doc.to_string(), NOW));
        assert_eq!(
            why,
            format!("signatures[0] is malformed: v = {v}, not 27, 28, 0 or 1")
        );
    }
}

#[test]
fn rejects_the_high_s_twin_of_a_valid_signature() {
    assert_eq!(
        refused("", "high-s"),
        "signatures[0] is malformed: high s (the malleated twin of a low-s signature, EIP-2)"
    );
}

#[test]
fn a_malformed_signature_makes_the_proof_invalid() {
    // Beside a valid signature by an allowed attestor.
    assert_eq!(
        refused("", "malformed-signature"),
        "signatures[1] is malformed: 2 bytes, not 65 (r‖s‖v)"
    );
    let valid = json("valid")["signatures"][0].as_str().unwrap().to_owned();
    let zeros = "00".repeat(32);
    let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    let one = format!("{:064x}", 1);
    let cases = [
        (valid[2..].to_owned(), "not 0x-prefixed hex"),
        (format!("0x{}", "zz".repeat(65)), "not 0x-prefixed hex"),
        (format!("{valid}00"), "66 bytes, not 65 (r‖s‖v)"),
        (format!("0x{zeros}{one}1b"), "r or s is out of range"),
        (format!("0x{one}{zeros}1b"), "r or s is out of range"),
        (format!("0x{order}{one}1b"), "r or s is out of range"),
    ];
    for (sig, fault) in cases {
        let mut doc = json("valid");
        doc["signatures"] = Value::from(vec![valid.clone(), sig.clone()]);
        let why = reason(judge(&build(""), doc.to_string(), NOW));
        assert_eq!(why, format!("signatures[1] is malformed: {fault}"), "{sig}");
    }
    // An r that is no point's x coordinate: nothing recovers. About half of
    // all r values are such; find one among the first few.
    let mut seen = false;
    for r in 1..40u64 {
        let mut doc = json("valid");
        doc["signatures"] = Value::from(vec![format!("0x{r:064x}{one}1b")]);
        let why = reason(judge(&build(""), doc.to_string(), NOW));
        if why == "signatures[0] is malformed: no public key recovers from it" {
            seen = true;
            break;
        }
        assert!(why.starts_with("0 of the attestors signed"), "{why}");
    }
    assert!(seen);
    let mut doc = json("valid");
    doc["signatures"] = Value::Array(Vec::new());
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert_eq!(why, "the claim carries no signatures (signatures is empty)");
}

#[test]
fn a_duplicate_signer_is_counted_once() {
    let why = refused("min_signatures = 2", "duplicate-signer");
    assert_eq!(
        why,
        "1 of the attestors signed the claim, 2 required (min_signatures)"
    );
    let claim = build("")
        .check_claim_at(&task(fixture("duplicate-signer")), NOW)
        .unwrap();
    assert_eq!(claim.attestors, [ATTESTOR_A]);
}

#[test]
fn a_signer_outside_attestors_is_ignored() {
    let claim = build("")
        .check_claim_at(&task(fixture("outsider-and-attestor")), NOW)
        .unwrap();
    assert_eq!(claim.attestors, [ATTESTOR_A]);
    assert_eq!(
        refused("", "outsider-only"),
        format!(
            "0 of the attestors signed the claim, 1 required (min_signatures); signed by 1 address(es) not in attestors, ignored: {OUTSIDER}"
        )
    );
    // The witnesses list inside the proof grants nothing.
    let mut doc = json("outsider-only");
    doc["witnesses"] = serde_json::json!([{"id": OUTSIDER.to_string(), "url": "wss://x"}]);
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert!(why.starts_with("0 of the attestors signed"), "{why}");
}

#[test]
fn fewer_than_min_signatures_is_invalid() {
    assert_eq!(
        refused("min_signatures = 2", "valid"),
        "1 of the attestors signed the claim, 2 required (min_signatures)"
    );
    let claim = build("min_signatures = 2")
        .check_claim_at(&task(fixture("valid-two-attestors")), NOW)
        .unwrap();
    assert_eq!(claim.attestors, [ATTESTOR_A, ATTESTOR_B]);
}

#[test]
fn more_signatures_than_max_signatures_are_refused_before_any_recovery() {
    let mut doc = json("valid");
    let sig = doc["signatures"][0].clone();
    doc["signatures"] = Value::Array(vec![sig; 17]);
    let why = reason(judge(&build(""), doc.to_string(), NOW));
    assert_eq!(
        why,
        "the claim carries 17 signatures, more than max_signatures (16)"
    );
}

// ---- owner and time --------------------------------------------------------

#[test]
fn an_owner_other_than_the_performer_is_refused() {
    assert_eq!(
        refused("", "owner-not-performer"),
        format!("the claim's owner is {SOMEONE_ELSE}, not the performer {PERFORMER}")
    );
    assert!(
        build("owner = \"any\"")
            .check_claim_at(&task(fixture("owner-not-performer")), NOW)
            .is_ok()
    );
    let named = format!("owner = \"{SOMEONE_ELSE}\"");
    assert!(
        build(&named)
            .check_claim_at(&task(fixture("owner-not-performer")), NOW)
            .is_ok()
    );
    assert_eq!(
        refused(&named, "valid"),
        format!("the claim's owner is {PERFORMER}, not the configured owner {SOMEONE_ELSE}")
    );
    // The same claim sent by another performer.
    let other = Task::new(fixture("valid"), Bytes::from_static(DATA), SOMEONE_ELSE, 60);
    let why = build("")
        .check_claim_at(&other, NOW)
        .unwrap_err()
        .to_string();
    assert!(why.contains("not the performer"), "{why}");
}

#[test]
fn stale_and_future_claims_are_refused() {
    let v = build("");
    assert!(judge(&v, fixture("valid"), T + 86_400).is_valid());
    assert_eq!(
        reason(judge(&v, fixture("valid"), T + 86_401)),
        format!(
            "the claim is stale: timestampS {T} is 86401 s before now ({}), more than max_age_secs (86400)",
            T + 86_401
        )
    );
    assert!(judge(&v, fixture("valid"), T - 60).is_valid());
    assert_eq!(
        reason(judge(&v, fixture("valid"), T - 61)),
        format!(
            "the claim is from the future: timestampS {T} is after now ({}) by more than max_clock_skew_secs (60)",
            T - 61
        )
    );
    let strict = build("max_age_secs = 30\nmax_clock_skew_secs = 0");
    assert!(reason(judge(&strict, fixture("valid"), NOW)).contains("is stale"));
    assert!(reason(judge(&strict, fixture("valid"), T - 1)).contains("from the future"));
}

// ---- what was fetched ------------------------------------------------------

#[test]
fn rejects_a_url_on_a_host_that_starts_with_the_allowed_host() {
    assert_eq!(
        refused("", "url-other-host"),
        "the claim's url \"https://api.coingecko.com.evil.example/api/v3/simple/price?ids=e\"… (89 bytes) is not https://api.coingecko.com/api/v3/simple/price?*"
    );
    let why = refused("", "url-userinfo");
    assert!(
        why.starts_with("the claim's url \"https://api.coingecko.com@evil.example/"),
        "{why}"
    );
}

#[test]
fn a_prefix_that_ends_inside_the_host_is_refused_at_load() {
    let e = try_build("url = \"https://api.coingecko.com*\"").unwrap_err();
    assert_eq!(e.key, "params.url");
    assert!(
        e.message
            .contains("write the URL in normal form: https://api.coingecko.com/*"),
        "{e}"
    );
    for (url, why) in [
        ("http://api.coingecko.com/*", "only fetch https URLs"),
        ("https://api.coingecko.com:443/*", "normal form"),
        ("https://API.coingecko.com/*", "normal form"),
        ("https://api.coingecko.com/a/../b", "normal form"),
        ("https://*.coingecko.com/", "only one `*`"),
        ("not a url*", "not a URL"),
    ] {
        let e = try_build(&format!("url = \"{url}\"")).unwrap_err();
        assert_eq!(e.key, "params.url");
        assert!(e.message.contains(why), "{url}: {e}");
    }
}

#[test]
fn rejects_dot_segments_that_leave_the_allowed_path() {
    // The raw text starts with the prefix; the URL the attestor fetched does not.
    assert_eq!(
        refused(
            "url = \"https://api.coingecko.com/api/v3/simple/price/*\"",
            "url-dot-segments"
        ),
        "the claim's url \"https://api.coingecko.com/private/keys?ids=ethereum\" is not https://api.coingecko.com/api/v3/simple/price/*"
    );
}

#[test]
fn a_secret_template_value_may_stand_only_in_the_query() {
    let why = refused(
        "url = \"https://api.coingecko.com/api/v3/simple/*\"",
        "url-secret-in-path",
    );
    assert!(
        why.starts_with("the claim's url \"https://api.coingecko.com/api/v3/simple/{{endpoint}}?")
            && why.contains("has a secret part"),
        "{why}"
    );
    assert!(
        build("")
            .check_claim_at(&task(fixture("valid-secret-in-query")), NOW)
            .is_ok()
    );
    // An exact URL cannot be matched by a URL with a hidden part.
    let exact = "url = \"https://api.coingecko.com/api/v3/simple/price?ids=ethereum&vs_currencies=usd&x_cg_demo_api_key=%7B%7BapiKey%7D%7D\"";
    let why = refused(exact, "valid-secret-in-query");
    assert!(why.contains("has a secret part"), "{why}");
}

#[test]
fn public_template_values_are_substituted_before_matching() {
    let exact =
        "url = \"https://api.coingecko.com/api/v3/simple/price?ids=ethereum&vs_currencies=usd\"";
    assert!(
        build(exact)
            .check_claim_at(&task(fixture("valid-templated-url")), NOW)
            .is_ok()
    );
    assert!(
        build(exact)
            .check_claim_at(&task(fixture("valid")), NOW)
            .is_ok()
    );
    let why = refused(
        "url = \"https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd\"",
        "valid",
    );
    assert!(
        why.ends_with(
            "is not https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
        ),
        "{why}"
    );
}

#[test]
fn rejects_plain_http_another_method_or_another_provider() {
    let why = refused("", "url-http");
    assert!(
        why.starts_with("the claim's url \"http://api.coingecko.com/"),
        "{why}"
    );
    let why = refused("url = \"*\"", "url-http");
    assert!(why.ends_with("is not any https URL"), "{why}");
    assert_eq!(
        refused("", "method-post"),
        "the claim's method is \"POST\", not \"GET\""
    );
    assert!(
        build("method = \"get\"")
            .check_claim_at(&task(fixture("valid")), NOW)
            .is_ok()
    );
    assert_eq!(
        refused("provider = \"http-v2\"", "valid"),
        "the claim's provider is \"http\", not \"http-v2\""
    );
}

// ---- binding to the task ---------------------------------------------------

#[test]
fn a_missing_context_message_is_refused_when_context_message_is_set() {
    assert_eq!(
        refused("", "no-context-message"),
        "the claim's context has no contextMessage (a string), and context_message = \"keccak256(data)\" requires one"
    );
    let mut table = params("");
    table.remove("context_message");
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    let unbound = try_build_in(&table, &registry).unwrap();
    assert!(judge(&unbound, fixture("no-context-message"), NOW).is_valid());
}

#[test]
fn a_context_message_for_another_task_is_refused() {
    let v = build("");
    let other = Task::new(
        fixture("valid"),
        Bytes::from_static(b"other data"),
        PERFORMER,
        60,
    );
    let why = v.check_claim_at(&other, NOW).unwrap_err().to_string();
    assert!(
        why.starts_with("the claim's contextMessage is \"0x7e712bad")
            && why.ends_with("(context_message = \"keccak256(data)\")"),
        "{why}"
    );
    let by_performer = build("context_message = \"performer\"");
    assert!(
        by_performer
            .check_claim_at(&task(fixture("valid-context-performer")), NOW)
            .is_ok()
    );
    let why = reason(judge(&by_performer, fixture("valid"), NOW));
    assert!(why.contains("(context_message = \"performer\")"), "{why}");
    // The performer's address in another letter case is the same address.
    let mut doc = json("valid-context-performer");
    let context = doc["claimData"]["context"].as_str().unwrap().to_owned();
    assert!(context.contains(&PERFORMER.to_string()));
    doc["claimData"]["context"] = Value::from(context.replace(
        &PERFORMER.to_string(),
        &PERFORMER.to_string().to_lowercase(),
    ));
    // (The edit changes the identifier, so it is the signature that fails
    // now; the comparison itself is case-insensitive, shown by the unit
    // check below.)
    let why = reason(judge(&by_performer, doc.to_string(), NOW));
    assert!(
        why.contains("keccak256(provider, parameters, context)"),
        "{why}"
    );
}

#[test]
fn public_data_and_unsigned_fields_change_nothing() {
    let v = build("");
    let plain = v.check_claim_at(&task(fixture("valid")), NOW).unwrap();
    let decorated = v
        .check_claim_at(&task(fixture("valid-public-data")), NOW)
        .unwrap();
    assert_eq!(plain, decorated);
}

// ---- the inner verifier ----------------------------------------------------

/// An inner verifier that records what it was handed and answers as told.
struct Echo {
    answer: Verdict,
    seen: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Verifier for Echo {
    async fn verify(&self, task: &Task) -> Verdict {
        self.seen.lock().unwrap().push(task.proof_of_task.clone());
        self.answer.clone()
    }

    fn time_needed(&self) -> Option<Duration> {
        Some(Duration::from_millis(1234))
    }
}

struct EchoFactory(Arc<Mutex<Vec<String>>>);

impl VerifierFactory for EchoFactory {
    fn kind(&self) -> &str {
        "echo"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        let answer = match ctx.raw_params().get("answer").and_then(|a| a.as_str()) {
            Some("invalid") => Verdict::invalid("the price is off"),
            Some("undecided") => Verdict::undecided("sources are down"),
            _ => Verdict::Valid,
        };
        Ok(Arc::new(Echo {
            answer,
            seen: Arc::clone(&self.0),
        }))
    }
}

fn with_echo(answer: &str) -> (ReclaimVerifier, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut registry = Registry::new();
    registry.register(TlsFactory).unwrap();
    registry.register(EchoFactory(Arc::clone(&seen))).unwrap();
    let table = params(&format!(
        "then = {{ verifier = \"echo\", params = {{ answer = \"{answer}\" }} }}"
    ));
    (try_build_in(&table, &registry).unwrap(), seen)
}

#[tokio::test]
async fn then_gets_the_signed_extracted_values_never_the_unsigned_ones() {
    let (v, seen) = with_echo("valid");
    assert_eq!(v.time_needed(), Some(Duration::from_millis(1234)));
    assert!(v.verify_at(&task(fixture("valid")), NOW).await.is_valid());
    // extractedParameterValues and publicData say 99999 and 1 here.
    assert!(
        v.verify_at(&task(fixture("valid-public-data")), NOW)
            .await
            .is_valid()
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [r#"{"price":"3012.5"}"#, r#"{"price":"3012.5"}"#]
    );
    // A claim refused before the inner verifier never reaches it.
    let verdict = v
        .verify_at(&task(fixture("edited-extracted-value")), NOW)
        .await;
    assert!(!verdict.is_valid());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_inner_verifiers_verdict_is_the_verdict() {
    let (v, _) = with_echo("invalid");
    assert_eq!(
        reason(v.verify_at(&task(fixture("valid")), NOW).await),
        "context.extractedParameters: the price is off"
    );
    let (v, _) = with_echo("undecided");
    assert_eq!(
        v.verify_at(&task(fixture("valid")), NOW).await,
        Verdict::undecided("sources are down")
    );
    let (v, seen) = with_echo("valid");
    assert_eq!(
        reason(
            v.verify_at(&task(fixture("no-extracted-parameters")), NOW)
                .await
        ),
        "the claim's context has no extractedParameters object to hand to the inner verifier (then)"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn an_unknown_inner_verifier_is_named_at_load() {
    let e = try_build("then = { verifier = \"nope\" }").unwrap_err();
    assert_eq!(e.key, "params.then.verifier");
}

// ---- the CPU pool and the deadline ----------------------------------------

#[tokio::test]
async fn many_signatures_are_recovered_on_the_cpu_pool_and_stop_at_the_deadline() {
    let v = build("");
    let mut doc = json("valid");
    let sig = doc["signatures"][0].clone();
    doc["signatures"] = Value::Array(vec![sig; 16]);
    let proof = doc.to_string();
    assert!(v.verify_at(&task(proof.clone()), NOW).await.is_valid());
    let expired = Deadline::after(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(2));
    let verdict = expired.scope(v.verify_at(&task(proof), NOW)).await;
    assert!(matches!(&verdict, Verdict::Undecided { .. }), "{verdict:?}");
}

#[tokio::test]
async fn a_large_proof_is_judged_on_the_cpu_pool_with_the_same_verdict() {
    let v = build("");
    let mut doc = json("valid");
    doc["padding"] = Value::from("x".repeat(100_000));
    assert!(v.verify_at(&task(doc.to_string()), NOW).await.is_valid());
    let mut doc = json("high-s");
    doc["padding"] = Value::from("x".repeat(100_000));
    assert!(reason(v.verify_at(&task(doc.to_string()), NOW).await).contains("high s"));
}

// ---- hostile input ---------------------------------------------------------

#[test]
fn a_proof_over_max_proof_bytes_is_refused_before_parsing() {
    let v = build("max_proof_bytes = 4096");
    let huge = "[".repeat(10_000_000);
    assert_eq!(
        reason(judge(&v, huge, NOW)),
        "proofOfTask is 10000000 bytes, more than max_proof_bytes (4096)"
    );
}

/// A valid proof whose context nests 10,000 objects deep.
fn inputs_deep_context() -> String {
    let mut doc = json("valid");
    doc["claimData"]["context"] = Value::from(format!(
        "{}1{}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    ));
    doc.to_string()
}

#[test]
fn garbage_and_deep_nesting_never_panic() {
    let v = build("");
    let nested =
        |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
    let deep_unknown = {
        let text = fixture("valid");
        format!(
            "{{\"junk\":{},{}",
            nested("[", "]", 50_000),
            &text.trim_start()[1..]
        )
    };
    let deep_params = {
        let mut doc = json("valid");
        doc["claimData"]["parameters"] = Value::from(nested("[", "]", 50_000));
        doc.to_string()
    };
    let inputs = [
        String::new(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        "\"claimData\"".into(),
        "{\"claimData\":1}".into(),
        "{\"claimData\":{},\"signatures\":[]}".into(),
        "{\"claimInfo\":{}}".into(),
        "\u{0}\u{ffff}".into(),
        nested("[", "]", 200_000),
        nested("[", "]", 100_000),
        nested("{\"claimData\":", "}", 1_000),
        inputs_deep_context(),
        deep_params,
        "1".repeat(200_000),
        format!("\"{}\"", "\\ud800".repeat(1000)),
    ];
    for input in inputs {
        let shown: String = input.chars().take(40).collect();
        let why = reason(judge(&v, input, NOW));
        assert!(why.len() <= 1024, "{shown}: {why}");
    }
    // An unknown field is skipped however deep it nests (serde skips it
    // without recursing), and the claim stands.
    assert!(judge(&v, deep_unknown, NOW).is_valid());
    // serde's recursion limit stops deep nesting where a value is read.
    let why = reason(judge(&v, inputs_deep_context(), NOW));
    assert!(
        why.starts_with("the claim's context is not JSON: \"recursion limit exceeded"),
        "{why}"
    );
}

#[test]
fn a_reason_never_repeats_a_long_field() {
    let v = build("");
    let long = "A".repeat(100_000);
    let mut doc = json("valid");
    doc["claimData"]["owner"] = Value::from(long.clone());
    let why = reason(judge(&v, doc.to_string(), NOW));
    assert!(why.contains("(100000 bytes)") && why.len() < 300, "{why}");
    let mut doc = json("valid");
    doc["claimData"]["timestampS"] = Value::from(long);
    let why = reason(judge(&v, doc.to_string(), NOW));
    assert!(why.len() < 300, "{why}");
}

/// Seeded mutations of valid proofs: none panics, and a valid verdict only
/// ever comes with a claim an attestor signed.
#[test]
fn mutated_proofs_never_panic_and_are_valid_only_as_signed() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let cases: usize = std::env::var("TLS_RECLAIM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let v = build("owner = \"any\"\nurl = \"*\"");
    let mut rng = StdRng::seed_from_u64(0x7e71_2bad);
    let seeds: Vec<(String, Vec<u8>)> = ["valid", "valid-onchain", "valid-two-attestors"]
        .iter()
        .map(|name| {
            let claim = v.check_claim_at(&task(fixture(name)), NOW).unwrap();
            (claim.identifier.to_string(), fixture(name).into_bytes())
        })
        .collect();
    let known: Vec<&str> = seeds.iter().map(|(id, _)| id.as_str()).collect();
    let alphabet = b"0123456789abcdefx\"{}[],:\\ \n-.eE";
    for _ in 0..cases {
        let (_, seed) = &seeds[rng.gen_range(0..seeds.len())];
        let mut bytes = seed.clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..3) {
                0 => bytes[at] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
            }
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        match v.check_claim_at(&task(text.clone()), NOW) {
            Ok(claim) => assert!(
                known.contains(&claim.identifier.to_string().as_str())
                    && claim.owner == PERFORMER
                    && claim.timestamp_s == T
                    && claim.epoch == 1,
                "{text}"
            ),
            Err(e) => assert!(!matches!(e, ReclaimError::Expired(_))),
        }
    }
}

// ---- configuration ---------------------------------------------------------

#[test]
fn config_errors_name_the_key() {
    let cases = [
        (
            "attestors = []",
            "params.attestors",
            "at least one attestor",
        ),
        (
            "attestors = [\"0xE7fe416892C3CB84598045c5cde74a99241Aa057\", \"0xe7fe416892c3cb84598045c5cde74a99241aa057\"]",
            "params.attestors[1]",
            "listed twice",
        ),
        ("attestors = [\"0x12\"]", "params.attestors[0]", ""),
        ("min_signatures = 0", "params.min_signatures", "at least 1"),
        (
            "min_signatures = 3",
            "params.min_signatures",
            "can never be found among 2 attestors",
        ),
        (
            "max_signatures = 1\nmin_signatures = 2",
            "params.max_signatures",
            "between",
        ),
        (
            "owner = \"nobody\"",
            "params.owner",
            "\"performer\", \"any\" or an address",
        ),
        (
            "context_message = \"data\"",
            "params.context_message",
            "unknown variant",
        ),
        (
            "max_proof_bytes = 0",
            "params.max_proof_bytes",
            "greater than 0",
        ),
        ("method = \"G ET\"", "params.method", "HTTP method"),
        ("provider = \"\"", "params.provider", "must not be empty"),
        (
            "atestors = []",
            "params.atestors",
            "unknown field `atestors`",
        ),
    ];
    for (overrides, key, message) in cases {
        let e = try_build(overrides).unwrap_err();
        assert_eq!(e.key, key, "{overrides}: {e}");
        assert!(e.message.contains(message), "{overrides}: {e}");
    }
    let mut table = params("");
    table.remove("url");
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    let e = try_build_in(&table, &registry).unwrap_err();
    assert_eq!(e.key, "params.url");
    assert!(e.message.contains("required with provider \"http\""), "{e}");
    table.remove("attestors");
    let e = try_build_in(&table, &registry).unwrap_err();
    assert!(e.message.contains("missing field `attestors`"), "{e}");
}

// ---- JCS -------------------------------------------------------------------

/// serde_json_canonicalizer against the SDK's own `canonicalize` (recorded in
/// fixtures/tls/reclaim/jcs-vectors.json by gen.mjs), which gen.mjs checks
/// against RFC 8785's number table.
#[test]
fn canonical_json_matches_the_sdks_canonicalize_and_rfc_8785() {
    let vectors = json("jcs-vectors");
    let numbers = vectors["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 24);
    for n in numbers {
        let bits = u64::from_str_radix(n["bits"].as_str().unwrap(), 16).unwrap();
        let value = serde_json::Number::from_f64(f64::from_bits(bits)).unwrap();
        let ours = serde_json_canonicalizer::to_string(&value).unwrap();
        assert_eq!(ours, n["canonical"].as_str().unwrap(), "{bits:016x}");
    }
    let texts = vectors["texts"].as_array().unwrap();
    assert!(texts.len() >= 8);
    for t in texts {
        let input: Value = serde_json::from_str(t["input"].as_str().unwrap()).unwrap();
        let ours = serde_json_canonicalizer::to_string(&input).unwrap();
        assert_eq!(ours, t["canonical"].as_str().unwrap());
    }
}
