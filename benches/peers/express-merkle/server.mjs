// An AVS validation service as AVS teams write it today (Othentic's examples):
// Express + @openzeppelin/merkle-tree, answering POST /task/validate.
// Usage: PORT=4102 ROOT=0x... node server.mjs
import express from "express";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const root = process.env.ROOT;
const encoding = ["address", "uint256"];
const app = express();
app.use(express.json({ limit: "1mb" }));
app.post("/task/validate", (req, res) => {
  try {
    const { value, proof } = JSON.parse(req.body.proofOfTask);
    const ok = StandardMerkleTree.verify(root, encoding, value, proof);
    res.json({ data: ok, error: false, message: ok ? null : "proof does not match the root" });
  } catch (e) {
    res.status(400).json({ data: false, error: true, message: String(e) });
  }
});
app.listen(Number(process.env.PORT ?? 4102), "127.0.0.1", () => console.log("listening"));
