//! The body of the `groth16_proof_of_task` fuzz target (fuzz/), run on
//! stable over mutated snarkjs proofs, re-randomised valid proofs and random
//! bytes: no input panics, a refusal before the pairing carries the parser's
//! reason, a batch gives every task the verdict it gets alone, and a proof is
//! judged valid exactly when it is a known valid proof.
//!
//! "Known valid" is decided by construction, never by the verifier under
//! test: the proofs snarkjs made (fixtures/groth16/multiplier/valid.json) and
//! the re-randomisations (t·A, t⁻¹·B, C) the harness derives from them. Every
//! input judged valid must parse to one of those (same points, same signals),
//! and every one of those sent, verbatim or re-serialised, must be judged
//! valid.
//!
//! CI runs a fixed, seeded number of cases. For a longer run:
//!
//!     GROTH16_FUZZ_SECS=300 cargo test --release -p taskproof-verifiers --test groth16_fuzz -- --nocapture
//!
//! (`GROTH16_FUZZ_SEED` picks another seed, `GROTH16_FUZZ_CASES` another count.)

#![cfg(feature = "groth16")]

use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_ec::CurveGroup;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::Value;
use taskproof_core::{Address, Task, Verdict};
use taskproof_verifiers::groth16::{Binding, CheckedProof, Groth16Verifier, PreparedKey};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/groth16");
const Q: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";
const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

/// Cases run by default: about 17 s in the test profile on two cores shared
/// with other builds, a few seconds on an idle machine.
const DEFAULT_CASES: u64 = 1000;

/// Re-randomised proofs kept as bases for further mutation.
const MAX_DERIVED: usize = 64;

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{rel}")).unwrap()
}

/// The proofs known to be valid, by construction.
struct KnownValid {
    /// What a valid proof parses to.
    proofs: Vec<CheckedProof>,
    /// The same proofs as documents, bases for mutation.
    documents: Vec<Value>,
}

impl KnownValid {
    fn contains(&self, checked: &CheckedProof) -> bool {
        self.proofs.contains(checked)
    }

    /// Adds (t·A, t⁻¹·B, C) of a known proof and returns its document.
    fn rerandomize(&mut self, rng: &mut StdRng) -> Value {
        let from = rng.gen_range(0..self.proofs.len());
        let t = Fr::from(rng.gen_range(2..=u128::MAX));
        let derived = self.proofs[from].rerandomize(t).expect("t is not zero");
        let document: Value = serde_json::from_str(&derived.to_full_prove_json()).unwrap();
        if self.proofs.len() < MAX_DERIVED {
            self.proofs.push(derived);
            self.documents.push(document.clone());
        }
        document
    }
}

/// What the harness knows about an input before the verifier sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A known valid proof, verbatim, re-serialised or re-randomised.
    Valid,
    /// Well-formed points and signals that break the Groth16 equation: a
    /// known valid proof with one part scaled, swapped or shifted.
    PairingFails,
    /// Anything else: it may still be valid if it happens to equal a known
    /// valid proof (a mutation that wrote back the same value).
    Unknown,
}

/// What one verifier said about one input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seen {
    RefusedByParser,
    PairingFailed,
    Valid,
    Undecided,
}

/// The fuzz target's body plus the harness's soundness and completeness
/// checks. Returns what the verifier without bindings said.
fn exercise(
    verifiers: &[(Groth16Verifier, Verdict)],
    known: &KnownValid,
    input: &[u8],
    expect: Expect,
    good: &Task,
) -> Seen {
    let text = String::from_utf8_lossy(input).into_owned();
    let task = Task::new(text, input.to_vec(), Address::ZERO, 10);
    let mut first = None;
    for (v, good_verdict) in verifiers {
        let alone = v.check(&task);
        let fields = v.check_fields(&task.proof_of_task, &task.performer, &task.data);
        let seen = match (&fields, &alone) {
            (Err(e), _) => {
                assert_eq!(
                    alone,
                    Verdict::invalid(e.to_string()),
                    "refused before the pairing"
                );
                Seen::RefusedByParser
            }
            (Ok(checked), Verdict::Valid) => {
                assert!(
                    known.contains(checked),
                    "judged valid but no known valid proof: {}",
                    task.proof_of_task
                );
                Seen::Valid
            }
            (Ok(_), Verdict::Invalid { .. }) => Seen::PairingFailed,
            (Ok(_), Verdict::Undecided { cause }) => {
                panic!("undecided without a deadline: {cause}")
            }
        };
        let batch = v.check_batch(&[good.clone(), task.clone(), good.clone()]);
        assert_eq!(
            batch[1], alone,
            "batch and single disagree on {:?}",
            task.proof_of_task
        );
        assert_eq!(&batch[0], good_verdict);
        assert_eq!(batch[2], batch[0]);
        first.get_or_insert(seen);
    }
    let seen = first.unwrap_or(Seen::Undecided);
    match expect {
        Expect::Valid => assert_eq!(
            seen,
            Seen::Valid,
            "a known valid proof was refused: {}",
            String::from_utf8_lossy(input)
        ),
        Expect::PairingFails => assert_eq!(
            seen,
            Seen::PairingFailed,
            "a near miss was not refused by the pairing: {}",
            String::from_utf8_lossy(input)
        ),
        Expect::Unknown => {}
    }
    seen
}

/// A known valid proof changed where only the pairing can tell: one point
/// scaled by t ≠ 1 (still on the curve and in the group), a re-randomisation
/// done on one side only, A and C swapped, or a public signal moved by one.
fn near_miss(rng: &mut StdRng, known: &KnownValid) -> Value {
    let mut p = known.proofs[rng.gen_range(0..known.proofs.len())].clone();
    let t = Fr::from(rng.gen_range(2..=u128::MAX));
    match rng.gen_range(0..5) {
        0 => p.proof.a = (p.proof.a * t).into_affine(),
        1 => p.proof.b = (p.proof.b * t).into_affine(),
        2 => p.proof.c = (p.proof.c * t).into_affine(),
        3 => std::mem::swap(&mut p.proof.a, &mut p.proof.c),
        _ => p.public_signals[0] += Fr::from(1u64),
    }
    serde_json::from_str(&p.to_full_prove_json()).unwrap()
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

/// `a + b` for decimal strings; `a` that is not one (a sign, a space, an
/// empty string left by an earlier mutation) counts as zero.
fn add_decimal(a: &str, b: &str) -> String {
    let a = if !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) {
        a
    } else {
        "0"
    };
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

/// The same document with other whitespace and key order: still the same proof.
fn reserialize(rng: &mut StdRng, doc: &Value) -> String {
    fn write(rng: &mut StdRng, v: &Value, out: &mut String) {
        let space = |rng: &mut StdRng| [" ", "\n", "\t", ""][rng.gen_range(0..4)];
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.shuffle(rng);
                out.push('{');
                for (i, (k, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space(rng));
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    out.push_str(space(rng));
                    write(rng, item, out);
                }
                out.push_str(space(rng));
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space(rng));
                    write(rng, item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(rng, doc, &mut out);
    out
}

#[test]
fn fuzz_harness_over_mutated_snarkjs_proofs() {
    let key = PreparedKey::from_snarkjs_json(&read("multiplier/verification_key.json")).unwrap();
    let verifiers = [
        Groth16Verifier::new(key.clone(), vec![]).unwrap(),
        Groth16Verifier::new(key.clone(), vec![(0, Binding::DataKeccak)]).unwrap(),
    ];
    let valid: Vec<Value> = serde_json::from_str(&read("multiplier/valid.json")).unwrap();
    let mut known = KnownValid {
        proofs: valid
            .iter()
            .map(|d| CheckedProof::from_full_prove_json(&d.to_string(), 1).unwrap())
            .collect(),
        documents: valid.clone(),
    };
    // Donors of leaves and points: valid proofs, a proof of another setup and
    // one with a G2 point outside the subgroup.
    let mut donors = valid;
    donors.push(serde_json::from_str(&read("multiplier/other_setup/fullprove.json")).unwrap());
    donors.push(
        serde_json::from_str(&read("multiplier/invalid/pi_b_outside_subgroup.json")).unwrap(),
    );
    let good = Task::new(
        known.documents[0].to_string(),
        Vec::new(),
        Address::ZERO,
        10,
    );
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
    let cases = std::env::var("GROTH16_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if budget.is_some() {
            u64::MAX
        } else {
            DEFAULT_CASES
        });
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut ran = 0u64;
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    while ran < cases && budget.is_none_or(|b| started.elapsed() < b) {
        let base = known
            .documents
            .choose(&mut rng)
            .cloned()
            .unwrap_or(Value::Null);
        let (input, expect, kind) = match rng.gen_range(0..20) {
            0..=8 => (
                mutate_structured(&mut rng, &base, &donors).into_bytes(),
                Expect::Unknown,
                "structured",
            ),
            9..=10 => (
                near_miss(&mut rng, &known).to_string().into_bytes(),
                Expect::PairingFails,
                "near miss",
            ),
            11..=14 => (
                mutate_bytes(&mut rng, &base.to_string()),
                Expect::Unknown,
                "bytes",
            ),
            15..=16 => (
                (0..rng.gen_range(0..200)).map(|_| rng.r#gen()).collect(),
                Expect::Unknown,
                "random",
            ),
            17 => (
                known.rerandomize(&mut rng).to_string().into_bytes(),
                Expect::Valid,
                "rerandomized",
            ),
            _ => (
                reserialize(&mut rng, &base).into_bytes(),
                Expect::Valid,
                "reserialized",
            ),
        };
        *counts.entry(kind).or_default() += 1;
        let seen = exercise(&verifiers, &known, &input, expect, &good);
        *counts
            .entry(match seen {
                Seen::RefusedByParser => "refused by the parser",
                Seen::PairingFailed => "failed the pairing",
                Seen::Valid => "valid",
                Seen::Undecided => "undecided",
            })
            .or_default() += 1;
        ran += 1;
    }
    eprintln!(
        "groth16 fuzz harness: {ran} inputs in {:.1}s (seed {seed:#x}): {counts:?}",
        started.elapsed().as_secs_f64()
    );
    if budget.is_none() && cases >= 200 {
        // The run reached every outcome it exists to compare.
        for outcome in ["refused by the parser", "failed the pairing", "valid"] {
            assert!(
                counts.get(outcome).copied().unwrap_or(0) >= cases / 50,
                "too few inputs {outcome}: {counts:?}"
            );
        }
    }
}
