// Times mcl-wasm (as Othentic's examples configure it) on every case of
// fixtures/bls/vectors.json, in this one Node process, after a warm-up pass:
// hash-to-point (expand_message_xmd, two mapToG1, add), sign (hash, mul) and
// verify two ways: two pairings compared (how JavaScript callers write it)
// and one product of Miller loops with one final exponentiation (mcl's
// fastest). Checks every result against the vectors first. Prints medians.
//
//   node bls_mcl.mjs FIXTURES_DIR [ROUNDS]
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [dir, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 20);
const require = createRequire(path.resolve(dir, "package.json"));
const mcl = require("mcl-wasm");
const { expand_message_xmd } = await import(
  path.resolve(dir, "node_modules/@noble/curves/abstract/hash-to-curve.js")
);
const { sha256 } = await import(path.resolve(dir, "node_modules/@noble/hashes/sha2.js"));

await mcl.init(mcl.BN_SNARK1);
mcl.setMapToMode(mcl.BN254);
const v = JSON.parse(fs.readFileSync(path.join(dir, "vectors.json"), "utf8"));
const [a, b, c, d] = v.g2;
const g2 = new mcl.G2();
g2.setStr(`1 ${a} ${b} ${c} ${d}`);
const negG2 = mcl.neg(g2);
const bytes = (h) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));
const word = (f) => "0x" + f.getStr(16).padStart(64, "0");

const hashToPoint = (msg, domain) => {
  const u = expand_message_xmd(msg, domain, 96, sha256);
  const e0 = new mcl.Fp();
  const e1 = new mcl.Fp();
  e0.setBigEndianMod(u.slice(0, 48));
  e1.setBigEndianMod(u.slice(48));
  return mcl.add(e0.mapToG1(), e1.mapToG1());
};

const cases = v.cases.map((k) => {
  const sk = new mcl.Fr();
  sk.setHashOf(k.key.startsWith("0x") ? k.key : "0x" + k.key);
  return { sk, pk: mcl.mul(g2, sk), msg: bytes(k.message), domain: bytes(v.domains[k.domain]), want: k.signature };
});
const sign = (k) => mcl.mul(hashToPoint(k.msg, k.domain), k.sk);
const sigs = cases.map((k) => {
  const s = mcl.normalize(sign(k));
  if (word(s.getX()) !== k.want.x || word(s.getY()) !== k.want.y) throw new Error("mcl disagrees with the vectors");
  return s;
});
const verifyTwoPairings = (k, s) => mcl.pairing(s, g2).isEqual(mcl.pairing(hashToPoint(k.msg, k.domain), k.pk));
const verifyOneFinalExp = (k, s) =>
  mcl.finalExp(mcl.mul(mcl.millerLoop(s, negG2), mcl.millerLoop(hashToPoint(k.msg, k.domain), k.pk))).isOne();

const median = (xs) => {
  xs.sort((x, y) => x - y);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
};
const time = (name, op) => {
  cases.forEach((k, i) => op(k, i));
  const wall = [];
  for (let r = 0; r < rounds; r++) {
    cases.forEach((k, i) => {
      const t0 = process.hrtime.bigint();
      op(k, i);
      wall.push(Number(process.hrtime.bigint() - t0) / 1e3);
    });
  }
  console.log(`${name}_us ${median(wall).toFixed(2)}`);
};
time("hash_to_point", (k) => hashToPoint(k.msg, k.domain));
time("sign", (k) => sign(k));
time("verify_two_pairings", (k, i) => {
  if (!verifyTwoPairings(k, sigs[i])) throw new Error("mcl rejects a vector");
});
time("verify", (k, i) => {
  if (!verifyOneFinalExp(k, sigs[i])) throw new Error("mcl rejects a vector");
});
