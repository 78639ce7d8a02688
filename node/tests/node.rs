//! Drives the real `taskproof` binary over HTTP on 127.0.0.1.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn fixture(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{ROOT}/fixtures/{path}")).unwrap())
        .unwrap()
}

/// A node on a free port, killed on drop.
struct Node {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(extra_node: &str) -> String {
    let vectors = fixture("signatures/vectors.json");
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    format!(
        r#"
[node]
listen = "127.0.0.1:0"
attestation_center = "{center}"
chain_id = {chain}
{extra_node}

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}

[[task_definitions]]
id = 20
name = "restricted"
verifier = "merkle"
restricted_operators = [5]
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}
"#,
        center = vectors["attestationCenter"].as_str().unwrap(),
        chain = vectors["chainId"],
        root = airdrop["root"].as_str().unwrap(),
    )
}

fn start(config_text: &str, env: &[(&str, &str)]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("taskproof.toml");
    std::fs::write(&path, config_text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taskproof"));
    cmd.args(["serve", "--config"])
        .arg(&path)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    cmd.env_remove("TASKPROOF_ATTESTER_KEY")
        .env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let (false, Some(addr)) = (sent, line.split("addr=").nth(1)) {
                let addr = addr
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(addr);
                sent = true;
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the node did not start listening");
    Node {
        child,
        base: format!("http://{addr}"),
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn post(node: &Node, path: &str, body: String) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", node.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn valid_proof() -> String {
    fixture("merkle/openzeppelin/airdrop.proofs.json")["singles"][4].to_string()
}

#[tokio::test]
async fn validate_answers_like_othentics_avs_webapi() {
    let node = start(&config(""), &[]);
    for path in ["/task/validate", "/validate_task"] {
        let body = json!({"proofOfTask": valid_proof(), "data": "0x", "taskDefinitionId": 1, "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"});
        let (status, answer) = post(&node, path, body.to_string()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({"data": true, "error": false, "message": null})
        );
    }
    // Othentic's docs spell it taskDefinitionID; execution services send strings.
    let body = json!({"proofOfTask": valid_proof(), "data": "hello", "taskDefinitionID": "1"});
    let (status, answer) = post(&node, "/task/validate", body.to_string()).await;
    assert_eq!(
        (status, answer["data"].clone()),
        (200, json!(true)),
        "{answer}"
    );

    let mut tampered: Value = serde_json::from_str(&valid_proof()).unwrap();
    tampered["value"][1] = json!("1");
    let body = json!({"proofOfTask": tampered.to_string(), "data": "0x", "taskDefinitionId": 1});
    let (status, answer) = post(&node, "/task/validate", body.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"], json!(false));
    assert_eq!(answer["error"], json!(false));
    assert!(
        answer["message"].as_str().unwrap().contains("trusted root"),
        "{answer}"
    );
}

#[tokio::test]
async fn malformed_unknown_and_oversized_requests_get_clear_errors() {
    let node = start(&config("max_body_bytes = 4096"), &[]);
    let (status, answer) = post(&node, "/task/validate", "{not json".into()).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], json!(true));
    assert!(answer["message"].as_str().unwrap().contains("malformed"));

    let (status, _) = post(
        &node,
        "/task/validate",
        json!({"data": "0x", "taskDefinitionId": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "missing proofOfTask");
    let (status, _) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "x", "taskDefinitionId": 70000}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "id above u16");

    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "x", "taskDefinitionId": 7}).to_string(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(answer["message"], json!("TaskDefinitionNotFound(7)"));

    let big = json!({"proofOfTask": "x".repeat(10_000), "taskDefinitionId": 1}).to_string();
    let (status, answer) = post(&node, "/task/validate", big).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"], json!(true));
    assert!(
        answer["message"].as_str().unwrap().contains("4096"),
        "{answer}"
    );

    // The node is still up and counting.
    let metrics = client()
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("taskproof_requests_total{endpoint=\"task_validate\",status=\"413\"} 1"),
        "{metrics}"
    );
    let health: Value = client()
        .get(format!("{}/healthz", node.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], json!("ok"));
}

#[tokio::test]
async fn metrics_count_verdicts_by_definition_and_outcome() {
    let node = start(&config(""), &[]);
    for _ in 0..3 {
        post(
            &node,
            "/task/validate",
            json!({"proofOfTask": valid_proof(), "taskDefinitionId": 1}).to_string(),
        )
        .await;
    }
    post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "{}", "taskDefinitionId": 1}).to_string(),
    )
    .await;
    let metrics = client()
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "taskproof_verdicts_total{task_definition=\"1\",kind=\"merkle\",outcome=\"valid\"} 3"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "taskproof_verdicts_total{task_definition=\"1\",kind=\"merkle\",outcome=\"invalid\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("taskproof_verification_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taskproof_pending_verifications 0"),
        "{metrics}"
    );
}

fn send_task(params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": "sendTask", "params": params, "id": 7}).to_string()
}

#[tokio::test]
async fn send_task_votes_exactly_as_ethers_computes() {
    let v = fixture("signatures/vectors.json");
    let key = v["attesterKey"].as_str().unwrap();
    let node = start(&config(""), &[("TASKPROOF_ATTESTER_KEY", key)]);
    // Case 0 is a CID, not a Merkle proof: the vote is a reject.
    let c = &v["cases"][0];
    let params = json!([
        c["proofOfTask"],
        c["data"],
        c["taskDefinitionId"],
        v["performer"],
        c["signature"]
    ]);
    let (status, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(status, 200);
    let result = &answer["result"];
    assert_eq!(result["approved"], json!(false), "{answer}");
    assert_eq!(result["voteHash"], c["votes"]["reject"]["voteHash"]);
    assert_eq!(result["signature"], c["votes"]["reject"]["signature"]);
    assert_eq!(
        result["attester"].as_str().unwrap().to_lowercase(),
        v["attester"].as_str().unwrap().to_lowercase()
    );
    assert_eq!(answer["id"], json!(7));

    // A valid proof, signed by the performer with ethers' encoding: approved.
    use alloy_signer::SignerSync;
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let proof = valid_proof();
    let hash = taskproof_node::signing::task_hash(&proof, b"", performer.address(), 1);
    let sig = performer.sign_hash_sync(&hash).unwrap();
    let params = json!([
        proof,
        "0x",
        1,
        performer.address(),
        format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes())),
        "ecdsa",
        17000
    ]);
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(answer["result"]["approved"], json!(true), "{answer}");
}

#[tokio::test]
async fn send_task_refuses_bad_signatures_and_bad_requests() {
    let v = fixture("signatures/vectors.json");
    let node = start(
        &config(""),
        &[("TASKPROOF_ATTESTER_KEY", v["attesterKey"].as_str().unwrap())],
    );
    let c = &v["cases"][0];
    // Signed by the performer, but claimed for another performer.
    let params = json!([
        c["proofOfTask"],
        c["data"],
        1,
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        c["signature"]
    ]);
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(answer["error"]["code"], json!(-32002), "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"],
        json!("InvalidPerformerSignature")
    );
    // Signature over other data.
    let params = json!([c["proofOfTask"], "0x00", 1, v["performer"], c["signature"]]);
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(answer["error"]["code"], json!(-32002), "{answer}");

    let (_, answer) = post(&node, "/", "{\"jsonrpc\": \"2.0\", ".into()).await;
    assert_eq!(answer["error"]["code"], json!(-32700));
    let (_, answer) = post(
        &node,
        "/",
        json!({"jsonrpc": "2.0", "method": "nope", "id": 1}).to_string(),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32601));
    let (_, answer) = post(&node, "/", send_task(json!(["only", "two"]))).await;
    assert_eq!(answer["error"]["code"], json!(-32602));
    let (_, answer) = post(
        &node,
        "/",
        send_task(json!(["p", "not-hex", 1, v["performer"], c["signature"]])),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32602));
    let (_, answer) = post(
        &node,
        "/",
        send_task(json!([
            "p",
            "0x",
            1,
            v["performer"],
            c["signature"],
            null,
            5
        ])),
    )
    .await;
    assert_eq!(
        answer["error"]["code"],
        json!(-32602),
        "targetChainId without signatureType: {answer}"
    );
    let (_, answer) = post(
        &node,
        "/",
        json!({"method": "sendTask", "id": 1}).to_string(),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32600));

    let bls = json!([
        c["proofOfTask"],
        c["data"],
        1,
        v["performer"],
        "{\"x\":\"0x01\",\"y\":\"0x02\"}",
        "bls"
    ]);
    let (_, answer) = post(&node, "/", send_task(bls)).await;
    assert_eq!(answer["error"]["code"], json!(-32005), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not supported yet")
    );

    let unknown = json!([
        c["proofOfTask"],
        c["data"],
        9,
        v["performer"],
        c["signature"]
    ]);
    let (_, answer) = post(&node, "/", send_task(unknown)).await;
    assert_eq!(
        answer["error"]["message"],
        json!("TaskDefinitionNotFound(9)")
    );

    // Task definition 20 is restricted to operator 5; this node is unset.
    let hash = taskproof_node::signing::task_hash(
        "p",
        b"",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            .parse()
            .unwrap(),
        20,
    );
    assert_ne!(hash, alloy_primitives::B256::ZERO);
    let restricted = json!(["p", "0x", 20, v["performer"], c["signature"]]);
    let (_, answer) = post(&node, "/", send_task(restricted)).await;
    // The signature was made for task definition 1, so it fails first:
    assert_eq!(answer["error"]["code"], json!(-32002));

    // A batch with a notification: one answer.
    let batch = json!([
        {"jsonrpc": "2.0", "method": "nope", "id": "a"},
        {"jsonrpc": "2.0", "method": "nope"}
    ]);
    let (_, answer) = post(&node, "/", batch.to_string()).await;
    assert_eq!(answer.as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(answer[0]["id"], json!("a"));
}

#[tokio::test]
async fn send_task_mirrors_invalid_restricted_operator() {
    let node = start(
        &config("operator_index = 2"),
        &[(
            "TASKPROOF_ATTESTER_KEY",
            "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        )],
    );
    use alloy_signer::SignerSync;
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let proof = valid_proof();
    let hash = taskproof_node::signing::task_hash(&proof, b"", performer.address(), 20);
    let sig = performer.sign_hash_sync(&hash).unwrap();
    let params = json!([
        proof,
        "0x",
        20,
        performer.address(),
        format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes()))
    ]);
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(
        answer["error"]["message"],
        json!("InvalidRestrictedOperator(20, 2)"),
        "{answer}"
    );
}

#[test]
fn the_attester_key_never_reaches_logs_or_errors() {
    let secret = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskproof.toml");
    std::fs::write(&path, config("")).unwrap();
    // A malformed key (one digit short): the error must not echo it.
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["check-config"])
        .arg(&path)
        .env("TASKPROOF_ATTESTER_KEY", &secret[1..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TASKPROOF_ATTESTER_KEY"), "{stderr}");
    assert!(!stderr.contains(&secret[1..20]), "{stderr}");
}

#[test]
fn sigterm_stops_the_node_cleanly() {
    let mut node = start(&config(""), &[]);
    let pid = node.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the node did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn check_config_reports_the_file_definition_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[task_definitions]]\nid = 4\nname = \"x\"\nverifier = \"merkle\"\nparams = { scheme = \"sha256\", root = \"0x00\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("task definition 4")
            && stderr.contains("params.root"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["check-config", &format!("{ROOT}/taskproof.toml")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("airdrop-claims"));
}

#[test]
fn verify_cli_prints_one_json_line_and_exits_by_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, valid_proof()).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"value\": [], \"proof\": []}").unwrap();
    let config = format!("{ROOT}/taskproof.toml");
    let run = |proof: &PathBuf, def: &str| {
        Command::new(env!("CARGO_BIN_EXE_taskproof"))
            .args([
                "verify",
                "--config",
                &config,
                "--task-def",
                def,
                "--proof-of-task",
            ])
            .arg(proof)
            .output()
            .unwrap()
    };
    let out = run(&good, "1");
    assert_eq!(out.status.code(), Some(0));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["verdict"], json!("valid"));
    assert!(line["elapsed_us"].as_u64().is_some());
    let out = run(&bad, "1");
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["verdict"], json!("invalid"));
    assert!(line["reason"].as_str().is_some());
    assert_eq!(run(&good, "999").status.code(), Some(3));
    assert_eq!(
        run(&dir.path().join("missing.json"), "1").status.code(),
        Some(3)
    );
}

/// The two curl examples of the README, replayed against the bundled config:
/// the first must be valid, the second invalid.
#[tokio::test]
async fn readme_curl_examples_answer_as_documented() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let bodies: Vec<String> = readme
        .lines()
        .filter(|l| l.starts_with("curl ") && l.contains("/task/validate"))
        .map(|l| {
            l.split(" -d '")
                .nth(1)
                .unwrap()
                .trim_end_matches('\'')
                .to_owned()
        })
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "the README shows a valid and an invalid example"
    );
    let text = std::fs::read_to_string(format!("{ROOT}/taskproof.toml"))
        .unwrap()
        .replace("127.0.0.1:4002", "127.0.0.1:0")
        .replace("\"fixtures/", &format!("\"{ROOT}/fixtures/"));
    let node = start(&text, &[]);
    let (status, answer) = post(&node, "/task/validate", bodies[0].clone()).await;
    assert_eq!(
        (status, answer["data"].clone()),
        (200, json!(true)),
        "{answer}"
    );
    let (status, answer) = post(&node, "/task/validate", bodies[1].clone()).await;
    assert_eq!(
        (status, answer["data"].clone()),
        (200, json!(false)),
        "{answer}"
    );
}
