//! The `oracle` verifier against real HTTP sources on 127.0.0.1, started by
//! each test: prices inside and outside tolerance, a source down, slow,
//! answering HTML, answering a huge body, and request coalescing.

#![cfg(feature = "oracle")]

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_primitives::{Address, Bytes};
use axum::{Router, body::Body, response::IntoResponse, routing::get};
use taskproof_core::{BuildContext, Task, Verdict, Verifier};
use taskproof_verifiers::{builtin_registry, oracle::OracleVerifier};

/// A local data source with a settable ETH price and a hit counter.
#[derive(Clone, Default)]
struct Source {
    eth_bits: Arc<AtomicU64>,
    hits: Arc<AtomicUsize>,
}

impl Source {
    fn set_eth(&self, price: f64) {
        self.eth_bits.store(price.to_bits(), Ordering::SeqCst);
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(source: Source) -> String {
    let price = {
        let s = source.clone();
        move || {
            let s = s.clone();
            async move {
                s.hits.fetch_add(1, Ordering::SeqCst);
                // Long enough for concurrent validations to overlap.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let eth = f64::from_bits(s.eth_bits.load(Ordering::SeqCst));
                axum::Json(
                    serde_json::json!({"ethereum": {"usd": eth}, "bitcoin": {"usd": "60000.5"}, "market": "open"}),
                )
            }
        }
    };
    let flaky_hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/price", get(price))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                axum::Json(serde_json::json!({"ethereum": {"usd": 3000.0}}))
            }),
        )
        .route(
            "/html",
            get(|| async { axum::response::Html("<html><body>rate limited</body></html>") }),
        )
        .route(
            "/huge",
            get(|| async {
                // 64 MiB of a JSON string, streamed without a Content-Length.
                let prefix = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(b"{\"pad\":\"".to_vec())
                });
                let pad = futures_util::stream::iter((0..1024).map(|_| Ok(vec![b'a'; 64 * 1024])));
                Body::from_stream(futures_util::StreamExt::chain(prefix, pad)).into_response()
            }),
        )
        .route(
            "/flaky",
            get(move || {
                let hits = Arc::clone(&flaky_hits);
                async move {
                    if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                    } else {
                        axum::Json(serde_json::json!({"ethereum": {"usd": 3000.0}})).into_response()
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// An address where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn build(params: &str) -> OracleVerifier {
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
    OracleVerifier::from_context(&ctx).unwrap()
}

fn eth_params(urls: &[String], extra: &str) -> String {
    let mut s = format!("timeout_ms = 1000\nconnect_timeout_ms = 500\nretries = 0\n{extra}\n");
    s.push_str("[fields.eth]\npointer = \"/eth\"\nrelative = 0.01\n");
    for url in urls {
        s.push_str(&format!(
            "[[sources]]\nurl = \"{url}\"\nfields = {{ eth = \"/ethereum/usd\" }}\n"
        ));
    }
    s
}

fn task(proof: serde_json::Value) -> Task {
    Task::new(proof.to_string(), Bytes::new(), Address::ZERO, 20)
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test took too long")
}

#[tokio::test]
async fn price_inside_tolerance_is_valid_and_outside_is_invalid() {
    bounded(async {
        let source = Source::default();
        source.set_eth(3000.0);
        let base = serve(source.clone()).await;
        let v = build(&eth_params(&[format!("{base}/price")], "cache_ttl_ms = 0"));
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3020.0}))).await,
            Verdict::Valid
        );
        // The price moves 5 %: the same claim is now outside the 1 % tolerance.
        source.set_eth(3150.0);
        let Verdict::Invalid { reason } = v.verify(&task(serde_json::json!({"eth": 3020.0}))).await
        else {
            panic!("expected invalid");
        };
        assert!(reason.contains("`eth`"), "{reason}");
        assert!(reason.contains("claimed 3020"), "{reason}");
        assert!(reason.contains("observed 3150"), "{reason}");
        assert!(reason.contains("±1%"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn several_fields_types_and_median_of_sources() {
    bounded(async {
        let (a, b, c) = (Source::default(), Source::default(), Source::default());
        a.set_eth(3000.0);
        b.set_eth(3001.0);
        c.set_eth(9999.0); // an outlier the median ignores
        let (ua, ub, uc) = (serve(a).await, serve(b).await, serve(c).await);
        let mut params = String::from("retries = 0\n[fields.eth]\npointer = \"/eth\"\nabsolute = 2\n[fields.btc]\npointer = \"/prices/btc\"\nabsolute = 1\n[fields.market]\npointer = \"/market\"\ntype = \"string\"\n");
        for u in [&ua, &ub, &uc] {
            params.push_str(&format!(
                "[[sources]]\nurl = \"{u}/price\"\nheaders = {{ accept = \"application/json\" }}\nfields = {{ eth = \"/ethereum/usd\", btc = \"/bitcoin/usd\", market = \"/market\" }}\n"
            ));
        }
        let v = build(&params);
        let good = serde_json::json!({"eth": 3000.5, "prices": {"btc": "60000"}, "market": "open"});
        assert_eq!(v.verify(&task(good)).await, Verdict::Valid);
        let bad = serde_json::json!({"eth": 3000.5, "prices": {"btc": 60000}, "market": "closed"});
        let Verdict::Invalid { reason } = v.verify(&task(bad)).await else { panic!() };
        assert!(reason.contains("`market`") && reason.contains("\"closed\""), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn source_down_is_undecided_never_invalid() {
    bounded(async {
        let params = eth_params(
            &[format!("{}/price", closed_port().await)],
            "backoff_ms = 10",
        );
        let v = build(&params.replace("retries = 0", "retries = 2"));
        // Even a wildly wrong claim cannot be judged without the source.
        let verdict = v.verify(&task(serde_json::json!({"eth": 1.0}))).await;
        let Verdict::Undecided { cause } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(cause.contains("unreachable"), "{cause}");
    })
    .await;
}

#[tokio::test]
async fn slow_source_times_out_as_undecided() {
    bounded(async {
        let base = serve(Source::default()).await;
        let mut params = eth_params(&[format!("{base}/slow")], "");
        params = params.replace("timeout_ms = 1000", "timeout_ms = 300");
        let v = build(&params);
        let started = Instant::now();
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000.0}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.contains("timed out")),
            "{verdict:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn html_answer_is_undecided() {
    bounded(async {
        let base = serve(Source::default()).await;
        let v = build(&eth_params(&[format!("{base}/html")], ""));
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000.0}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.contains("not JSON")),
            "{verdict:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn huge_body_is_cut_off_at_the_cap() {
    bounded(async {
        let base = serve(Source::default()).await;
        let v = build(&eth_params(
            &[format!("{base}/huge")],
            "max_response_bytes = 65536",
        ));
        let started = Instant::now();
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000.0}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.contains("larger than 65536")),
            "{verdict:?}"
        );
        // Stopping at the cap, not after reading 64 MiB.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn missing_field_in_source_is_undecided() {
    bounded(async {
        let source = Source::default();
        source.set_eth(3000.0);
        let base = serve(source).await;
        let params =
            eth_params(&[format!("{base}/price")], "").replace("/ethereum/usd", "/ethereum/eur");
        let verdict = build(&params)
            .verify(&task(serde_json::json!({"eth": 3000.0})))
            .await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/ethereum/eur")),
            "{verdict:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn transient_failure_is_retried() {
    bounded(async {
        let base = serve(Source::default()).await;
        let v = build(
            &eth_params(&[format!("{base}/flaky")], "retries = 1\nbackoff_ms = 10")
                .replace("retries = 0\n", ""),
        );
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3001.0}))).await,
            Verdict::Valid
        );
    })
    .await;
}

#[tokio::test]
async fn malformed_or_stale_proof_is_invalid_without_fetching() {
    bounded(async {
        let source = Source::default();
        source.set_eth(3000.0);
        let base = serve(source.clone()).await;
        let v = build(&eth_params(
            &[format!("{base}/price")],
            "[freshness]\npointer = \"/ts\"\nmax_age_secs = 60",
        ));
        for proof in [
            "not json",
            "{\"eth\": \"NaN\", \"ts\": 0}",
            "{\"eth\": 3000, \"ts\": 1}",
            "{\"price\": 3000}",
        ] {
            let t = Task::new(proof, Bytes::new(), Address::ZERO, 20);
            assert!(
                matches!(v.verify(&t).await, Verdict::Invalid { .. }),
                "{proof}"
            );
        }
        assert_eq!(source.hits(), 0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3000, "ts": now})))
                .await,
            Verdict::Valid
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_validations_share_one_fetch() {
    bounded(async {
        let source = Source::default();
        source.set_eth(3000.0);
        let base = serve(source.clone()).await;
        let v = Arc::new(build(&eth_params(
            &[format!("{base}/price")],
            "cache_ttl_ms = 0",
        )));
        let mut joins = Vec::new();
        for _ in 0..32 {
            let v = Arc::clone(&v);
            joins.push(tokio::spawn(async move {
                v.verify(&task(serde_json::json!({"eth": 3000.0}))).await
            }));
        }
        for j in joins {
            assert_eq!(j.await.unwrap(), Verdict::Valid);
        }
        assert_eq!(
            source.hits(),
            1,
            "32 concurrent validations must cost one fetch"
        );
    })
    .await;
}

#[tokio::test]
async fn ttl_cache_serves_sequential_validations() {
    bounded(async {
        let source = Source::default();
        source.set_eth(3000.0);
        let base = serve(source.clone()).await;
        let v = build(&eth_params(
            &[format!("{base}/price")],
            "cache_ttl_ms = 60000",
        ));
        for _ in 0..5 {
            assert_eq!(
                v.verify(&task(serde_json::json!({"eth": 3000.0}))).await,
                Verdict::Valid
            );
        }
        assert_eq!(source.hits(), 1);
        // Without coalescing and cache, every validation fetches.
        let v = build(&eth_params(
            &[format!("{base}/price")],
            "cache_ttl_ms = 0\ncoalesce = false",
        ));
        for _ in 0..3 {
            assert_eq!(
                v.verify(&task(serde_json::json!({"eth": 3000.0}))).await,
                Verdict::Valid
            );
        }
        assert_eq!(source.hits(), 4);
    })
    .await;
}

#[test]
fn config_mistakes_are_located() {
    let registry = builtin_registry();
    let load = |params: &str| {
        let table: toml::Table = params.parse().unwrap();
        let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
        OracleVerifier::from_context(&ctx).unwrap_err()
    };
    let e = load(
        "[fields.eth]\npointer = \"eth\"\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { eth = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.fields.eth.pointer", "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"ftp://127.0.0.1:1/\"\nfields = { eth = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.sources[0].url", "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { btc = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.sources[0].fields.btc", "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\nrelative = -1\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { eth = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.fields.eth.relative", "{e}");
}
