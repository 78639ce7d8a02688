#!/usr/bin/env bash
# Builds every Rust guest of this folder (the example plugins and the hostile
# plugins the tests feed the host) into a WebAssembly component next to its
# source. Needs rustup and the crates.io registry; the tests do not (the
# components are committed).
#
#   plugins/build-rust.sh
set -euo pipefail
cd "$(dirname "$0")"

WASM_TOOLS_VERSION=1.263.0
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! wasm-tools --version 2>/dev/null | grep -q "^wasm-tools $WASM_TOOLS_VERSION"; then
    cargo install --locked wasm-tools --version "$WASM_TOOLS_VERSION"
fi

cargo build --locked --release --target wasm32-unknown-unknown
out=target/wasm32-unknown-unknown/release

# crate file name -> component path
component() {
    wasm-tools component new "$out/$1.wasm" -o "$2"
    wasm-tools validate --features component-model "$2"
    echo "$2: $(wc -c <"$2") bytes"
}
component taskproof_plugin_merkle examples/rust/merkle/merkle.wasm
component taskproof_plugin_claim examples/rust/claim/claim.wasm
component taskproof_plugin_reexecute examples/rust/reexecute/stats.wasm
component taskproof_hostile_attacks hostile/attacks/attacks.wasm
component taskproof_hostile_imports_wasi hostile/imports-wasi/imports-wasi.wasm
component taskproof_hostile_program hostile/program/program.wasm
