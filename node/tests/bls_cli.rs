//! `taskproof bls ...`, driven as an operator's script drives it: outputs
//! byte-identical to mcl-wasm's vectors, and every exit code.

#![cfg(feature = "bls")]

use std::process::{Command, Output};

use ark_ec::AffineRepr;
use ark_ff::{Field, PrimeField};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/bls/vectors.json");
const P: &str = "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";
const MESSAGE: &str = "0x4242424242424242424242424242424242424242424242424242424242424242";
const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap()
}

fn bls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .arg("bls")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn key_file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

fn xy(point: &Value) -> String {
    format!(
        r#"{{"x":"{}","y":"{}"}}"#,
        point["x"].as_str().unwrap(),
        point["y"].as_str().unwrap()
    )
}

/// What `public-key` and `sign` print for KEY over MESSAGE.
fn key_and_signature() -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = key_file(&dir, "key", KEY.as_bytes());
    let pk = bls(&["public-key", "--key-file", &file]);
    let sig = bls(&["sign", "--key-file", &file, "--message", MESSAGE]);
    assert_eq!(pk.status.code(), Some(0), "{pk:?}");
    assert_eq!(sig.status.code(), Some(0), "{sig:?}");
    (stdout(&pk), stdout(&sig))
}

fn verify(public_key: &str, signature: &str) -> Output {
    bls(&[
        "verify",
        "--public-key",
        public_key,
        "--message",
        MESSAGE,
        "--signature",
        signature,
    ])
}

fn word(hex: &str, add_p: bool) -> String {
    let n = alloy_primitives::U256::from_str_radix(&hex[2..], 16).unwrap();
    let p = alloy_primitives::U256::from_str_radix(&P[2..], 16).unwrap();
    format!("{:#066x}", if add_p { n + p } else { n })
}

#[test]
fn public_keys_and_signatures_match_mcl_for_every_vector() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    for (i, case) in v["cases"].as_array().unwrap().iter().enumerate() {
        let key = case["key"].as_str().unwrap();
        // As an operator's file holds it: a trailing newline, maybe spaces.
        let file = key_file(&dir, &format!("key{i}"), format!("  {key}\n").as_bytes());
        let domain = v["domains"][case["domain"].as_str().unwrap()]
            .as_str()
            .unwrap();
        let message = case["message"].as_str().unwrap();

        let pk = bls(&["public-key", "--key-file", &file]);
        assert_eq!(pk.status.code(), Some(0), "{pk:?}");
        let want: Value = case["publicKey"].clone();
        assert_eq!(
            stdout(&pk),
            serde_json::to_string(&want).unwrap(),
            "key {key:?}"
        );

        let sig = bls(&[
            "sign",
            "--key-file",
            &file,
            "--message",
            message,
            "--domain",
            domain,
        ]);
        assert_eq!(sig.status.code(), Some(0), "{sig:?}");
        assert_eq!(stdout(&sig), xy(&case["signature"]), "key {key:?}");
        if key.len() > 16 {
            let digits = key.trim_start_matches("0x");
            assert!(!stdout(&sig).contains(digits) && !stderr(&sig).contains(digits));
        }

        let h = bls(&["hash-to-point", "--message", message, "--domain", domain]);
        assert_eq!(stdout(&h), xy(&case["hashToPoint"]));

        let ok = bls(&[
            "verify",
            "--public-key",
            &stdout(&pk),
            "--message",
            message,
            "--signature",
            &stdout(&sig),
            "--domain",
            domain,
        ]);
        assert_eq!(ok.status.code(), Some(0), "{ok:?}");
        assert_eq!(stdout(&ok), "valid");
    }
}

#[test]
fn the_domain_defaults_to_tasks_manager() {
    let v = vectors();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["domain"] == "TasksManager")
        .unwrap();
    let message = case["message"].as_str().unwrap();
    let h = bls(&["hash-to-point", "--message", message]);
    assert_eq!(h.status.code(), Some(0), "{h:?}");
    assert_eq!(stdout(&h), xy(&case["hashToPoint"]));
}

#[test]
fn signature_over_another_message_exits_1() {
    let (pk, sig) = key_and_signature();
    let out = bls(&[
        "verify",
        "--public-key",
        &pk,
        "--message",
        &format!("0x{}", "43".repeat(32)),
        "--signature",
        &sig,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: the signature does not match the public key, message and domain"
    );
    let other_domain = bls(&[
        "verify",
        "--public-key",
        &pk,
        "--message",
        MESSAGE,
        "--signature",
        &sig,
        "--domain",
        "0x536e32096d745cb431ecc9c1df62d1566bc52bb6b2e3c32cf4666bcae127fc6d",
    ]);
    assert_eq!(other_domain.status.code(), Some(1), "{other_domain:?}");
}

#[test]
fn signature_coordinate_aliased_by_p_exits_1_before_pairing() {
    let (pk, sig) = key_and_signature();
    let sig: Value = serde_json::from_str(&sig).unwrap();
    let aliased = format!(
        r#"{{"x":"{}","y":"{}"}}"#,
        word(sig["x"].as_str().unwrap(), true),
        sig["y"].as_str().unwrap()
    );
    let out = verify(&pk, &aliased);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: signature: x is not below the field modulus p"
    );
}

#[test]
fn public_key_coordinate_aliased_by_p_exits_1() {
    let (pk, sig) = key_and_signature();
    let mut words: Vec<String> = serde_json::from_str(&pk).unwrap();
    words[1] = word(&words[1], true);
    let out = verify(&serde_json::to_string(&words).unwrap(), &sig);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: public key: x.c1 is not below the field modulus p"
    );
}

#[test]
fn infinity_key_and_signature_exit_1() {
    let (pk, sig) = key_and_signature();
    let zero = format!("{:#066x}", 0);
    let out = verify(&pk, &format!(r#"{{"x":"{zero}","y":"{zero}"}}"#));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: signature: the point is the point at infinity"
    );
    let out = verify(r#"["0x0","0x0","0x0","0x0"]"#, &sig);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: public key: the point is the point at infinity"
    );
}

#[test]
fn points_off_the_curve_exit_1() {
    let (pk, sig) = key_and_signature();
    let out = verify(&pk, r#"{"x":"0x1","y":"0x3"}"#);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: signature: the point is not on the curve"
    );
    let mut words: Vec<String> = serde_json::from_str(&pk).unwrap();
    words[0] = "0x1".into();
    let out = verify(&serde_json::to_string(&words).unwrap(), &sig);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: public key: the point is not on the curve"
    );
}

#[test]
fn public_key_outside_the_subgroup_exits_1() {
    let (_, sig) = key_and_signature();
    // A point of the twist with x = k + u, without cofactor clearing.
    let mut k = ark_bn254::Fq::ONE;
    let rogue = loop {
        let x = ark_bn254::Fq2::new(k, ark_bn254::Fq::ONE);
        if let Some(p) = ark_bn254::G2Affine::get_point_from_x_unchecked(x, false)
            && !p.is_in_correct_subgroup_assuming_on_curve()
        {
            break p;
        }
        k += ark_bn254::Fq::ONE;
    };
    let (x, y) = rogue.xy().unwrap();
    let words: Vec<String> = [x.c0, x.c1, y.c0, y.c1]
        .iter()
        .map(|f| {
            format!(
                "{:#066x}",
                alloy_primitives::U256::from_limbs(f.into_bigint().0)
            )
        })
        .collect();
    let out = verify(&serde_json::to_string(&words).unwrap(), &sig);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "invalid: public key: the point is not in the subgroup of order r"
    );
}

#[test]
fn unparseable_arguments_exit_3() {
    let (pk, sig) = key_and_signature();
    for (public_key, signature, message, want) in [
        ("not json", sig.as_str(), MESSAGE, "--public-key: "),
        (
            r#"["0x1","0x2","0x3"]"#,
            sig.as_str(),
            MESSAGE,
            "expected 4 words",
        ),
        (
            r#"["0x1","0x2","0x3","xyz"]"#,
            sig.as_str(),
            MESSAGE,
            "--public-key: y.c1 is not 0x-hex",
        ),
        (pk.as_str(), r#"{"x":"0x1"}"#, MESSAGE, "--signature: "),
        (
            pk.as_str(),
            r#"{"x":"0x1","y":"1"}"#,
            MESSAGE,
            "--signature: y is not 0x-hex",
        ),
        (
            pk.as_str(),
            r#"["0x1","0x2"]"#,
            MESSAGE,
            "--signature: expected a JSON object",
        ),
        (
            pk.as_str(),
            sig.as_str(),
            "0x1234",
            "--message: expected 0x and 64 hex digits",
        ),
        (
            pk.as_str(),
            sig.as_str(),
            &MESSAGE[2..],
            "--message: expected 0x and 64 hex digits",
        ),
    ] {
        let out = bls(&[
            "verify",
            "--public-key",
            public_key,
            "--message",
            message,
            "--signature",
            signature,
        ]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(stderr(&out).contains(want), "want {want:?} in {out:?}");
        assert!(stdout(&out).is_empty());
    }
    // Unparseable beats refused: a bad key with an unreadable signature is a usage error.
    let out = verify(r#"["0x0","0x0","0x0","0x0"]"#, "{");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let out = bls(&["hash-to-point", "--message", MESSAGE, "--domain", "0xzz"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        stderr(&out).contains("--domain: expected 0x and 64 hex digits"),
        "{out:?}"
    );
}

#[test]
fn oversized_key_file_is_refused_unread_and_unprinted() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = KEY.as_bytes().to_vec();
    big.extend(std::iter::repeat_n(b' ', 8192));
    let file = key_file(&dir, "big", &big);
    let out = bls(&["public-key", "--key-file", &file]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out).contains("4096"), "{out:?}");
    assert!(!stderr(&out).contains(&KEY[2..]) && stdout(&out).is_empty());

    let out = bls(&["public-key", "--key-file", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn bad_key_files_exit_3_without_showing_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let secret_tail = "deadbeefcafef00d";
    for (name, content, want) in [
        ("empty", " \n\t\n".to_owned(), "is empty"),
        (
            "non-ascii",
            format!("0x{secret_tail}é"),
            "characters other than ASCII",
        ),
        ("missing", String::new(), "cannot read the key file"),
    ] {
        let file = if name == "missing" {
            dir.path().join("no-such-key").to_str().unwrap().to_owned()
        } else {
            key_file(&dir, name, content.as_bytes())
        };
        let out = bls(&["sign", "--key-file", &file, "--message", MESSAGE]);
        assert_eq!(out.status.code(), Some(3), "{name}: {out:?}");
        assert!(stderr(&out).contains(want), "{name}: {out:?}");
        assert!(!stderr(&out).contains(secret_tail), "{name}: {out:?}");
    }
    let out = bls(&[
        "sign",
        "--key-file",
        &key_file(&dir, "binary", &[0x30, 0x78, 0xff, 0xfe]),
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn key_file_whitespace_is_trimmed_and_case_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let plain = bls(&[
        "public-key",
        "--key-file",
        &key_file(&dir, "a", KEY.as_bytes()),
    ]);
    let padded = bls(&[
        "public-key",
        "--key-file",
        &key_file(&dir, "b", format!("\n\t {KEY} \r\n").as_bytes()),
    ]);
    assert_eq!(stdout(&plain), stdout(&padded));
    let upper = format!("0x{}", KEY[2..].to_uppercase());
    let upper = bls(&[
        "public-key",
        "--key-file",
        &key_file(&dir, "c", upper.as_bytes()),
    ]);
    assert_eq!(upper.status.code(), Some(0));
    assert_ne!(
        stdout(&plain),
        stdout(&upper),
        "an upper-case key is another BLS key"
    );
}
