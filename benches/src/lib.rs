//! Shared set-up for taskproof's benchmarks: fixtures and verifiers built
//! the way the node builds them.

use std::{path::Path, sync::Arc};

use taskproof_core::{BuildContext, Verifier};

pub mod groth16;

/// The repository's `fixtures/` folder.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The repository's `plugins/` folder (WebAssembly plugins).
pub const PLUGINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins");

/// Reads a JSON fixture.
pub fn fixture(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(path))
        .unwrap_or_else(|e| panic!("fixture {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Builds a built-in verifier from TOML params, relative paths resolving in
/// `fixtures/`.
pub fn verifier(kind: &str, params: &str) -> Arc<dyn Verifier> {
    let params: toml::Table = params.parse().expect("bench params are TOML");
    let registry = taskproof_verifiers::builtin_registry();
    let ctx = BuildContext::standalone(&params, Path::new(FIXTURES), &registry);
    registry
        .get(kind)
        .unwrap_or_else(|| panic!("kind {kind} is not compiled in"))
        .build(&ctx)
        .unwrap_or_else(|e| panic!("{e}"))
}
