//! `taskproof groth16 verify`, driven as a user drives `snarkjs groth16 verify`.

use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/groth16");

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .arg("groth16")
        .arg("verify")
        .args(args.iter().map(|a| {
            if a.starts_with('/') {
                a.to_string()
            } else {
                format!("{FIXTURES}/{a}")
            }
        }))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn valid_proofs_exit_0_like_snarkjs() {
    for circuit in ["multiplier", "attest"] {
        let out = run(&[
            &format!("{circuit}/verification_key.json"),
            &format!("{circuit}/public.json"),
            &format!("{circuit}/proof.json"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(stdout(&out).trim(), "OK!");
    }
}

#[test]
fn proof_of_another_setup_exits_1() {
    let out = run(&[
        "multiplier/verification_key.json",
        "multiplier/other_setup/public.json",
        "multiplier/other_setup/proof.json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("does not verify"), "{out:?}");
}

#[test]
fn public_signals_snarkjs_accepts_but_taskproof_refuses_exit_1() {
    let dir = std::env::temp_dir().join(format!("taskproof-g16-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let public: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/multiplier/public.json")).unwrap(),
    )
    .unwrap();
    let padded = dir.join("public.json");
    std::fs::write(&padded, format!("[\"00{}\"]", public[0])).unwrap();
    let out = run(&[
        "multiplier/verification_key.json",
        padded.to_str().unwrap(),
        "multiplier/proof.json",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).contains("publicSignals[0] has a leading zero"),
        "{out:?}"
    );
}

#[test]
fn unreadable_input_exits_3() {
    let missing = run(&[
        "multiplier/verification_key.json",
        "multiplier/public.json",
        "multiplier/no-such-proof.json",
    ]);
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    // A proof where the key should be.
    let swapped = run(&[
        "multiplier/proof.json",
        "multiplier/public.json",
        "multiplier/verification_key.json",
    ]);
    assert_eq!(swapped.status.code(), Some(3), "{swapped:?}");
    assert!(String::from_utf8_lossy(&swapped.stderr).contains("verification key"));
}
