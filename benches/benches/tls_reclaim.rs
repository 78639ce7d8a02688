//! The `tls` verifier, `format = "reclaim"`: one claim with one signature
//! (`fixtures/tls/reclaim/valid.json`; the target is at most 60 µs), a real
//! proof by Reclaim's production attestor, the secp256k1 recovery alone (the
//! floor), and the worst proof at the defaults (256 KiB, 16 signatures, a
//! context of 8,000 extracted values handed to an inner verifier).
//! `benches/scripts/tls_reclaim_vs_sdk.sh` times the SDK's `verifyProof` on
//! the same claim in the same run.

use std::{hint::black_box, path::Path, sync::Arc};

use alloy_primitives::{Address, Bytes, Signature, address, eip191_hash_message};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use taskproof_core::{
    BuildContext, ConfigError, Registry, Task, Verdict, Verifier, VerifierFactory, async_trait,
};
use taskproof_verifiers::{
    register_builtins,
    tls::reclaim::{ReclaimError, ReclaimVerifier},
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tls/reclaim");
const VALID: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/reclaim/valid.json"
));
const REAL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/reclaim/real/js-sdk-kaggle-2026-03.json"
));
const PERFORMER: Address = address!("9f63784186F3EF9870b9B0C78bcd39b17F7Eba53");
const DATA: &[u8] = b"taskproof reclaim fixture: ETH/USD on 2026-01-01";
const NOW: u64 = 1_767_225_600 + 60;

const PARAMS: &str = r#"
format = "reclaim"
attestors = ["0xE7fe416892C3CB84598045c5cde74a99241Aa057", "0x1D72B2B9f1D15fAE18aC51d835b82460A7bc0885"]
url = "https://api.coingecko.com/api/v3/simple/price?*"
method = "GET"
context_message = "keccak256(data)"
"#;

/// An inner verifier that accepts everything, so that the worst case pays
/// for the extracted values' canonical form.
struct Accept;

#[async_trait]
impl Verifier for Accept {
    async fn verify(&self, _: &Task) -> Verdict {
        Verdict::Valid
    }
}

struct AcceptFactory;

impl VerifierFactory for AcceptFactory {
    fn kind(&self) -> &str {
        "accept"
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        Ok(Arc::new(Accept))
    }
}

fn verifier(extra: &str) -> ReclaimVerifier {
    let table: toml::Table = format!("{PARAMS}\n{extra}").parse().unwrap();
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    registry.register(AcceptFactory).unwrap();
    let ctx = BuildContext::standalone(&table, Path::new(FIXTURES), &registry);
    ReclaimVerifier::from_context(&ctx).unwrap()
}

fn task(proof: &str) -> Task {
    Task::new(proof, Bytes::from_static(DATA), PERFORMER, 60)
}

/// The worst proof at the defaults: just under 256 KiB, 16 signatures, a
/// context of 8,000 extracted values and a large request body. Every check
/// runs to the end: the identifier fields are set to the content's own
/// identifier (as `v` computes it), and the signatures, made over the
/// original claim, recover to nobody allowed.
fn worst_proof(v: &ReclaimVerifier) -> String {
    let mut doc: Value = serde_json::from_str(VALID).unwrap();
    let cd = &mut doc["claimData"];
    let mut context: Value = serde_json::from_str(cd["context"].as_str().unwrap()).unwrap();
    let extracted: serde_json::Map<String, Value> = (0..8_000)
        .map(|i| (format!("k{:05}", 7_919 * i % 8_000), Value::from("v")))
        .collect();
    context["extractedParameters"] = Value::Object(extracted);
    cd["context"] = Value::from(context.to_string());
    let mut parameters: Value = serde_json::from_str(cd["parameters"].as_str().unwrap()).unwrap();
    parameters["body"] = Value::from(String::new());
    cd["parameters"] = Value::from(parameters.to_string());
    let sig = doc["signatures"][0].clone();
    doc["signatures"] = Value::Array(vec![sig; 16]);
    let room = 256 * 1024 - doc.to_string().len() - 64;
    parameters["body"] = Value::from("x".repeat(room));
    doc["claimData"]["parameters"] = Value::from(parameters.to_string());
    match v.check_claim_at(&task(&doc.to_string()), NOW) {
        Err(ReclaimError::IdentifierMismatch { expected, .. }) => {
            doc["identifier"] = Value::from(expected.to_string());
            doc["claimData"]["identifier"] = Value::from(expected.to_string());
        }
        other => panic!("the edited claim should disagree with its identifier: {other:?}"),
    }
    let text = doc.to_string();
    assert!(
        text.len() <= 256 * 1024 && text.len() > 255 * 1024,
        "{}",
        text.len()
    );
    text
}

fn benches(c: &mut Criterion) {
    let plain = verifier("");
    let valid = task(VALID);
    assert!(plain.check_claim_at(&valid, NOW).is_ok());
    c.bench_function("tls_reclaim/claim-one-signature", |b| {
        b.iter(|| black_box(plain.check_claim_at(black_box(&valid), NOW)).is_ok())
    });

    let real = ReclaimVerifier::from_context(&BuildContext::standalone(
        &r#"format = "reclaim"
attestors = ["0x244897572368eadf65bfbc5aec98d8e5443a9072"]
owner = "any"
url = "https://www.kaggle.com/api/i/users.UsersService/GetCurrentUser"
method = "POST""#
            .parse()
            .unwrap(),
        Path::new(FIXTURES),
        &taskproof_verifiers::builtin_registry(),
    ))
    .unwrap();
    let real_task = task(REAL);
    assert!(real.check_claim_at(&real_task, 1_774_346_626 + 60).is_ok());
    c.bench_function("tls_reclaim/claim-real-production-attestor", |b| {
        b.iter(|| black_box(real.check_claim_at(black_box(&real_task), 1_774_346_626 + 60)).is_ok())
    });

    let doc: Value = serde_json::from_str(VALID).unwrap();
    let signature: Signature = doc["signatures"][0].as_str().unwrap().parse().unwrap();
    let digest = eip191_hash_message(b"floor");
    c.bench_function("tls_reclaim/recover-one-signer", |b| {
        b.iter(|| black_box(signature.recover_address_from_prehash(black_box(&digest))))
    });

    let with_then = verifier("then = { verifier = \"accept\" }");
    let worst = task(&worst_proof(&with_then));
    let refused = with_then
        .check_claim_at(&worst, NOW)
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with("0 of the attestors signed"),
        "{refused}"
    );
    c.bench_function("tls_reclaim/worst-256KiB-16-signatures", |b| {
        b.iter(|| black_box(with_then.check_claim_at(black_box(&worst), NOW)).is_err())
    });
}

criterion_group!(group, benches);
criterion_main!(group);
