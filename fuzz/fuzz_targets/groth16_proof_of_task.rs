//! Fuzzes the `groth16` verifier's proofOfTask parser and verifier.
//!
//!     cd fuzz && cargo +nightly fuzz run groth16_proof_of_task
//!
//! The input is the proofOfTask (and, reinterpreted, the task's data). No
//! input may panic; a batch must give every task the verdict it gets alone;
//! an input judged valid must be one of the fixture proofs or a
//! re-randomisation of one, recognised with arkworks' pairing rather than by
//! the verifier under test. verifiers/tests/groth16_fuzz.rs runs the same body over mutated
//! fixtures on stable, in CI.

#![no_main]

use std::sync::OnceLock;

use ark_bn254::Bn254;
use ark_ec::pairing::Pairing;
use libfuzzer_sys::fuzz_target;
use taskproof_core::{Address, Task, Verdict};
use taskproof_verifiers::groth16::{Binding, CheckedProof, Groth16Verifier, PreparedKey};

const VK: &str = include_str!("../../fixtures/groth16/multiplier/verification_key.json");
const VALID: &str = include_str!("../../fixtures/groth16/multiplier/proof.json");
const PUBLIC: &str = include_str!("../../fixtures/groth16/multiplier/public.json");
/// Every proof snarkjs made for the key, `proof.json` among them.
const ALL_VALID: &str = include_str!("../../fixtures/groth16/multiplier/valid.json");

fn verifier() -> &'static Groth16Verifier {
    static V: OnceLock<Groth16Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = PreparedKey::from_snarkjs_json(VK).expect("fixture key");
        Groth16Verifier::new(key, vec![]).expect("no bindings")
    })
}

fn bound_verifier() -> &'static Groth16Verifier {
    static V: OnceLock<Groth16Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = PreparedKey::from_snarkjs_json(VK).expect("fixture key");
        Groth16Verifier::new(key, vec![(0, Binding::DataKeccak)]).expect("index 0 exists")
    })
}

/// The fixture proof as a task, and its verdict (computed once: the fuzzer
/// spends its time on the input, not on re-checking a known proof).
fn good() -> &'static (Task, [Verdict; 2]) {
    static GOOD: OnceLock<(Task, [Verdict; 2])> = OnceLock::new();
    GOOD.get_or_init(|| {
        let valid = format!(r#"{{"proof":{VALID},"publicSignals":{PUBLIC}}}"#);
        let task = Task::new(valid, Vec::new(), Address::ZERO, 10);
        let verdicts = [verifier().check(&task), bound_verifier().check(&task)];
        assert_eq!(verdicts[0], Verdict::Valid);
        (task, verdicts)
    })
}

/// Whether `checked` is one of the fixture proofs or (t·A, t⁻¹·B, C) of one:
/// the same C and signals, and e(A', B') = e(A, B).
fn is_known_valid(checked: &CheckedProof) -> bool {
    static KNOWN: OnceLock<Vec<CheckedProof>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let all: Vec<serde_json::Value> = serde_json::from_str(ALL_VALID).expect("valid.json");
        all.iter()
            .map(|p| CheckedProof::from_full_prove_json(&p.to_string(), 1).expect("fixture proof"))
            .collect()
    });
    known.iter().any(|k| {
        checked.public_signals == k.public_signals
            && checked.proof.c == k.proof.c
            && Bn254::pairing(checked.proof.a, checked.proof.b)
                == Bn254::pairing(k.proof.a, k.proof.b)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let task = Task::new(text, data.to_vec(), Address::ZERO, 10);
    let (good, good_verdicts) = good();
    for (v, good_verdict) in [verifier(), bound_verifier()].into_iter().zip(good_verdicts) {
        let alone = v.check(&task);
        match v.check_fields(&task.proof_of_task, &task.performer, &task.data) {
            // Refused before any pairing: the verdict says exactly why.
            Err(e) => assert_eq!(alone, Verdict::invalid(e.to_string())),
            // Reached the pairing: only a known valid proof may pass, and a
            // batch must give every task the verdict it gets alone, whatever
            // its neighbours.
            Ok(checked) => {
                if alone == Verdict::Valid {
                    assert!(is_known_valid(&checked), "judged valid: unknown proof");
                }
                let batch = v.check_batch(&[good.clone(), task.clone(), good.clone()]);
                assert_eq!(batch[1], alone);
                assert_eq!(&batch[0], good_verdict);
                assert_eq!(&batch[2], good_verdict);
            }
        }
    }
});
