//! The documentation's examples, run: `docs/othentic.md`'s config replacing
//! Othentic's price-oracle validation service, against local stand-ins for
//! Pinata's gateway and Binance.

mod support;

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use serde_json::{Value, json};
use support::{ROOT, post, start};
use taskproof_verifiers::ipfs::{ImportProfile, cid_of};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// A tiny HTTP/1.1 server on 127.0.0.1: each request's path (without its
/// query) picks `(status, body)`; a request for a CAR (`format=car`) gets
/// 406, as from a gateway that serves only plain bytes.
async fn stub(routes: HashMap<String, (u16, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let routes = Arc::clone(&routes);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let target = head.split_whitespace().nth(1).unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let (status, body) = if query.contains("format=car") {
                    (406, b"no CAR here".to_vec())
                } else {
                    routes
                        .get(path)
                        .cloned()
                        .unwrap_or((404, b"not found".to_vec()))
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// The first block of `lang` in a Markdown file.
fn block(markdown: &str, lang: &str) -> String {
    markdown
        .split(&format!("```{lang}\n"))
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("a ```{lang} block"))
        .to_owned()
}

/// What Pinata's `pinJSONToIPFS` would publish, and its CID (CIDv0, kubo's
/// historic defaults).
fn published(json: &str) -> (String, Vec<u8>) {
    let bytes = json.as_bytes().to_vec();
    let cid = cid_of(&bytes, ImportProfile::UnixfsV0_2015).unwrap();
    (cid.to_string(), bytes)
}

#[tokio::test]
async fn the_othentic_migration_config_judges_like_the_page_says() {
    let page = std::fs::read_to_string(format!("{ROOT}/docs/othentic.md")).unwrap();
    let config = block(&page, "toml");
    assert!(config.contains("https://gateway.pinata.cloud/ipfs/"));
    assert!(config.contains("https://api.binance.com/api/v3/ticker/price?symbol=ETHUSDT"));

    let within = published(r#"{"symbol":"ETHUSDT","price":"3140.00000000"}"#);
    let outside = published(r#"{"symbol":"ETHUSDT","price":"3160.00000000"}"#);
    let wrong_symbol = published(r#"{"symbol":"BTCUSDT","price":"3000.00000000"}"#);
    let lied_about = published(r#"{"symbol":"ETHUSDT","price":"2999.00000000"}"#);

    let mut gateway = HashMap::new();
    for (cid, bytes) in [&within, &outside, &wrong_symbol] {
        gateway.insert(format!("/ipfs/{cid}"), (200, bytes.clone()));
    }
    // A gateway answering other bytes than the CID names.
    gateway.insert(
        format!("/ipfs/{}", lied_about.0),
        (
            200,
            br#"{"symbol":"ETHUSDT","price":"3000.00000000"}"#.to_vec(),
        ),
    );
    let gateway = stub(gateway).await;
    let binance = stub(HashMap::from([(
        "/api/v3/ticker/price".to_owned(),
        (
            200,
            br#"{"symbol":"ETHUSDT","price":"3000.00000000"}"#.to_vec(),
        ),
    )]))
    .await;
    let limited = stub(HashMap::from([(
        "/api/v3/ticker/price".to_owned(),
        (429, br#"{"code":-1003,"msg":"Too many requests"}"#.to_vec()),
    )]))
    .await;

    let local = |binance: &str| {
        config
            .replace(
                "https://gateway.pinata.cloud/ipfs/",
                &format!("{gateway}/ipfs/"),
            )
            .replace("https://api.binance.com", binance)
            .replace("0.0.0.0:4002", "127.0.0.1:0")
    };
    let task = |cid: &str| {
        json!({
            "proofOfTask": cid,
            "data": "0x",
            "taskDefinitionId": 0,
            "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        })
        .to_string()
    };

    let node = start(&local(&binance), &[]);
    let (status, answer) = post(&node, "/task/validate", task(&within.0)).await;
    assert_eq!((status, &answer["data"]), (200, &json!(true)), "{answer}");
    let (status, answer) = post(&node, "/task/validate", task(&outside.0)).await;
    assert_eq!((status, &answer["data"]), (200, &json!(false)), "{answer}");
    assert!(message(&answer).contains("field `price`"), "{answer}");
    let (status, answer) = post(&node, "/task/validate", task(&wrong_symbol.0)).await;
    assert_eq!((status, &answer["data"]), (200, &json!(false)), "{answer}");
    assert!(message(&answer).contains("field `symbol`"), "{answer}");
    let (status, answer) = post(&node, "/task/validate", task(&lied_about.0)).await;
    assert_eq!(status, 503, "a lying gateway is not a verdict: {answer}");
    assert_eq!(answer["error"], json!(true), "{answer}");
    drop(node);

    let node = start(&local(&limited), &[]);
    let (status, answer) = tokio::time::timeout(
        Duration::from_secs(15),
        post(&node, "/task/validate", task(&within.0)),
    )
    .await
    .expect("the deadline holds");
    assert_eq!(status, 503, "Binance's trouble is not a vote: {answer}");
    assert!(message(&answer).contains("429"), "{answer}");
}

fn message(answer: &Value) -> &str {
    answer["message"].as_str().unwrap_or_default()
}

/// The plugin authors' page shows the custom attester example as it is
/// (the example itself is built and driven by `tests/custom_attester.rs`).
#[test]
fn the_custom_verifier_page_shows_the_example_as_built() {
    let page = std::fs::read_to_string(format!("{ROOT}/docs/custom-verifiers.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{ROOT}/node/examples/custom_attester.rs")).unwrap();
    let shown = block(&page, "rust");
    assert!(
        example.contains(&shown),
        "docs/custom-verifiers.md's Rust block differs from node/examples/custom_attester.rs"
    );
    assert!(example.contains(&block(&page, "toml").replace('\n', "\n//! ")[..40]));
}

/// Every complete task definition shown in the README and under `docs/`
/// passes `check-config`, so no page shows a config that would not load.
/// What a page cannot show as it would be run is substituted here, and
/// nothing else: EigenDA's production SRS is not in the repository (the
/// test SRS of the fixtures takes its place), and the custom kind of the
/// plugin authors' page exists only in its example binary.
#[test]
fn every_task_definition_in_the_docs_passes_check_config() {
    let mut pages = vec![PathBuf::from(format!("{ROOT}/README.md"))];
    let mut dirs = vec![PathBuf::from(format!("{ROOT}/docs"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    let substitutions = [
        (
            "\"/var/lib/eigenda/g1.point\"".to_owned(),
            format!("\"{ROOT}/fixtures/eigenda/insecure-g1.point\""),
        ),
        (
            "srs_points = 16384".to_owned(),
            "srs_points = 64".to_owned(),
        ),
        ("\"fixtures/".to_owned(), format!("\"{ROOT}/fixtures/")),
        ("\"plugins/".to_owned(), format!("\"{ROOT}/plugins/")),
    ];
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for example in text.split("```toml\n").skip(1) {
            let example = example.split("```").next().unwrap();
            if !example.contains("[[task_definitions]]") || example.contains("\"multiple-of\"") {
                continue;
            }
            let mut config = example.to_owned();
            for (from, to) in &substitutions {
                config = config.replace(from, to);
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("example.toml");
            std::fs::write(&path, &config).unwrap();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskproof"))
                .arg("check-config")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: this example does not load:\n{example}\n{}",
                page.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} examples found");
}
