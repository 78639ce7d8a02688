//! The `oracle` verifier against real HTTP sources on 127.0.0.1, started by
//! each test: prices inside and outside tolerance, wei-sized values that an
//! f64 would confuse, a source down, slow, answering HTML, answering a huge
//! body, redirecting elsewhere with a secret in hand, and request coalescing.

#![cfg(feature = "oracle")]

mod support;

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

/// The `retrieval` table of most tests: one short attempt, no retry.
const QUICK: &str = "attempt_timeout_ms = 1000, connect_timeout_ms = 500, retries = 0";

fn eth_params(urls: &[String], extra: &str) -> String {
    eth_params_with(urls, extra, QUICK)
}

fn eth_params_with(urls: &[String], extra: &str, retrieval: &str) -> String {
    let mut s = format!("retrieval = {{ {retrieval} }}\n{extra}\n");
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
        let verdict = v.verify(&task(serde_json::json!({"eth": 3020.0}))).await;
        assert_eq!(
            verdict,
            Verdict::invalid(
                "field `eth` (/eth): claimed 3020, observed 3150 (median of 1 sources), tolerance ±1% (±31.5)"
            )
        );
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
        let mut params = String::from("retrieval = { retries = 0 }\n[fields.eth]\npointer = \"/eth\"\nabsolute = 2\n[fields.btc]\npointer = \"/prices/btc\"\nabsolute = 1\n[fields.market]\npointer = \"/market\"\ntype = \"string\"\n");
        for u in [&ua, &ub, &uc] {
            params.push_str(&format!(
                "[[sources]]\nurl = \"{u}/price\"\nheaders = {{ accept = \"application/json\" }}\nfields = {{ eth = \"/ethereum/usd\", btc = \"/bitcoin/usd\", market = \"/market\" }}\n"
            ));
        }
        let v = build(&params);
        let good = serde_json::json!({"eth": 3000.5, "prices": {"btc": "60000"}, "market": "open"});
        assert_eq!(v.verify(&task(good)).await, Verdict::Valid);
        let bad = serde_json::json!({"eth": 3000.5, "prices": {"btc": 60000}, "market": "closed"});
        assert_eq!(
            v.verify(&task(bad)).await,
            Verdict::invalid(
                "field `market` (/market): claimed \"closed\", observed \"open\" (median of 3 sources), tolerance exact"
            )
        );
    })
    .await;
}

#[tokio::test]
async fn source_down_is_undecided_never_invalid() {
    bounded(async {
        let down = closed_port().await;
        let params = eth_params_with(
            &[format!("{down}/price")],
            "",
            "retries = 2, backoff_ms = 10, attempt_timeout_ms = 1000",
        );
        let v = build(&params);
        // Even a wildly wrong claim cannot be judged without the source.
        let verdict = v.verify(&task(serde_json::json!({"eth": 1.0}))).await;
        let Verdict::Undecided { cause } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            cause.starts_with("field `eth`: 0 of 1 sources answered, 1 required; "),
            "{cause}"
        );
        assert!(
            cause.contains(&format!("source 0 ({down}/price): cannot connect")),
            "{cause}"
        );
    })
    .await;
}

#[tokio::test]
async fn slow_source_times_out_as_undecided() {
    bounded(async {
        let base = serve(Source::default()).await;
        let params = eth_params_with(
            &[format!("{base}/slow")],
            "",
            "attempt_timeout_ms = 300, retries = 0",
        );
        let v = build(&params);
        let started = Instant::now();
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000.0}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/slow): timed out after 300 ms (attempt_timeout_ms)")),
            "{verdict:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // The total timeout bounds retries too.
        let params = eth_params_with(
            &[format!("{base}/slow")],
            "",
            "total_timeout_ms = 400, retries = 5, backoff_ms = 1",
        );
        let started = Instant::now();
        let verdict = build(&params)
            .verify(&task(serde_json::json!({"eth": 3000.0})))
            .await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("timed out after 400 ms (total_timeout_ms)")),
            "{verdict:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
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
            matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/html): the response is not JSON: expected value at line 1 column 1")),
            "{verdict:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn huge_body_is_cut_off_at_the_cap() {
    bounded(async {
        let base = serve(Source::default()).await;
        let v = build(&eth_params_with(
            &[format!("{base}/huge")],
            "",
            "max_response_bytes = 65536, retries = 0",
        ));
        let started = Instant::now();
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000.0}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/huge): the response exceeds the 65536-byte limit")),
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
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/price): no value at `/ethereum/eur` for field `eth` (a decimal number is needed)")),
            "{verdict:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn transient_failure_is_retried() {
    bounded(async {
        let base = serve(Source::default()).await;
        let v = build(&eth_params_with(
            &[format!("{base}/flaky")],
            "",
            "retries = 1, backoff_ms = 10",
        ));
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
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for (proof, reason) in [
            (
                "not json".to_owned(),
                "proofOfTask is not JSON: expected ident at line 1 column 2",
            ),
            (
                format!("{{\"eth\": \"NaN\", \"ts\": {now}}}"),
                "field `eth`: the claimed number at `/eth` is not a decimal number",
            ),
            (
                format!("{{\"eth\": true, \"ts\": {now}}}"),
                "field `eth`: the proof has no decimal number at `/eth`",
            ),
            (
                "{\"eth\": 3000, \"ts\": 1}".to_owned(),
                "the proof's timestamp 1 is",
            ),
            (
                "{\"price\": 3000}".to_owned(),
                "the proof has no numeric timestamp at `/ts`",
            ),
        ] {
            let t = Task::new(proof.clone(), Bytes::new(), Address::ZERO, 20);
            match v.verify(&t).await {
                Verdict::Invalid { reason: got } => {
                    assert!(got.starts_with(reason), "{proof}: {got}")
                }
                other => panic!("{proof}: {other:?}"),
            }
        }
        assert_eq!(source.hits(), 0);
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

// ---------------------------------------------------------------------------
// Exact numbers.

/// A source answering `body` (JSON text) at every path.
async fn answering(body: &'static str) -> String {
    support::serve(move |_| support::Reply::Body(body.as_bytes().to_vec())).await
}

fn wei_params(url: &str, tolerance: &str) -> String {
    format!(
        "retrieval = {{ {QUICK} }}\n[fields.wei]\npointer = \"/wei\"\n{tolerance}\n[[sources]]\nurl = \"{url}\"\nfields = {{ wei = \"/wei\" }}\n"
    )
}

fn claim(text: &str) -> Task {
    Task::new(
        format!("{{\"wei\": {text}}}"),
        Bytes::new(),
        Address::ZERO,
        20,
    )
}

#[tokio::test]
async fn rejects_a_wei_claim_that_f64_would_judge_equal() {
    bounded(async {
        // The issue's pair: one f64, two different amounts.
        assert_eq!(1000000000000000001f64, 1000000000000000064f64);
        for answer in [
            r#"{"wei": "1000000000000000001"}"#,
            r#"{"wei": 1000000000000000001}"#,
        ] {
            let v = build(&wei_params(&answering(answer).await, ""));
            for claimed in ["\"1000000000000000064\"", "1000000000000000064"] {
                assert_eq!(
                    v.verify(&claim(claimed)).await,
                    Verdict::invalid(
                        "field `wei` (/wei): claimed 1000000000000000064, observed 1000000000000000001 (median of 1 sources), tolerance exact"
                    ),
                    "{answer} {claimed}"
                );
            }
            assert_eq!(v.verify(&claim("1000000000000000001")).await, Verdict::Valid);
            assert_eq!(v.verify(&claim("1.000000000000000001e18")).await, Verdict::Valid);
        }
        // Beyond 64 bits too.
        let v = build(&wei_params(
            &answering(r#"{"wei": 115792089237316195423570985008687907853269984665640564039457584007913129639935}"#).await,
            "",
        ));
        let verdict = v
            .verify(&claim("115792089237316195423570985008687907853269984665640564039457584007913129639934"))
            .await;
        assert!(
            matches!(&verdict, Verdict::Invalid { reason } if reason == "field `wei` (/wei): claimed 115792089237316195423570985008687907853269984665640564039457584007913129639934, observed 115792089237316195423570985008687907853269984665640564039457584007913129639935 (median of 1 sources), tolerance exact"),
            "{verdict:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn tolerances_are_applied_exactly() {
    bounded(async {
        let v = build(&wei_params(
            &answering(r#"{"wei": "3000"}"#).await,
            "relative = 0.01",
        ));
        // 1 % of 3000 is exactly 30: the bound is in, anything past it out.
        assert_eq!(v.verify(&claim("3030")).await, Verdict::Valid);
        assert_eq!(v.verify(&claim("\"2970\"")).await, Verdict::Valid);
        assert_eq!(
            v.verify(&claim("\"3030.000000000000000001\"")).await,
            Verdict::invalid(
                "field `wei` (/wei): claimed 3030.000000000000000001, observed 3000 (median of 1 sources), tolerance ±1% (±30)"
            )
        );
        // A tolerance no float holds, as a decimal string.
        let v = build(&wei_params(
            &answering(r#"{"wei": "1000000000000000000"}"#).await,
            "absolute = \"1\"",
        ));
        assert_eq!(v.verify(&claim("\"1000000000000000001\"")).await, Verdict::Valid);
        assert!(matches!(
            v.verify(&claim("\"1000000000000000002\"")).await,
            Verdict::Invalid { reason } if reason.ends_with("tolerance ±1")
        ));
    })
    .await;
}

#[tokio::test]
async fn a_huge_exponent_is_refused_without_arithmetic() {
    bounded(async {
        let v = build(&wei_params(&answering(r#"{"wei": 5}"#).await, "absolute = 1"));
        let started = Instant::now();
        for huge in ["1e999999999", "\"-1e-999999999\"", "\"1e99999999999999999999999\""] {
            assert_eq!(
                v.verify(&claim(huge)).await,
                Verdict::invalid(
                    "field `wei`: the claimed number at `/wei` is outside the supported range (at most 100 significant digits, between 1e-100 and 1e100)"
                ),
                "{huge}"
            );
        }
        // From a source, the same number is the attester's trouble.
        let v = build(&wei_params(
            &answering(r#"{"wei": 1e999999999}"#).await,
            "absolute = 1",
        ));
        let verdict = v.verify(&claim("5")).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with(": a number that is outside the supported range (at most 100 significant digits, between 1e-100 and 1e100) at `/wei` for field `wei` (a decimal number is needed)")),
            "{verdict:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    })
    .await;
}

// ---------------------------------------------------------------------------
// Secrets: never shown, never sent to another origin.

const PRICE: &str = r#"{"ethereum": {"usd": 3000}}"#;

#[tokio::test]
async fn a_source_secret_never_appears_in_the_undecided_cause() {
    bounded(async {
        let down = closed_port().await.replace("http://", "http://user:hunter2@");
        let (failing, _) =
            support::serve_logged(|_| support::Reply::Status(500)).await;
        let v = build(&format!(
            "retrieval = {{ {QUICK} }}\n[fields.eth]\npointer = \"/eth\"\n\
             [[sources]]\nurl = \"{down}/price?ids=eth&apikey=SECRET1\"\nfields = {{ eth = \"/ethereum/usd\" }}\n\
             [[sources]]\nurl = \"{failing}/price?apikey=SECRET2#frag\"\nheaders = {{ x-api-key = \"SECRET3\" }}\nfields = {{ eth = \"/ethereum/usd\" }}\n"
        ));
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000}))).await;
        let Verdict::Undecided { cause } = &verdict else {
            panic!("{verdict:?}")
        };
        for secret in ["SECRET1", "SECRET2", "SECRET3", "hunter2", "user", "frag"] {
            assert!(!cause.contains(secret), "{secret} leaked: {cause}");
        }
        assert!(cause.contains("/price?ids=…&apikey=…): cannot connect"), "{cause}");
        assert!(cause.contains(&format!("({failing}/price?apikey=…): HTTP 500")), "{cause}");
        let debug = format!("{v:?}");
        for secret in ["SECRET1", "SECRET2", "SECRET3", "hunter2"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
    })
    .await;
}

/// A source with a key (header and userinfo) at `origin`, reading `/eth`.
fn keyed_source(origin: &str, path: &str, retrieval: &str) -> OracleVerifier {
    let with_userinfo = origin.replace("http://", "http://user:hunter2@");
    build(&format!(
        "retrieval = {{ {retrieval} }}\n[fields.eth]\npointer = \"/eth\"\n\
         [[sources]]\nurl = \"{with_userinfo}{path}?apikey=SECRET\"\nheaders = {{ x-api-key = \"KEY\" }}\nfields = {{ eth = \"/ethereum/usd\" }}\n"
    ))
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_carries_the_key_nor_a_referer() {
    bounded(async {
        let (other, other_log) =
            support::serve_logged(|_| support::Reply::Body(PRICE.as_bytes().to_vec())).await;
        let target = format!("{other}/price");
        let (origin, origin_log) =
            support::serve_logged(move |_| support::Reply::Redirect(302, target.clone())).await;
        let v = keyed_source(&origin, "/price", QUICK);
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3000}))).await,
            Verdict::Valid
        );
        let first = origin_log.lock().unwrap()[0].clone();
        assert_eq!(first.header("x-api-key"), Some("KEY"), "{first:?}");
        assert!(
            first
                .header("authorization")
                .is_some_and(|a| a.starts_with("Basic "))
        );
        let hops = other_log.lock().unwrap().clone();
        assert_eq!(hops.len(), 1);
        for forbidden in ["x-api-key", "authorization", "referer"] {
            assert_eq!(
                hops[0].header(forbidden),
                None,
                "{forbidden} sent: {:?}",
                hops[0]
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_same_origin_redirect_keeps_the_key_but_a_bounce_back_does_not() {
    bounded(async {
        // /old → /price on the same origin: the key goes along.
        let (origin, log) = support::serve_logged(|r| {
            if r.path.starts_with("/old") {
                support::Reply::Redirect(301, "/price".into())
            } else {
                support::Reply::Body(PRICE.as_bytes().to_vec())
            }
        })
        .await;
        let v = keyed_source(&origin, "/old", QUICK);
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3000}))).await,
            Verdict::Valid
        );
        let requests = log.lock().unwrap().clone();
        assert_eq!(requests.len(), 2);
        assert!(
            requests
                .iter()
                .all(|r| r.header("x-api-key") == Some("KEY")),
            "{requests:?}"
        );

        // origin → elsewhere → back to origin: once the chain has left the
        // origin, the key is not sent again (the path back is the other
        // server's choice).
        let bouncer_target = Arc::new(std::sync::Mutex::new(String::new()));
        let back = Arc::clone(&bouncer_target);
        let bouncer =
            support::serve(move |_| support::Reply::Redirect(307, back.lock().unwrap().clone()))
                .await;
        let to_bouncer = format!("{bouncer}/bounce");
        let (origin, log) = support::serve_logged(move |r| {
            if r.path.starts_with("/start") {
                support::Reply::Redirect(302, to_bouncer.clone())
            } else {
                support::Reply::Body(PRICE.as_bytes().to_vec())
            }
        })
        .await;
        *bouncer_target.lock().unwrap() = format!("{origin}/price");
        let v = keyed_source(&origin, "/start", QUICK);
        assert_eq!(
            v.verify(&task(serde_json::json!({"eth": 3000}))).await,
            Verdict::Valid
        );
        let requests = log.lock().unwrap().clone();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[0].header("x-api-key"), Some("KEY"));
        assert_eq!(requests[1].path, "/price");
        assert_eq!(requests[1].header("x-api-key"), None, "{:?}", requests[1]);
        assert_eq!(
            requests[1].header("authorization"),
            None,
            "{:?}",
            requests[1]
        );
    })
    .await;
}

#[tokio::test]
async fn a_redirect_loop_stops_at_max_redirects() {
    bounded(async {
        let (origin, log) =
            support::serve_logged(|_| support::Reply::Redirect(302, "/loop".into())).await;
        let v = keyed_source(&origin, "/loop", "max_redirects = 2, retries = 0");
        let verdict = v.verify(&task(serde_json::json!({"eth": 3000}))).await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("/loop?apikey=…): redirect refused: more than 2 redirects (max_redirects)")),
            "{verdict:?}"
        );
        assert_eq!(log.lock().unwrap().len(), 3, "one request and two redirects");
        // A redirect to another scheme is refused outright.
        let (origin, _) =
            support::serve_logged(|_| support::Reply::Redirect(302, "file:///etc/passwd".into()))
                .await;
        let verdict = keyed_source(&origin, "/p", QUICK)
            .verify(&task(serde_json::json!({"eth": 3000})))
            .await;
        assert!(
            matches!(&verdict, Verdict::Undecided { cause } if cause.ends_with("redirect refused: a redirect to a `file` URL (only http and https)")),
            "{verdict:?}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// Config.

#[test]
fn the_total_retrieval_timeout_is_what_the_node_must_allow() {
    let v = build(&eth_params_with(&["http://127.0.0.1:1/".into()], "", ""));
    assert_eq!(v.time_needed(), Some(Duration::from_secs(8)));
    let v = build(&eth_params_with(
        &["http://127.0.0.1:1/".into()],
        "",
        "total_timeout_ms = 2500",
    ));
    assert_eq!(v.time_needed(), Some(Duration::from_millis(2500)));
}

#[test]
fn config_mistakes_are_located() {
    let registry = builtin_registry();
    let load = |params: &str| {
        let table: toml::Table = params.parse().unwrap();
        let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
        OracleVerifier::from_context(&ctx).unwrap_err()
    };
    let source = "[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { eth = \"/a\" }\n";
    let e = load(&format!("[fields.eth]\npointer = \"eth\"\n{source}"));
    assert_eq!(e.key, "params.fields.eth.pointer", "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"ftp://u:SECRET@127.0.0.1:1/?k=SECRET\"\nfields = { eth = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.sources[0].url", "{e}");
    assert!(!e.to_string().contains("SECRET"), "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { btc = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.sources[0].fields.btc", "{e}");
    let e = load(&format!(
        "[fields.eth]\npointer = \"/eth\"\nrelative = -1\n{source}"
    ));
    assert_eq!(e.key, "params.fields.eth.relative", "{e}");
    let e = load(&format!(
        "[fields.eth]\npointer = \"/eth\"\nabsolute = \"1e999\"\n{source}"
    ));
    assert_eq!(e.key, "params.fields.eth.absolute", "{e}");
    let e = load(
        "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nheaders = { x-api-key = \"SECRET\\n\" }\nfields = { eth = \"/a\" }\n",
    );
    assert_eq!(e.key, "params.sources[0].headers.x-api-key", "{e}");
    assert!(!e.to_string().contains("SECRET"), "{e}");
    let e = load(&format!(
        "retrieval = {{ attempt_timeout_ms = 9000, total_timeout_ms = 5000 }}\n[fields.eth]\npointer = \"/eth\"\n{source}"
    ));
    assert_eq!(e.key, "params.retrieval.attempt_timeout_ms", "{e}");
    let e = load(&format!(
        "retrieval = {{ retries = 11 }}\n[fields.eth]\npointer = \"/eth\"\n{source}"
    ));
    assert_eq!(e.key, "params.retrieval.retries", "{e}");
}

#[test]
fn a_key_that_moved_into_the_retrieval_table_is_refused_with_its_new_place() {
    let registry = builtin_registry();
    let load = |params: &str| {
        let table: toml::Table = params.parse().unwrap();
        let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
        OracleVerifier::from_context(&ctx).unwrap_err()
    };
    let rest = "[fields.eth]\npointer = \"/eth\"\n[[sources]]\nurl = \"http://127.0.0.1:1/\"\nfields = { eth = \"/a\" }\n";
    for (old, new) in [
        ("timeout_ms = 1000", "retrieval.total_timeout_ms"),
        ("connect_timeout_ms = 1000", "retrieval.connect_timeout_ms"),
        ("retries = 1", "retrieval.retries"),
        ("backoff_ms = 10", "retrieval.backoff_ms"),
        ("max_response_bytes = 10", "retrieval.max_response_bytes"),
    ] {
        let e = load(&format!("{old}\n{rest}"));
        let key = old.split(' ').next().unwrap();
        assert_eq!(e.key, format!("params.{key}"), "{e}");
        assert!(e.message.starts_with("this key moved: use `"), "{e}");
        assert!(e.message.contains(new), "{e}");
    }
    let e = load(&format!("timeout_ms = 1000\n{rest}"));
    assert!(
        e.message.contains("attempt_timeout_ms` (one attempt)"),
        "{e}"
    );
}
