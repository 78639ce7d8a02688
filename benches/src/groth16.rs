//! Groth16 bench inputs: the snarkjs fixtures, and as many distinct valid
//! proofs as a batch needs, re-randomised from them (a Groth16 proof
//! (A, B, C) stays valid as (t·A, t⁻¹·B, C)).

use ark_bn254::Fr;
use taskproof_verifiers::groth16::{CheckedProof, Groth16Verifier, PreparedKey};

use crate::FIXTURES;

/// Reads a fixture file under `fixtures/groth16/`.
pub fn read(rel: &str) -> String {
    let path = format!("{FIXTURES}/groth16/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The prepared key of a fixture circuit (`multiplier` or `attest`).
pub fn key(circuit: &str) -> PreparedKey {
    PreparedKey::from_snarkjs_json(&read(&format!("{circuit}/verification_key.json")))
        .unwrap_or_else(|e| panic!("{circuit}: {e}"))
}

/// A verifier for a fixture circuit, without bindings.
pub fn verifier(circuit: &str) -> Groth16Verifier {
    Groth16Verifier::new(key(circuit), Vec::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// `n` distinct valid proofs of task (fullProve JSON) for a fixture circuit.
pub fn proofs(circuit: &str, n: usize) -> Vec<String> {
    let signals = key(circuit).public_signals();
    let valid: Vec<serde_json::Value> =
        serde_json::from_str(&read(&format!("{circuit}/valid.json"))).expect("valid.json");
    let base: Vec<CheckedProof> = valid
        .iter()
        .map(|p| CheckedProof::from_full_prove_json(&p.to_string(), signals).expect("fixture"))
        .collect();
    (0..n)
        .map(|i| {
            let source = &base[i % base.len()];
            if i < base.len() {
                source.to_full_prove_json()
            } else {
                source
                    .rerandomize(Fr::from(i as u64 + 1))
                    .expect("nonzero")
                    .to_full_prove_json()
            }
        })
        .collect()
}
