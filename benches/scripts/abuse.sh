#!/usr/bin/env bash
# Overload: is refusing cheap? The node serves a Groth16 task definition with
# max_pending = 128. wrk drives 256 distinct valid proofs, first with 64
# connections (no overload), then with 512 connections (384 more than the
# node admits: they are refused with 503). Prints valid verdicts/s of both
# runs and their ratio (target: the overloaded run keeps >= 80 % of the
# unloaded rate), and the node's RSS before, during and after the overload.
#
#   benches/scripts/abuse.sh                 # 20 s per run
#   DURATION=60 benches/scripts/abuse.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
PORT=${PORT:-4612}
CALM=${CALM:-64}
FLOOD=${FLOOD:-512}

. benches/scripts/load-lib.sh
ensure_wrk
cargo build --release -q -p taskproof-node
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

body=$(groth16_bodies 256)
write_post_lua "$body"
cat > "$work/taskproof.toml" <<TOML
[node]
listen = "127.0.0.1:$PORT"
max_pending = 128
max_connections = 1024
[[task_definitions]]
id = 1
name = "groth16"
verifier = "groth16"
params = { verification_key = "$PWD/fixtures/groth16/multiplier/verification_key.json" }
TOML
target/release/taskproof serve --config "$work/taskproof.toml" 2>"$work/node.log" &
node=$!
pids+=("$node")
url="http://127.0.0.1:$PORT/task/validate"
wait_http "$url" "$body"
rss_before=$(rss_kib "$node")

echo "== unloaded: $CALM connections, ${DURATION}s" >&2
read -r calm_valid calm_rps calm_p99 calm_refused calm_err < <(run_wrk "$url" "$CALM" "$DURATION")

peak=0
( while kill -0 "$node" 2>/dev/null; do rss_kib "$node"; sleep 0.2; done ) > "$work/rss.txt" &
sampler=$!
pids+=("$sampler")
echo "== overloaded: $FLOOD connections, max_pending 128, ${DURATION}s" >&2
read -r flood_valid flood_rps flood_p99 flood_refused flood_err < <(run_wrk "$url" "$FLOOD" "$DURATION")
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss.txt" | tail -1)
sleep 2
rss_after=$(rss_kib "$node")
log_bytes=$(wc -c < "$work/node.log")

printf '\n%-12s %14s %12s %10s %10s %8s\n' run valid/s requests/s p99_ms refused errors
printf '%-12s %14s %12s %10s %10s %8s\n' "unloaded" "$calm_valid" "$calm_rps" "$calm_p99" "$calm_refused" "$calm_err"
printf '%-12s %14s %12s %10s %10s %8s\n' "overloaded" "$flood_valid" "$flood_rps" "$flood_p99" "$flood_refused" "$flood_err"
python3 -c "print(f'overloaded / unloaded valid verdicts/s: {$flood_valid/max($calm_valid,1)*100:.0f} % (target >= 80 %)')"
echo "RSS: before ${rss_before} KiB, peak during overload ${peak} KiB, after ${rss_after} KiB; log written: ${log_bytes} bytes"
