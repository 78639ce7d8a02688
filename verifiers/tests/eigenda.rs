//! The `eigenda` kind against vectors computed independently with py_ecc
//! (`fixtures/eigenda/generate.py`) over an SRS from a published, insecure
//! secret, and against a local eigenda-proxy style endpoint.

#![cfg(feature = "eigenda")]

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use ark_bn254::{Fr, G1Affine};
use ark_ff::PrimeField;
use taskproof_core::{Address, BuildContext, ConfigError, Task, Verdict, Verifier};
use taskproof_verifiers::eigenda::{
    BlobError, Srs, check_blob, check_payload, decode_blob, decode_g1, encode_g1_compressed,
    encode_g1_uncompressed, encode_payload,
};

mod support;
use support::Reply;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/eigenda");

fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex_bytes(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn commitment(v: &serde_json::Value) -> G1Affine {
    if v["commitment_x"].is_null() {
        return decode_g1(&[0u8; 64]).unwrap();
    }
    let mut bytes = hex_bytes(&v["commitment_x"]);
    bytes.extend(hex_bytes(&v["commitment_y"]));
    decode_g1(&bytes).unwrap()
}

fn tau() -> Fr {
    Fr::from_be_bytes_mod_order(&hex_bytes(&vectors()["tau"]))
}

fn srs_file() -> Srs {
    Srs::from_g1_point_file(Path::new(&format!("{FIXTURES}/insecure-g1.point")), 64).unwrap()
}

#[test]
fn the_g1_point_file_is_the_srs_of_the_published_secret() {
    // py_ecc wrote the file; arkworks computes the same points from tau.
    let from_file = srs_file();
    let computed = Srs::insecure_from_known_secret(tau(), 64);
    assert_eq!(from_file.g1(), computed.g1());
    let bytes = std::fs::read(format!("{FIXTURES}/insecure-g1.point")).unwrap();
    for (i, p) in computed.g1().iter().enumerate() {
        assert_eq!(&bytes[32 * i..32 * i + 32], &encode_g1_compressed(p));
    }
}

#[test]
fn blobs_and_commitments_match_py_ecc() {
    let srs = srs_file();
    let all = vectors();
    let list = all["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    for v in list {
        let payload = hex_bytes(&v["payload"]);
        let blob = hex_bytes(&v["blob"]);
        assert_eq!(encode_payload(&payload).unwrap(), blob, "{}", v["name"]);
        assert_eq!(decode_blob(&blob).unwrap(), payload);
        let c = commitment(v);
        check_blob(&srs, &blob, &c).unwrap();
        check_payload(&srs, &payload, &c).unwrap();
    }
}

#[test]
fn rejects_a_payload_changed_by_one_byte() {
    let srs = srs_file();
    let all = vectors();
    let v = &all["vectors"][1];
    let mut payload = hex_bytes(&v["payload"]);
    payload[0] ^= 1;
    assert!(matches!(
        check_payload(&srs, &payload, &commitment(v)),
        Err(BlobError::CommitmentMismatch)
    ));
}

#[test]
fn rejects_a_blob_longer_than_the_srs() {
    let srs = Srs::insecure_from_known_secret(tau(), 2);
    let all = vectors();
    let v = &all["vectors"][5];
    assert!(matches!(
        check_payload(&srs, &hex_bytes(&v["payload"]), &commitment(v)),
        Err(BlobError::Srs(_))
    ));
}

#[test]
fn rejects_a_truncated_srs_file() {
    let err = Srs::from_g1_point_file(Path::new(&format!("{FIXTURES}/insecure-g1.point")), 65)
        .unwrap_err();
    assert!(err.to_string().contains("64 points"), "{err}");
}

// ---------------------------------------------------------------------------
// A local eigenda-proxy style endpoint: GET /{mode}/get/{key}.

async fn endpoint(content: HashMap<String, Vec<u8>>) -> String {
    support::serve(move |path| {
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let mode = parts.next().unwrap_or("");
        let key = parts.nth(1).unwrap_or("");
        let Some(mut body) = content.get(key).cloned().filter(|_| mode != "missing") else {
            return Reply::NotFound;
        };
        match mode {
            "tampered" => {
                body[0] ^= 1;
                Reply::Body(body)
            }
            "slow" => Reply::Slow(Duration::from_secs(5), body),
            "endless" => Reply::Endless(Vec::new()),
            _ => Reply::Body(body),
        }
    })
    .await
}

fn build(params: &str) -> Result<Arc<dyn Verifier>, ConfigError> {
    let mut registry = taskproof_verifiers::builtin_registry();
    registry.register(support::TextEqualsFactory).unwrap();
    let table: toml::Table = params.parse().unwrap();
    let ctx = BuildContext::standalone(&table, Path::new(FIXTURES), &registry);
    registry.get("eigenda").unwrap().build(&ctx)
}

async fn run(params: &str, proof: &str) -> Verdict {
    let verifier = build(params).unwrap();
    let task = Task::new(proof, Vec::<u8>::new(), Address::ZERO, 50);
    tokio::time::timeout(Duration::from_secs(20), verifier.verify(&task))
        .await
        .expect("the verifier keeps its own time limit")
}

/// The JSON vector: its commitment hex (the proof of task) and payload.
fn json_vector() -> (String, Vec<u8>, Vec<u8>) {
    let all = vectors();
    let v = &all["vectors"][4];
    let c = commitment(v);
    (
        format!("0x{}", hex::encode(encode_g1_uncompressed(&c))),
        hex_bytes(&v["payload"]),
        hex_bytes(&v["blob"]),
    )
}

async fn served() -> (String, String) {
    let (key, payload, blob) = json_vector();
    let mut map = HashMap::new();
    map.insert(key.clone(), payload);
    map.insert("0xb10b".to_owned(), blob);
    (endpoint(map).await, key)
}

fn params(endpoints: &[String], extra: &str) -> String {
    let list: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "endpoints = [{}]\nsrs_g1_file = \"insecure-g1.point\"\nsrs_points = 64\n{extra}",
        list.join(", ")
    )
}

#[tokio::test]
async fn a_payload_matching_the_commitment_is_valid_and_handed_on() {
    let (base, key) = served().await;
    let p = params(&[format!("{base}/good")], "");
    assert_eq!(run(&p, &key).await, Verdict::Valid);
    let p = params(
        &[format!("{base}/good")],
        "then = { verifier = \"text-equals\", params = { expected = '{\"answer\":42,\"source\":\"eigenda\"}' } }",
    );
    assert_eq!(run(&p, &key).await, Verdict::Valid);
    let p = params(
        &[format!("{base}/good")],
        "then = { verifier = \"text-equals\", params = { expected = \"other\" } }",
    );
    assert_eq!(
        run(&p, &key).await,
        Verdict::invalid(format!("the blob of {key}: unexpected text"))
    );
}

#[tokio::test]
async fn a_served_blob_is_checked_then_decoded() {
    // The endpoint's key differs from the commitment: the JSON form names both.
    let (base, key) = served().await;
    let proof = format!("{{\"commitment\": \"{key}\", \"key\": \"0xb10b\"}}");
    let p = params(
        &[format!("{base}/good")],
        "serves = \"blob\"\nthen = { verifier = \"text-equals\", params = { expected = '{\"answer\":42,\"source\":\"eigenda\"}' } }",
    );
    assert_eq!(run(&p, &proof).await, Verdict::Valid);
    // Taken for a payload, the blob is re-encoded into another commitment.
    let p = params(&[format!("{base}/good")], "");
    let verdict = run(&p, &proof).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/good: served content that fails the check: the blob's commitment differs from the claimed one)")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_lying_endpoint_is_undecided_and_the_next_one_is_tried() {
    let (base, key) = served().await;
    let p = params(&[format!("{base}/tampered")], "");
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/tampered") && cause.contains("commitment differs")),
        "{verdict:?}"
    );
    let p = params(&[format!("{base}/tampered"), format!("{base}/good")], "");
    assert_eq!(run(&p, &key).await, Verdict::Valid);
}

#[tokio::test]
async fn slow_endless_and_missing_endpoints_are_undecided() {
    let (base, key) = served().await;
    let p = params(
        &[format!("{base}/slow")],
        "retrieval = { total_timeout_ms = 400 }",
    );
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/slow: timed out after 400 ms (total_timeout_ms))")),
        "{verdict:?}"
    );
    let p = params(
        &[format!("{base}/endless")],
        "retrieval = { max_response_bytes = 100000 }",
    );
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/endless: the response exceeds the 100000-byte limit)")),
        "{verdict:?}"
    );
    let p = params(
        &[format!("{base}/missing"), "http://127.0.0.1:9".into()],
        "",
    );
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/missing: HTTP 404; http://127.0.0.1:9/: cannot connect")),
        "{verdict:?}"
    );
    let p = params(
        &[format!("{base}/missing")],
        "danger = { unavailable_is_invalid = true }",
    );
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.starts_with(&format!("the blob of {key} could not be retrieved ("))),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_redirect_elsewhere_is_followed_without_the_endpoint_credentials() {
    let (base, key) = served().await;
    let good = format!("{base}/good");
    let (origin, log) = support::serve_logged(move |r| {
        support::Reply::Redirect(
            307,
            format!("{good}{}", r.path.trim_start_matches("/proxy")),
        )
    })
    .await;
    let origin = origin.replace("http://", "http://user:hunter2@");
    let p = params(&[format!("{origin}/proxy")], "");
    assert_eq!(run(&p, &key).await, Verdict::Valid);
    let first = log.lock().unwrap()[0].clone();
    assert!(first.header("authorization").is_some(), "{first:?}");
    // The content is checked against the commitment wherever it came from.
    let p = params(
        &[format!("{origin}/proxy")],
        "retrieval = { max_redirects = 0 }",
    );
    let verdict = run(&p, &key).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/proxy: redirect refused: more than 0 redirects (max_redirects))") && !cause.contains("hunter2")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn an_abandoned_verification_does_not_start_the_commitment() {
    // The deadline is cancelled before the blob reaches the CPU pool: the
    // check stops before the MSM and the verdict is the deadline's.
    let (base, key) = served().await;
    let verifier = build(&params(&[format!("{base}/good")], "")).unwrap();
    let task = Task::new(key.as_str(), Vec::<u8>::new(), Address::ZERO, 50);
    let deadline = taskproof_core::Deadline::none();
    deadline.cancel();
    let verdict = deadline.scope(verifier.verify(&task)).await;
    assert_eq!(verdict, Verdict::from(taskproof_core::Expired));
}

#[tokio::test]
async fn rejects_a_commitment_off_the_curve() {
    let (base, key) = served().await;
    let mut bytes = hex::decode(&key[2..]).unwrap();
    bytes[63] ^= 1;
    let p = params(&[format!("{base}/good")], "");
    let verdict = run(&p, &format!("0x{}", hex::encode(bytes))).await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.contains("not on the curve")),
        "{verdict:?}"
    );
    let verdict = run(&p, "0x1234").await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.starts_with("proofOfTask: commitment: ")),
        "{verdict:?}"
    );
}

#[test]
fn config_mistakes_name_their_key() {
    let e = build("endpoints = []\nsrs_g1_file = \"insecure-g1.point\"")
        .err()
        .unwrap();
    assert_eq!(e.key, "params.endpoints");
    let e = build("endpoints = [\"http://x\"]\nsrs_g1_file = \"missing.point\"")
        .err()
        .unwrap();
    assert_eq!(e.key, "params.srs_g1_file");
    let e =
        build("endpoints = [\"http://x\"]\nsrs_g1_file = \"insecure-g1.point\"\nsrs_points = 65")
            .err()
            .unwrap();
    assert!(e.message.contains("64 points"), "{e}");
    for (old, new) in [
        ("timeout_ms = 400", "retrieval.total_timeout_ms"),
        ("max_size_bytes = 4096", "retrieval.max_response_bytes"),
        (
            "unavailable_is_invalid = true",
            "danger = { unavailable_is_invalid = true }",
        ),
    ] {
        let e = build(&format!(
            "endpoints = [\"http://x\"]\nsrs_g1_file = \"insecure-g1.point\"\n{old}"
        ))
        .err()
        .unwrap();
        let key = old.split(' ').next().unwrap();
        assert_eq!(e.key, format!("params.{key}"), "{e}");
        assert!(e.message.contains(new), "{e}");
    }
}

#[test]
fn a_danger_opt_in_is_logged_at_start_up() {
    let (built, lines) = support::logged(|| build(&params(&["http://x".into()], "")));
    built.unwrap();
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains("danger")),
        "{lines:?}"
    );
    let (built, lines) = support::logged(|| {
        build(&params(
            &["http://x".into()],
            "danger = { unavailable_is_invalid = true }",
        ))
    });
    built.unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("WARN")
            && l.contains("danger.unavailable_is_invalid is set")
            && l.contains("task_definition=0")
            && l.contains("name=\"standalone\"")),
        "{lines:?}"
    );
}

#[test]
fn an_srs_from_the_published_test_secret_is_named_at_start_up() {
    let (built, lines) = support::logged(|| build(&params(&["http://x".into()], "")));
    built.unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("WARN")
            && l.contains("published test secret")
            && l.contains("insecure-g1.point")),
        "{lines:?}"
    );

    // The same file format from another secret says nothing.
    let other = Srs::insecure_from_known_secret(Fr::from(7u64), 64);
    let dir = std::env::temp_dir().join(format!("taskproof-srs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<u8> = other.g1().iter().flat_map(encode_g1_compressed).collect();
    std::fs::write(dir.join("other.point"), bytes).unwrap();
    let table: toml::Table = params(&["http://x".into()], "")
        .replace("insecure-g1.point", "other.point")
        .parse()
        .unwrap();
    let registry = taskproof_verifiers::builtin_registry();
    let (built, lines) = support::logged(|| {
        let ctx = BuildContext::standalone(&table, &dir, &registry);
        registry.get("eigenda").unwrap().build(&ctx)
    });
    let _ = std::fs::remove_dir_all(&dir);
    built.unwrap();
    assert!(
        !lines.iter().any(|l| l.contains("published test secret")),
        "{lines:?}"
    );
    assert!(srs_file().is_published_test_srs());
    assert!(!other.is_published_test_srs());
}

#[test]
fn the_total_retrieval_timeout_is_what_the_node_must_allow() {
    let p = params(
        &["http://x".into()],
        "retrieval = { total_timeout_ms = 1200 }",
    );
    assert_eq!(
        build(&p).unwrap().time_needed(),
        Some(Duration::from_millis(1200))
    );
    // An inner verifier's own time adds to it.
    let p = params(
        &["http://x".into()],
        "then = { verifier = \"eigenda\", params = { endpoints = [\"http://y\"], srs_g1_file = \"insecure-g1.point\", srs_points = 64 } }",
    );
    assert_eq!(
        build(&p).unwrap().time_needed(),
        Some(Duration::from_secs(16))
    );
}
