#!/usr/bin/env bash
# Load test: taskproof's node against an Express + @openzeppelin/merkle-tree
# validation service, both answering POST /task/validate for the same
# OpenZeppelin Merkle proof, driven by wrk with the same settings in one run.
#
#   benches/scripts/node_load.sh            # 20 s per server, 64 connections
#   DURATION=60 CONNECTIONS=128 benches/scripts/node_load.sh
#   SKIP_PEER=1 benches/scripts/node_load.sh   # taskproof only (no Node.js needed)
#   TASK=groth16 benches/scripts/node_load.sh   # 256 distinct valid Groth16 proofs, in turn, through the batcher
#                                               # (target >= 1,500/s; no peer)
#
# Each server is measured twice: by wrk (the independent check) and by
# `taskproof bench --url` (the same corpus, connections and duration; it also
# reports p50/p90/p99 and the server's CPU time per verdict). With the peer,
# `taskproof bench --compare` runs both servers on the same corpus and prints
# the ratio; `taskproof bench` in-process gives what the node's engine does
# without HTTP.
#
# Counts answers that say "data":true (valid verdicts), not status codes.
# Installs wrk from Debian when missing; installs the peer's npm packages on
# first use. Target on a 2-core machine: >= 25,000 valid proofs/s, p99 <= 5 ms, no errors.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-4602}
PEER_PORT=${PEER_PORT:-4603}

. benches/scripts/load-lib.sh
ensure_wrk

cargo build --release -q -p taskproof-node
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

TASK=${TASK:-merkle}
fixture=fixtures/merkle/openzeppelin/airdrop.proofs.json
root=$(python3 -c "import json,sys;print(json.load(open('$fixture'))['root'])")
if [ "$TASK" = groth16 ]; then
  SKIP_PEER=1
  # 256 distinct valid proofs, sent in turn: the node sees no repeated input.
  body=$(groth16_bodies 256)
  corpus=$work/corpus.jsonl
else
  corpus=benches/corpora/merkle-airdrop.jsonl
  body=$(python3 - "$fixture" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print(json.dumps({"proofOfTask": json.dumps(f["singles"][4]), "data": "0x", "taskDefinitionId": 1,
                  "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))
PY
)
fi
write_post_lua "$body"

if [ "$TASK" = groth16 ]; then
  definition="verifier = \"groth16\"
params = { verification_key = \"$PWD/fixtures/groth16/multiplier/verification_key.json\" }"
else
  definition="verifier = \"merkle\"
params = { scheme = \"openzeppelin\", root = \"$root\", leaf_encoding = [\"address\", \"uint256\"] }"
fi
cat > "$work/taskproof.toml" <<TOML
[node]
listen = "127.0.0.1:$PORT"
[[task_definitions]]
id = 1
name = "$TASK"
$definition
TOML
RUST_LOG=warn target/release/taskproof serve --config "$work/taskproof.toml" 2>"$work/node.log" &
pids+=($!)
wait_http "http://127.0.0.1:$PORT/task/validate" "$body"
echo "== taskproof ($TASK): ${DURATION}s, $CONNECTIONS connections" >&2
read -r tp_valid tp_rps tp_p99 _ tp_err < <(run_wrk "http://127.0.0.1:$PORT/task/validate" "$CONNECTIONS" "$DURATION")
echo "== taskproof bench --url ($TASK): ${DURATION}s, $CONNECTIONS connections" >&2
target/release/taskproof bench --url "http://127.0.0.1:$PORT/task/validate" --proofs "$corpus" \
  --duration "${DURATION}s" --concurrency "$CONNECTIONS" --server-pid "${pids[0]}" >&2
curl -fs "http://127.0.0.1:$PORT/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
s = re.search(r"^taskproof_batch_size_sum\{[^}]*\} ([\d.e+]+)", text, re.M)
n = re.search(r"^taskproof_batch_size_count\{[^}]*\} ([\d.e+]+)", text, re.M)
if s and n and float(n.group(1)) > 0:
    print(f"batches: {float(n.group(1)):.0f}, mean size {float(s.group(1)) / float(n.group(1)):.1f} (from /metrics)", file=sys.stderr)
' || true
# Left running, idle, for `bench --compare` below.
tp_pid=${pids[0]}
echo "== taskproof bench in-process ($TASK): ${DURATION}s, $CONNECTIONS concurrent" >&2
target/release/taskproof bench -c "$work/taskproof.toml" --proofs "$corpus" \
  --duration "${DURATION}s" --concurrency "$CONNECTIONS" >&2

printf '\n%-28s %14s %12s %10s %8s\n' server valid-proofs/s requests/s p99_ms errors
printf '%-28s %14s %12s %10s %8s\n' "taskproof" "$tp_valid" "$tp_rps" "$tp_p99" "$tp_err"

if [ -z "${SKIP_PEER:-}" ]; then
  peer=benches/peers/express-merkle
  [ -d "$peer/node_modules" ] || (cd "$peer" && npm ci --no-audit --no-fund >/dev/null)
  PORT=$PEER_PORT ROOT=$root node "$peer/server.mjs" >"$work/peer.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$PEER_PORT/task/validate" "$body"
  echo "== express + @openzeppelin/merkle-tree: ${DURATION}s, $CONNECTIONS connections" >&2
  read -r js_valid js_rps js_p99 _ js_err < <(run_wrk "http://127.0.0.1:$PEER_PORT/task/validate" "$CONNECTIONS" "$DURATION")
  printf '%-28s %14s %12s %10s %8s\n' "express+merkle-tree" "$js_valid" "$js_rps" "$js_p99" "$js_err"
  python3 -c "print(f'ratio: taskproof answers {$tp_valid/max($js_valid,1):.1f}x the valid proofs/s with {$js_p99/max($tp_p99,0.001):.1f}x lower p99')"
  echo "== taskproof bench --compare: taskproof, then the peer, ${DURATION}s each, $CONNECTIONS connections" >&2
  target/release/taskproof bench --url "http://127.0.0.1:$PORT/task/validate" \
    --compare "http://127.0.0.1:$PEER_PORT/task/validate" --proofs "$corpus" \
    --duration "${DURATION}s" --concurrency "$CONNECTIONS" --server-pid "$tp_pid" --server-pid "${pids[1]}"
fi
