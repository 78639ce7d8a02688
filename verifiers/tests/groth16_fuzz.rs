//! The body of the `groth16_proof_of_task` fuzz target (fuzz/), run on
//! stable over mutated snarkjs proofs and random bytes: no input panics, and
//! a batch gives every task the verdict it gets alone.
//!
//! CI runs a short, seeded pass. For a longer run:
//!
//!     GROTH16_FUZZ_SECS=300 cargo test --release -p taskproof-verifiers --test groth16_fuzz -- --nocapture
//!
//! (`GROTH16_FUZZ_SEED` picks another seed.)

#![cfg(feature = "groth16")]

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::Value;
use taskproof_core::{Address, Task, Verdict};
use taskproof_verifiers::groth16::{Binding, Groth16Verifier, PreparedKey};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/groth16");
const Q: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";
const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{rel}")).unwrap()
}

/// The fuzz target's body: must not panic; a refusal before the pairing
/// carries the parser's reason; batch verdicts equal single ones.
fn exercise(verifiers: &[(Groth16Verifier, Verdict)], input: &[u8], good: &Task) -> Verdict {
    let text = String::from_utf8_lossy(input).into_owned();
    let task = Task::new(text, input.to_vec(), Address::ZERO, 10);
    let mut first = None;
    for (v, good_verdict) in verifiers {
        let alone = v.check(&task);
        if let Err(e) = v.check_fields(&task.proof_of_task, &task.performer, &task.data) {
            assert_eq!(
                alone,
                Verdict::invalid(e.to_string()),
                "refused before the pairing"
            );
        }
        let batch = v.check_batch(&[good.clone(), task.clone(), good.clone()]);
        assert_eq!(
            batch[1], alone,
            "batch and single disagree on {:?}",
            task.proof_of_task
        );
        assert_eq!(&batch[0], good_verdict);
        assert_eq!(batch[2], batch[0]);
        first.get_or_insert(alone);
    }
    first.unwrap_or(Verdict::Valid)
}

fn random_decimal(rng: &mut StdRng) -> String {
    let len = rng.gen_range(1..=80);
    let mut s: String = (0..len)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    if rng.gen_bool(0.8) {
        s = s.trim_start_matches('0').to_owned();
        if s.is_empty() {
            s.push('0');
        }
    }
    s
}

fn add_decimal(a: &str, b: &str) -> String {
    // Schoolbook addition of decimal strings (test-only).
    let (a, b): (Vec<u8>, Vec<u8>) = (a.bytes().rev().collect(), b.bytes().rev().collect());
    let mut out = Vec::new();
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let d = carry + a.get(i).map_or(0, |c| c - b'0') + b.get(i).map_or(0, |c| c - b'0');
        out.push(b'0' + d % 10);
        carry = d / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Every string leaf (coordinate or signal) of the document, as a JSON pointer.
fn leaves(doc: &Value, at: String, out: &mut Vec<String>) {
    match doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                leaves(item, format!("{at}/{k}"), out);
            }
        }
        _ => out.push(at),
    }
}

fn mutate_structured(rng: &mut StdRng, base: &Value, donors: &[Value]) -> String {
    let mut doc = base.clone();
    let mut paths = Vec::new();
    leaves(&doc, String::new(), &mut paths);
    for _ in 0..rng.gen_range(1..=3) {
        let Some(path) = paths.choose(rng).cloned() else {
            break;
        };
        let Some(leaf) = doc.pointer_mut(&path) else {
            continue;
        };
        let current = leaf.as_str().unwrap_or("0").to_owned();
        *leaf = match rng.gen_range(0..14) {
            0 => Value::String(random_decimal(rng)),
            1 => Value::String(add_decimal(&current, Q)),
            2 => Value::String(add_decimal(&current, R)),
            3 => Value::String(add_decimal(&current, "1")),
            4 => Value::String(format!("0{current}")),
            5 => Value::String(format!("-{current}")),
            6 => Value::String(format!(" {current}")),
            7 => Value::String("0".into()),
            8 => Value::String("1".into()),
            9 => serde_json::json!(12345),
            10 => Value::Null,
            11 => serde_json::json!([current]),
            12 => {
                // A leaf from another valid proof at the same place.
                let donor = donors.choose(rng).unwrap_or(base);
                donor.pointer(&path).cloned().unwrap_or(Value::Null)
            }
            _ => Value::String(String::new()),
        };
    }
    if rng.gen_bool(0.1) {
        // Whole points or arrays from another proof, or removed, or grown.
        let donor = donors.choose(rng).unwrap_or(base);
        let key = ["pi_a", "pi_b", "pi_c"]
            .choose(rng)
            .copied()
            .unwrap_or("pi_a");
        match rng.gen_range(0..3) {
            0 => doc["proof"][key] = donor["proof"][key].clone(),
            1 => {
                if let Some(a) = doc["publicSignals"].as_array_mut() {
                    a.push(Value::String("7".into()));
                }
            }
            _ => {
                if let Some(a) = doc["proof"][key].as_array_mut() {
                    a.pop();
                }
            }
        }
    }
    doc.to_string()
}

fn mutate_bytes(rng: &mut StdRng, base: &str) -> Vec<u8> {
    let mut bytes = base.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        if bytes.is_empty() {
            break;
        }
        let i = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..4) {
            0 => bytes[i] = rng.r#gen(),
            1 => {
                let end = rng.gen_range(i..=bytes.len().min(i + 40));
                bytes.drain(i..end);
            }
            2 => {
                let end = rng.gen_range(i..=bytes.len().min(i + 40));
                let copy = bytes[i..end].to_vec();
                bytes.splice(i..i, copy);
            }
            _ => bytes.insert(i, b"\"[]{},:0123456789-+ex"[rng.gen_range(0..21)]),
        }
    }
    bytes
}

#[test]
fn fuzz_harness_over_mutated_snarkjs_proofs() {
    let key = PreparedKey::from_snarkjs_json(&read("multiplier/verification_key.json")).unwrap();
    let verifiers = [
        Groth16Verifier::new(key.clone(), vec![]).unwrap(),
        Groth16Verifier::new(key, vec![(0, Binding::DataKeccak)]).unwrap(),
    ];
    let mut donors: Vec<Value> = serde_json::from_str(&read("multiplier/valid.json")).unwrap();
    donors.push(serde_json::from_str(&read("multiplier/other_setup/fullprove.json")).unwrap());
    donors.push(
        serde_json::from_str(&read("multiplier/invalid/pi_b_outside_subgroup.json")).unwrap(),
    );
    let base = donors[0].clone();
    let base_text = base.to_string();
    let good = Task::new(base_text.clone(), Vec::new(), Address::ZERO, 10);
    assert_eq!(verifiers[0].check(&good), Verdict::Valid);
    let verifiers = verifiers.map(|v| {
        let verdict = v.check(&good);
        (v, verdict)
    });

    let seed = std::env::var("GROTH16_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6a09_e667_f3bc_c908u64);
    let budget = std::env::var("GROTH16_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let min_cases = if budget.is_some() { u64::MAX } else { 80 };
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let (mut cases, mut valid) = (0u64, 0u64);
    while cases < min_cases && budget.is_none_or(|b| started.elapsed() < b) {
        let input = match rng.gen_range(0..10) {
            0..=5 => mutate_structured(&mut rng, &base, &donors).into_bytes(),
            6..=8 => mutate_bytes(&mut rng, &base_text),
            _ => (0..rng.gen_range(0..200)).map(|_| rng.r#gen()).collect(),
        };
        if exercise(&verifiers, &input, &good) == Verdict::Valid {
            valid += 1;
        }
        cases += 1;
    }
    eprintln!(
        "groth16 fuzz harness: {cases} inputs in {:.1}s (seed {seed:#x}), {valid} valid",
        started.elapsed().as_secs_f64()
    );
    assert!(cases > 0);
}
