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

/// `car verify --extract FILE` never truncates or deletes a file it did not
/// create: an existing file is refused without `--force`, kept when the
/// verification fails even with `--force`, and replaced only once the CAR
/// verified; a device is never written to, whatever the flags.
#[test]
fn car_verify_extract_never_destroys_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let car = format!("{ROOT}/fixtures/ipfs/car/multi-unixfs-v0-2015.car");
    let mut bytes = std::fs::read(&car).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = dir.path().join("tampered.car");
    std::fs::write(&tampered, bytes).unwrap();
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let target = precious.to_str().unwrap();

    let (code, _, err) = taskproof(&["car", "verify", &car, "--extract", target]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("exists; pass --force to replace it"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");

    let tampered = tampered.to_str().unwrap();
    let (code, out, _) = taskproof(&["car", "verify", tampered, "--extract", target, "--force"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "keep me",
        "a failed verification does not touch the existing file"
    );

    let (code, _, err) = taskproof(&["car", "verify", &car, "--extract", target, "--force"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(std::fs::metadata(&precious).unwrap().len(), 263_144);

    // No temporary file is left behind by any of the runs.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".taskproof-extract-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    for device in ["/dev/null", "/dev/full"] {
        let (code, _, err) = taskproof(&["car", "verify", &car, "--extract", device, "--force"]);
        assert_eq!(code, Some(3), "{err}");
        assert!(err.contains("is not a regular file"), "{err}");
        assert!(
            std::path::Path::new(device).exists(),
            "{device} is still there"
        );
    }
}

/// A CID is the hash of a file: devices are refused at once (`/dev/zero`
/// would never end), and files whose size `stat` does not know (procfs)
/// are hashed for what they hold, as piping them in would.
#[test]
fn cid_refuses_devices_and_reads_what_procfs_files_hold() {
    let began = std::time::Instant::now();
    let (code, _, err) = taskproof(&["cid", "/dev/zero"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("is a device, not a file"), "{err}");
    assert!(began.elapsed() < std::time::Duration::from_secs(10));
    let (code, _, err) = taskproof(&["cid", "/"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("is a directory"), "{err}");

    // /proc/version: stat says 0 bytes, reading gives the kernel's banner.
    let (code, direct, err) = taskproof(&["cid", "/proc/version"]);
    assert_eq!(code, Some(0), "{err}");
    let piped = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["cid", "-"])
        .stdin(std::fs::File::open("/proc/version").unwrap())
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(direct, String::from_utf8_lossy(&piped.stdout));
    let (_, empty, _) = {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty");
        std::fs::write(&file, b"").unwrap();
        taskproof(&["cid", file.to_str().unwrap()])
    };
    assert_ne!(direct, empty, "/proc/version is not the empty file");
}
