// Times snarkjs.groth16.verify on every proof of a file, in this one Node
// process: the curve is built once and cached by snarkjs (its fast path),
// and a warm-up pass runs first. Prints `single_ms <median>`.
//
//   node groth16_snarkjs_verify.mjs SNARKJS_MAIN VK.json PROOFS.json [ROUNDS]
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [snarkjsMain, vkPath, proofsPath, roundsArg] = process.argv.slice(2);
const snarkjs = await import(pathToFileURL(snarkjsMain).href);
const vk = JSON.parse(fs.readFileSync(vkPath, "utf8"));
const docs = JSON.parse(fs.readFileSync(proofsPath, "utf8"));
const rounds = Number(roundsArg || 3);
const logger = { debug() {}, info() {}, warn() {}, error: console.error };

for (const d of docs) {
  if (!(await snarkjs.groth16.verify(vk, d.publicSignals, d.proof, logger))) {
    throw new Error("snarkjs rejects a valid proof");
  }
}
const times = [];
for (let r = 0; r < rounds; r++) {
  for (const d of docs) {
    const t0 = process.hrtime.bigint();
    await snarkjs.groth16.verify(vk, d.publicSignals, d.proof, logger);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
times.sort((a, b) => a - b);
const mid = times.length >> 1;
const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
console.log(`single_ms ${median.toFixed(4)}`);
process.exit(0);
