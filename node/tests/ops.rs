//! What an operator relies on, checked on the real binary: `/metrics` as
//! Prometheus's own `promtool` reads it in the text format, and the
//! Prometheus Python client's OpenMetrics parser in OpenMetrics.

mod support;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use serde_json::json;
use support::{ROOT, client, post, start};
use tokio::{io::AsyncWriteExt, net::TcpListener};

/// Installs Debian's `package` when `found` says its tool is missing and
/// the tests run as root (as CI does), else fails clearly. Never skipped: a
/// metrics check that does not run checks nothing.
fn ensure_debian_tool(found: impl Fn() -> bool, tool: &str, package: &str) {
    if found() {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "{tool} is missing: install Debian's `{package}` package \
         (apt-get install {package}) or run the tests as root so they can"
    );
    let install = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let packages = ["install", "-y", "--no-install-recommends", package];
    if !install(&packages) {
        assert!(install(&["update"]), "apt-get update failed");
        assert!(install(&packages), "apt-get install {package} failed");
    }
    assert!(
        found(),
        "{tool} is still missing after installing {package}"
    );
}

/// Runs `program` with `text` on its standard input.
fn piped(program: &str, args: &[&str], text: &str) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `promtool`, from Debian's `prometheus` package.
fn promtool() -> &'static str {
    let found = || {
        Command::new("promtool")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ensure_debian_tool(found, "promtool", "prometheus");
    "promtool"
}

/// The OpenMetrics parser of the Prometheus Python client (Debian's
/// `python3-prometheus-client`, hence Debian's own `/usr/bin/python3`), which refuses what the OpenMetrics 1.0
/// specification refuses; `promtool check metrics` reads only the older
/// text format. Its complaint about `text`, empty when it parses.
fn openmetrics_findings(text: &str) -> String {
    const PARSE: &str = "import sys\n\
from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
families = list(text_string_to_metric_families(sys.stdin.read()))\n\
assert families, 'no metric families'\n";
    let found = || {
        Command::new("/usr/bin/python3")
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ensure_debian_tool(
        found,
        "the Python OpenMetrics parser",
        "python3-prometheus-client",
    );
    let out = piped("/usr/bin/python3", &["-c", PARSE], text);
    if out.status.success() {
        return String::new();
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The last line of the traceback is the parser's complaint.
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("the parser failed without a word")
        .to_owned()
}

/// `promtool check metrics` on `text`: its findings, empty when clean.
fn promtool_findings(text: &str) -> String {
    let out = piped(promtool(), &["check", "metrics"], text);
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() && findings.trim().is_empty() {
        return format!("promtool failed with {}", out.status);
    }
    findings
}

/// A source that answers every request with 503.
async fn failing_source() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// A node with a Merkle definition (never batches), a Groth16 one
/// (batches) and an oracle whose sources fail: one answers 503 behind a
/// query secret, the other is a closed port.
fn config(failing: &str) -> String {
    format!(
        r#"
[node]
listen = "127.0.0.1:0"

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "rfc6962", root = "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", tree_size = 8 }}

[[task_definitions]]
id = 2
name = "zk-multiplier"
verifier = "groth16"
params = {{ verification_key = "{ROOT}/fixtures/groth16/multiplier/verification_key.json" }}

[[task_definitions]]
id = 5
name = "eth-price"
verifier = "oracle"
[task_definitions.params]
sources = [
  {{ url = "{failing}/price?apikey=SECRET-KEY", fields = {{ eth = "/eth" }} }},
  {{ url = "http://127.0.0.1:9/price", fields = {{ eth = "/eth" }} }},
]
fields = {{ eth = {{ pointer = "/eth" }} }}
retrieval = {{ retries = 0 }}
"#
    )
}

async fn scrape(base: &str, accept: Option<&str>) -> (String, String) {
    let mut request = client().get(format!("{base}/metrics"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// Every `# TYPE` line has a `# HELP` line for the same family, with text.
fn families_without_help(text: &str) -> Vec<String> {
    let helped: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|r| r.split_once(' '))
        .filter(|(_, help)| !help.trim().is_empty())
        .map(|(name, _)| name)
        .collect();
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|r| r.split_once(' ').map(|(n, _)| n))
        .filter(|n| !helped.contains(n))
        .map(str::to_owned)
        .collect()
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_pass_promtool_in_the_prometheus_text_format_with_help_for_every_family() {
    let failing = failing_source().await;
    let node = start(&config(&failing), &[]);
    let task = json!({"proofOfTask": json!({"eth": 3000}).to_string(), "taskDefinitionId": 5});
    let (status, answer) = post(&node, "/task/validate", task.to_string()).await;
    assert_eq!(status, 503, "{answer}");

    // What Prometheus sends when told to scrape the text format only.
    let (content_type, text) =
        scrape(&node.base, Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(promtool_findings(&text), "", "{text}");
    assert_eq!(families_without_help(&text), Vec::<String>::new(), "{text}");
    assert!(!text.contains("# EOF"), "{text}");

    // The parser refuses what OpenMetrics refuses, so a pass below means something.
    assert!(
        openmetrics_findings("# TYPE a counter\n# HELP a x\na_total 1\n").contains("EOF"),
        "the OpenMetrics parser took a document without # EOF"
    );
    // What Prometheus 2.x sends by default, and what curl sends: OpenMetrics.
    let prometheus_default = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    for accept in [Some(prometheus_default), None, Some("*/*")] {
        let (content_type, om) = scrape(&node.base, accept).await;
        assert_eq!(
            content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert_eq!(openmetrics_findings(&om), "", "{om}");
        assert_eq!(families_without_help(&om), Vec::<String>::new(), "{om}");
    }
}

#[tokio::test]
async fn metrics_name_the_build_the_process_the_task_definitions_and_failing_sources() {
    let failing = failing_source().await;
    let node = start(&config(&failing), &[]);
    let task = json!({"proofOfTask": json!({"eth": 3000}).to_string(), "taskDefinitionId": 5});
    let (status, answer) = post(&node, "/task/validate", task.to_string()).await;
    assert_eq!(status, 503, "{answer}");
    let (_, text) = scrape(&node.base, Some("text/plain;version=0.0.4")).await;

    let build = text
        .lines()
        .find(|l| l.starts_with("taskproof_build_info{"))
        .unwrap_or_else(|| panic!("no taskproof_build_info in {text}"));
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    let revision = build
        .split("revision=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    assert!(
        revision.len() >= 7 && revision.bytes().all(|b| b.is_ascii_hexdigit()),
        "a build from a git checkout names its revision: {build}"
    );

    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no {name} in {text}"
        );
    }
    let rss = sample(&text, "process_resident_memory_bytes ").unwrap();
    let own = node.status("VmRSS") as f64 * 1024.0;
    assert!(rss > own / 4.0 && rss < own * 4.0, "{rss} vs {own}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = sample(&text, "process_start_time_seconds ").unwrap();
    assert!(started <= now + 1.0 && started > now - 600.0, "{started}");
    assert!(sample(&text, "process_open_fds ").unwrap() >= 3.0);

    assert!(
        text.contains(
            "taskproof_verdicts_total{task_definition=\"5\",name=\"eth-price\",kind=\"oracle\",outcome=\"undecided\"} 1"
        ),
        "{text}"
    );

    // A batch histogram for the kind that batches, none for the one that never does.
    assert!(
        text.contains("taskproof_batch_size_count{task_definition=\"2\",name=\"zk-multiplier\""),
        "{text}"
    );
    assert!(
        !text.contains("taskproof_batch_size_count{task_definition=\"1\""),
        "{text}"
    );

    // One failure per source, by cause, the URL redacted.
    let port = failing.rsplit(':').next().unwrap();
    let expected = [
        format!(
            "taskproof_retrieval_failures_total{{task_definition=\"5\",name=\"eth-price\",endpoint=\"http://127.0.0.1:{port}/price?apikey=…\",cause=\"server_error\"}} 1"
        ),
        "taskproof_retrieval_failures_total{task_definition=\"5\",name=\"eth-price\",endpoint=\"http://127.0.0.1:9/price\",cause=\"unreachable\"} 1".to_owned(),
    ];
    for line in expected {
        assert!(text.contains(&line), "no {line} in {text}");
    }
    assert!(!text.contains("SECRET-KEY"), "{text}");
}

/// The OpenAPI document the node serves.
async fn openapi(base: &str) -> serde_json::Value {
    let response = client()
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Follows a `$ref` inside the document.
fn resolve<'a>(
    document: &'a serde_json::Value,
    node: &'a serde_json::Value,
) -> &'a serde_json::Value {
    match node.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} points nowhere"));
            resolve(document, target)
        }
        None => node,
    }
}

/// Checks an answer against the document: `status` is documented for the
/// operation, and the body (when it has one) is valid under the JSON schema
/// the document gives for it.
fn conforms(
    document: &serde_json::Value,
    path: &str,
    method: &str,
    status: u16,
    body: &serde_json::Value,
) {
    let operation = &document["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let response = operation["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{status} is not documented for {method} {path}: {body}"));
    let response = resolve(document, response);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        assert!(
            body.is_null(),
            "{status} of {path} has no documented body: {body}"
        );
        return;
    };
    // The schema's `$ref`s point into the document: validate with the whole
    // document as the root resource.
    let mut root = document.clone();
    root["allOf"] = json!([schema]);
    let validator = jsonschema::draft202012::new(&root).expect("the document's schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{status} of {method} {path} does not match the document: {errors:?}\n{body}"
    );
}

/// A config with a valid/invalid Merkle definition, an oracle whose source
/// is down (undecided) and small body limits.
fn api_config() -> String {
    let vectors = support::fixture("signatures/vectors.json");
    let airdrop = support::fixture("merkle/openzeppelin/airdrop.proofs.json");
    format!(
        r#"
[node]
listen = "127.0.0.1:0"
attestation_center = "{center}"
chain_id = {chain}
max_body_bytes = 4096
body_read_timeout_ms = 300

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{root}", leaf_encoding = ["address", "uint256"] }}

[[task_definitions]]
id = 30
name = "price-unreachable"
verifier = "oracle"
[task_definitions.params]
sources = [{{ url = "http://127.0.0.1:9/price", fields = {{ eth = "/eth" }} }}]
fields = {{ eth = {{ pointer = "/eth" }} }}
retrieval = {{ retries = 0 }}
"#,
        center = vectors["attestationCenter"].as_str().unwrap(),
        chain = vectors["chainId"],
        root = airdrop["root"].as_str().unwrap(),
    )
}

/// A raw request whose body stops short: the node answers 408.
async fn stalled_body(addr: &str, path: &str) -> (u16, serde_json::Value) {
    use tokio::io::AsyncReadExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"proofOfTask\""
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // Read until the whole answer is in (its content-length) or the node
    // closes, whichever comes first.
    let mut answer = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline, socket.read(&mut buf))
            .await
            .expect("the node answers a stalled body");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && let Some(length) = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            && body.len() >= length
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = body.lines().find(|l| l.starts_with('{')).unwrap_or(body);
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

async fn post_as(
    base: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> (u16, serde_json::Value) {
    let response = client()
        .post(format!("{base}{path}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn every_answer_of_the_http_api_matches_the_openapi_document() {
    use alloy_signer::SignerSync;
    let vectors = support::fixture("signatures/vectors.json");
    let node = start(
        &api_config(),
        &[(
            "TASKPROOF_ATTESTER_KEY",
            vectors["attesterKey"].as_str().unwrap(),
        )],
    );
    let document = openapi(&node.base).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    conforms(&document, "/openapi.json", "get", 200, &document);

    let valid =
        support::fixture("merkle/openzeppelin/airdrop.proofs.json")["singles"][4].to_string();
    let mut tampered: serde_json::Value = serde_json::from_str(&valid).unwrap();
    tampered["value"][1] = json!("1");
    let tampered = tampered.to_string();
    let json_type = "application/json";
    let mut seen = std::collections::BTreeSet::new();
    for path in ["/task/validate", "/validate_task"] {
        let cases = [
            (
                json!({"proofOfTask": valid, "data": "0x", "taskDefinitionId": 1}).to_string(),
                json_type,
                200,
                "valid",
            ),
            (
                json!({"proofOfTask": tampered, "taskDefinitionId": 1}).to_string(),
                json_type,
                200,
                "invalid",
            ),
            (
                json!({"proofOfTask": "{\"eth\": 1}", "taskDefinitionId": 30}).to_string(),
                json_type,
                503,
                "undecided",
            ),
            ("{\"proofOfTask\": ".to_owned(), json_type, 400, "malformed"),
            (
                json!({"proofOfTask": valid, "taskDefinitionId": 99}).to_string(),
                json_type,
                404,
                "unknown task definition",
            ),
            (
                format!(
                    "{{\"proofOfTask\": \"{}\", \"taskDefinitionId\": 1}}",
                    "a".repeat(5000)
                ),
                json_type,
                413,
                "too large",
            ),
            (
                json!({"proofOfTask": valid, "taskDefinitionId": 1}).to_string(),
                "text/plain",
                415,
                "media type",
            ),
        ];
        for (body, content_type, expected, case) in cases {
            let (status, answer) = post_as(&node.base, path, content_type, body).await;
            assert_eq!(status, expected, "{case} on {path}: {answer}");
            conforms(&document, path, "post", status, &answer);
            seen.insert(status);
        }
        let (status, answer) = stalled_body(&node.addr, path).await;
        assert_eq!(status, 408, "{answer}");
        conforms(&document, path, "post", status, &answer);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [200, 400, 404, 413, 415, 503]
    );

    // JSON-RPC: an approving vote, a rejecting one, errors, a batch, from a
    // node that can sign votes (a journal in memory: served in-process).
    use taskproof_consensus::journal::Journal;
    let journal = std::sync::Arc::new(taskproof_consensus::journal::MemoryJournal::default());
    let voting = support::start_in_process(support::InProcessNode {
        config: &api_config(),
        files: &[],
        attester_key: vectors["attesterKey"].as_str(),
        registry: &taskproof_verifiers::builtin_registry(),
        journal: Some(journal.clone()),
    })
    .await
    .unwrap();
    let performer = alloy_signer_local::PrivateKeySigner::random();
    let sign = |proof: &str, id: u16| {
        let hash = taskproof_node::signing::task_hash(proof, b"", performer.address(), id);
        let signature = performer.sign_hash_sync(&hash).unwrap();
        format!("0x{}", alloy_primitives::hex::encode(signature.as_bytes()))
    };
    let send = |proof: &str, id: u16, signature: String| {
        json!({"jsonrpc": "2.0", "method": "sendTask", "id": 7,
               "params": [proof, "0x", id, performer.address(), signature]})
    };
    let undecided = "{\"eth\": 1}";
    let rpc_cases = [
        (send(&valid, 1, sign(&valid, 1)).to_string(), json_type, 200, Some(true)),
        (send(&tampered, 1, sign(&tampered, 1)).to_string(), json_type, 200, Some(false)),
        (send(&valid, 1, sign(&tampered, 1)).to_string(), json_type, 200, None),
        (send(undecided, 30, sign(undecided, 30)).to_string(), json_type, 200, None),
        (send(&valid, 99, sign(&valid, 99)).to_string(), json_type, 200, None),
        (json!({"jsonrpc": "2.0", "method": "other", "id": "x"}).to_string(), json_type, 200, None),
        ("[".to_owned(), json_type, 200, None),
        (json!([send(&valid, 1, sign(&valid, 1)), {"jsonrpc": "2.0", "method": "sendTask", "id": null, "params": []}]).to_string(), json_type, 200, None),
        (json!([{"jsonrpc": "2.0", "method": "sendTask", "params": []}]).to_string(), json_type, 204, None),
        (send(&valid, 1, sign(&valid, 1)).to_string(), "text/plain", 415, None),
        (format!("[{}]", "1,".repeat(3000)), json_type, 413, None),
    ];
    for (body, content_type, expected, approved) in rpc_cases {
        let (status, answer) = post_as(&voting.base, "/", content_type, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        if let Some(approved) = approved {
            assert_eq!(answer["result"]["approved"], json!(approved), "{answer}");
            assert!(
                answer["result"]["blsSignature"]["x"].is_string(),
                "{answer}"
            );
        }
        conforms(&document, "/", "post", status, &answer);
    }
    // A task this attester already voted the other way on (the journal is
    // told so directly), and a node without a journal: errors of their own.
    let center = vectors["attestationCenter"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let another =
        support::fixture("merkle/openzeppelin/airdrop.proofs.json")["singles"][3].to_string();
    let earlier = taskproof_node::signing::Vote {
        proof_of_task: &another,
        data: b"",
        performer: performer.address(),
        task_definition_id: 1,
        attestation_center: center,
        chain_id: 17000,
        is_approved: false,
    };
    journal.record(earlier.task_key(), false).await.unwrap();
    let body = send(&another, 1, sign(&another, 1)).to_string();
    let (status, answer) = post_as(&voting.base, "/", json_type, body.clone()).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (200, &json!(-32010)),
        "{answer}"
    );
    conforms(&document, "/", "post", status, &answer);
    // The binary records its votes in the default journal next to its
    // config, which has never seen this task: it signs.
    let (status, answer) = post_as(&node.base, "/", json_type, body).await;
    assert_eq!(answer["result"]["approved"], json!(true), "{answer}");
    conforms(&document, "/", "post", status, &answer);
    let (status, answer) = stalled_body(&voting.addr, "/").await;
    assert_eq!(status, 408, "{answer}");
    conforms(&document, "/", "post", status, &answer);

    let (status, health) = support::get(&node.base, "/healthz").await;
    conforms(
        &document,
        "/healthz",
        "get",
        status,
        &serde_json::from_str(&health).unwrap(),
    );
}

/// The binary's standard output for `args`, which must succeed.
fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "taskproof {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The revision of the checkout the tests run in (CI builds from one).
fn checkout_revision() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(ROOT)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "the tests run in a git checkout");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn version_names_the_git_revision_it_was_built_from() {
    let version = run(&["--version"]);
    assert_eq!(
        version.trim(),
        format!(
            "taskproof {} (rev {})",
            env!("CARGO_PKG_VERSION"),
            checkout_revision()
        )
    );
}

#[test]
fn completions_know_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["completions", shell]);
        // Flags without their dashes: fish writes `-l admin-listen`.
        for word in [
            "serve",
            "check-config",
            "completions",
            "man",
            "admin-listen",
            "log-format",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid bash.
    let script = run(&["completions", "bash"]);
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let checked = bash.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .args(["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(3),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_documents_every_subcommand() {
    let page = run(&["man"]);
    assert!(page.contains(".TH taskproof 1"), "{page}");
    for word in [
        "serve",
        "check\\-config",
        "completions",
        "TASKPROOF_LOG_FORMAT",
    ] {
        assert!(page.contains(word), "the page lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--out", dir.path().to_str().unwrap()]);
    for page in [
        "taskproof.1",
        "taskproof-serve.1",
        "taskproof-check-config.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let serve = std::fs::read_to_string(dir.path().join("taskproof-serve.1")).unwrap();
    for word in ["TASKPROOF_CONFIG", "TASKPROOF_LISTEN", "admin\\-listen"] {
        assert!(serve.contains(word), "taskproof-serve.1 lacks {word}");
    }
}

/// The `KEY=value` settings of a systemd unit or the instructions of a
/// Dockerfile, comments dropped.
fn lines_of(path: &str) -> Vec<String> {
    std::fs::read_to_string(format!("{ROOT}/{path}"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_dockerfile_ships_the_static_binary_and_every_file_its_config_names() {
    let lines = lines_of("packaging/Dockerfile");
    assert_eq!(lines[0], "FROM scratch");
    let copies: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("COPY "))
        .map(|l| {
            let (from, to) = l.split_once(' ').unwrap();
            (from.to_owned(), to.trim().to_owned())
        })
        .collect();
    let (binary_from, binary_to) = &copies[0];
    assert_eq!(
        binary_from,
        "target/x86_64-unknown-linux-musl/release/taskproof"
    );
    let entrypoint = lines
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .unwrap();
    assert_eq!(entrypoint, format!("[\"{binary_to}\"]"));
    let user = lines.iter().find_map(|l| l.strip_prefix("USER ")).unwrap();
    let (uid, gid) = user.split_once(':').unwrap();
    assert!(
        uid.parse::<u32>().unwrap() > 0 && gid.parse::<u32>().unwrap() > 0,
        "{user}"
    );
    let env = lines
        .iter()
        .skip_while(|l| !l.starts_with("ENV "))
        .take_while(|l| l.starts_with("ENV ") || l.starts_with("TASKPROOF_"))
        .map(|l| l.trim_start_matches("ENV ").trim_end_matches('\\').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let listen = env
        .split_whitespace()
        .find_map(|v| v.strip_prefix("TASKPROOF_LISTEN="))
        .unwrap();
    let port = listen.rsplit(':').next().unwrap();
    assert!(listen.starts_with("0.0.0.0:"), "{listen}");
    assert!(lines.contains(&format!("EXPOSE {port}")), "EXPOSE {port}");
    let config = env
        .split_whitespace()
        .find_map(|v| v.strip_prefix("TASKPROOF_CONFIG="))
        .unwrap();

    // The image's files, laid out as the image has them: the config loads.
    let image = tempfile::tempdir().unwrap();
    for (from, to) in &copies[1..] {
        let to = image.path().join(to.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(format!("{ROOT}/{from}"), &to).unwrap();
    }
    let config = image.path().join(config.trim_start_matches('/'));
    let out = Command::new(env!("CARGO_BIN_EXE_taskproof"))
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .env_remove("TASKPROOF_LISTEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the image's config does not load from the image's files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_systemd_unit_is_hardened_and_allows_every_connection_the_node_takes() {
    let lines = lines_of("packaging/taskproof.service");
    let setting = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}="))
            .to_owned()
    };
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(setting(key), value, "{key}");
    }
    assert!(setting("MemoryMax").ends_with('G'));
    assert!(
        setting("ExecStart").ends_with("serve --config /etc/taskproof/taskproof.toml"),
        "the unit and the image read the config from the same place"
    );
    // The default max_connections, its reserve, the admin listener,
    // outbound connections and files: twice the connections is the floor.
    let max_connections = taskproof_node::NodeConfig::default().max_connections as u64;
    let files: u64 = setting("LimitNOFILE").parse().unwrap();
    assert!(files >= 2 * max_connections, "LimitNOFILE={files}");
}

/// Builds the static binary (dev profile: the release build is the same
/// code, slower to make) with the script operators use.
fn static_binary() -> std::path::PathBuf {
    let out = Command::new(format!("{ROOT}/scripts/build-static.sh"))
        .arg("--debug")
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/build-static.sh runs");
    assert!(
        out.status.success(),
        "scripts/build-static.sh --debug failed (it needs Debian's musl-tools)"
    );
    let path = String::from_utf8(out.stdout).unwrap();
    std::path::PathBuf::from(path.lines().last().unwrap().trim())
}

#[tokio::test]
async fn the_static_binary_answers_in_an_empty_root() {
    let binary = static_binary();
    // A root with the binary and its config, nothing else: no libc, no
    // loader, no /etc, no /proc, no /dev.
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, root.path().join("taskproof")).unwrap();
    let airdrop = support::fixture("merkle/openzeppelin/airdrop.proofs.json");
    std::fs::write(
        root.path().join("taskproof.toml"),
        format!(
            r#"[node]
listen = "127.0.0.1:0"

[[task_definitions]]
id = 1
name = "airdrop"
verifier = "merkle"
params = {{ scheme = "openzeppelin", root = "{}", leaf_encoding = ["address", "uint256"] }}
"#,
            airdrop["root"].as_str().unwrap()
        ),
    )
    .unwrap();
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");

    // As root (CI), chroot; otherwise a user namespace may chroot.
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("chroot");
        c.arg(root.path());
        c
    } else {
        let mut c = Command::new("unshare");
        c.arg("-r").arg(format!("--root={}", root.path().display()));
        c
    };
    command
        .args(["/taskproof", "serve", "--config", "/taskproof.toml"])
        .env_remove("TASKPROOF_LISTEN")
        .env_remove("TASKPROOF_ADMIN_LISTEN")
        .env_remove("TASKPROOF_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("chroot or unshare runs");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let _child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut sent = false;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !sent && line.contains("listening") {
                let addr = line
                    .split("addr=")
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .map(str::to_owned);
                let _ = tx.send(addr.ok_or(line.clone()));
                sent = true;
            }
            seen.push(line);
        }
        if !sent {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the node starts in the empty root")
        .unwrap_or_else(|log| panic!("the node did not start in the empty root: {log}"));
    let base = format!("http://{addr}");

    let (status, health) = support::get(&base, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&health).unwrap(),
        json!({"status": "ok", "taskDefinitions": 1})
    );

    // A verdict on a claim of the airdrop.
    let body = json!({"proofOfTask": airdrop["singles"][4].to_string(), "taskDefinitionId": 1});
    let response = client()
        .post(format!("{base}/task/validate"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"data": true, "error": false, "message": null})
    );

    let (_, metrics) = support::get(&base, "/metrics").await;
    assert!(metrics.contains("taskproof_build_info{"), "{metrics}");
    assert!(
        !metrics.contains("process_open_fds"),
        "no /proc, no process metrics"
    );
}
