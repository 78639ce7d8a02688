//! The custom attester example (`node/examples/custom_attester.rs`), built by
//! `cargo test` like every example, served and driven over HTTP: a kind
//! registered in a few lines gets the node's endpoints, limits and
//! subcommands.

mod support;

use std::{path::PathBuf, process::Command};

use serde_json::json;

/// Where cargo put the example: `target/<profile>/examples/`, beside the
/// `deps/` folder this test runs from. `cargo test` builds examples; a run
/// filtered to this test (`--test custom_attester`) does not, so then it is
/// built here.
fn example_binary() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile.join("examples").join("custom_attester");
    BUILT.call_once(|| {
        if !binary.exists() {
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "-q",
                    "-p",
                    "taskproof-node",
                    "--example",
                    "custom_attester",
                ])
                .status()
                .unwrap();
            assert!(status.success(), "cannot build the example");
        }
    });
    assert!(binary.exists(), "{} is missing", binary.display());
    binary
}

const CONFIG: &str = r#"
[node]
listen = "127.0.0.1:0"

[[task_definitions]]
id = 7
name = "even-numbers"
verifier = "multiple-of"
params = { divisor = 2 }
"#;

#[tokio::test]
async fn a_custom_kind_is_served_with_the_whole_node() {
    let node = support::start_binary(&example_binary(), CONFIG, &[]);
    let (status, answer) = support::post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "42", "taskDefinitionId": 7}).to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["data"].clone()),
        (200, json!(true)),
        "{answer}"
    );
    let (status, answer) = support::post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "43", "taskDefinitionId": 7}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["message"], json!("43 is not a multiple of 2"));
    // The node's own limits and metrics come with it.
    let (status, _) = support::post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "4", "taskDefinitionId": "007"}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    let (_, metrics) = support::get(&node.base, "/metrics").await;
    assert!(
        metrics.contains("kind=\"multiple-of\",outcome=\"valid\"} 1"),
        "{metrics}"
    );
}

#[test]
fn the_custom_kind_has_located_config_errors_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attester.toml");
    std::fs::write(&path, CONFIG.replace("divisor = 2", "divisor = 0")).unwrap();
    let out = Command::new(example_binary())
        .args(["check-config", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("task definition 7: `params.divisor`: must not be zero"),
        "{err}"
    );
    std::fs::write(&path, CONFIG).unwrap();
    let proof = dir.path().join("proof.txt");
    std::fs::write(&proof, "10").unwrap();
    let out = Command::new(example_binary())
        .args(["verify", "-c"])
        .arg(&path)
        .args(["--task-def", "7", "--proof-of-task"])
        .arg(&proof)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
