#![cfg(all(feature = "bls", feature = "merkle"))]

//! The vote journal through the real binary: a node killed with SIGKILL
//! while it signs votes under load has recorded every vote a client
//! received, and after the restart never signs the opposite of one, even
//! when it now judges the task the other way; and two replicas of one
//! operator sharing a PostgreSQL journal, racing opposite votes on the same
//! tasks, sign exactly one vote per task.

mod support;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy_signer_local::PrivateKeySigner;
use serde_json::{Value, json};
use support::{Node, client, fixture, start};

/// Concurrent clients while the node is killed.
const CLIENTS: usize = 64;

fn config(journal: &std::path::Path, root: &str) -> String {
    config_with(&journal.display().to_string(), root)
}

fn config_with(journal: &str, root: &str) -> String {
    let vectors = fixture("signatures/vectors.json");
    format!(
        r#"
[node]
listen = "127.0.0.1:0"
attestation_center = "{center}"
chain_id = {chain}

[consensus]
journal = "{journal}"

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}
"#,
        center = vectors["attestationCenter"].as_str().unwrap(),
        chain = vectors["chainId"],
    )
}

fn sign_task(performer: &PrivateKeySigner, proof: &str, data: &[u8]) -> String {
    use alloy_signer::SignerSync;
    let hash = taskproof_node::signing::task_hash(proof, data, performer.address(), 1);
    let signature = performer.sign_hash_sync(&hash).unwrap();
    format!("0x{}", alloy_primitives::hex::encode(signature.as_bytes()))
}

/// The sendTask request for task number `n` (its data is `n`'s bytes, so
/// every task is distinct and every proof the same valid one).
fn request(performer: &PrivateKeySigner, proof: &str, n: u64) -> String {
    let data = n.to_be_bytes();
    json!({
        "jsonrpc": "2.0",
        "method": "sendTask",
        "params": [proof, format!("0x{}", alloy_primitives::hex::encode(data)), 1, performer.address(), sign_task(performer, proof, &data)],
        "id": n,
    })
    .to_string()
}

async fn send(base: &str, body: String) -> Option<Value> {
    let response = client()
        .post(base)
        .header("content-type", "application/json")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_keeps_every_vote_it_gave_and_never_signs_the_opposite() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("votes.redb");
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let root = airdrop["root"].as_str().unwrap().to_owned();
    let proof = airdrop["singles"][4].to_string();
    let key = fixture("signatures/vectors.json")["attesterKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let performer = Arc::new(PrivateKeySigner::random());

    let mut node: Node = start(
        &config(&journal, &root),
        &[("TASKPROOF_ATTESTER_KEY", &key)],
    );
    let base = format!("{}/", node.base);
    // Votes the clients received: (task number, the whole answer).
    let received: Arc<Mutex<Vec<(u64, Value)>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..CLIENTS as u64 {
        let (base, proof, performer, received) = (
            base.clone(),
            proof.clone(),
            Arc::clone(&performer),
            Arc::clone(&received),
        );
        clients.push(tokio::spawn(async move {
            // Each client sends its own tasks, one after another, until the
            // node is gone.
            for i in 0.. {
                let n = c + i * CLIENTS as u64;
                let Some(answer) = send(&base, request(&performer, &proof, n)).await else {
                    break;
                };
                assert_eq!(answer["result"]["approved"], json!(true), "{answer}");
                received.lock().unwrap().push((n, answer));
            }
        }));
    }
    // Kill it mid-stream, once it has answered a few hundred votes.
    let began = Instant::now();
    while received.lock().unwrap().len() < 300 && began.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let received = std::mem::take(&mut *received.lock().unwrap());
    assert!(
        received.len() >= 300,
        "only {} votes before the kill",
        received.len()
    );
    let highest = received.iter().map(|(n, _)| *n).max().unwrap();

    // The same node, restarted with a root under which every proof is
    // invalid: it would now vote to reject each of these tasks.
    let other_root = format!("0x{}", "11".repeat(32));
    let node = start(
        &config(&journal, &other_root),
        &[("TASKPROOF_ATTESTER_KEY", &key)],
    );
    let base = format!("{}/", node.base);
    for (n, _) in &received {
        let answer = send(&base, request(&performer, &proof, *n)).await.unwrap();
        assert_eq!(
            answer["error"]["data"]["error"],
            json!("MessageAlreadySigned"),
            "task {n}: {answer}"
        );
    }
    // A task it never saw gets its (reject) vote: the refusals above come
    // from the journal, not from a node that signs nothing.
    let fresh = send(&base, request(&performer, &proof, highest + 1_000_000))
        .await
        .unwrap();
    assert_eq!(fresh["result"]["approved"], json!(false), "{fresh}");
}

/// A throwaway PostgreSQL server (`scripts/postgres.sh`), stopped on drop.
struct Postgres {
    dir: tempfile::TempDir,
    url: String,
}

const POSTGRES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");

impl Postgres {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(POSTGRES)
            .args(["start".as_ref(), dir.path().as_os_str()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "postgres.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Self { dir, url }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new(POSTGRES)
            .args(["stop".as_ref(), self.dir.path().as_os_str()])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_sharing_a_postgres_journal_never_sign_both_answers() {
    let server = Postgres::start();
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let proof = airdrop["singles"][4].to_string();
    let key = fixture("signatures/vectors.json")["attesterKey"]
        .as_str()
        .unwrap()
        .to_owned();
    // One replica approves every task (the right root), the other rejects
    // every task (another root): without the shared journal both would sign.
    let approver = start(
        &config_with(&server.url, airdrop["root"].as_str().unwrap()),
        &[("TASKPROOF_ATTESTER_KEY", &key)],
    );
    let rejecter = start(
        &config_with(&server.url, &format!("0x{}", "22".repeat(32))),
        &[("TASKPROOF_ATTESTER_KEY", &key)],
    );
    let performer = Arc::new(PrivateKeySigner::random());
    let tasks = 150u64;
    let mut races = Vec::new();
    for n in 0..tasks {
        let mut bases = [format!("{}/", approver.base), format!("{}/", rejecter.base)];
        // Neither replica is always asked first.
        if n % 2 == 1 {
            bases.reverse();
        }
        for base in bases {
            let (proof, performer) = (proof.clone(), Arc::clone(&performer));
            races.push(tokio::spawn(async move {
                (
                    n,
                    send(&base, request(&performer, &proof, n)).await.unwrap(),
                )
            }));
        }
    }
    let mut signed = vec![Vec::new(); tasks as usize];
    let mut refused = vec![0; tasks as usize];
    for race in races {
        let (n, answer) = race.await.unwrap();
        if let Some(approved) = answer["result"]["approved"].as_bool() {
            signed[n as usize].push(approved);
        } else {
            assert_eq!(
                answer["error"]["data"]["error"],
                json!("MessageAlreadySigned"),
                "task {n}: {answer}"
            );
            refused[n as usize] += 1;
        }
    }
    for n in 0..tasks as usize {
        assert_eq!(
            (signed[n].len(), refused[n]),
            (1, 1),
            "task {n}: votes signed {:?}",
            signed[n]
        );
    }
    // Both answers won some races: the two replicas really raced.
    let approvals = signed.iter().filter(|s| s[0]).count();
    assert!(
        approvals > 0 && approvals < tasks as usize,
        "{approvals} of {tasks} approved"
    );
}
