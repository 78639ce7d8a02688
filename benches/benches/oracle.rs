//! The local work of the `oracle` verifier: reading the claim's numbers
//! exactly and comparing them with answers already fetched and read (the
//! network, and the one reading of each answer that the cache amortises, are
//! not measured).

use std::{hint::black_box, path::Path, sync::Arc};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use taskproof_core::{BuildContext, Verdict};
use taskproof_verifiers::{builtin_registry, oracle::OracleVerifier};

fn verifier(fields: usize, sources: usize, combine: &str) -> OracleVerifier {
    let mut params = format!("combine = \"{combine}\"\n");
    for f in 0..fields {
        params.push_str(&format!(
            "[fields.f{f}]\npointer = \"/prices/f{f}\"\nrelative = 0.01\n"
        ));
    }
    for _ in 0..sources {
        // Never fetched: the bench calls `judge` with answers in hand.
        params.push_str("[[sources]]\nurl = \"http://127.0.0.1:9/\"\n[sources.fields]\n");
        for f in 0..fields {
            params.push_str(&format!("f{f} = \"/data/{f}/usd\"\n"));
        }
    }
    let table: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    OracleVerifier::from_context(&BuildContext::standalone(&table, Path::new("."), &registry))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    for (fields, sources, combine) in [(2, 1, "median"), (2, 3, "median"), (10, 3, "all")] {
        let v = verifier(fields, sources, combine);
        let claim: serde_json::Map<String, serde_json::Value> = (0..fields)
            .map(|f| (format!("f{f}"), json!(3000.0 + f as f64)))
            .collect();
        let proof = json!({"prices": claim}).to_string();
        let answers: Vec<_> = (0..sources)
            .map(|s| {
                let data: Vec<_> = (0..fields)
                    .map(|f| json!({"usd": 3000.0 + f as f64 + s as f64 * 0.5}))
                    .collect();
                let body = json!({"data": data}).to_string();
                v.read_answer(s, body.as_bytes()).map(Arc::new)
            })
            .collect();
        assert_eq!(v.judge(&proof, &answers), Verdict::Valid);
        c.bench_function(
            &format!("oracle/judge/{fields}-fields-{sources}-sources-{combine}"),
            |b| b.iter(|| v.judge(black_box(&proof), black_box(&answers))),
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
