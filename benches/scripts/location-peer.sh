#!/usr/bin/env bash
# Times EAS's own off-chain signature check (eas-sdk verifyOffchainAttestationSignature,
# ethers underneath) against taskproof's recovery on the same attestation
# (fixtures/location/valid.json), in the same run, and prints medians and the ratio.
# Needs node + npm (installs the pinned fixture packages); not run by CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
fixtures="$root/fixtures/location"

(cd "$fixtures" && [ -d node_modules ] || npm ci --silent)

cargo bench --quiet -p taskproof-benches --bench location -- 'location/recover-eip712-signer' >/dev/null 2>&1
ours_ns=$(node -e 'const e=require(process.argv[1]);console.log(e.median.point_estimate)' \
  "$root/target/criterion/location_recover-eip712-signer/new/estimates.json")

peer_ns=$(cd "$fixtures" && node -e '
const { Offchain, OffchainAttestationVersion } = require("@ethereum-attestation-service/eas-sdk");
const fs = require("fs");
const pkg = JSON.parse(fs.readFileSync("valid.json", "utf8"));
const off = new Offchain({ address: "0xC2679fBD37d54388Ce493F1DB75320D236e1815e", version: "0.26", chainId: 11155111n },
                         OffchainAttestationVersion.Version2);
// Like ours, parse the JSON document each time.
const text = fs.readFileSync("valid.json", "utf8");
const once = () => { const p = JSON.parse(text); if (!off.verifyOffchainAttestationSignature(pkg.signer, p.sig)) throw 0; };
for (let i = 0; i < 200; i++) once();
const samples = [];
for (let s = 0; s < 31; s++) {
  const n = 50, t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) once();
  samples.push(Number(process.hrtime.bigint() - t0) / n);
}
samples.sort((a, b) => a - b);
console.log(samples[15]);
')

awk -v ours="$ours_ns" -v peer="$peer_ns" 'BEGIN {
  printf "EAS off-chain signature check on fixtures/location/valid.json (median per attestation)\n"
  printf "  taskproof (alloy, libsecp256k1):          %8.1f us\n", ours / 1000
  printf "  eas-sdk verifyOffchainAttestationSignature: %8.1f us\n", peer / 1000
  printf "  ratio (eas-sdk / taskproof):              %8.1fx\n", peer / ours
}'
