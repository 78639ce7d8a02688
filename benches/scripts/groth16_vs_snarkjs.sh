#!/usr/bin/env bash
# Groth16 verification: snarkjs vs taskproof on the same N valid proofs, in
# one run. snarkjs verifies them in ONE Node process (curve built once, its
# fast path, after a warm-up pass); taskproof verifies them one by one and in
# batches (release build). Prints per-proof medians and the ratios.
#
#   benches/scripts/groth16_vs_snarkjs.sh                 # multiplier, N=256
#   CIRCUIT=attest N=128 benches/scripts/groth16_vs_snarkjs.sh
#
# Needs Node.js; installs fixtures/groth16's pinned npm packages on first use.
# Targets on a 2-core machine: single <= 1.5 ms and >= 8x snarkjs;
# batched <= 0.45 ms/proof at 64 and >= 25x snarkjs.
set -euo pipefail
cd "$(dirname "$0")/../.."

CIRCUIT=${CIRCUIT:-multiplier}
N=${N:-256}
ROUNDS=${ROUNDS:-5}
SNARKJS_ROUNDS=${SNARKJS_ROUNDS:-1}

if [ ! -d fixtures/groth16/node_modules/snarkjs ]; then
  (cd fixtures/groth16 && npm ci --no-audit --no-fund >/dev/null)
fi
cargo build --release -q -p taskproof-benches --bin groth16-timing
bin=target/release/groth16-timing

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" emit "$CIRCUIT" "$N" > "$work/proofs.json"

echo "circuit: $CIRCUIT, $N distinct valid proofs, $(nproc) cores"
echo "-- snarkjs $(node -p "require('./fixtures/groth16/node_modules/snarkjs/package.json').version") (one process, curve cached)"
node benches/scripts/groth16_snarkjs_verify.mjs fixtures/groth16/node_modules/snarkjs/main.js \
  "fixtures/groth16/$CIRCUIT/verification_key.json" "$work/proofs.json" "$SNARKJS_ROUNDS" | tee "$work/snarkjs.txt"
echo "-- taskproof"
ROUNDS=$ROUNDS "$bin" time "$CIRCUIT" "$work/proofs.json" | tee "$work/taskproof.txt"

python3 - "$work/snarkjs.txt" "$work/taskproof.txt" <<'PY'
import sys
def read(path):
    return {k: float(v) for k, v in (line.split() for line in open(path) if line.strip())}
s, t = read(sys.argv[1]), read(sys.argv[2])
print("-- per-proof medians (ms) and speed-up over snarkjs single")
for kind in ("", "cpu_"):
    base = s[f"single_{kind}ms"]
    title = "CPU time" if kind else "wall time"
    print(f"{title}:")
    print(f"  {'snarkjs single':<30}{base:>10.3f}")
    for name, value in t.items():
        if ("_cpu_" in name) != bool(kind):
            continue
        label = name.replace("_cpu", "").replace("_ms_per_proof", " per proof").replace("_ms", "")
        print(f"  {'taskproof ' + label:<30}{value:>10.3f}{base / value:>9.1f}x")
print("(CPU time counts every thread: one check runs on two, a batch on every core.)")
PY
