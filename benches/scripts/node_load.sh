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
# Installs wrk from Debian when missing; installs the peer's npm packages on
# first use. Target on a 2-core machine: >= 25,000 requests/s, p99 <= 5 ms, no errors.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-4602}
PEER_PORT=${PEER_PORT:-4603}

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian..." >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null || { echo "cannot install wrk" >&2; exit 1; }
fi

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
  cargo build --release -q -p taskproof-benches --bin groth16-timing
  target/release/groth16-timing emit multiplier 256 > "$work/proofs.json"
  python3 - "$work/proofs.json" > "$work/bodies.lua" <<'PY'
import json, sys
proofs = json.load(open(sys.argv[1]))
print("bodies = {")
for p in proofs:
    body = json.dumps({"proofOfTask": json.dumps(p), "data": "0x", "taskDefinitionId": 1})
    print(f"  [==[{body}]==],")
print("}")
PY
  body=$(python3 -c "import json;p=json.load(open('$work/proofs.json'))[0];print(json.dumps({'proofOfTask':json.dumps(p),'data':'0x','taskDefinitionId':1}))")
else
  body=$(python3 - "$fixture" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print(json.dumps({"proofOfTask": json.dumps(f["singles"][4]), "data": "0x", "taskDefinitionId": 1,
                  "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))
PY
)
fi
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[$body]==]
LUA
if [ -f "$work/bodies.lua" ]; then
  cat "$work/bodies.lua" - >> "$work/post.lua" <<'LUA'
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA
fi

wait_http() { # url
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' --data "$body" "$1"; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2; return 1
}

# Prints "<requests/s> <p99 ms> <errors>"
run_wrk() { # url
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "$1")
  echo "$out" >&2
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errors = 0
for pat in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
    m = re.search(pat, out)
    if m:
        errors += sum(int(g) for g in m.groups())
print(f"{rps:.0f} {p99:.2f} {errors}")
PY
}

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
wait_http "http://127.0.0.1:$PORT/task/validate"
echo "== taskproof ($TASK): ${DURATION}s, $CONNECTIONS connections" >&2
read -r tp_rps tp_p99 tp_err < <(run_wrk "http://127.0.0.1:$PORT/task/validate")
curl -fs "http://127.0.0.1:$PORT/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
s = re.search(r"^taskproof_batch_size_sum\{[^}]*\} ([\d.e+]+)", text, re.M)
n = re.search(r"^taskproof_batch_size_count\{[^}]*\} ([\d.e+]+)", text, re.M)
if s and n and float(n.group(1)) > 0:
    print(f"batches: {float(n.group(1)):.0f}, mean size {float(s.group(1)) / float(n.group(1)):.1f} (from /metrics)", file=sys.stderr)
' || true
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

printf '\n%-28s %12s %10s %8s\n' server requests/s p99_ms errors
printf '%-28s %12s %10s %8s\n' "taskproof" "$tp_rps" "$tp_p99" "$tp_err"

if [ -z "${SKIP_PEER:-}" ]; then
  peer=benches/peers/express-merkle
  [ -d "$peer/node_modules" ] || (cd "$peer" && npm ci --no-audit --no-fund >/dev/null)
  PORT=$PEER_PORT ROOT=$root node "$peer/server.mjs" >"$work/peer.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$PEER_PORT/task/validate"
  echo "== express + @openzeppelin/merkle-tree: ${DURATION}s, $CONNECTIONS connections" >&2
  read -r js_rps js_p99 js_err < <(run_wrk "http://127.0.0.1:$PEER_PORT/task/validate")
  printf '%-28s %12s %10s %8s\n' "express+merkle-tree" "$js_rps" "$js_p99" "$js_err"
  python3 -c "print(f'ratio: taskproof serves {$tp_rps/$js_rps:.1f}x the requests/s with {$js_p99/max($tp_p99,0.001):.1f}x lower p99')"
fi
