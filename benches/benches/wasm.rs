//! WebAssembly plugins through the `wasm` verifier: the cost of one
//! verification (a fresh instance from the prepared template, the call, the
//! verdict), for the Rust and JavaScript Merkle plugins against the native
//! `merkle` kind on the same proof, and the cost of a fresh instance alone.
//!
//! `call` is the plugin on the calling thread; `verify` adds the hop to the
//! CPU pool that the node makes for every plugin call; `kept` is the same
//! call with `reuse_instances = true` (an instance kept between calls).

use criterion::{Criterion, criterion_group, criterion_main};
use taskproof_benches::{PLUGINS, fixture, verifier};
use taskproof_core::{Address, BuildContext, Task, Verdict, Verifier};
use taskproof_verifiers::wasm::{Plugin, WasmVerifier};

fn plugin(module: &str, plugin_params: &str) -> std::sync::Arc<dyn Verifier> {
    verifier(
        "wasm",
        &format!(
            "module = \"{PLUGINS}/{module}\"\ncache_dir = \"{}/wasm-cache\"\nplugin_params = {plugin_params}\n",
            env!("CARGO_TARGET_TMPDIR")
        ),
    )
}

/// The plugin itself, to call it without the CPU pool's hop.
fn bare(module: &str, plugin_params: &str, extra: &str) -> std::sync::Arc<Plugin> {
    let params: toml::Table = format!(
        "module = \"{PLUGINS}/{module}\"\ncache_dir = \"{}/wasm-cache\"\nplugin_params = {plugin_params}\n{extra}\n",
        env!("CARGO_TARGET_TMPDIR")
    )
    .parse()
    .unwrap();
    let registry = taskproof_verifiers::builtin_registry();
    let ctx = BuildContext::standalone(&params, std::path::Path::new("."), &registry);
    WasmVerifier::build(&ctx).unwrap().plugin().clone()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let f = fixture("merkle/openzeppelin/airdrop.proofs.json");
    let root = f["root"].as_str().unwrap();
    let params = format!("{{ root = \"{root}\", leaf_encoding = [\"address\", \"uint256\"] }}");
    let task = Task::new(f["singles"][4].to_string(), Vec::new(), Address::ZERO, 1);

    let native = verifier(
        "merkle",
        &format!(
            "scheme = \"openzeppelin\"\nroot = \"{root}\"\nleaf_encoding = [\"address\", \"uint256\"]\n"
        ),
    );
    let rust = plugin("examples/rust/merkle/merkle.wasm", &params);
    let js = plugin("examples/js/merkle.wasm", &params);
    let empty = plugin("hostile/attacks/attacks.wasm", "{ attack = \"valid\" }");
    for v in [&native, &rust, &js, &empty] {
        assert_eq!(rt.block_on(v.verify(&task)), Verdict::Valid);
    }

    let mut g = c.benchmark_group("wasm");
    g.bench_function("native_merkle_verify", |b| {
        b.to_async(&rt).iter(|| native.verify(&task))
    });
    let rust_plugin = bare("examples/rust/merkle/merkle.wasm", &params, "");
    g.bench_function("rust_merkle_plugin_call", |b| {
        b.iter(|| rust_plugin.call(&task, None))
    });
    let rust_kept = bare(
        "examples/rust/merkle/merkle.wasm",
        &params,
        "reuse_instances = true",
    );
    assert_eq!(rust_kept.call(&task, None), Verdict::Valid);
    g.bench_function("rust_merkle_plugin_call_kept", |b| {
        b.iter(|| rust_kept.call(&task, None))
    });
    g.bench_function("rust_merkle_plugin_verify", |b| {
        b.to_async(&rt).iter(|| rust.verify(&task))
    });
    let empty_plugin = bare("hostile/attacks/attacks.wasm", "{ attack = \"valid\" }", "");
    g.bench_function("fresh_instance_and_empty_call", |b| {
        b.iter(|| empty_plugin.call(&task, None))
    });
    let js_plugin = bare("examples/js/merkle.wasm", &params, "");
    g.bench_function("js_merkle_plugin_call", |b| {
        b.iter(|| js_plugin.call(&task, None))
    });
    let js_kept = bare("examples/js/merkle.wasm", &params, "reuse_instances = true");
    assert_eq!(js_kept.call(&task, None), Verdict::Valid);
    g.bench_function("js_merkle_plugin_call_kept", |b| {
        b.iter(|| js_kept.call(&task, None))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
