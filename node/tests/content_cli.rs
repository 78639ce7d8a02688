//! `taskproof cid` and `taskproof car verify`, driven as a user would.

use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn taskproof(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cid_prints_what_ipfs_add_only_hash_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("answer.json");
    std::fs::write(&file, "{\"answer\":42,\"source\":\"ipfs\"}\n").unwrap();
    let path = file.to_str().unwrap();
    // The CIDs ipfs-unixfs-importer gives (fixtures/ipfs/cars.json).
    let (code, out, _) = taskproof(&["cid", path]);
    assert_eq!(code, Some(0));
    assert_eq!(out.trim(), "QmYKZqb8jF6nmbTxRPrKtgYjiTg44dSwaTBKrcarRnhQsr");
    let (code, out, _) = taskproof(&["cid", "--profile", "unixfs-v1-2025", path]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.trim(),
        "bafkreiaaoh7prkaz55fotmimggo74zpwty2g7zxvjvtsoqvgmnroq5qdsu"
    );
    let (code, _, err) = taskproof(&["cid", "--profile", "unixfs-v9", path]);
    assert_eq!(code, Some(3), "{err}");
    let (code, _, _) = taskproof(&["cid", "/no/such/file"]);
    assert_eq!(code, Some(3));
}

#[test]
fn car_verify_checks_extracts_and_rejects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let car = format!("{ROOT}/fixtures/ipfs/car/multi-unixfs-v0-2015.car");
    let out_file = dir.path().join("out.bin");
    let out_path = out_file.to_str().unwrap();
    let (code, out, err) = taskproof(&["car", "verify", &car, "--extract", out_path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("QmRVja6XDV77XQY7iVyx2xvpqpoyXAw62WGZ1V55xVfc7J"),
        "{out}"
    );
    assert_eq!(std::fs::metadata(&out_file).unwrap().len(), 263_144);

    let (code, _, _) = taskproof(&[
        "car",
        "verify",
        &car,
        "--root",
        "bafkreiftqcn5vnequfopcrkatooakx2lbe5wcgfmgsp2nal3v3prapfmdm",
    ]);
    assert_eq!(code, Some(1));

    let mut bytes = std::fs::read(&car).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = dir.path().join("tampered.car");
    std::fs::write(&tampered, bytes).unwrap();
    let extract = dir.path().join("never.bin");
    let (code, out, _) = taskproof(&[
        "car",
        "verify",
        tampered.to_str().unwrap(),
        "--extract",
        extract.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(out.contains("does not match its hash"), "{out}");
    assert!(!extract.exists(), "a failed verification leaves no file");
}
