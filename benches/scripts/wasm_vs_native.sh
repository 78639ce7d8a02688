#!/usr/bin/env bash
# The Rust Merkle plugin (task definition 70 of the bundled taskproof.toml,
# the `wasm` kind) against the native `merkle` kind (task definition 1) on
# the same OpenZeppelin proofs, through the node's engine (admission, the
# deadline, the CPU pool, metrics), one after the other in one run; prints
# both and the plugin's share of the native throughput (target >= 50 %).
#
#   benches/scripts/wasm_vs_native.sh            # 10 s each
#   DURATION=3s benches/scripts/wasm_vs_native.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
cargo build -q --release -p taskproof-node
bin=target/release/taskproof
corpus=benches/corpora/merkle-airdrop.jsonl
run() {
    "$bin" bench -c taskproof.toml --proofs "$corpus" --task-def "$1" --duration "$DURATION" --json 2>/dev/null
}
native=$(run 1)
plugin=$(run 70)
python3 - "$native" "$plugin" <<'PY'
import json, sys
native, plugin = (json.loads(a) for a in sys.argv[1:3])
for name, r in (("native merkle", native), ("rust merkle plugin", plugin)):
    print(f"{name:20} {r['valid_per_s']:>10.0f} valid/s  p50 {r['latency_us']['p50']} us  p99 {r['latency_us']['p99']} us  cpu/verdict {r['cpu']['per_verdict_us']:.1f} us")
print(f"plugin / native: {plugin['valid_per_s'] / native['valid_per_s']:.0%} (target >= 50%)")
PY
