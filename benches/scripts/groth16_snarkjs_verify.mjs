// Times snarkjs.groth16.verify on every proof of a file, in this one Node
// process: the curve is built once and cached by snarkjs (its fast path),
// and a warm-up pass runs first. Prints the median wall and CPU time.
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
const cpu = [];
for (let r = 0; r < rounds; r++) {
  for (const d of docs) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await snarkjs.groth16.verify(vk, d.publicSignals, d.proof, logger);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
}
const median = (xs) => {
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
};
console.log(`single_ms ${median(times).toFixed(4)}`);
// Process CPU time (all threads): what the verification costs, whatever else runs.
console.log(`single_cpu_ms ${median(cpu).toFixed(4)}`);
process.exit(0);
