#!/usr/bin/env bash
# The Rust Merkle plugin (task definitions 70, a fresh instance per call, and
# 73, instances kept between calls, of the bundled taskproof.toml) against
# the native `merkle` kind (task definition 1) on the same OpenZeppelin
# proofs, one after the other in one run, twice:
#   - in-process (`taskproof bench -c`): the node's engine (admission, the
#     deadline, the CPU pool, metrics) without HTTP;
#   - through the node (`taskproof serve`, driven by `taskproof bench --url`
#     on the same machine, 64 connections).
# Prints each run and the plugin's share of the native throughput (target
# >= 50 %).
#
#   benches/scripts/wasm_vs_native.sh            # 10 s each
#   DURATION=3s benches/scripts/wasm_vs_native.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
PORT=${PORT:-4610}
cargo build -q --release -p taskproof-node
bin=target/release/taskproof
corpus=benches/corpora/merkle-airdrop.jsonl
tmp=$(mktemp -d)
node=""
cleanup() { if [ -n "$node" ]; then kill "$node" 2>/dev/null || true; fi; rm -rf "$tmp"; }
trap cleanup EXIT

# The corpus's lines name task definition 1, and a line's own
# taskDefinitionId wins over --task-def: each run gets a copy naming its own.
for id in 1 70 73; do
    python3 - "$corpus" "$id" >"$tmp/$id.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        entry = json.loads(line)
        entry["taskDefinitionId"] = int(sys.argv[2])
        print(json.dumps(entry))
PY
done

in_process() {
    "$bin" bench -c taskproof.toml --proofs "$tmp/$1.jsonl" --duration "$DURATION" --json 2>/dev/null
}
through_node() {
    "$bin" bench --url "http://127.0.0.1:$PORT/task/validate" --proofs "$tmp/$1.jsonl" \
        --duration "$DURATION" --server-pid "$node" --json 2>/dev/null
}

report() { # title native fresh kept
    python3 - "$@" <<'PY'
import json, sys
title = sys.argv[1]
native, fresh, kept = (json.loads(a) for a in sys.argv[2:5])
runs = (("native merkle", native), ("plugin, fresh instances", fresh), ("plugin, kept instances", kept))
print(f"== {title}")
for name, r in runs:
    assert r["valid"] > 0 and r["invalid"] == r["undecided"] == r["errors"] == 0, r
    cpu = r["server_cpu"] or r["cpu"]
    print(f"{name:24} {r['valid_per_s']:>10.0f} valid/s  p50 {r['latency_us']['p50']:.0f} us  p99 {r['latency_us']['p99']:.0f} us  node cpu/verdict {cpu['per_verdict_us']:.1f} us")
for name, r in runs[1:]:
    print(f"{name} / native: {r['valid_per_s'] / native['valid_per_s']:.0%} (target >= 50%)")
PY
}

native=$(in_process 1)
fresh=$(in_process 70)
kept=$(in_process 73)
for r in "$native:1" "$fresh:70" "$kept:73"; do
    grep -q "task definition ${r##*:} " <<<"${r%:*}" || { echo "the run did not use task definition ${r##*:}" >&2; exit 1; }
done
report "in-process (the engine, no HTTP)" "$native" "$fresh" "$kept"

TASKPROOF_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn "$bin" serve --config taskproof.toml 2>"$tmp/node.log" &
node=$!
for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then break; fi
    if ! kill -0 "$node" 2>/dev/null; then cat "$tmp/node.log" >&2; exit 1; fi
    sleep 0.1
done
native=$(through_node 1)
fresh=$(through_node 70)
kept=$(through_node 73)
report "through the node (HTTP, the load generator on the same cores)" "$native" "$fresh" "$kept"
