//! An OpenZeppelin `StandardMerkleTree` membership check, as a taskproof
//! plugin: the same proofs as the native `merkle` kind's `openzeppelin`
//! scheme (single proofs from `getProof`), hashed through the host's keccak256.
//!
//! What it trusts: the root and leaf types of `plugin_params`. What it does
//! not: proofOfTask (a root inside it counts only when equal to the trusted
//! one). Leaf types are the static ABI types (address, bool, uintN, bytesN);
//! every value takes one 32-byte word, as `abi.encode` lays them out.

wit_bindgen::generate!({ path: "../../../wit", world: "verifier" });

use serde_json::Value;
use taskproof::verifier::host::keccak256;

struct Merkle;

impl Guest for Merkle {
    fn verify(params: String, task: Task) -> Verdict {
        let params = match Params::parse(&params) {
            Ok(p) => p,
            // The attester's own params are wrong: not the performer's fault.
            Err(e) => return Verdict::Undecided(format!("plugin_params: {e}")),
        };
        match check(&params, &task.proof_of_task) {
            Ok(()) => Verdict::Valid,
            Err(reason) => Verdict::Invalid(reason),
        }
    }
}

export!(Merkle);

/// A leaf type: all static, one word each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Address,
    Bool,
    Uint(u32),
    Bytes(u32),
}

impl Word {
    fn parse(name: &str) -> Result<Self, String> {
        if name == "address" {
            return Ok(Self::Address);
        }
        if name == "bool" {
            return Ok(Self::Bool);
        }
        let sized = |rest: &str, max: u32, step: u32| -> Option<u32> {
            let n: u32 = if rest.is_empty() { max } else { rest.parse().ok()? };
            (n > 0 && n <= max && n % step == 0 && !rest.starts_with('0')).then_some(n)
        };
        if let Some(rest) = name.strip_prefix("uint") {
            return sized(rest, 256, 8).map(Self::Uint).ok_or(format!("`{name}` is not a uint type"));
        }
        if let Some(rest) = name.strip_prefix("bytes")
            && !rest.is_empty()
        {
            return sized(rest, 32, 1).map(Self::Bytes).ok_or(format!("`{name}` is not a bytesN type"));
        }
        Err(format!("`{name}` is not supported (static types only: address, bool, uintN, bytesN)"))
    }

    /// The 32-byte ABI word of one JSON value.
    fn encode(self, value: &Value) -> Result<[u8; 32], String> {
        let mut word = [0u8; 32];
        match self {
            Self::Address => {
                let bytes = hex_bytes(value)?;
                if bytes.len() != 20 {
                    return Err(format!("an address has 20 bytes, not {}", bytes.len()));
                }
                word[12..].copy_from_slice(&bytes);
            }
            Self::Bool => match value {
                Value::Bool(b) => word[31] = u8::from(*b),
                _ => return Err("expected true or false".into()),
            },
            Self::Uint(bits) => {
                word = uint(value)?;
                let free = 32 - (bits / 8) as usize;
                if word[..free].iter().any(|&b| b != 0) {
                    return Err(format!("does not fit uint{bits}"));
                }
            }
            Self::Bytes(n) => {
                let bytes = hex_bytes(value)?;
                if bytes.len() != n as usize {
                    return Err(format!("bytes{n} has {n} bytes, not {}", bytes.len()));
                }
                word[..bytes.len()].copy_from_slice(&bytes);
            }
        }
        Ok(word)
    }
}

struct Params {
    root: [u8; 32],
    types: Vec<Word>,
    names: Vec<String>,
}

impl Params {
    fn parse(json: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let root = v.get("root").ok_or("`root` is missing")?;
        let root = bytes32(root).map_err(|e| format!("root: {e}"))?;
        let names: Vec<String> = v
            .get("leaf_encoding")
            .and_then(Value::as_array)
            .ok_or("`leaf_encoding` is missing")?
            .iter()
            .map(|t| t.as_str().map(str::to_owned).ok_or("leaf_encoding lists strings".to_owned()))
            .collect::<Result<_, _>>()?;
        let types = names.iter().map(|n| Word::parse(n)).collect::<Result<_, _>>()?;
        Ok(Self { root, types, names })
    }
}

fn check(params: &Params, proof_of_task: &str) -> Result<(), String> {
    let proof: Value =
        serde_json::from_str(proof_of_task).map_err(|e| format!("proofOfTask is not JSON: {e}"))?;
    if let Some(encoding) = proof.get("leafEncoding") {
        let same = encoding.as_array().is_some_and(|e| {
            e.len() == params.names.len() && e.iter().zip(&params.names).all(|(a, b)| a.as_str() == Some(b))
        });
        if !same {
            return Err("the proof's leafEncoding differs from the task definition's".into());
        }
    }
    if let Some(root) = proof.get("root") {
        if bytes32(root).map_err(|e| format!("root: {e}"))? != params.root {
            return Err("the proof names another root than the trusted one".into());
        }
    }
    let values = proof.get("value").and_then(Value::as_array).ok_or("`value` is missing")?;
    if values.len() != params.types.len() {
        return Err(format!("the leaf has {} values, the leaf encoding {}", values.len(), params.types.len()));
    }
    let mut encoded = Vec::with_capacity(32 * values.len());
    for (i, (ty, value)) in params.types.iter().zip(values).enumerate() {
        encoded.extend_from_slice(&ty.encode(value).map_err(|e| format!("value[{i}]: {e}"))?);
    }
    let mut node = keccak256(&keccak256(&encoded));
    let siblings = proof.get("proof").and_then(Value::as_array).ok_or("`proof` is missing")?;
    for (i, sibling) in siblings.iter().enumerate() {
        let sibling = bytes32(sibling).map_err(|e| format!("proof[{i}]: {e}"))?;
        let mut pair = Vec::with_capacity(64);
        if node.as_slice() <= sibling.as_slice() {
            pair.extend_from_slice(&node);
            pair.extend_from_slice(&sibling);
        } else {
            pair.extend_from_slice(&sibling);
            pair.extend_from_slice(&node);
        }
        node = keccak256(&pair);
    }
    if node.as_slice() == params.root.as_slice() {
        Ok(())
    } else {
        Err(format!("the proof folds to root 0x{}, not the trusted root", hex(&node)))
    }
}

fn hex_bytes(value: &Value) -> Result<Vec<u8>, String> {
    let text = value.as_str().ok_or("expected a 0x-hex string")?;
    let digits = text.strip_prefix("0x").ok_or("expected a 0x-hex string")?;
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| "not hex".to_owned()))
        .collect()
}

fn bytes32(value: &Value) -> Result<[u8; 32], String> {
    let bytes = hex_bytes(value)?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("expected 32 bytes, got {}", b.len()))
}

/// A uint256 from a decimal string, a 0x-hex string or a JSON integer.
fn uint(value: &Value) -> Result<[u8; 32], String> {
    let mut word = [0u8; 32];
    let decimal = match value {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()).ok_or("not an unsigned integer")?,
        Value::String(s) if s.starts_with("0x") => {
            let bytes = hex_bytes(value)?;
            if bytes.len() > 32 {
                return Err("more than 32 bytes".into());
            }
            word[32 - bytes.len()..].copy_from_slice(&bytes);
            return Ok(word);
        }
        Value::String(s) => s.clone(),
        _ => return Err("expected a decimal string".into()),
    };
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal integer".into());
    }
    for digit in decimal.bytes().map(|b| b - b'0') {
        // word = word * 10 + digit, big-endian, refusing overflow.
        let mut carry = u16::from(digit);
        for byte in word.iter_mut().rev() {
            let v = u16::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return Err("does not fit 256 bits".into());
        }
    }
    Ok(word)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
