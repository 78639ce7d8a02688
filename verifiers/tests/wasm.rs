#![cfg(feature = "wasm")]
//! The `wasm` kind against the committed components of `plugins/`: the
//! example plugins judge like the native kinds, and every hostile plugin
//! ends undecided, with its cause, within the deadline.

mod support;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use taskproof_core::{Address, BuildContext, Task, Verdict, Verifier, deadline::Deadline};
use taskproof_verifiers::builtin_registry;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// One compiled-code cache for the whole test run: the first build of a
/// plugin compiles it, the others read it back.
fn cache() -> String {
    format!("{}/wasm-cache", env!("CARGO_TARGET_TMPDIR"))
}

fn try_build(params: &str) -> Result<Arc<dyn Verifier>, String> {
    let params = if params.contains("cache_dir") {
        params.to_owned()
    } else {
        format!("cache_dir = {:?}\n{params}", cache())
    };
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let root = root();
    let ctx = BuildContext::standalone(&table, &root, &registry);
    registry
        .get("wasm")
        .unwrap()
        .build(&ctx)
        .map_err(|e| e.to_string())
}

fn build(params: &str) -> Arc<dyn Verifier> {
    try_build(params).unwrap_or_else(|e| panic!("{e}"))
}

fn build_err(params: &str) -> String {
    match try_build(params) {
        Ok(_) => panic!("params accepted: {params}"),
        Err(e) => e,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Verifies under a deadline, as the node does; returns the verdict and how
/// long it took.
fn judge(
    v: &dyn Verifier,
    proof_of_task: &str,
    data: &[u8],
    limit: Duration,
) -> (Verdict, Duration) {
    let task = Task::new(proof_of_task, data.to_vec(), Address::ZERO, 1);
    let began = Instant::now();
    let verdict = runtime().block_on(Deadline::after(limit).scope(v.verify(&task)));
    (verdict, began.elapsed())
}

fn undecided_with(verdict: &Verdict, needle: &str) {
    match verdict {
        Verdict::Undecided { cause } => {
            assert!(cause.contains(needle), "cause {cause:?} lacks {needle:?}")
        }
        other => panic!("expected undecided ({needle}), got {other:?}"),
    }
}

fn invalid_with(verdict: &Verdict, needle: &str) {
    match verdict {
        Verdict::Invalid { reason } => assert!(
            reason.contains(needle),
            "reason {reason:?} lacks {needle:?}"
        ),
        other => panic!("expected invalid ({needle}), got {other:?}"),
    }
}

const ATTACKS: &str = "plugins/hostile/attacks/attacks.wasm";
const MERKLE: &str = "plugins/examples/rust/merkle/merkle.wasm";
const STATS: &str = "plugins/examples/rust/reexecute/stats.wasm";
const CLAIM: &str = "plugins/examples/rust/claim/claim.wasm";
const PROGRAM: &str = "plugins/hostile/program/program.wasm";

fn attack(name: &str, extra: &str) -> Arc<dyn Verifier> {
    build(&format!(
        "module = {ATTACKS:?}\nplugin_params = {{ attack = {name:?} }}\n{extra}"
    ))
}

fn airdrop() -> Value {
    let text =
        std::fs::read_to_string(root().join("fixtures/merkle/openzeppelin/airdrop.proofs.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn merkle_plugin() -> Arc<dyn Verifier> {
    let fixture = airdrop();
    build(&format!(
        "module = {MERKLE:?}\nplugin_params = {{ root = {:?}, leaf_encoding = [\"address\", \"uint256\"] }}",
        fixture["root"].as_str().unwrap()
    ))
}

// ---- the example plugins ----

#[cfg(feature = "merkle")]
#[test]
fn merkle_plugin_accepts_every_proof_the_native_kind_accepts() {
    let plugin = merkle_plugin();
    let fixture = airdrop();
    let registry = builtin_registry();
    let native_params: toml::Table = format!(
        "scheme = \"openzeppelin\"\nroot = {:?}\nleaf_encoding = [\"address\", \"uint256\"]",
        fixture["root"].as_str().unwrap()
    )
    .parse()
    .unwrap();
    let root = root();
    let native = registry
        .get("merkle")
        .unwrap()
        .build(&BuildContext::standalone(&native_params, &root, &registry))
        .unwrap();
    for single in fixture["singles"].as_array().unwrap() {
        let proof = single.to_string();
        let (wasm, _) = judge(&*plugin, &proof, b"", Duration::from_secs(5));
        let (native, _) = judge(&*native, &proof, b"", Duration::from_secs(5));
        assert_eq!(wasm, Verdict::Valid, "{proof}");
        assert_eq!(native, Verdict::Valid, "{proof}");
    }
}

/// Compiled code on disk: a whole file is used as it is; a torn, altered or
/// emptied one is never handed to wasmtime but compiled again and replaced.
#[test]
fn compiled_code_on_disk_is_reused_when_whole_and_replaced_when_damaged() {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    let fixture = airdrop();
    let proof = fixture["singles"][0].to_string();
    let params = |dir: &Path| {
        format!(
            "cache_dir = {:?}\nmodule = {MERKLE:?}\nplugin_params = {{ root = {:?}, leaf_encoding = [\"address\", \"uint256\"] }}",
            dir.display().to_string(),
            fixture["root"].as_str().unwrap()
        )
    };
    let check = |v: &dyn Verifier| {
        let (verdict, _) = judge(v, &proof, b"", Duration::from_secs(5));
        assert_eq!(verdict, Verdict::Valid);
    };
    let first = tempfile::tempdir().unwrap();
    check(&*build(&params(first.path())));
    let files: Vec<PathBuf> = std::fs::read_dir(first.path().join("compiled"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "cwasm"));
    let name = files[0].file_name().unwrap().to_owned();
    let original = std::fs::read(&files[0]).unwrap();
    let whole = |contents: &[u8]| {
        let (code, sum) = contents.split_at(contents.len() - 32);
        Sha256::digest(code)[..] == *sum
    };
    assert!(whole(&original));

    // A whole copy under another folder is read, not compiled and rewritten.
    let copy = tempfile::tempdir().unwrap();
    let kept = copy.path().join("compiled").join(&name);
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    std::fs::write(&kept, &original).unwrap();
    let inode = std::fs::metadata(&kept).unwrap().ino();
    check(&*build(&params(copy.path())));
    assert_eq!(std::fs::metadata(&kept).unwrap().ino(), inode);

    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let damages: [(&str, Vec<u8>); 4] = [
        ("flipped", flipped),
        ("torn", original[..original.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("garbage", b"\x7fELF not really".to_vec()),
    ];
    for (what, contents) in damages {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("compiled").join(&name);
        std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
        std::fs::write(&kept, &contents).unwrap();
        check(&*build(&params(dir.path())));
        let replaced = std::fs::read(&kept).unwrap();
        assert!(
            whole(&replaced),
            "{what}: the damaged file was not replaced"
        );
    }
}

#[test]
fn merkle_plugin_rejects_a_proof_for_another_leaf() {
    let plugin = merkle_plugin();
    let mut proof = airdrop()["singles"][0].clone();
    proof["value"][1] = Value::from("1000000000000000001");
    let (verdict, _) = judge(&*plugin, &proof.to_string(), b"", Duration::from_secs(5));
    invalid_with(&verdict, "folds to root");
}

#[test]
fn merkle_plugin_refuses_a_root_inside_the_proof_that_is_not_the_trusted_one() {
    let plugin = merkle_plugin();
    let mut proof = airdrop()["singles"][0].clone();
    proof["root"] = Value::from(format!("0x{}", "11".repeat(32)));
    let (verdict, _) = judge(&*plugin, &proof.to_string(), b"", Duration::from_secs(5));
    invalid_with(&verdict, "another root than the trusted one");
}

#[test]
fn reexecuted_program_output_is_compared_as_json() {
    let program = build(&format!(
        "module = {STATS:?}\nmode = \"reexecute\"\ncompare = \"json\""
    ));
    let data = b"[3, 1.5, 4]";
    let claim = r#"{"sum": 8.5, "count": 3, "max": 4.0, "mean": 2.8333333333333335}"#;
    assert_eq!(
        judge(&*program, claim, data, Duration::from_secs(5)).0,
        Verdict::Valid
    );
    let wrong = r#"{"sum": 8.6, "count": 3, "max": 4.0, "mean": 2.8333333333333335}"#;
    invalid_with(
        &judge(&*program, wrong, data, Duration::from_secs(5)).0,
        "differs from proofOfTask",
    );
    // The program's own failure on the performer's data is the claim failing.
    invalid_with(
        &judge(&*program, claim, b"[]", Duration::from_secs(5)).0,
        "the program failed on the task's data: the input is empty",
    );
}

#[test]
fn reexecuted_program_output_is_compared_as_bytes() {
    let program = build(&format!("module = {STATS:?}\nmode = \"reexecute\""));
    let output = br#"{"count":1,"max":2.0,"mean":2.0,"sum":2.0}"#;
    let claim = format!("0x{}", hex::encode(output));
    assert_eq!(
        judge(&*program, &claim, b"[2]", Duration::from_secs(5)).0,
        Verdict::Valid
    );
    invalid_with(
        &judge(&*program, "0x00", b"[2]", Duration::from_secs(5)).0,
        "differs from proofOfTask",
    );
}

#[test]
fn claim_plugin_checks_the_source_through_an_allowed_http_get() {
    let rt = runtime();
    let base = rt.block_on(support::serve(|path| match path {
        "/price" => support::Reply::Body(br#"{"ethereum":{"usd":3456.0}}"#.to_vec()),
        _ => support::Reply::NotFound,
    }));
    let plugin = build(&format!(
        "module = {CLAIM:?}\nallow_http = [\"{base}/*\"]\n\
         plugin_params = {{ url = \"{base}/price\", source_pointer = \"/ethereum/usd\", claim_pointer = \"/ethPrice\", tolerance_percent = 1.0 }}"
    ));
    let task = |claim: &str| Task::new(claim, Vec::new(), Address::ZERO, 1);
    let within = rt.block_on(
        Deadline::after(Duration::from_secs(5))
            .scope(plugin.verify(&task(r#"{"ethPrice":3460.1}"#))),
    );
    assert_eq!(within, Verdict::Valid);
    let outside = rt.block_on(
        Deadline::after(Duration::from_secs(5)).scope(plugin.verify(&task(r#"{"ethPrice":3600}"#))),
    );
    invalid_with(&outside, "more than 1%");
}

#[test]
fn claim_plugin_is_undecided_when_its_source_is_down() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let plugin = build(&format!(
        "module = {CLAIM:?}\nallow_http = [\"{base}/*\"]\n\
         plugin_params = {{ url = \"{base}/price\", source_pointer = \"/usd\", claim_pointer = \"/ethPrice\" }}"
    ));
    let (verdict, _) = judge(&*plugin, r#"{"ethPrice":1}"#, b"", Duration::from_secs(5));
    undecided_with(&verdict, "the plugin is undecided: http-get");
}

// ---- hostile plugins: each ends undecided, for its own reason, in time ----

#[test]
fn infinite_loop_ends_undecided_at_the_deadline() {
    let plugin = attack("loop", "limits = { fuel = 1000000000000 }");
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_millis(300));
    undecided_with(&verdict, "ran past the verification deadline");
    assert!(took < Duration::from_millis(1500), "stopped after {took:?}");
}

#[test]
fn infinite_loop_ends_undecided_when_its_fuel_runs_out() {
    let plugin = attack("loop", "limits = { fuel = 1000000 }");
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_secs(10));
    undecided_with(&verdict, "ran out of fuel (limits.fuel = 1000000)");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn infinite_loop_ends_at_the_calls_own_timeout() {
    let plugin = attack(
        "loop",
        "limits = { fuel = 1000000000000, timeout_ms = 100 }",
    );
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_secs(10));
    undecided_with(&verdict, "ran past the verification deadline");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn memory_bomb_ends_undecided_at_the_memory_limit() {
    let plugin = attack("memory", "limits = { max_memory_bytes = 67108864 }");
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_secs(10));
    undecided_with(&verdict, "more than limits.max_memory_bytes (67108864)");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn memory_bomb_is_held_to_256_mib_by_default() {
    let plugin = attack("memory", "");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(10));
    undecided_with(&verdict, "more than limits.max_memory_bytes (268435456)");
}

#[test]
fn hundred_megabyte_verdict_message_is_undecided_not_copied() {
    let plugin = attack("output", "");
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_secs(10));
    undecided_with(
        &verdict,
        "is 104857600 bytes, more than limits.max_output_bytes (1048576)",
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn hundred_megabyte_program_output_is_undecided() {
    let program = build(&format!("module = {PROGRAM:?}\nmode = \"reexecute\""));
    let (verdict, _) = judge(&*program, "0x", b"output", Duration::from_secs(10));
    undecided_with(
        &verdict,
        "output is 104857600 bytes, more than limits.max_output_bytes",
    );
}

#[test]
fn trap_is_undecided_not_invalid() {
    let plugin = attack("trap", "");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
    undecided_with(
        &verdict,
        "the plugin trapped: wasm `unreachable` instruction executed",
    );
}

#[test]
fn stack_overflow_is_undecided() {
    let plugin = attack("stack", "");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
    undecided_with(&verdict, "overflowed its stack");
}

#[test]
fn disallowed_http_get_turns_the_plugins_invalid_into_undecided() {
    let plugin = attack("http", "allow_http = [\"https://api.example.com/*\"]");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
    undecided_with(&verdict, "not allowed by allow_http");
    undecided_with(
        &verdict,
        "the plugin said invalid (the source did not answer)",
    );
}

#[test]
fn http_get_without_allow_http_is_refused() {
    let plugin = attack("http", "");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
    undecided_with(&verdict, "allows no URL (allow_http is empty)");
}

#[test]
fn log_flood_is_undecided_at_the_log_line_limit() {
    let plugin = attack("log", "limits = { max_log_lines = 10 }");
    let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
    undecided_with(&verdict, "logged more than limits.max_log_lines (10) lines");
}

#[test]
fn host_call_loop_stops_at_the_deadline() {
    let plugin = attack("host-loop", "limits = { fuel = 1000000000000 }");
    let (verdict, took) = judge(&*plugin, "", b"", Duration::from_millis(300));
    undecided_with(&verdict, "ran past the verification deadline");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn program_attacks_in_reexecute_mode_are_undecided() {
    let program = build(&format!(
        "module = {PROGRAM:?}\nmode = \"reexecute\"\nlimits = {{ fuel = 1000000000000 }}"
    ));
    // Only the loop needs the deadline to end; the others get a long one, so
    // that waiting for a CPU pool slot behind the other tests' hostile
    // plugins never ends them first, with the deadline's cause instead of
    // theirs. The loop's own cause, the epoch stopping it, is pinned by
    // `infinite_loop_ends_undecided_at_the_deadline`.
    for (input, cause, limit) in [
        ("loop", "deadline", Duration::from_millis(500)),
        (
            "memory",
            "more than limits.max_memory_bytes",
            Duration::from_secs(10),
        ),
        ("trap", "the plugin trapped", Duration::from_secs(10)),
        ("stack", "overflowed its stack", Duration::from_secs(10)),
        (
            "output",
            "more than limits.max_output_bytes",
            Duration::from_secs(10),
        ),
    ] {
        let (verdict, took) = judge(&*program, "0x", input.as_bytes(), limit);
        undecided_with(&verdict, cause);
        assert!(took < limit + Duration::from_secs(3), "{input}: {took:?}");
    }
}

#[test]
fn every_call_gets_a_fresh_instance() {
    let plugin = attack("state", "");
    for _ in 0..3 {
        let (verdict, _) = judge(&*plugin, "", b"", Duration::from_secs(5));
        assert_eq!(verdict, Verdict::Valid, "state leaked between calls");
    }
}

/// `reuse_instances`: the instance outlives a call (the point of it, shown
/// by the `state` attack), and one whose call failed is never entered again.
#[test]
fn kept_instances_keep_state_and_one_that_failed_is_never_entered_again() {
    // One call slot, so every call takes the one kept instance.
    let plugin = attack(
        "data",
        "reuse_instances = true\nmax_concurrent_calls = 1\nlimits = { max_memory_bytes = 134217728 }",
    );
    let call = |name: &str, limit: Duration| {
        let (verdict, took) = judge(&*plugin, name, b"", limit);
        assert!(took < limit + Duration::from_secs(3), "{name}: {took:?}");
        verdict
    };
    let long = Duration::from_secs(10);
    assert_eq!(call("state", long), Verdict::Valid);
    // The same instance: the plugin's own undecided keeps it, too.
    undecided_with(&call("state", long), "state leaked: call 1");
    undecided_with(&call("state", long), "state leaked: call 2");
    for (attack, cause, limit) in [
        ("trap", "the plugin trapped", long),
        ("stack", "overflowed its stack", long),
        ("memory", "more than limits.max_memory_bytes", long),
        ("loop", "deadline", Duration::from_millis(300)),
        ("log", "max_log_lines", long),
        // Returns (its message is too long), but its memory passed half the
        // limit: dropped all the same.
        ("output", "more than limits.max_output_bytes", long),
    ] {
        undecided_with(&call(attack, limit), cause);
        assert_eq!(
            call("state", long),
            Verdict::Valid,
            "the instance that ran {attack} was entered again"
        );
        undecided_with(&call("state", long), "state leaked: call 1");
    }
}

/// Calls queue for the plugin's drainers; one whose deadline passed while it
/// waited behind a looping call is answered without being run, so a queue
/// behind a hostile call empties at the deadline, not one deadline per call.
#[test]
fn calls_queued_behind_a_looping_call_end_at_their_own_deadline() {
    let plugin = attack("loop", "max_concurrent_calls = 1");
    let rt = runtime();
    let began = Instant::now();
    let verdicts = rt.block_on(async {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let plugin = Arc::clone(&plugin);
            calls.spawn(async move {
                let task = Task::new("", Vec::new(), Address::ZERO, 1);
                Deadline::after(Duration::from_millis(300))
                    .scope(plugin.verify(&task))
                    .await
            });
        }
        calls.join_all().await
    });
    let took = began.elapsed();
    assert_eq!(verdicts.len(), 16);
    let waited = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Undecided { cause } if cause.contains("while the call waited")))
        .count();
    for verdict in &verdicts {
        undecided_with(verdict, "deadline");
    }
    assert!(
        waited >= 14,
        "{waited} of 16 answered without running: {verdicts:?}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

// ---- refused at load ----

#[test]
fn component_importing_wasi_is_refused_at_load_naming_the_import() {
    let e = build_err("module = \"plugins/hostile/imports-wasi/imports-wasi.wasm\"");
    assert!(e.contains("`params.module`"), "{e}");
    assert!(e.contains("imports `wasi:clocks/wall-clock@0.2.0`"), "{e}");
}

#[test]
fn component_without_the_verify_export_is_refused_naming_it() {
    let e = build_err(&format!("module = {STATS:?}"));
    assert!(e.contains("`params.module`"), "{e}");
    assert!(e.contains("does not export `verify`"), "{e}");
    assert!(e.contains("it exports `execute`"), "{e}");
}

#[test]
fn verifier_plugin_cannot_be_reexecuted_with_host_imports() {
    let e = build_err(&format!("module = {MERKLE:?}\nmode = \"reexecute\""));
    assert!(e.contains("imports `taskproof:verifier/host@0.1.0`"), "{e}");
    assert!(e.contains("may import nothing"), "{e}");
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let e = build_err("module = \"fixtures/merkle/openzeppelin/airdrop.proofs.json\"");
    assert!(
        e.contains("`params.module`: not a WebAssembly component"),
        "{e}"
    );
}

#[test]
fn a_module_by_url_is_refused() {
    let e = build_err("module = \"https://example.com/plugin.wasm\"");
    assert!(e.contains("never trusted by URL"), "{e}");
}

#[test]
fn params_errors_name_their_key() {
    let cases = [
        (
            format!("module = {MERKLE:?}\ncompare = \"json\""),
            "`params.compare`",
        ),
        (
            format!("module = {MERKLE:?}\nallow_http = [\"https://*.example.com/\"]"),
            "`params.allow_http[0]`",
        ),
        (
            format!("module = {MERKLE:?}\nlimits = {{ max_memory_bytes = 4294967296 }}"),
            "`params.limits.max_memory_bytes`",
        ),
        (
            format!("module = {MERKLE:?}\nlimits = {{ fuel = 0 }}"),
            "`params.limits.fuel`",
        ),
        (
            format!("module = {MERKLE:?}\nlimits = {{ fuell = 1 }}"),
            "`params.limits.fuell`",
        ),
        (
            format!(
                "module = {STATS:?}\nmode = \"reexecute\"\nallow_http = [\"https://a.example/*\"]"
            ),
            "`params.allow_http`",
        ),
        (
            format!("module = {STATS:?}\nmode = \"reexecute\"\nreuse_instances = true"),
            "`params.reuse_instances`",
        ),
        (
            format!("module = {MERKLE:?}\ngateways = [\"http://127.0.0.1:1\"]"),
            "`params.gateways`",
        ),
        (
            "module = \"ipfs://bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba\""
                .to_owned(),
            "`params.gateways`",
        ),
        (
            "module = \"plugins/none.wasm\"".to_owned(),
            "`params.module`: cannot read",
        ),
    ];
    for (params, key) in cases {
        let e = build_err(&params);
        assert!(e.contains(key), "{params}: {e}");
    }
}

// ---- a module named by a CID ----

#[test]
fn module_by_cid_is_fetched_proven_and_kept_by_cid() {
    let bytes = std::fs::read(root().join(MERKLE)).unwrap();
    let cid = taskproof_verifiers::ipfs::cid_of(
        &bytes,
        taskproof_verifiers::ipfs::ImportProfile::UnixfsV1_2025,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let served = bytes.clone();
    let name = cid.to_string();
    let gateway = rt.block_on(support::serve(move |path| {
        if path == format!("/ipfs/{name}") {
            support::Reply::Body(served.clone())
        } else {
            support::Reply::NotFound
        }
    }));
    let params = |gateway: &str| {
        format!(
            "module = \"ipfs://{cid}\"\ngateways = [{gateway:?}]\ncache_dir = {:?}\n\
             plugin_params = {{ root = {:?}, leaf_encoding = [\"address\", \"uint256\"] }}",
            dir.path(),
            airdrop()["root"].as_str().unwrap()
        )
    };
    let plugin = build(&params(&gateway));
    let proof = airdrop()["singles"][2].to_string();
    assert_eq!(
        judge(&*plugin, &proof, b"", Duration::from_secs(5)).0,
        Verdict::Valid
    );
    assert!(dir.path().join("modules").join(cid.to_string()).exists());
    // The gateway is gone: the module comes from the cache, proven again.
    drop(rt);
    let again = build(&params("http://127.0.0.1:1"));
    assert_eq!(
        judge(&*again, &proof, b"", Duration::from_secs(5)).0,
        Verdict::Valid
    );
}

#[test]
fn module_from_a_lying_gateway_is_refused_at_load() {
    let bytes = std::fs::read(root().join(MERKLE)).unwrap();
    let cid = taskproof_verifiers::ipfs::cid_of(
        &bytes,
        taskproof_verifiers::ipfs::ImportProfile::UnixfsV1_2025,
    )
    .unwrap();
    let attacks = std::fs::read(root().join(ATTACKS)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let gateway = rt.block_on(support::serve(move |path| {
        if path.starts_with("/ipfs/") && !path.contains("format=car") {
            support::Reply::Body(attacks.clone())
        } else {
            support::Reply::NotFound
        }
    }));
    let e = build_err(&format!(
        "module = \"ipfs://{cid}\"\ngateways = [{gateway:?}]\ncache_dir = {:?}",
        dir.path()
    ));
    assert!(e.contains("`params.module`"), "{e}");
    assert!(e.contains("could not be retrieved"), "{e}");
    assert!(e.contains("do not give CID"), "{e}");
    assert!(!dir.path().join("modules").join(cid.to_string()).exists());
}

#[test]
fn a_tampered_module_cache_is_not_trusted() {
    let bytes = std::fs::read(root().join(MERKLE)).unwrap();
    let cid = taskproof_verifiers::ipfs::cid_of(
        &bytes,
        taskproof_verifiers::ipfs::ImportProfile::UnixfsV1_2025,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("modules")).unwrap();
    std::fs::copy(
        root().join(ATTACKS),
        dir.path().join("modules").join(cid.to_string()),
    )
    .unwrap();
    // With no gateway answering, the tampered file must not be used.
    let e = build_err(&format!(
        "module = \"ipfs://{cid}\"\ngateways = [\"http://127.0.0.1:1\"]\ncache_dir = {:?}",
        dir.path()
    ));
    assert!(e.contains("could not be retrieved"), "{e}");
}

// ---- the JavaScript and Python plugins ----

/// The JavaScript Merkle plugin on the airdrop's root, with `extra` params.
fn js_merkle_plugin(fixture: &Value, extra: &str) -> Arc<dyn Verifier> {
    build(&format!(
        "module = \"plugins/examples/js/merkle.wasm\"\n{extra}\nplugin_params = {{ root = {:?}, leaf_encoding = [\"address\", \"uint256\"] }}",
        fixture["root"].as_str().unwrap()
    ))
}

#[test]
fn js_merkle_plugin_judges_like_the_rust_one() {
    let fixture = airdrop();
    let plugin = js_merkle_plugin(&fixture, "");
    for single in fixture["singles"].as_array().unwrap().iter().take(4) {
        let (verdict, _) = judge(&*plugin, &single.to_string(), b"", Duration::from_secs(10));
        assert_eq!(verdict, Verdict::Valid, "{single}");
    }
    let mut proof = fixture["singles"][0].clone();
    proof["value"][1] = Value::from("1000000000000000001");
    invalid_with(
        &judge(&*plugin, &proof.to_string(), b"", Duration::from_secs(10)).0,
        "folds to root",
    );
}

/// Each call on a runtime of its own, dropped as soon as the call returns
/// (as `judge` does): a drainer whose turn ends with the next call waiting
/// must carry on without any runtime, or the queue is stranded.
#[test]
fn calls_from_short_lived_runtimes_never_strand_the_queue() {
    let fixture = airdrop();
    let plugin = js_merkle_plugin(&fixture, "max_concurrent_calls = 1");
    let proof = fixture["singles"][1].to_string();
    for i in 0..40 {
        let (verdict, took) = judge(&*plugin, &proof, b"", Duration::from_secs(20));
        assert_eq!(verdict, Verdict::Valid, "call {i}");
        assert!(took < Duration::from_secs(20), "call {i}: {took:?}");
    }
}

#[test]
fn js_and_python_claim_plugins_get_their_source_through_the_host() {
    let rt = runtime();
    let base = rt.block_on(support::serve(|path| match path {
        "/price" => support::Reply::Body(br#"{"ethereum":{"usd":3456.0}}"#.to_vec()),
        _ => support::Reply::NotFound,
    }));
    for module in [
        "plugins/examples/js/claim.wasm",
        "plugins/examples/python/claim.wasm",
    ] {
        let plugin = build(&format!(
            "module = {module:?}\nallow_http = [\"{base}/*\"]\n\
             plugin_params = {{ url = \"{base}/price\", source_pointer = \"/ethereum/usd\", claim_pointer = \"/ethPrice\", tolerance_percent = 1.0 }}"
        ));
        let task = |claim: &str| Task::new(claim, Vec::new(), Address::ZERO, 1);
        let verdict = |claim: &str| {
            rt.block_on(Deadline::after(Duration::from_secs(10)).scope(plugin.verify(&task(claim))))
        };
        assert_eq!(
            verdict(r#"{"ethPrice":3460.1}"#),
            Verdict::Valid,
            "{module}"
        );
        invalid_with(&verdict(r#"{"ethPrice":3600}"#), "more than 1");
    }
}

// ---- what a call costs ----

/// The median of `n` calls of `v` on `task`, each a fresh instance.
fn median_call(v: &dyn Verifier, task: &Task, n: usize) -> Duration {
    let rt = runtime();
    let mut took: Vec<Duration> = (0..n)
        .map(|_| {
            let began = Instant::now();
            let verdict = rt.block_on(v.verify(task));
            assert_eq!(verdict, Verdict::Valid);
            began.elapsed()
        })
        .collect();
    took.sort();
    took[n / 2]
}

/// A fresh instance per verification is cheap: the template is prepared at
/// load, memory images are copy-on-write, slots come from the pool. The
/// bounds are loose (a shared, unoptimised test build); the benches
/// (`benches/benches/wasm.rs`) give the figures.
#[test]
fn a_fresh_instance_per_call_costs_microseconds_for_rust_and_milliseconds_for_js() {
    let fixture = airdrop();
    let task = Task::new(
        fixture["singles"][4].to_string(),
        Vec::new(),
        Address::ZERO,
        1,
    );
    let params = format!(
        "plugin_params = {{ root = {:?}, leaf_encoding = [\"address\", \"uint256\"] }}",
        fixture["root"].as_str().unwrap()
    );
    let rust = build(&format!("module = {MERKLE:?}\n{params}"));
    let js = build(&format!(
        "module = \"plugins/examples/js/merkle.wasm\"\n{params}"
    ));
    let empty = attack("valid", "");
    let rust_median = median_call(&*rust, &task, 400);
    let empty_median = median_call(&*empty, &task, 400);
    let js_median = median_call(&*js, &task, 40);
    eprintln!(
        "median verification through the CPU pool: rust merkle plugin {rust_median:?}, empty plugin {empty_median:?}, js merkle plugin {js_median:?}"
    );
    assert!(rust_median < Duration::from_millis(2), "{rust_median:?}");
    assert!(js_median < Duration::from_millis(50), "{js_median:?}");
}
