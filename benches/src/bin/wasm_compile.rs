//! Start-up cost of WebAssembly plugins: compiling a module when the config
//! loads, cold (an empty compiled-code cache) and from the disk cache, and a
//! config of four JavaScript plugins none of which is cached.
//!
//!   cargo run --release -p taskproof-benches --bin wasm-compile
//!
//! Prints one line per measurement, in milliseconds.

use std::{path::Path, time::Instant};

use taskproof_benches::PLUGINS;
use taskproof_core::TaskDefinitions;

fn definition(id: u16, module: &str, cache: &Path) -> String {
    format!(
        "[[task_definitions]]\nid = {id}\nname = \"p{id}\"\nverifier = \"wasm\"\n\
         [task_definitions.params]\nmodule = \"{PLUGINS}/{module}\"\ncache_dir = \"{}\"\n\
         plugin_params = {{ root = \"0x8feaba674dbef989dff377b7033480ed7087d0999690a9e43cf74c63119ffd8b\", leaf_encoding = [\"address\", \"uint256\"] }}\n",
        cache.display()
    )
}

/// A copy of a cache folder under a new path: a plugin is compiled once per
/// process and cache folder, so only a folder this process has not used yet
/// shows what reading compiled code from disk costs.
fn copy_of(cache: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let copy_tree = |from: &Path, to: &Path| {
        let mut stack = vec![(from.to_owned(), to.to_owned())];
        while let Some((from, to)) = stack.pop() {
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(&from).unwrap() {
                let entry = entry.unwrap();
                let target = to.join(entry.file_name());
                if entry.file_type().unwrap().is_dir() {
                    stack.push((entry.path(), target));
                } else {
                    std::fs::copy(entry.path(), target).unwrap();
                }
            }
        }
    };
    copy_tree(cache, copy.path());
    copy
}

fn load_ms(config: &str) -> f64 {
    let registry = taskproof_verifiers::builtin_registry();
    let began = Instant::now();
    let loaded = TaskDefinitions::from_toml_str(config, Path::new("bench.toml"), &registry);
    let took = began.elapsed().as_secs_f64() * 1000.0;
    if let Err(e) = loaded {
        panic!("{e}");
    }
    took
}

fn main() {
    for (name, module) in [
        ("rust merkle", "examples/rust/merkle/merkle.wasm"),
        ("js merkle", "examples/js/merkle.wasm"),
        ("python claim", "examples/python/claim.wasm"),
    ] {
        if !Path::new(PLUGINS).join(module).exists() {
            continue;
        }
        let cache = tempfile::tempdir().unwrap();
        let config = definition(1, module, cache.path());
        let cold = load_ms(&config);
        let warm = copy_of(cache.path());
        let cached = load_ms(&definition(1, module, warm.path()));
        let bytes = std::fs::metadata(Path::new(PLUGINS).join(module))
            .unwrap()
            .len();
        println!(
            "{name} ({bytes} bytes): compile cold {cold:.0} ms, from the disk cache {cached:.1} ms"
        );
    }
    // Four JS plugins, each with an empty cache of its own, so that none is
    // found compiled: what a first start of such a node costs.
    let caches: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let config_for = |caches: &[tempfile::TempDir]| -> String {
        caches
            .iter()
            .enumerate()
            .map(|(i, cache)| {
                let module = if i % 2 == 0 {
                    "examples/js/merkle.wasm"
                } else {
                    "examples/js/claim.wasm"
                };
                definition(i as u16 + 1, module, cache.path())
            })
            .collect()
    };
    let cold = load_ms(&config_for(&caches));
    let warm: Vec<_> = caches.iter().map(|c| copy_of(c.path())).collect();
    let cached = load_ms(&config_for(&warm));
    println!(
        "four uncached JS plugins: start-up {cold:.0} ms; again, from the disk cache, {cached:.1} ms"
    );
}
