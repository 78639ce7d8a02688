#!/usr/bin/env bash
# Times @reclaimprotocol/js-sdk's own verifyProof against taskproof's claim
# check on the same claim (fixtures/tls/reclaim/valid.json: one signature),
# in the same run, and prints medians and the ratio. The SDK asks Reclaim's
# backend for its attestor list on every call; here a stub on 127.0.0.1 in the
# same Node process answers (the SDK's envUrl option), so the SDK's figure is
# its own work plus one local HTTP round trip, as in production minus the
# network. Needs node + npm (installs the pinned fixture packages); not run by CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
fixtures="$root/fixtures/tls/reclaim"
target="${CARGO_TARGET_DIR:-$root/target}"

(cd "$fixtures" && [ -d node_modules ] || npm ci --silent)

cargo bench --quiet -p taskproof-benches --bench tls_reclaim -- --warm-up-time 1 --measurement-time 3 'tls_reclaim/claim-one-signature' >/dev/null 2>&1
ours_ns=$(node -e 'const e=require(process.argv[1]);console.log(e.median.point_estimate)' \
  "$target/criterion/tls_reclaim_claim-one-signature/new/estimates.json")

peer_ns=$(cd "$fixtures" && node --input-type=module -e '
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(process.cwd() + "/");
const { Wallet, id } = require("ethers");
const { ReclaimProofRequest, verifyProof } = require("@reclaimprotocol/js-sdk");
const manifest = JSON.parse(readFileSync("manifest.json", "utf8"));
const list = JSON.stringify({ data: [manifest.keys.attestorA, manifest.keys.attestorB].map((address) => ({ address })) });
const server = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(req.url === "/api/attestors" ? list : JSON.stringify({ sessionId: "stub", resolvedProviderVersion: "" }));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const app = new Wallet(id("taskproof/tls/reclaim/application"));
await ReclaimProofRequest.init(app.address, app.privateKey, "stub-provider", { envUrl: `http://127.0.0.1:${server.address().port}` });
// Like ours, parse the JSON document each time.
const text = readFileSync("valid.json", "utf8");
const once = async () => { if (!(await verifyProof(JSON.parse(text)))) throw new Error("the SDK rejects valid.json"); };
for (let i = 0; i < 200; i++) await once();
const samples = [];
for (let s = 0; s < 31; s++) {
  const n = 50, t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  samples.push(Number(process.hrtime.bigint() - t0) / n);
}
samples.sort((a, b) => a - b);
console.log(samples[15]);
server.close();
')

awk -v ours="$ours_ns" -v peer="$peer_ns" 'BEGIN {
  printf "Reclaim claim with one signature, fixtures/tls/reclaim/valid.json (median per claim)\n"
  printf "  taskproof (every check, alloy + libsecp256k1):     %9.1f us\n", ours / 1000
  printf "  @reclaimprotocol/js-sdk verifyProof (stubbed list): %9.1f us\n", peer / 1000
  printf "  ratio (SDK / taskproof):                           %9.1fx\n", peer / ours
}'
