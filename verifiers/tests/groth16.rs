//! The `groth16` verifier against real circom2/snarkjs artifacts
//! (fixtures/groth16): valid proofs, one mutated proof per strictness rule,
//! a proof under another setup, bound public signals, batches, and the
//! snarkjs-compatible file check.

#![cfg(feature = "groth16")]

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use ark_bn254::Fr;
use serde_json::Value;
use taskproof_core::{
    Address, BatchPolicy, BuildContext, Task, Verdict, Verifier, deadline::Deadline,
};
use taskproof_verifiers::{
    builtin_registry,
    groth16::{
        Binding, CheckedProof, DecimalError, FilesVerdict, Groth16Verifier, PreparedKey,
        ProofError, data_field, performer_field, to_decimal, verify_snarkjs_files,
    },
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/groth16");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(rel)).unwrap()
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap()
}

fn build_with(params: &str) -> Result<Arc<dyn Verifier>, String> {
    let params: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&params, Path::new(FIXTURES), &registry);
    registry
        .get("groth16")
        .unwrap()
        .build(&ctx)
        .map_err(|e| e.to_string())
}

fn build(params: &str) -> Arc<dyn Verifier> {
    build_with(params).unwrap_or_else(|e| panic!("{e}"))
}

fn build_err(params: &str) -> String {
    match build_with(params) {
        Ok(_) => panic!("params accepted: {params}"),
        Err(e) => e,
    }
}

fn multiplier() -> Arc<dyn Verifier> {
    build(r#"verification_key = "multiplier/verification_key.json""#)
}

const ATTEST_BOUND: &str = r#"
verification_key = "attest/verification_key.json"
bind = { 1 = "performer", 2 = "keccak256(data)", 3 = "42" }
"#;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap()
        .block_on(f)
}

fn task(proof: impl Into<String>) -> Task {
    Task::new(proof, Vec::new(), Address::ZERO, 10)
}

fn verify(v: &dyn Verifier, proof: &str) -> Verdict {
    block_on(v.verify(&task(proof)))
}

fn assert_invalid(verdict: &Verdict, needle: &str) {
    match verdict {
        Verdict::Invalid { reason } => assert!(
            reason.contains(needle),
            "reason {reason:?} lacks {needle:?}"
        ),
        other => panic!("expected invalid ({needle}), got {other:?}"),
    }
}

fn valid_proofs(circuit: &str) -> Vec<String> {
    match json(&format!("{circuit}/valid.json")) {
        Value::Array(items) => items.iter().map(Value::to_string).collect(),
        other => panic!("{other}"),
    }
}

/// The attest fixtures with the tasks they were made for.
fn attest_tasks() -> Vec<Task> {
    let Value::Array(items) = json("attest/tasks.json") else {
        panic!()
    };
    items
        .iter()
        .map(|item| {
            let performer: Address = item["performer"].as_str().unwrap().parse().unwrap();
            let data =
                hex::decode(item["data"].as_str().unwrap().trim_start_matches("0x")).unwrap();
            Task::new(item["proofOfTask"].to_string(), data, performer, 11)
        })
        .collect()
}

fn mutated(name: &str) -> Verdict {
    verify(
        &*multiplier(),
        &read(&format!("multiplier/invalid/{name}.json")),
    )
}

// ---- valid proofs ---------------------------------------------------------

#[test]
fn accepts_every_snarkjs_proof_of_the_multiplier() {
    let v = multiplier();
    for proof in valid_proofs("multiplier") {
        assert_eq!(verify(&*v, &proof), Verdict::Valid);
    }
}

#[test]
fn accepts_bound_attest_proofs_for_their_own_tasks() {
    let v = build(ATTEST_BOUND);
    let tasks = attest_tasks();
    assert_eq!(tasks.len(), 8);
    for t in &tasks {
        assert_eq!(block_on(v.verify(t)), Verdict::Valid);
    }
    let verdicts = block_on(v.verify_batch(&tasks));
    assert!(
        verdicts.iter().all(|v| *v == Verdict::Valid),
        "{verdicts:?}"
    );
}

#[test]
fn fixtures_bind_what_the_readme_says() {
    for t in attest_tasks() {
        let doc: Value = serde_json::from_str(&t.proof_of_task).unwrap();
        let signals = &doc["publicSignals"];
        assert_eq!(signals[1], to_decimal(&performer_field(&t.performer)));
        assert_eq!(signals[2], to_decimal(&data_field(&t.data)));
        assert_eq!(signals[3], "42");
    }
}

// ---- input aliasing and public-signal strictness --------------------------

#[test]
fn rejects_public_input_aliased_by_r() {
    assert_invalid(
        &mutated("public_aliased_by_r"),
        "publicSignals[0] is not below the field modulus",
    );
    let attest = build(r#"verification_key = "attest/verification_key.json""#);
    assert_invalid(
        &verify(&*attest, &read("attest/invalid/public_aliased_by_r.json")),
        "publicSignals[0] is not below the field modulus",
    );
}

#[test]
fn rejects_public_input_equal_to_r() {
    assert_invalid(
        &mutated("public_equal_to_r"),
        "publicSignals[0] is not below the field modulus",
    );
}

#[test]
fn rejects_too_many_public_signals() {
    assert_invalid(
        &mutated("public_too_many"),
        "publicSignals has 2 entries, the verification key expects 1",
    );
    let attest = build(r#"verification_key = "attest/verification_key.json""#);
    assert_invalid(
        &verify(&*attest, &read("attest/invalid/public_too_many.json")),
        "publicSignals has 18 entries, the verification key expects 17",
    );
}

#[test]
fn rejects_too_few_public_signals() {
    assert_invalid(
        &mutated("public_too_few"),
        "publicSignals has 0 entries, the verification key expects 1",
    );
    let attest = build(r#"verification_key = "attest/verification_key.json""#);
    assert_invalid(
        &verify(&*attest, &read("attest/invalid/public_too_few.json")),
        "publicSignals has 16 entries, the verification key expects 17",
    );
}

#[test]
fn rejects_hex_public_signal_that_snarkjs_accepts() {
    // snarkjs 0.7.6 says "valid" to this one (fixtures/groth16/snarkjs_verdicts.json).
    assert_eq!(
        json("snarkjs_verdicts.json")["multiplier/invalid/public_hex.json"],
        "valid"
    );
    assert_invalid(
        &mutated("public_hex"),
        "publicSignals[0] is not a decimal number",
    );
}

#[test]
fn rejects_zero_padded_public_signal_that_snarkjs_accepts() {
    assert_eq!(
        json("snarkjs_verdicts.json")["multiplier/invalid/public_leading_zero.json"],
        "valid"
    );
    assert_invalid(
        &mutated("public_leading_zero"),
        "publicSignals[0] has a leading zero",
    );
}

#[test]
fn rejects_signed_spaced_empty_and_exponent_public_signals() {
    for name in [
        "public_plus_sign",
        "public_negative",
        "public_leading_space",
        "public_exponent",
    ] {
        assert_invalid(&mutated(name), "publicSignals[0] is not a decimal number");
    }
    assert_invalid(
        &mutated("public_empty"),
        "publicSignals[0] is an empty string",
    );
}

#[test]
fn rejects_public_signal_given_as_a_json_number() {
    assert_invalid(
        &mutated("public_number_not_string"),
        "publicSignals[0] must be a decimal string",
    );
}

#[test]
fn rejects_proof_for_other_public_signals() {
    assert_invalid(
        &mutated("public_wrong_value"),
        "does not verify under the task definition's verification key",
    );
}

// ---- points ---------------------------------------------------------------

#[test]
fn rejects_coordinate_above_q_that_snarkjs_accepts() {
    assert_eq!(
        json("snarkjs_verdicts.json")["multiplier/invalid/pi_a_x_above_q.json"],
        "valid"
    );
    assert_invalid(
        &mutated("pi_a_x_above_q"),
        "proof.pi_a coordinate x is not below the field modulus",
    );
    assert_invalid(
        &mutated("pi_b_c1_above_q"),
        "proof.pi_b coordinate x.c1 is not below the field modulus",
    );
}

#[test]
fn rejects_hex_coordinate() {
    assert_invalid(
        &mutated("pi_a_hex"),
        "proof.pi_a coordinate x is not a decimal number",
    );
}

#[test]
fn rejects_g1_point_off_the_curve() {
    assert_invalid(&mutated("pi_a_off_curve"), "proof.pi_a is not on the curve");
    assert_invalid(&mutated("pi_c_off_curve"), "proof.pi_c is not on the curve");
}

#[test]
fn rejects_g2_point_off_the_curve() {
    assert_invalid(&mutated("pi_b_off_curve"), "proof.pi_b is not on the curve");
}

#[test]
fn rejects_g2_with_c0_c1_swapped() {
    assert_invalid(
        &mutated("pi_b_c0_c1_swapped"),
        "proof.pi_b is not on the curve",
    );
}

#[test]
fn rejects_g2_point_outside_the_subgroup() {
    assert_invalid(
        &mutated("pi_b_outside_subgroup"),
        "proof.pi_b is not in the prime-order subgroup",
    );
}

#[test]
fn rejects_point_at_infinity_in_a_proof() {
    assert_invalid(
        &mutated("pi_a_infinity"),
        "proof.pi_a is the point at infinity",
    );
}

#[test]
fn a_point_at_infinity_sent_as_0_0_1_is_refused_as_infinity() {
    // (0, 0) is infinity to arkworks' BN254 points and to the EVM, and
    // `is_on_curve` accepts it: the refusal must come from the infinity check,
    // not from the pairing.
    let v = multiplier();
    let base: Value = serde_json::from_str(&valid_proofs("multiplier")[0]).unwrap();
    let g1_zero = serde_json::json!(["0", "0", "1"]);
    let g2_zero = serde_json::json!([["0", "0"], ["0", "0"], ["1", "0"]]);
    for (name, zero) in [("pi_a", &g1_zero), ("pi_c", &g1_zero), ("pi_b", &g2_zero)] {
        let mut doc = base.clone();
        doc["proof"][name] = zero.clone();
        assert_invalid(
            &verify(&*v, &doc.to_string()),
            &format!("proof.{name} is the point at infinity"),
        );
        let in_batch = block_on(v.verify_batch(&[
            task(valid_proofs("multiplier")[1].clone()),
            task(doc.to_string()),
        ]));
        assert_eq!(in_batch[0], Verdict::Valid);
        assert_invalid(
            &in_batch[1],
            &format!("proof.{name} is the point at infinity"),
        );
    }
}

#[test]
fn rejects_projective_and_truncated_points() {
    assert_invalid(
        &mutated("pi_a_projective_z"),
        "proof.pi_a is not in affine form",
    );
    assert_invalid(
        &mutated("pi_a_two_coordinates"),
        "proof.pi_a has the wrong shape",
    );
}

// ---- document -------------------------------------------------------------

#[test]
fn rejects_wrong_protocol_name() {
    assert_invalid(&mutated("protocol_plonk"), "proof.protocol is \"plonk\"");
}

#[test]
fn rejects_wrong_curve_name() {
    assert_invalid(&mutated("curve_bls12381"), "proof.curve is \"bls12381\"");
}

#[test]
fn rejects_unknown_fields_and_missing_signals() {
    assert_invalid(&mutated("unknown_field"), "unknown field `pi_d`");
    assert_invalid(
        &mutated("missing_public_signals"),
        "missing field `publicSignals`",
    );
    assert_invalid(
        &verify(&*multiplier(), "not json"),
        "proofOfTask is not snarkjs fullProve JSON",
    );
    assert_invalid(
        &verify(&*multiplier(), ""),
        "proofOfTask is not snarkjs fullProve JSON",
    );
}

#[test]
fn megabyte_names_are_not_repeated_in_the_reason() {
    let base: Value = serde_json::from_str(&valid_proofs("multiplier")[0]).unwrap();
    let huge = "x".repeat(1 << 20);
    let mut cases = Vec::new();
    let mut doc = base.clone();
    doc["proof"]["protocol"] = huge.clone().into();
    cases.push((doc, "(1048576 bytes), expected \"groth16\""));
    let mut doc = base.clone();
    doc["proof"]["curve"] = huge.clone().into();
    cases.push((doc, "(1048576 bytes), expected BN254"));
    let mut doc = base.clone();
    doc["proof"][huge.as_str()] = "1".into();
    cases.push((
        doc,
        "proofOfTask is not snarkjs fullProve JSON: unknown field",
    ));
    for (doc, needle) in cases {
        let verdict = verify(&*multiplier(), &doc.to_string());
        assert_invalid(&verdict, needle);
        let reason = verdict.message().unwrap_or_default();
        assert!(reason.len() < 400, "{} bytes: {reason}", reason.len());
    }
}

#[test]
fn accepts_rapidsnark_proof_without_curve_name() {
    let mut doc: Value = serde_json::from_str(&valid_proofs("multiplier")[0]).unwrap();
    doc["proof"].as_object_mut().unwrap().remove("curve");
    assert_eq!(verify(&*multiplier(), &doc.to_string()), Verdict::Valid);
    doc["proof"]["curve"] = "bn254".into();
    assert_eq!(verify(&*multiplier(), &doc.to_string()), Verdict::Valid);
}

// ---- setups ---------------------------------------------------------------

#[test]
fn rejects_proof_made_under_another_setup() {
    for circuit in ["multiplier", "attest"] {
        let main = build(&format!(
            r#"verification_key = "{circuit}/verification_key.json""#
        ));
        let other = build(&format!(
            r#"verification_key = "{circuit}/other_setup/verification_key.json""#
        ));
        let proof = read(&format!("{circuit}/other_setup/fullprove.json"));
        assert_eq!(verify(&*other, &proof), Verdict::Valid, "{circuit}");
        assert_invalid(
            &verify(&*main, &proof),
            "does not verify under the task definition's verification key",
        );
        // And a main-setup proof does not pass under the other key.
        assert_invalid(
            &verify(&*other, &valid_proofs(circuit)[0]),
            "does not verify",
        );
    }
}

#[test]
fn rejects_proof_of_another_circuit() {
    let attest = build(r#"verification_key = "attest/verification_key.json""#);
    assert_invalid(
        &verify(&*attest, &valid_proofs("multiplier")[0]),
        "publicSignals has 1 entries",
    );
}

// ---- binding --------------------------------------------------------------

#[test]
fn rejects_copied_proof_sent_by_another_performer() {
    let v = build(ATTEST_BOUND);
    let mut t = attest_tasks().remove(0);
    t.performer = Address::repeat_byte(0x11);
    assert_invalid(
        &block_on(v.verify(&t)),
        "publicSignals[1] does not equal the performer address",
    );
}

#[test]
fn rejects_copied_proof_for_other_data() {
    let v = build(ATTEST_BOUND);
    let mut t = attest_tasks().remove(0);
    t.data = b"other data".to_vec().into();
    assert_invalid(
        &block_on(v.verify(&t)),
        "publicSignals[2] does not equal keccak256(data) mod r",
    );
}

#[test]
fn rejects_proof_whose_bound_constant_differs() {
    let v = build(
        r#"
        verification_key = "attest/verification_key.json"
        bind = { 3 = "43" }
        "#,
    );
    assert_invalid(
        &block_on(v.verify(&attest_tasks()[0])),
        "publicSignals[3] does not equal the constant 43",
    );
    let v = build(
        r#"
        verification_key = "attest/verification_key.json"
        bind = { 3 = 42 }
        "#,
    );
    assert_eq!(block_on(v.verify(&attest_tasks()[0])), Verdict::Valid);
}

#[test]
fn binding_mismatches_keep_their_own_verdicts_in_a_batch() {
    let v = build(ATTEST_BOUND);
    let mut tasks = attest_tasks();
    tasks[3].performer = Address::repeat_byte(0x22);
    tasks[5].data = b"swapped".to_vec().into();
    let verdicts = block_on(v.verify_batch(&tasks));
    for (i, verdict) in verdicts.iter().enumerate() {
        match i {
            3 => assert_invalid(verdict, "publicSignals[1]"),
            5 => assert_invalid(verdict, "publicSignals[2]"),
            _ => assert_eq!(*verdict, Verdict::Valid, "{i}"),
        }
    }
}

// ---- configuration --------------------------------------------------------

#[test]
fn bad_verification_key_fails_start_up_with_its_path() {
    let e = build_err(r#"verification_key = "missing.json""#);
    assert!(
        e.contains("params.verification_key") && e.contains("missing.json"),
        "{e}"
    );
    // A proof is not a key.
    let e = build_err(r#"verification_key = "multiplier/proof.json""#);
    assert!(
        e.contains("params.verification_key") && e.contains("not a snarkjs verification_key.json"),
        "{e}"
    );
}

#[test]
fn corrupt_key_points_fail_start_up() {
    let dir = std::env::temp_dir().join(format!("taskproof-groth16-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = json("multiplier/verification_key.json");
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "beta",
            Box::new(|k: &mut Value| k["vk_beta_2"][0][0] = "1".into()),
            "vk_beta_2 is not on the curve",
        ),
        (
            "ic",
            Box::new(|k: &mut Value| k["IC"][1][1] = "7".into()),
            "IC[1] is not on the curve",
        ),
        (
            "count",
            Box::new(|k: &mut Value| k["nPublic"] = 2.into()),
            "nPublic is 2 but IC holds 2 points",
        ),
        (
            "protocol",
            Box::new(|k: &mut Value| k["protocol"] = "plonk".into()),
            "protocol is \"plonk\"",
        ),
        (
            "curve",
            Box::new(|k: &mut Value| k["curve"] = "bls12381".into()),
            "curve is \"bls12381\"",
        ),
        (
            "alpha",
            Box::new(|k: &mut Value| k["vk_alpha_1"] = serde_json::json!(["0", "1", "0"])),
            "vk_alpha_1 is the point at infinity",
        ),
        (
            "alpha-zero-zero",
            Box::new(|k: &mut Value| k["vk_alpha_1"] = serde_json::json!(["0", "0", "1"])),
            "vk_alpha_1 is the point at infinity",
        ),
        (
            "delta-zero-zero",
            Box::new(|k: &mut Value| {
                k["vk_delta_2"] = serde_json::json!([["0", "0"], ["0", "0"], ["1", "0"]])
            }),
            "vk_delta_2 is the point at infinity",
        ),
    ];
    for (name, mutate, needle) in cases {
        let mut key = base.clone();
        mutate(&mut key);
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, key.to_string()).unwrap();
        let e = build_err(&format!(
            "verification_key = {:?}",
            path.display().to_string()
        ));
        assert!(
            e.contains(needle) && e.contains("params.verification_key"),
            "{name}: {e}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn a_verification_key_that_never_ends_is_refused_at_its_cap() {
    // /dev/zero: stat says 0 bytes, reading never ends.
    let e = build_err(r#"verification_key = "/dev/zero""#);
    assert!(
        e.contains("params.verification_key") && e.contains("-byte limit for this file"),
        "{e}"
    );
}

#[test]
fn bind_errors_name_the_index() {
    let e = build_err(
        r#"
        verification_key = "multiplier/verification_key.json"
        bind = { 1 = "performer" }
        "#,
    );
    assert!(
        e.contains("params.bind.1") && e.contains("1 public signals"),
        "{e}"
    );
    let e = build_err(
        r#"
        verification_key = "multiplier/verification_key.json"
        bind = { 0 = "the performer" }
        "#,
    );
    assert!(e.contains("params.bind.0"), "{e}");
    let e = build_err(
        r#"
        verification_key = "multiplier/verification_key.json"
        bind = { 00 = "performer" }
        "#,
    );
    assert!(e.contains("params.bind.00"), "{e}");
}

#[test]
fn unknown_param_is_an_error() {
    let e = build_err(
        r#"
        verification_key = "multiplier/verification_key.json"
        verification_keys = "x"
        "#,
    );
    assert!(e.contains("verification_keys"), "{e}");
}

#[test]
fn batch_policy_defaults_to_64_proofs_or_2_ms() {
    assert_eq!(
        multiplier().batch_policy(),
        Some(BatchPolicy {
            max_batch: 64,
            max_wait: Duration::from_millis(2)
        })
    );
    let v = build(
        r#"
        verification_key = "multiplier/verification_key.json"
        batch = { max = 16, wait_ms = 5 }
        "#,
    );
    assert_eq!(
        v.batch_policy(),
        Some(BatchPolicy {
            max_batch: 16,
            max_wait: Duration::from_millis(5)
        })
    );
    let off = build(
        r#"
        verification_key = "multiplier/verification_key.json"
        batch = { enabled = false }
        "#,
    );
    assert_eq!(off.batch_policy(), None);
    assert!(
        build_err(
            r#"
        verification_key = "multiplier/verification_key.json"
        batch = { max = 0 }
        "#
        )
        .contains("params.batch.max")
    );
}

// ---- batches --------------------------------------------------------------

fn key(circuit: &str) -> PreparedKey {
    PreparedKey::from_snarkjs_json(&read(&format!("{circuit}/verification_key.json"))).unwrap()
}

/// `n` distinct valid proofs, re-randomised from the fixtures.
fn many_valid(circuit: &str, n: usize) -> Vec<String> {
    let k = key(circuit);
    let base: Vec<CheckedProof> = valid_proofs(circuit)
        .iter()
        .map(|p| CheckedProof::from_full_prove_json(p, k.public_signals()).unwrap())
        .collect();
    (0..n)
        .map(|i| {
            base[i % base.len()]
                .rerandomize(Fr::from(i as u64 + 2))
                .unwrap()
                .to_full_prove_json()
        })
        .collect()
}

#[test]
fn rerandomized_proof_is_still_valid_so_bytes_are_no_identity() {
    let v = multiplier();
    let original = valid_proofs("multiplier").remove(0);
    let k = key("multiplier");
    let checked = CheckedProof::from_full_prove_json(&original, 1).unwrap();
    let other = checked
        .rerandomize(Fr::from(7u64))
        .unwrap()
        .to_full_prove_json();
    assert_ne!(original, other);
    assert_eq!(verify(&*v, &other), Verdict::Valid);
    assert!(checked.rerandomize(Fr::from(0u64)).is_none());
    // The same proof twice in one batch gets two verdicts.
    let verdicts = block_on(v.verify_batch(&[task(original.clone()), task(original)]));
    assert_eq!(verdicts, vec![Verdict::Valid, Verdict::Valid]);
    let _ = k;
}

#[test]
fn batch_of_64_valid_proofs_is_valid() {
    let v = multiplier();
    let tasks: Vec<Task> = many_valid("multiplier", 64).into_iter().map(task).collect();
    let verdicts = block_on(v.verify_batch(&tasks));
    assert_eq!(verdicts.len(), 64);
    assert!(verdicts.iter().all(|v| *v == Verdict::Valid));
}

#[test]
fn bisection_finds_every_invalid_proof_in_a_batch() {
    let v = multiplier();
    let mut proofs = many_valid("multiplier", 40);
    let wrong_setup = read("multiplier/other_setup/fullprove.json");
    let wrong_value = read("multiplier/invalid/public_wrong_value.json");
    let malformed = read("multiplier/invalid/pi_b_outside_subgroup.json");
    let bad_at = [0usize, 7, 8, 21, 39];
    proofs[0] = wrong_setup.clone();
    proofs[7] = wrong_value.clone();
    proofs[8] = wrong_setup;
    proofs[21] = malformed;
    proofs[39] = wrong_value;
    let tasks: Vec<Task> = proofs.into_iter().map(task).collect();
    let verdicts = block_on(v.verify_batch(&tasks));
    for (i, verdict) in verdicts.iter().enumerate() {
        if i == 21 {
            assert_invalid(verdict, "not in the prime-order subgroup");
        } else if bad_at.contains(&i) {
            assert_invalid(verdict, "does not verify");
        } else {
            assert_eq!(*verdict, Verdict::Valid, "proof {i}");
        }
    }
}

#[test]
fn batches_of_every_small_size_agree_with_single_checks() {
    let v = Groth16Verifier::new(key("multiplier"), vec![]).unwrap();
    let good = many_valid("multiplier", 9);
    let bad = read("multiplier/invalid/public_wrong_value.json");
    for n in 1..=9 {
        for bad_mask in [0u32, 1, 1 << (n - 1), 0b1010_1010, u32::MAX] {
            let tasks: Vec<Task> = (0..n)
                .map(|i| {
                    task(if bad_mask & (1 << i) != 0 {
                        bad.clone()
                    } else {
                        good[i].clone()
                    })
                })
                .collect();
            let batch = v.check_batch(&tasks);
            let single: Vec<Verdict> = tasks.iter().map(|t| v.check(t)).collect();
            assert_eq!(batch, single, "n={n} mask={bad_mask:b}");
        }
    }
}

#[test]
fn a_batch_under_a_passed_deadline_is_undecided_at_once() {
    let v = multiplier();
    let mut proofs = many_valid("multiplier", 64);
    proofs[10] = read("multiplier/invalid/public_wrong_value.json");
    let tasks: Vec<Task> = proofs.into_iter().map(task).collect();
    let started = Instant::now();
    let verdicts = block_on(Deadline::at(Instant::now()).scope(v.verify_batch(&tasks)));
    let took = started.elapsed();
    assert_eq!(verdicts.len(), tasks.len());
    for verdict in &verdicts {
        assert!(
            matches!(verdict, Verdict::Undecided { cause } if cause.contains("deadline")),
            "{verdict:?}"
        );
    }
    assert!(took < Duration::from_millis(250), "{took:?}");
    let alone = block_on(Deadline::at(Instant::now()).scope(v.verify(&tasks[0])));
    assert!(
        matches!(&alone, Verdict::Undecided { cause } if cause.contains("deadline")),
        "{alone:?}"
    );
}

#[test]
fn bisection_stops_at_the_deadline() {
    // Every other proof is wrong: the batch is bisected down to single
    // proofs, about 2N pairing checks.
    let v = Groth16Verifier::new(key("multiplier"), vec![]).unwrap();
    let good = many_valid("multiplier", 64);
    let bad = read("multiplier/invalid/public_wrong_value.json");
    let tasks: Vec<Task> = (0..64)
        .map(|i| {
            task(if i % 2 == 1 {
                bad.clone()
            } else {
                good[i].clone()
            })
        })
        .collect();
    let started = Instant::now();
    let full = v.check_batch(&tasks);
    let full_time = started.elapsed();
    assert_eq!(full.iter().filter(|v| v.is_valid()).count(), 32);
    let started = Instant::now();
    let verdicts = Deadline::after(full_time / 8).enter(|| v.check_batch(&tasks));
    let took = started.elapsed();
    eprintln!("bisection of 64: {full_time:?} in full, {took:?} under a deadline of an eighth");
    assert!(
        verdicts
            .iter()
            .all(|v| matches!(v, Verdict::Undecided { .. })),
        "{verdicts:?}"
    );
    assert!(took < full_time / 2, "{took:?} of {full_time:?}");
}

#[test]
fn attest_batch_with_parse_failures_excluded() {
    let v = build(r#"verification_key = "attest/verification_key.json""#);
    let mut tasks: Vec<Task> = many_valid("attest", 12).into_iter().map(task).collect();
    tasks[4] = task(read("attest/invalid/public_too_many.json"));
    tasks[9] = task("{}");
    let verdicts = block_on(v.verify_batch(&tasks));
    for (i, verdict) in verdicts.iter().enumerate() {
        match i {
            4 => assert_invalid(
                verdict,
                "publicSignals has 18 entries, the verification key expects 17",
            ),
            9 => assert_invalid(verdict, "missing field `proof`"),
            _ => assert_eq!(*verdict, Verdict::Valid, "{i}"),
        }
    }
}

#[test]
fn library_check_reports_precise_errors() {
    let v = Groth16Verifier::new(key("attest"), vec![(1, Binding::Performer)]).unwrap();
    let t = &attest_tasks()[0];
    assert!(
        v.check_fields(&t.proof_of_task, &t.performer, &t.data)
            .is_ok()
    );
    assert_eq!(
        v.check_fields(&t.proof_of_task, &Address::ZERO, &t.data),
        Err(ProofError::Binding {
            index: 1,
            expected: "the performer address".into()
        })
    );
    assert!(Groth16Verifier::new(key("attest"), vec![(17, Binding::Performer)]).is_err());
}

// ---- snarkjs groth16 verify ----------------------------------------------

#[test]
fn snarkjs_files_verdicts() {
    for circuit in ["multiplier", "attest"] {
        let vk = read(&format!("{circuit}/verification_key.json"));
        let public = read(&format!("{circuit}/public.json"));
        let proof = read(&format!("{circuit}/proof.json"));
        assert_eq!(
            verify_snarkjs_files(&vk, &public, &proof),
            FilesVerdict::Valid
        );
        let other_public = read(&format!("{circuit}/other_setup/public.json"));
        let other_proof = read(&format!("{circuit}/other_setup/proof.json"));
        assert_eq!(
            verify_snarkjs_files(&vk, &other_public, &other_proof),
            FilesVerdict::Invalid(ProofError::PairingFailed)
        );
    }
    let vk = read("multiplier/verification_key.json");
    let proof = read("multiplier/proof.json");
    assert_eq!(
        verify_snarkjs_files(&vk, r#"["0x01"]"#, &proof),
        FilesVerdict::Invalid(ProofError::PublicSignal {
            index: 0,
            error: DecimalError::NotDecimal
        })
    );
    let unreadable = |verdict: FilesVerdict, needle: &str| match verdict {
        FilesVerdict::Unreadable(why) => assert!(why.contains(needle), "{why}"),
        other => panic!("{other:?}"),
    };
    unreadable(
        verify_snarkjs_files(&vk, "nope", &proof),
        "public signals: not a JSON array of decimal strings",
    );
    unreadable(
        verify_snarkjs_files(&vk, "[]", "{}"),
        "proof: not a snarkjs proof.json: missing field `pi_a`",
    );
    unreadable(
        verify_snarkjs_files("{}", "[]", &proof),
        "verification key: missing field `protocol`",
    );
}
