#![cfg(feature = "wasm")]
//! The node with a hostile WebAssembly plugin: while the plugin loops until
//! its deadline on every request it gets, the node keeps answering the other
//! task definitions (a native kind and another plugin) at full speed, and
//! the hostile requests end undecided with their cause.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{ROOT, fixture, post, start};

fn config() -> String {
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let root = airdrop["root"].as_str().unwrap();
    let cache = format!("{}/wasm-cache", env!("CARGO_TARGET_TMPDIR"));
    format!(
        r#"
[node]
listen = "127.0.0.1:0"

[[task_definitions]]
id = 1
name = "airdrop-native"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}

[[task_definitions]]
id = 70
name = "airdrop-rust-plugin"
verifier = "wasm"
[task_definitions.params]
module = "{ROOT}/plugins/examples/rust/merkle/merkle.wasm"
cache_dir = "{cache}"
plugin_params = {{ root = "{root}", leaf_encoding = ["address", "uint256"] }}

[[task_definitions]]
id = 99
name = "hostile-loop"
verifier = "wasm"
timeout_ms = 1500
[task_definitions.params]
module = "{ROOT}/plugins/hostile/attacks/attacks.wasm"
cache_dir = "{cache}"
plugin_params = {{ attack = "loop" }}
limits = {{ fuel = 1000000000000 }}
"#
    )
}

fn task(id: u16, proof: &Value) -> String {
    json!({
        "proofOfTask": proof.to_string(),
        "data": "0x",
        "taskDefinitionId": id,
        "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    })
    .to_string()
}

/// Latencies of `n` sequential valid requests to task definition `id`.
async fn timed(node: &support::Node, id: u16, n: usize) -> Vec<Duration> {
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let singles = airdrop["singles"].as_array().unwrap();
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let began = Instant::now();
        let (status, body) = post(
            node,
            "/task/validate",
            task(id, &singles[i % singles.len()]),
        )
        .await;
        took.push(began.elapsed());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], true, "{body}");
    }
    took.sort();
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_keeps_answering_while_a_hostile_plugin_loops() {
    let node = start(&config(), &[]);
    // Warm up (connections, the plugin's first instance).
    timed(&node, 1, 5).await;
    timed(&node, 70, 5).await;
    let native_before = timed(&node, 1, 20).await;
    let plugin_before = timed(&node, 70, 20).await;

    let began = Instant::now();
    let hostile: Vec<_> = (0..4)
        .map(|_| {
            let body = task(99, &json!({}));
            let node_base = node.base.clone();
            tokio::spawn(async move {
                let r = support::client()
                    .post(format!("{node_base}/task/validate"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap(), Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let native_during = timed(&node, 1, 20).await;
    let plugin_during = timed(&node, 70, 20).await;
    let during_ended = began.elapsed();

    for h in hostile {
        let (status, body, ended) = h.await.unwrap();
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], true, "{body}");
        let message = body["message"].as_str().unwrap();
        // The node's deadline answers first; the plugin stops at the same
        // deadline on its thread.
        assert!(
            message.contains("timed out") || message.contains("deadline"),
            "{message}"
        );
        assert!(
            ended.duration_since(began) < Duration::from_millis(1500 + 1500),
            "a hostile request ended {:?} after it was sent",
            ended.duration_since(began)
        );
    }
    assert!(
        during_ended < Duration::from_millis(1400),
        "the other requests were measured while the plugin looped"
    );
    let median = |v: &[Duration]| v[v.len() / 2];
    eprintln!(
        "median latency, before / while a hostile plugin loops: native merkle {:?} / {:?}, rust plugin {:?} / {:?}",
        median(&native_before),
        median(&native_during),
        median(&plugin_before),
        median(&plugin_during)
    );
    // Full speed: the medians stay within a few milliseconds of before (the
    // machine is shared; the hostile plugin holds one CPU pool slot of two).
    let slack = Duration::from_millis(20);
    assert!(median(&native_during) <= median(&native_before) * 2 + slack);
    assert!(median(&plugin_during) <= median(&plugin_before) * 2 + slack);
}
