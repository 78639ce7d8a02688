//! The node under attack: the real binary, started with an address-space
//! cap, against clients that send slowly, never finish, never read, hold
//! connections open or send megabytes of invalid proof. Each test names the
//! attack and checks the bound that defeats it (time, memory, log output,
//! connections) with a short-timeout config so the suite runs in seconds.

mod support;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::{Node, Start, client, fixture, get, post, start_with};

/// The node's address space may not grow past this (the binary maps about
/// 100 MiB of code and thread stacks before serving).
const MEMORY_CAP: u64 = 1 << 30;

fn merkle_config(extra_node: &str) -> String {
    let airdrop = fixture("merkle/openzeppelin/airdrop.proofs.json");
    format!(
        r#"
[node]
listen = "127.0.0.1:0"
{extra_node}

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}
"#,
        root = airdrop["root"].as_str().unwrap(),
    )
}

fn capped(config: &str) -> Node {
    start_with(
        config,
        Start {
            memory_cap_bytes: Some(MEMORY_CAP),
            ..Start::default()
        },
    )
}

fn connect(node: &Node) -> TcpStream {
    let stream = TcpStream::connect(&node.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection (or 20 s pass): returns
/// what was read and how long it took.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let began = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
    (received, began.elapsed())
}

fn valid_request() -> String {
    let proof = fixture("merkle/openzeppelin/airdrop.proofs.json")["singles"][4].to_string();
    let body = json!({"proofOfTask": proof, "taskDefinitionId": 1}).to_string();
    format!(
        "POST /task/validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Slowloris: a valid request sent one byte at a time never completes its
/// headers within the header timeout, and the node closes the connection.
#[test]
fn a_slowloris_client_is_cut_off_at_the_header_timeout() {
    let node = capped(&merkle_config("header_read_timeout_ms = 500"));
    let mut stream = connect(&node);
    let request = valid_request();
    let began = Instant::now();
    let mut closed = false;
    for byte in request.as_bytes() {
        if stream.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        if began.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let (received, _) = read_until_closed(&mut stream);
    let elapsed = began.elapsed();
    assert!(
        closed || received.is_empty() || !String::from_utf8_lossy(&received).contains("200 OK"),
        "the trickled request was served"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}, not at the 500 ms header timeout"
    );
    // The node serves everyone else meanwhile.
    let (status, _) = tokio_block(get(&node.base, "/healthz"));
    assert_eq!(status, 200);
}

/// Idle connections (opened, never used) are closed after the idle timeout,
/// so they cannot pile up until the file limit.
#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let node = capped(&merkle_config("idle_timeout_ms = 400"));
    let mut idle: Vec<TcpStream> = (0..200).map(|_| connect(&node)).collect();
    let began = Instant::now();
    for stream in &mut idle {
        let (received, _) = read_until_closed(stream);
        assert!(received.is_empty());
    }
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "idle connections lived {:?}",
        began.elapsed()
    );
    // A connection kept alive between requests is closed the same way.
    let mut stream = connect(&node);
    stream.write_all(valid_request().as_bytes()).unwrap();
    let (received, waited) = read_until_closed(&mut stream);
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""data":true"#), "{text}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

/// With every connection slot taken, `/healthz` and `/metrics` still answer
/// (on a reserve connection and on the admin listener), validation gets a
/// clear 503, and the cap is logged once, not once per connection.
#[tokio::test]
async fn a_saturated_node_still_answers_health_and_metrics() {
    let node = capped(&merkle_config(
        "max_connections = 8\nidle_timeout_ms = 60000\nadmin_listen = \"127.0.0.1:0\"",
    ));
    let hogs: Vec<TcpStream> = (0..8).map(|_| connect(&node)).collect();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        let (status, body) = get(&node.base, "/healthz").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"ok\""), "{body}");
    }
    let (status, body) = get(&node.base, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("taskproof_refusals_total{reason=\"connection_limit\"}"),
        "{body}"
    );
    assert!(body.contains("taskproof_open_connections 8"), "{body}");
    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "{}", "taskDefinitionId": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("connection limit reached"),
        "{answer}"
    );
    let admin = format!("http://{}", node.admin.as_deref().expect("admin listener"));
    let (status, _) = get(&admin, "/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = get(&admin, "/task/validate").await;
    assert_eq!(status, 404, "the admin listener serves no validation");
    let logged = node.log_text().matches("connection limit reached").count();
    assert!((1..=3).contains(&logged), "logged {logged} times");
    drop(hogs);
}

/// A connection holding half a request head cannot hold up shutdown past
/// `shutdown_timeout_ms`.
#[test]
fn a_half_sent_request_does_not_block_shutdown() {
    let mut node = capped(&merkle_config(
        "header_read_timeout_ms = 60000\nshutdown_timeout_ms = 500",
    ));
    let mut stream = connect(&node);
    stream
        .write_all(b"POST /task/validate HTTP/1.1\r\nhost: x\r\ncontent-le")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    node.terminate();
    let status = node
        .wait_exit(Duration::from_secs(10))
        .expect("the node did not stop");
    assert!(status.success(), "{status:?}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        began.elapsed()
    );
}

/// A megabyte of invalid proof gets a short reply and a short log line,
/// and a flood of them writes a bounded amount of log.
#[tokio::test]
async fn a_megabyte_invalid_proof_gets_a_short_reply_and_log_line() {
    let node = capped(&merkle_config("max_body_bytes = 2097152"));
    let huge = "7".repeat(1 << 20);
    let proof = json!({"value": [huge, "1"], "proof": []}).to_string();
    let body = json!({"proofOfTask": proof, "taskDefinitionId": 1}).to_string();
    let (status, answer) = post(&node, "/task/validate", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!(false));
    let reason = answer["message"].as_str().unwrap();
    assert!(reason.len() <= 1024, "a {}-byte reason", reason.len());
    let before = node.log_bytes();
    let began = Instant::now();
    let flood: Vec<_> = (0..32)
        .map(|_| {
            let body = body.clone();
            let base = node.base.clone();
            tokio::spawn(async move {
                client()
                    .post(format!("{base}/task/validate"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for request in flood {
        let status = request.await.unwrap().unwrap();
        assert!(status == 200 || status == 503, "{status}");
    }
    std::thread::sleep(Duration::from_millis(300));
    // Invalid verdicts are logged at most 10 times a second, each line cut.
    let seconds = began.elapsed().as_secs() + 2;
    let written = node.log_bytes() - before;
    assert!(
        written as u64 <= seconds * 10 * 1024,
        "32 megabyte proofs wrote {written} bytes of log in {seconds} s:\n{}",
        node.log_text()
    );
    let longest = node
        .logs
        .lock()
        .unwrap()
        .lines
        .iter()
        .map(String::len)
        .max()
        .unwrap();
    assert!(longest < 1024, "a {longest}-byte log line");
}

/// Clients that pipeline requests and never read the replies hold a
/// bounded amount of the node's memory, and are cut off by the idle timeout.
#[test]
fn clients_that_never_read_replies_cannot_grow_the_node() {
    let node = capped(&merkle_config("idle_timeout_ms = 1000"));
    let rss_before = node.status("VmRSS");
    let request = valid_request().repeat(200);
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let mut stream = connect(&node);
            stream
                .set_write_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            let request = request.clone();
            std::thread::spawn(move || {
                // Write until the node stops reading (its replies fill the
                // socket), then hold the connection without reading.
                let _ = stream.write_all(request.as_bytes());
                stream
            })
        })
        .collect();
    let streams: Vec<TcpStream> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let rss_during = node.status("VmRSS");
    assert!(
        rss_during < rss_before + 200 * 1024,
        "RSS grew from {rss_before} kB to {rss_during} kB"
    );
    // The stalled connections are closed; the node answers.
    std::thread::sleep(Duration::from_millis(2500));
    let (status, _) = tokio_block(get(&node.base, "/healthz"));
    assert_eq!(status, 200);
    assert!(node.status("VmHWM") < rss_before + 250 * 1024);
    drop(streams);
}

/// The body read timeout: headers on time, then a body that never arrives.
#[tokio::test]
async fn a_body_that_never_arrives_is_refused_at_the_body_timeout() {
    let node = capped(&merkle_config("body_read_timeout_ms = 300"));
    let mut stream = connect(&node);
    stream
        .write_all(
            b"POST /task/validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"proof",
        )
        .unwrap();
    let (received, waited) = read_until_closed(&mut stream);
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("request body not received within 300 ms"),
        "{text}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

/// More request bytes than `max_buffered_body_bytes` at once: the extra
/// requests are refused (503) instead of being buffered.
#[tokio::test]
async fn request_bodies_beyond_the_buffer_budget_are_refused() {
    let node = capped(&merkle_config(
        "max_body_bytes = 65536\nmax_buffered_body_bytes = 131072\nbody_read_timeout_ms = 5000",
    ));
    // Two slow requests announce 64 KiB each and hold the whole budget.
    let mut holders: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(&node);
            s.write_all(
                b"POST /task/validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 65536\r\n\r\n{",
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "{}", "taskDefinitionId": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("request bodies in memory reached 131072 bytes"),
        "{answer}"
    );
    for s in &mut holders {
        let (received, _) = read_until_closed(s);
        assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 408"));
    }
    // The budget is back.
    let (status, answer) = post(
        &node,
        "/task/validate",
        json!({"proofOfTask": "{}", "taskDefinitionId": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let _: Value = answer;
}

fn tokio_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The attack that once took a node past 12 GB: a performer signs a
/// location claim whose line crosses itself at every step (quadratic for a
/// general geometry engine). Any config without `allowed_signers` accepts
/// the performer's own signature, so every performer can send it. At the
/// default limits it must be judged in milliseconds, within the stated
/// memory, by a node under an address-space cap, and eight at once must not
/// start threads beyond the pool.
#[tokio::test]
async fn a_self_crossing_location_claim_stays_within_its_stated_cost() {
    let config = format!(
        r#"
[node]
listen = "127.0.0.1:0"

[[task_definitions]]
id = 30
name = "any-signer"
verifier = "location"
[task_definitions.params]
schema_uid = "0xba4171c92572b1e4f241d044c32cdf083be9fd946b8766977558ca6378c824e2"
eas = {{ version = "0.26", chain_id = 11155111, verifying_contract = "0xC2679fBD37d54388Ce493F1DB75320D236e1815e" }}
[[task_definitions.params.fences]]
type = "polygon"
geojson_file = "{root}/fixtures/location/fence.geojson"
"#,
        root = support::ROOT
    );
    let node = capped(&config);
    let claim = std::fs::read_to_string(format!(
        "{}/fixtures/location/self-crossing.json",
        support::ROOT
    ))
    .unwrap();
    let body = json!({
        "proofOfTask": claim,
        "taskDefinitionId": 30,
        "performer": "0x1B146BAE123E9eEd209be03FA0B549EAd00627E3",
    })
    .to_string();
    let threads_before = node.status("Threads");
    let began = Instant::now();
    let (status, answer) = post(&node, "/task/validate", body.clone()).await;
    let one = began.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!(true), "{answer}");
    assert!(one < Duration::from_secs(2), "one claim took {one:?}");
    let at_once: Vec<_> = (0..8)
        .map(|_| {
            let body = body.clone();
            let base = node.base.clone();
            tokio::spawn(async move {
                let r = client()
                    .post(format!("{base}/task/validate"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            })
        })
        .collect();
    for request in at_once {
        assert_eq!(request.await.unwrap(), 200);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(
        node.status("Threads") <= threads_before + cores,
        "threads grew from {threads_before} to {}",
        node.status("Threads")
    );
    let peak_kib = node.status("VmHWM");
    assert!(peak_kib < 128 * 1024, "the node peaked at {peak_kib} kB");
}
