//! The claim's identifier and the attestors' signatures, computed exactly as
//! Reclaim's attestors and SDK compute them.
//!
//! - identifier = keccak256(UTF-8 of `provider + "\n" + parameters + "\n" +
//!   context`), where a non-empty context is first rewritten in canonical
//!   JSON (RFC 8785, JCS: the npm `canonicalize` package in the SDK, and
//!   `serde_json_canonicalizer` here; both print numbers as ECMAScript does);
//! - each signature is 65 bytes r‖s‖v over the EIP-191 personal-message
//!   digest of `identifier + "\n" + lowercase(owner) + "\n" + timestampS +
//!   "\n" + epoch`.
//!
//! Trusts nothing: identifier fields are recomputed, signers are recovered.

use alloy_primitives::{Address, B256, Signature, eip191_hash_message, keccak256};
use serde_json::{Map, Value};
use taskproof_core::{
    Deadline,
    ecrecover::{self, RecoverError},
    quote,
};

use super::{ReclaimError, SignatureFault};

/// The context, read and rewritten in canonical form.
pub(crate) struct Context {
    /// The text that enters the identifier: `""` or the JCS form.
    pub(crate) canonical: String,
    /// The parsed object (empty when the context is empty).
    pub(crate) fields: Map<String, Value>,
}

/// Reads a claim's context. A non-empty context must be a JSON object: the
/// attestors build it from one, and the SDK's rule for other values (a
/// context of `null`, `0` or `false` hashes like an empty one) would let two
/// different contexts share an identifier.
pub(crate) fn context(text: &str) -> Result<Context, ReclaimError> {
    if text.is_empty() {
        return Ok(Context {
            canonical: String::new(),
            fields: Map::new(),
        });
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ReclaimError::ContextNotJson(super::proof::json_error(&e)))?;
    let Value::Object(fields) = value else {
        return Err(ReclaimError::ContextNotObject);
    };
    // Numbers are printed as ECMAScript prints the double that JSON.parse
    // reads (1e400 is Infinity there, an error in both).
    let canonical = serde_json_canonicalizer::to_string(&fields)
        .map_err(|e| ReclaimError::ContextNotJson(quote(&e.to_string()).to_string()))?;
    Ok(Context { canonical, fields })
}

/// keccak256 of `provider \n parameters \n canonical context`.
pub(crate) fn identifier(provider: &str, parameters: &str, canonical_context: &str) -> B256 {
    let mut text =
        Vec::with_capacity(provider.len() + parameters.len() + canonical_context.len() + 2);
    text.extend_from_slice(provider.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(parameters.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(canonical_context.as_bytes());
    keccak256(&text)
}

/// Reads an identifier field: 0x and 64 hex digits (either case).
pub(crate) fn parse_identifier(text: &str) -> Option<B256> {
    let hex = text.strip_prefix("0x")?;
    if hex.len() != 64 {
        return None;
    }
    hex.parse::<B256>().ok()
}

/// Reads the owner: 0x and 40 hex digits (either case; no checksum is
/// required, as the signed text lowercases it).
pub(crate) fn parse_owner(text: &str) -> Result<Address, ReclaimError> {
    text.strip_prefix("0x")
        .filter(|hex| hex.len() == 40)
        .and_then(|hex| hex.parse::<Address>().ok())
        .ok_or_else(|| ReclaimError::BadOwner(quote(text).to_string()))
}

/// The EIP-191 digest the attestors sign.
pub(crate) fn signed_digest(
    identifier: B256,
    owner: Address,
    timestamp_s: u64,
    epoch: u64,
) -> B256 {
    let text = format!(
        "0x{}\n0x{}\n{timestamp_s}\n{epoch}",
        hex::encode(identifier),
        hex::encode(owner)
    );
    eip191_hash_message(text)
}

fn fault(e: RecoverError) -> SignatureFault {
    match e {
        RecoverError::OutOfRange => SignatureFault::OutOfRange,
        RecoverError::HighS => SignatureFault::HighS,
        RecoverError::NoKey => SignatureFault::NoKey,
    }
}

/// Reads one signature: 0x and 130 hex digits, r‖s‖v with v in {27, 28, 0,
/// 1}, 0 < r < n, 0 < s ≤ n/2.
pub(crate) fn parse_signature(text: &str) -> Result<Signature, SignatureFault> {
    let hex = text.strip_prefix("0x").ok_or(SignatureFault::NotHex)?;
    if hex.len() != 130 {
        if hex.len() % 2 == 0 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignatureFault::Length(hex.len() / 2));
        }
        return Err(SignatureFault::NotHex);
    }
    let mut bytes = [0u8; 65];
    hex::decode_to_slice(hex, &mut bytes).map_err(|_| SignatureFault::NotHex)?;
    // alloy also reads EIP-155 values (35 and up) as a parity; a personal
    // message signature has none, so only the two conventions ethers writes
    // are accepted.
    let parity = match bytes[64] {
        27 | 0 => false,
        28 | 1 => true,
        v => return Err(SignatureFault::V(v)),
    };
    let signature = Signature::from_bytes_and_parity(&bytes[..64], parity);
    ecrecover::check_scalars(&signature).map_err(fault)?;
    Ok(signature)
}

/// Recovers the signer of each signature, in order, checking the current
/// deadline before each recovery. Each takes tens of microseconds, so the
/// clock is read every time rather than every 64th call as
/// `taskproof_core::deadline::check` does.
pub(crate) fn recover(
    digest: &B256,
    signatures: &[Signature],
    path: &'static str,
) -> Result<Vec<Address>, ReclaimError> {
    let deadline = Deadline::current();
    let mut signers = Vec::with_capacity(signatures.len());
    for (index, signature) in signatures.iter().enumerate() {
        deadline.check()?;
        let signer =
            ecrecover::recover(digest, signature).map_err(|e| ReclaimError::BadSignature {
                path,
                index,
                fault: fault(e),
            })?;
        signers.push(signer);
    }
    Ok(signers)
}
