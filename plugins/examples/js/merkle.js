// An OpenZeppelin StandardMerkleTree membership check as a taskproof plugin
// in JavaScript: the same proofs as the native `merkle` kind's
// `openzeppelin` scheme (single proofs from getProof), hashed through the
// host's keccak256. Leaf types: the static ABI types (address, bool, uintN,
// bytesN), one 32-byte word each.
import { keccak256 } from 'taskproof:verifier/host@0.1.0';

const valid = () => ({ tag: 'valid' });
const invalid = (reason) => ({ tag: 'invalid', val: reason });
const undecided = (cause) => ({ tag: 'undecided', val: cause });

function hexBytes(text) {
  if (typeof text !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(text)) {
    throw new Error('expected a 0x-hex string');
  }
  const out = new Uint8Array((text.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 + 2 * i, 2), 16);
  return out;
}

function bytes32(text) {
  const b = hexBytes(text);
  if (b.length !== 32) throw new Error(`expected 32 bytes, got ${b.length}`);
  return b;
}

function toHex(bytes) {
  return '0x' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The 32-byte ABI word of one value of a static type.
function word(type, value) {
  const w = new Uint8Array(32);
  if (type === 'address') {
    const b = hexBytes(value);
    if (b.length !== 20) throw new Error('an address has 20 bytes');
    w.set(b, 12);
  } else if (type === 'bool') {
    if (typeof value !== 'boolean') throw new Error('expected true or false');
    w[31] = value ? 1 : 0;
  } else if (/^uint(\d*)$/.test(type)) {
    const bits = Number(type.slice(4) || '256');
    let n;
    try { n = BigInt(value); } catch { throw new Error('not an integer'); }
    if (n < 0n || n >= 1n << BigInt(bits)) throw new Error(`does not fit ${type}`);
    for (let i = 31; i >= 0; i--) { w[i] = Number(n & 0xffn); n >>= 8n; }
  } else if (/^bytes([1-9]|[12]\d|3[0-2])$/.test(type)) {
    const b = hexBytes(value);
    if (b.length !== Number(type.slice(5))) throw new Error(`${type} has ${type.slice(5)} bytes`);
    w.set(b, 0);
  } else {
    throw new Error(`${type} is not supported (static types only)`);
  }
  return w;
}

function compare(a, b) {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export function verify(paramsJson, task) {
  let params;
  try {
    params = JSON.parse(paramsJson);
    params.trusted = bytes32(params.root);
    if (!Array.isArray(params.leaf_encoding)) throw new Error('leaf_encoding is missing');
  } catch (e) {
    return undecided(`plugin_params: ${e.message}`);
  }
  let proof;
  try {
    proof = JSON.parse(task.proofOfTask);
  } catch (e) {
    return invalid(`proofOfTask is not JSON: ${e.message}`);
  }
  try {
    if (proof.leafEncoding !== undefined &&
        JSON.stringify(proof.leafEncoding) !== JSON.stringify(params.leaf_encoding)) {
      return invalid("the proof's leafEncoding differs from the task definition's");
    }
    if (proof.root !== undefined && compare(bytes32(proof.root), params.trusted) !== 0) {
      return invalid('the proof names another root than the trusted one');
    }
    const values = proof.value;
    if (!Array.isArray(values) || values.length !== params.leaf_encoding.length) {
      return invalid('the leaf does not have one value per leaf type');
    }
    const encoded = new Uint8Array(32 * values.length);
    values.forEach((v, i) => encoded.set(word(params.leaf_encoding[i], v), 32 * i));
    let node = keccak256(keccak256(encoded));
    for (const s of proof.proof) {
      const sibling = bytes32(s);
      const pair = new Uint8Array(64);
      const [lo, hi] = compare(node, sibling) <= 0 ? [node, sibling] : [sibling, node];
      pair.set(lo, 0);
      pair.set(hi, 32);
      node = keccak256(pair);
    }
    if (compare(node, params.trusted) === 0) return valid();
    return invalid(`the proof folds to root ${toHex(node)}, not the trusted root`);
  } catch (e) {
    return invalid(`malformed proof: ${e.message}`);
  }
}
