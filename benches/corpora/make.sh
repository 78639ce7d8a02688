#!/usr/bin/env bash
# Makes the corpora of `taskproof bench` from the bundled fixtures, for the
# task definitions of the example config (taskproof.toml):
#
#   merkle-airdrop.jsonl          task definition 1: every leaf of the OpenZeppelin
#                                 airdrop tree with its proof (getProof), all valid
#   merkle-airdrop-invalid.jsonl  the same proofs with one sibling changed, all invalid
#   groth16-multiplier.jsonl      task definition 10: N distinct valid proofs of the
#                                 multiplier circuit (groth16-timing emit), N=64 by default
#
#   benches/corpora/make.sh           # all three
#   N=256 benches/corpora/make.sh     # more Groth16 proofs
#
# Needs python3; the Groth16 corpus builds groth16-timing (release).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=benches/corpora
N=${N:-64}

python3 - fixtures/merkle/openzeppelin/airdrop.proofs.json "$out" <<'PY'
import json, sys
fixture, out = sys.argv[1], sys.argv[2]
singles = json.load(open(fixture))["singles"]
def line(single):
    return json.dumps({"proofOfTask": json.dumps(single, separators=(",", ":")),
                       "data": "0x", "taskDefinitionId": 1,
                       "performer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
                      separators=(",", ":"))
with open(f"{out}/merkle-airdrop.jsonl", "w") as f:
    for s in singles:
        f.write(line(s) + "\n")
with open(f"{out}/merkle-airdrop-invalid.jsonl", "w") as f:
    for s in singles:
        s = dict(s, proof=list(s["proof"]))
        first = s["proof"][0]
        # Flip the last hex digit of the first sibling: the proof folds elsewhere.
        s["proof"][0] = first[:-1] + ("0" if first[-1] != "0" else "1")
        f.write(line(s) + "\n")
PY

cargo build --release -q -p taskproof-benches --bin groth16-timing
target/release/groth16-timing emit multiplier "$N" | python3 -c '
import json, sys
for proof in json.load(sys.stdin):
    print(json.dumps({"proofOfTask": json.dumps(proof, separators=(",", ":")),
                      "data": "0x", "taskDefinitionId": 10}, separators=(",", ":")))
' > "$out/groth16-multiplier.jsonl"
wc -l "$out"/*.jsonl >&2
