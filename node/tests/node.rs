//! Drives the real `taskproof` binary over HTTP on 127.0.0.1.

mod support;

use std::{path::PathBuf, process::Command, time::Duration};

use serde_json::{Value, json};
use support::{ROOT, client, fixture, post, start};

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
    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "x", "taskDefinitionId": 70000}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "id above u16");
    assert_eq!(
        answer["message"],
        json!("malformed request: taskDefinitionId: expected 0 to 65535, got 70000")
    );
    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "x", "taskDefinitionId": 1, "performer": "0x1234"}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["message"],
        json!(
            "malformed request: performer: expected a 0x-prefixed 20-byte address (0x and 40 hex digits), got \"0x1234\""
        )
    );

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
            "taskproof_verdicts_total{task_definition=\"1\",name=\"airdrop\",kind=\"merkle\",outcome=\"valid\"} 3"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "taskproof_verdicts_total{task_definition=\"1\",name=\"airdrop\",kind=\"merkle\",outcome=\"invalid\"} 1"
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

/// A node served in this process with a journal in memory, so that it signs
/// votes (the binary signs none until a durable journal is configured).
async fn voting_node(config_text: &str, attester_key: &str) -> support::InProcess {
    support::start_in_process(support::InProcessNode {
        config: config_text,
        files: &[],
        attester_key: Some(attester_key),
        registry: &taskproof_verifiers::builtin_registry(),
        journal: Some(std::sync::Arc::new(
            taskproof_consensus::journal::MemoryJournal::default(),
        )),
    })
    .await
    .unwrap()
}

fn send_task(params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": "sendTask", "params": params, "id": 7}).to_string()
}

#[tokio::test]
async fn send_task_votes_exactly_as_ethers_computes() {
    let v = fixture("signatures/vectors.json");
    let key = v["attesterKey"].as_str().unwrap();
    let node = voting_node(&config(""), key).await;
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
    let message = |answer: &Value| answer["error"]["message"].as_str().unwrap_or("").to_owned();
    assert!(
        message(&answer).contains("not the performer 0x3C44"),
        "{answer}"
    );
    // Signature over other data.
    let params = json!([c["proofOfTask"], "0x00", 1, v["performer"], c["signature"]]);
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(answer["error"]["code"], json!(-32002), "{answer}");
    assert!(message(&answer).contains("was made by"), "{answer}");

    let (_, answer) = post(&node, "/", "{\"jsonrpc\": \"2.0\", ".into()).await;
    assert_eq!(answer["error"]["code"], json!(-32700));
    assert!(message(&answer).starts_with("parse error"), "{answer}");
    let (_, answer) = post(
        &node,
        "/",
        json!({"jsonrpc": "2.0", "method": "nope", "id": 1}).to_string(),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32601));
    assert_eq!(message(&answer), "method not found: \"nope\"");
    let (_, answer) = post(&node, "/", send_task(json!(["only", "two"]))).await;
    assert_eq!(answer["error"]["code"], json!(-32602));
    assert_eq!(message(&answer), "sendTask takes 5 to 7 params, got 2");
    let (_, answer) = post(
        &node,
        "/",
        send_task(json!(["p", "not-hex", 1, v["performer"], c["signature"]])),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32602));
    assert!(
        message(&answer).starts_with("params[1] data: expected 0x-prefixed hex bytes"),
        "{answer}"
    );
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
    assert!(message(&answer).contains("needs an explicit signatureType"));
    let (_, answer) = post(
        &node,
        "/",
        json!({"method": "sendTask", "id": 1}).to_string(),
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32600));
    assert_eq!(message(&answer), "`jsonrpc` must be \"2.0\"");

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
            .contains("configure `[consensus] operators`"),
        "{answer}"
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

    // Task definition 20 is restricted to operator 5 and this node has no
    // operator index: a correctly signed task gets the contract's error.
    use alloy_signer::SignerSync;
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let hash = taskproof_node::signing::task_hash("p", b"", performer.address(), 20);
    let signature = performer.sign_hash_sync(&hash).unwrap();
    let restricted = json!([
        "p",
        "0x",
        20,
        performer.address(),
        format!("0x{}", alloy_primitives::hex::encode(signature.as_bytes()))
    ]);
    let (_, answer) = post(&node, "/", send_task(restricted)).await;
    assert_eq!(answer["error"]["code"], json!(-32004), "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"],
        json!("InvalidRestrictedOperator")
    );
    assert_eq!(
        answer["error"]["message"],
        json!("InvalidRestrictedOperator(20, unset)")
    );

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
            && stderr.contains("`params.root`: expected 32 bytes (0x and 64 hex digits), got 1"),
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
        .replace("\"fixtures/", &format!("\"{ROOT}/fixtures/"))
        .replace("\"plugins/", &format!("\"{ROOT}/plugins/"));
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

fn sign_task(
    performer: &alloy_signer_local::PrivateKeySigner,
    proof: &str,
    data: &[u8],
    id: u16,
) -> String {
    use alloy_signer::SignerSync;
    let hash = taskproof_node::signing::task_hash(proof, data, performer.address(), id);
    let signature = performer.sign_hash_sync(&hash).unwrap();
    format!("0x{}", alloy_primitives::hex::encode(signature.as_bytes()))
}

/// Every case of `fixtures/signatures/vectors.json`, made with ethers: the
/// task hash, the performer's signature, and both votes, byte for byte.
#[test]
fn every_vote_vector_matches_what_ethers_signed() {
    let v = fixture("signatures/vectors.json");
    let key = taskproof_node::AttesterKey::parse(v["attesterKey"].as_str().unwrap()).unwrap();
    let performer: alloy_primitives::Address = v["performer"].as_str().unwrap().parse().unwrap();
    let center: alloy_primitives::Address =
        v["attestationCenter"].as_str().unwrap().parse().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    let mut compared = 0;
    for c in cases {
        let proof = c["proofOfTask"].as_str().unwrap();
        let data = alloy_primitives::hex::decode(c["data"].as_str().unwrap()).unwrap();
        let id = u16::try_from(c["taskDefinitionId"].as_u64().unwrap()).unwrap();
        let hash = taskproof_node::signing::task_hash(proof, &data, performer, id);
        assert_eq!(hash.to_string(), c["taskHash"].as_str().unwrap(), "{proof}");
        let signature = alloy_primitives::hex::decode(c["signature"].as_str().unwrap()).unwrap();
        taskproof_node::signing::check_performer_signature(&signature, proof, &data, performer, id)
            .unwrap();
        for (approve, name) in [(true, "approve"), (false, "reject")] {
            let vote = taskproof_node::signing::Vote {
                proof_of_task: proof,
                data: &data,
                performer,
                task_definition_id: id,
                attestation_center: center,
                chain_id: v["chainId"].as_u64().unwrap(),
                is_approved: approve,
            };
            let (vote_hash, signed) = vote.sign(&key);
            let expected = &c["votes"][name];
            assert_eq!(
                vote_hash.to_string(),
                expected["voteHash"].as_str().unwrap()
            );
            assert_eq!(signed.to_string(), expected["signature"].as_str().unwrap());
            compared += 1;
        }
    }
    assert_eq!(compared, 6, "three cases, approve and reject");
}

/// A definition whose source is a closed port: every verdict is undecided.
fn config_with_unreachable_oracle(extra_node: &str) -> String {
    format!(
        r#"{}
[[task_definitions]]
id = 30
name = "price-unreachable"
verifier = "oracle"
[task_definitions.params]
sources = [{{ url = "http://127.0.0.1:9/price", fields = {{ eth = "/eth" }} }}]
fields = {{ eth = {{ pointer = "/eth" }} }}

[[task_definitions]]
id = 21
name = "big-stake"
verifier = "merkle"
minimum_voting_power = "1000000000000000000000"
params = {{ scheme = "rfc6962", root = "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", tree_size = 8 }}
"#,
        config(extra_node)
    )
}

#[tokio::test]
async fn an_undecided_task_is_503_on_validate_and_no_vote_on_send_task() {
    let v = fixture("signatures/vectors.json");
    let node = voting_node(
        &config_with_unreachable_oracle(""),
        v["attesterKey"].as_str().unwrap(),
    )
    .await;
    let proof = json!({"eth": 3000}).to_string();
    let body = json!({"proofOfTask": proof, "taskDefinitionId": 30});
    let (status, answer) = post(&node, "/task/validate", body.to_string()).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["data"], json!(false));
    assert_eq!(answer["error"], json!(true));
    assert!(
        answer["message"].as_str().unwrap().contains("source 0"),
        "{answer}"
    );

    let performer = alloy_signer_local::PrivateKeySigner::random();
    let params = json!([
        proof,
        "0x",
        30,
        performer.address(),
        sign_task(&performer, &proof, b"", 30)
    ]);
    let (status, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["error"]["code"], json!(-32006), "{answer}");
    assert_eq!(answer["error"]["data"]["error"], json!("Undecided"));
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("no vote: this attester abstains: "),
        "{answer}"
    );
}

#[tokio::test]
async fn send_task_mirrors_the_contract_errors_of_this_attester() {
    let v = fixture("signatures/vectors.json");
    let key = v["attesterKey"].as_str().unwrap();
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let proof = valid_proof();
    let signed = |id: u16| {
        json!([
            proof,
            "0x",
            id,
            performer.address(),
            sign_task(&performer, &proof, b"", id)
        ])
    };
    let rfc_proof = r#"{"index":0,"leaf":"0x","treeSize":8,"proof":[]}"#;
    let signed_21 = json!([
        rfc_proof,
        "0x",
        21,
        performer.address(),
        sign_task(&performer, rfc_proof, b"", 21)
    ]);

    // Voting power below a uint256 minimum (given as a decimal string).
    let node = start(
        &config_with_unreachable_oracle("operator_index = 3\nvoting_power = 1000"),
        &[("TASKPROOF_ATTESTER_KEY", key)],
    );
    let (_, answer) = post(&node, "/", send_task(signed_21.clone())).await;
    assert_eq!(answer["error"]["code"], json!(-32003), "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"],
        json!("OperatorDoesNotHaveMinimumVotingPower")
    );
    assert_eq!(
        answer["error"]["message"],
        json!("OperatorDoesNotHaveMinimumVotingPower(3)")
    );
    // A chain this attester does not sign for.
    let mut other_chain = signed(1);
    other_chain
        .as_array_mut()
        .unwrap()
        .extend([json!("ecdsa"), json!(5)]);
    let (_, answer) = post(&node, "/", send_task(other_chain)).await;
    assert_eq!(answer["error"]["code"], json!(-32008), "{answer}");
    assert_eq!(
        answer["error"]["message"],
        json!("this attester signs for chain 17000, not 5")
    );
    drop(node);

    // Enough voting power, given as a decimal string beyond 64 bits.
    let node = voting_node(
        &config_with_unreachable_oracle(
            "operator_index = 3\nvoting_power = \"1000000000000000000000\"",
        ),
        key,
    )
    .await;
    let (_, answer) = post(&node, "/", send_task(signed_21)).await;
    assert!(answer["result"]["voteHash"].is_string(), "{answer}");
    drop(node);

    // No key.
    let node = start(&config_with_unreachable_oracle(""), &[]);
    let (_, answer) = post(&node, "/", send_task(signed(1))).await;
    assert_eq!(answer["error"]["code"], json!(-32007), "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"],
        json!("AttesterKeyNotConfigured")
    );
    drop(node);

    // A key but no AttestationCenter.
    let text = config_with_unreachable_oracle("").replace("attestation_center = ", "# ");
    let node = start(&text, &[("TASKPROOF_ATTESTER_KEY", key)]);
    let (_, answer) = post(&node, "/", send_task(signed(1))).await;
    assert_eq!(answer["error"]["code"], json!(-32007), "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"],
        json!("AttestationCenterNotConfigured")
    );
}

#[tokio::test]
async fn the_attester_key_never_appears_in_what_serve_logs() {
    let v = fixture("signatures/vectors.json");
    let key = v["attesterKey"].as_str().unwrap();
    let mut node = support::start_with(
        &config_with_unreachable_oracle(""),
        support::Start {
            env: &[("TASKPROOF_ATTESTER_KEY", key)],
            log: Some("trace"),
            ..Default::default()
        },
    );
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let proof = valid_proof();
    let params = json!([
        proof,
        "0x",
        1,
        performer.address(),
        sign_task(&performer, &proof, b"", 1)
    ]);
    // The vote is recorded in the default journal next to the config, and
    // signed with the key (ECDSA) and the BLS key derived from it.
    let (_, answer) = post(&node, "/", send_task(params)).await;
    assert_eq!(answer["result"]["approved"], json!(true), "{answer}");
    assert!(
        answer["result"]["blsSignature"]["x"].is_string(),
        "{answer}"
    );
    node.terminate();
    assert!(node.wait_exit(Duration::from_secs(10)).is_some());
    let logs = node.log_text().to_lowercase();
    let attester = v["attester"].as_str().unwrap().to_lowercase();
    assert!(logs.contains(&attester), "the address is logged: {logs}");
    let secret = key.trim_start_matches("0x").to_lowercase();
    for window in [
        &secret[..16],
        &secret[16..32],
        &secret[32..48],
        &secret[48..],
    ] {
        assert!(!logs.contains(window), "a part of the key was logged");
    }
}

#[tokio::test]
async fn ambiguous_or_malleable_requests_are_refused() {
    let v = fixture("signatures/vectors.json");
    let node = start(
        &config(""),
        &[("TASKPROOF_ATTESTER_KEY", v["attesterKey"].as_str().unwrap())],
    );
    // A key given twice: serde_json's Value would keep the last silently.
    let duplicated =
        r#"{"jsonrpc": "2.0", "method": "sendTask", "method": "other", "params": [], "id": 1}"#;
    let (_, answer) = post(&node, "/", duplicated.into()).await;
    assert_eq!(answer["error"]["code"], json!(-32600), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field `method`"),
        "{answer}"
    );
    let duplicated = format!(
        r#"{{"proofOfTask": {proof}, "taskDefinitionId": 1, "taskDefinitionID": 2}}"#,
        proof = serde_json::to_string(&valid_proof()).unwrap()
    );
    let (status, answer) = post(&node, "/task/validate", duplicated).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field"),
        "{answer}"
    );

    // Ids that only look like numbers.
    for id in ["+1", " 1 ", "01", "1.0"] {
        let body = json!({"proofOfTask": valid_proof(), "taskDefinitionId": id});
        let (status, answer) = post(&node, "/task/validate", body.to_string()).await;
        assert_eq!(status, 400, "{id:?}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("taskDefinitionId: expected an integer"),
            "{answer}"
        );
        let performer = alloy_signer_local::PrivateKeySigner::random();
        let params = json!([
            "p",
            "0x",
            id,
            performer.address(),
            sign_task(&performer, "p", b"", 1)
        ]);
        let (_, answer) = post(&node, "/", send_task(params)).await;
        assert_eq!(answer["error"]["code"], json!(-32602), "{id:?}: {answer}");
    }

    // A web page can post text/plain to localhost without a CORS preflight.
    for path in ["/task/validate", "/"] {
        let response = client()
            .post(format!("{}{path}", node.base))
            .header("content-type", "text/plain")
            .body(json!({"proofOfTask": valid_proof(), "taskDefinitionId": 1}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 415, "{path}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("content type must be application/json"),
            "{text}"
        );
    }

    // The high-s twin of a valid performer signature, and foreign v values.
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let proof = valid_proof();
    let good = alloy_primitives::hex::decode(sign_task(&performer, &proof, b"", 1)).unwrap();
    let order = alloy_primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let mut twin = good.clone();
    let s = alloy_primitives::U256::from_be_slice(&good[32..64]);
    twin[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
    twin[64] = if good[64] == 27 { 28 } else { 27 };
    let mut forged = vec![(twin, "upper half of the curve order".to_owned())];
    for v in [0u8, 35, 255] {
        let mut bad = good.clone();
        bad[64] = v;
        forged.push((bad, format!("v is {v}")));
    }
    for (signature, why) in forged {
        let params = json!([
            proof,
            "0x",
            1,
            performer.address(),
            format!("0x{}", alloy_primitives::hex::encode(&signature))
        ]);
        let (_, answer) = post(&node, "/", send_task(params)).await;
        assert_eq!(answer["error"]["code"], json!(-32002), "{why}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(&why),
            "{why}: {answer}"
        );
    }
}

fn check_config(text: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskproof.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bundled_config() -> String {
    std::fs::read_to_string(format!("{ROOT}/taskproof.toml"))
        .unwrap()
        .replace("\"fixtures/", &format!("\"{ROOT}/fixtures/"))
        .replace("\"plugins/", &format!("\"{ROOT}/plugins/"))
}

/// The README's "Adding a task definition" example, appended to the bundled
/// config, passes `check-config` (its `minimum_voting_power` once failed to
/// load at all), with a uint256 minimum too.
#[test]
fn the_readmes_task_definition_example_passes_check_config() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let section = readme
        .split("## Adding a task definition")
        .nth(1)
        .expect("the README has the section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section shows a TOML example");
    let (code, out, err) = check_config(&format!("{}\n{example}", bundled_config()));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("my-airdrop"), "{out}");
    let big = example.replace(
        "minimum_voting_power = 0 ",
        "minimum_voting_power = \"115792089237316195423570985008687907853269984665640564039457584007913129639935\" ",
    );
    assert_ne!(big, example, "the example sets minimum_voting_power");
    let (code, out, err) = check_config(&format!("{}\n{big}", bundled_config()));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("minimum voting power 1157920892"), "{out}");
}

/// What a reviewer of a config most needs to see, `check-config` prints: the
/// insecure test SRS of the bundled EigenDA definition and every `danger`
/// opt-in, as warnings, while a clean file prints none.
#[test]
fn check_config_warns_of_the_test_srs_and_danger_options() {
    let (code, _, err) = check_config(&bundled_config());
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("WARN")
            && err.contains("published test secret")
            && err.contains("task_definition=50"),
        "{err}"
    );
    let merkle = "[[task_definitions]]\nid = 2\nname = \"ct\"\nverifier = \"merkle\"\nparams = { scheme = \"rfc6962\", root = \"0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\", tree_size = 8 }\n";
    let (code, _, err) = check_config(merkle);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("WARN"), "{err}");
    let dangerous = "[[task_definitions]]\nid = 40\nname = \"x\"\nverifier = \"ipfs\"\nparams = { gateways = [\"http://127.0.0.1:9\"], danger = { unavailable_is_invalid = true } }\n";
    let (code, _, err) = check_config(dangerous);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("WARN") && err.contains("danger.unavailable_is_invalid"),
        "{err}"
    );
}

/// Configs that would make a useless or silently broken node are refused at
/// load, with the key named.
#[test]
fn check_config_refuses_what_would_never_work() {
    let definition = "[[task_definitions]]\nid = 2\nname = \"ct\"\nverifier = \"merkle\"\nparams = { scheme = \"rfc6962\", root = \"0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\", tree_size = 8 }\n";
    let (code, _, err) = check_config("[node]\nlisten = \"127.0.0.1:4002\"\n");
    assert_eq!(code, Some(3));
    assert!(err.contains("no task definitions"), "{err}");
    let (code, _, err) = check_config(&format!("[node]\nmax_body_bytes = 0\n{definition}"));
    assert_eq!(code, Some(3));
    assert!(
        err.contains("`node.max_body_bytes`: must be greater than 0"),
        "{err}"
    );
    let (code, _, err) = check_config(&format!("[node]\nidle_timeout_ms = 0\n{definition}"));
    assert_eq!(code, Some(3));
    assert!(err.contains("`node.idle_timeout_ms`"), "{err}");
    // A kind's own retrieval limit longer than the deadline would never act.
    let slow = "[[task_definitions]]\nid = 40\nname = \"ipfs\"\nverifier = \"ipfs\"\n[task_definitions.params]\ngateways = [\"http://127.0.0.1:8080\"]\nretrieval = { total_timeout_ms = 20000 }\n";
    let (code, _, err) = check_config(slow);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("task definition 40: `timeout_ms`")
            && err.contains("allow 20000 ms")
            && err.contains("10000 ms deadline"),
        "{err}"
    );
    let (code, _, err) = check_config(&slow.replace(
        "verifier = \"ipfs\"",
        "verifier = \"ipfs\"\ntimeout_ms = 25000",
    ));
    assert_eq!(code, Some(0), "{err}");
}

/// Files named on the command line or in a config are read with a cap:
/// `/dev/zero` is an error, never an exhausted machine.
#[test]
fn endless_files_are_refused_at_their_cap() {
    let began = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["check-config", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than the 16777216-byte limit"), "{err}");
    let vk = format!("{ROOT}/fixtures/groth16/multiplier/verification_key.json");
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["groth16", "verify", &vk, "/dev/zero", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/zero") && err.contains("limit"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args([
            "verify",
            "--config",
            &format!("{ROOT}/taskproof.toml"),
            "--task-def",
            "1",
            "--proof-of-task",
            "/dev/zero",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = bundled_config().replace("[node]", "[node]\nattester_key_file = \"/dev/zero\"");
    let (code, _, err) = check_config(&text);
    assert_eq!(code, Some(3));
    assert!(
        err.contains("node.attester_key_file") && err.contains("limit"),
        "{err}"
    );
    assert!(began.elapsed() < Duration::from_secs(20));
}
