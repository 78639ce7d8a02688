//! Fuzzes the `groth16` verifier's proofOfTask parser and verifier.
//!
//!     cd fuzz && cargo +nightly fuzz run groth16_proof_of_task
//!
//! The input is the proofOfTask (and, reinterpreted, the task's data). No
//! input may panic; a batch must give every task the verdict it gets alone.
//! verifiers/tests/groth16_fuzz.rs runs the same body over mutated fixtures
//! on stable, in CI.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use taskproof_core::{Address, Task};
use taskproof_verifiers::groth16::{Binding, Groth16Verifier, PreparedKey};

const VK: &str = include_str!("../../fixtures/groth16/multiplier/verification_key.json");
const VALID: &str = include_str!("../../fixtures/groth16/multiplier/proof.json");
const PUBLIC: &str = include_str!("../../fixtures/groth16/multiplier/public.json");

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

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let valid = format!(r#"{{"proof":{VALID},"publicSignals":{PUBLIC}}}"#);
    let task = Task::new(text, data.to_vec(), Address::ZERO, 10);
    let good = Task::new(valid, Vec::new(), Address::ZERO, 10);
    for v in [verifier(), bound_verifier()] {
        let alone = v.check(&task);
        let batch = v.check_batch(&[good.clone(), task.clone(), good.clone()]);
        assert_eq!(batch[1], alone);
        assert_eq!(batch[0], v.check(&good));
        assert_eq!(batch[2], batch[0]);
    }
});
