#!/usr/bin/env bash
# Othentic's BLS on BN254: mcl-wasm vs taskproof on the same 52 keys, messages
# and domains (fixtures/bls/vectors.json), in one run. mcl-wasm runs in ONE
# Node process (wasm compiled once, a warm-up pass first), configured as
# Othentic's examples configure it; taskproof is the release build of
# bls-timing. Prints per-operation medians and the ratio for sign + verify,
# against mcl's fastest verify (one final exponentiation).
#
#   benches/scripts/bls_vs_mcl.sh              # ROUNDS=20
#
# Needs Node.js; installs fixtures/bls's pinned npm packages on first use.
# Targets: hash-to-point <= 100 us, sign <= 300 us, verify <= 1.5 ms, and
# sign + verify >= 10x mcl-wasm.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-20}

if [ ! -d fixtures/bls/node_modules/mcl-wasm ]; then
  (cd fixtures/bls && npm ci --no-audit --no-fund >/dev/null)
fi
# The bench profile (as `cargo bench`), so the two share one build.
cargo build --profile bench -q -p taskproof-benches --bin bls-timing

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "52 cases of fixtures/bls/vectors.json, $ROUNDS rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- mcl-wasm $(node -p "require('./fixtures/bls/node_modules/mcl-wasm/package.json').version") (one process)"
node benches/scripts/bls_mcl.mjs fixtures/bls "$ROUNDS" | tee "$work/mcl.txt"
echo "-- taskproof"
target/release/bls-timing "$ROUNDS" | tee "$work/taskproof.txt"

python3 - "$work/mcl.txt" "$work/taskproof.txt" <<'PY'
import sys
def read(path):
    return {k: float(v) for k, v in (line.split() for line in open(path) if line.strip())}
m, t = read(sys.argv[1]), read(sys.argv[2])
print("-- medians (us) and speed-up over mcl-wasm")
for op in ("hash_to_point", "sign", "verify"):
    print(f"  {op:<16}{m[op + '_us']:>10.1f} mcl{t[op + '_us']:>10.1f} taskproof{m[op + '_us'] / t[op + '_us']:>8.1f}x")
mcl = m["sign_us"] + m["verify_us"]
ours = t["sign_us"] + t["verify_us"]
ours_cpu = t["sign_cpu_us"] + t["verify_cpu_us"]
print(f"sign + verify: mcl-wasm {mcl:.1f} us, taskproof {ours:.1f} us wall ({ours_cpu:.1f} us CPU): {mcl / ours:.1f}x ({mcl / ours_cpu:.1f}x by CPU time)")
print(f"(mcl-wasm verify with two pairings compared: {m['verify_two_pairings_us']:.1f} us)")
PY
