//! `snarkjs groth16 verify VK.json PUBLIC.json PROOF.json`, as a library
//! call: the same three documents, the same verdict, plus every strictness
//! check of the verifier (so a proof snarkjs accepts may be refused here).

use std::fmt;

use super::{
    json::{Num, ProofJson},
    key::{KeyError, PreparedKey},
    proof::{CheckedProof, ProofError, parse_error_message},
    single,
};

/// The outcome of checking snarkjs's three files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesVerdict {
    /// The proof holds.
    Valid,
    /// The documents were read, and the proof is wrong.
    Invalid(ProofError),
    /// A document could not be read as what it should be (not JSON, not the
    /// expected shape, or an unusable verification key).
    Unreadable(String),
}

impl fmt::Display for FilesVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::Invalid(e) => write!(f, "invalid: {e}"),
            Self::Unreadable(e) => write!(f, "unreadable input: {e}"),
        }
    }
}

/// Verifies `proof.json` with `public.json` under `verification_key.json`,
/// given the three files' contents in `snarkjs groth16 verify`'s order.
pub fn verify_snarkjs_files(verification_key: &str, public: &str, proof: &str) -> FilesVerdict {
    let key = match PreparedKey::from_snarkjs_json(verification_key) {
        Ok(key) => key,
        Err(KeyError::Json(e)) => {
            return FilesVerdict::Unreadable(format!("verification key: {e}"));
        }
        Err(e) => return FilesVerdict::Unreadable(format!("verification key: {e}")),
    };
    let signals: Vec<Num<'_>> = match serde_json::from_str(public) {
        Ok(signals) => signals,
        Err(e) => {
            return FilesVerdict::Unreadable(format!(
                "public signals: not a JSON array of decimal strings: {}",
                parse_error_message(&e)
            ));
        }
    };
    let proof: ProofJson<'_> = match serde_json::from_str(proof) {
        Ok(proof) => proof,
        Err(e) => {
            return FilesVerdict::Unreadable(format!(
                "proof: not a snarkjs proof.json: {}",
                parse_error_message(&e)
            ));
        }
    };
    match CheckedProof::from_json(&proof, &signals, key.public_signals()) {
        Err(e) => FilesVerdict::Invalid(e),
        Ok(checked) if single::verify(&key, &checked) => FilesVerdict::Valid,
        Ok(_) => FilesVerdict::Invalid(ProofError::PairingFailed),
    }
}
