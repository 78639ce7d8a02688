//! The proof of task: what `snarkjs.groth16.fullProve` returns, read strictly.
//!
//! Checks run cheapest first (shape, names, counts, public signals, G1
//! points, then the G2 subgroup check), so malformed proofs cost little.
//! Nothing here trusts the proof's bytes as an identity: Groth16 proofs are
//! malleable, and anyone can re-randomise a valid proof into another valid one.

use std::fmt;

use ark_bn254::{Bn254, Fq, Fr};
use ark_ec::CurveGroup;
use ark_ff::{Field, PrimeField};
use ark_groth16::Proof;
use taskproof_core::quote;

use super::{
    decimal::{DecimalError, parse_field},
    json::{FullProveJson, Num, ProofJson, is_bn254_name},
    point::{Infinity, PointError, parse_g1, parse_g2},
};

/// Why a proof of task is rejected. Each variant is a reason to vote invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// Not the JSON of `snarkjs.groth16.fullProve` (syntax, missing or unknown
    /// field, wrong JSON type).
    Json(String),
    /// `proof.protocol` is not `groth16`.
    Protocol(String),
    /// `proof.curve` does not name BN254.
    Curve(String),
    /// `publicSignals` does not have as many entries as the key expects
    /// (ark-groth16 0.6 no longer checks this).
    PublicCount {
        /// What the verification key declares.
        expected: usize,
        /// What the proof carries.
        got: usize,
    },
    /// A public signal is not a canonical decimal below r.
    PublicSignal {
        /// Its index in `publicSignals`.
        index: usize,
        /// What is wrong with it.
        error: DecimalError,
    },
    /// `pi_a`, `pi_b` or `pi_c` is unusable.
    Point {
        /// `pi_a`, `pi_b` or `pi_c`.
        name: &'static str,
        /// What is wrong with it.
        error: PointError,
    },
    /// A public signal pinned by the task definition's `bind` differs.
    Binding {
        /// Its index in `publicSignals`.
        index: usize,
        /// What it must equal: `performer`, `keccak256(data)` or a constant.
        expected: String,
    },
    /// Well-formed, but the pairing equation does not hold under the task
    /// definition's key: a forged proof, other public signals, or a proof made
    /// for another circuit or another setup.
    PairingFailed,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "proofOfTask is not snarkjs fullProve JSON: {e}"),
            Self::Protocol(p) => write!(f, "proof.protocol is {}, expected \"groth16\"", quote(p)),
            Self::Curve(c) => write!(
                f,
                "proof.curve is {}, expected BN254 (\"bn128\", \"bn254\" or \"altbn128\")",
                quote(c)
            ),
            Self::PublicCount { expected, got } => write!(
                f,
                "publicSignals has {got} entries, the verification key expects {expected}"
            ),
            Self::PublicSignal { index, error } => write!(f, "publicSignals[{index}] {error}"),
            Self::Point { name, error } => write!(f, "proof.{name} {error}"),
            Self::Binding { index, expected } => write!(
                f,
                "publicSignals[{index}] does not equal {expected}, which the task definition binds it to"
            ),
            Self::PairingFailed => f.write_str(
                "the proof does not verify under the task definition's verification key",
            ),
        }
    }
}

impl std::error::Error for ProofError {}

/// The parser's message, cut to a line's worth: it repeats unknown field
/// names and mistyped values from the proof, which may be megabytes long.
pub(crate) fn parse_error_message(e: &serde_json::Error) -> String {
    const MAX: usize = 320;
    let mut text = e.to_string();
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// A proof whose every element has been checked, with its public signals.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedProof {
    /// The three proof points.
    pub proof: Proof<Bn254>,
    /// The public signals, in `publicSignals` order.
    pub public_signals: Vec<Fr>,
}

impl CheckedProof {
    /// Reads a proof of task (`{"proof": ..., "publicSignals": [...]}`),
    /// expecting `public_signals` signals.
    pub fn from_full_prove_json(text: &str, public_signals: usize) -> Result<Self, ProofError> {
        let json: FullProveJson<'_> =
            serde_json::from_str(text).map_err(|e| ProofError::Json(parse_error_message(&e)))?;
        Self::from_json(&json.proof, &json.public_signals, public_signals)
    }

    pub(crate) fn from_json(
        proof: &ProofJson<'_>,
        signals: &[Num<'_>],
        expected: usize,
    ) -> Result<Self, ProofError> {
        if let Some(protocol) = &proof.protocol
            && protocol != "groth16"
        {
            return Err(ProofError::Protocol(protocol.clone().into_owned()));
        }
        if let Some(curve) = &proof.curve
            && !is_bn254_name(curve)
        {
            return Err(ProofError::Curve(curve.clone().into_owned()));
        }
        if signals.len() != expected {
            return Err(ProofError::PublicCount {
                expected,
                got: signals.len(),
            });
        }
        let public_signals = signals
            .iter()
            .enumerate()
            .map(|(index, num)| {
                num.as_str()
                    .ok_or(DecimalError::NotAString)
                    .and_then(parse_field::<Fr>)
                    .map_err(|error| ProofError::PublicSignal { index, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let point = |name| move |error| ProofError::Point { name, error };
        let a = parse_g1(&proof.pi_a, Infinity::Rejected).map_err(point("pi_a"))?;
        let c = parse_g1(&proof.pi_c, Infinity::Rejected).map_err(point("pi_c"))?;
        let b = parse_g2(&proof.pi_b, Infinity::Rejected).map_err(point("pi_b"))?;
        Ok(Self {
            proof: Proof { a, b, c },
            public_signals,
        })
    }
}

impl CheckedProof {
    /// The proof of task as `snarkjs.groth16.fullProve` would print it.
    pub fn to_full_prove_json(&self) -> String {
        let dec = |x: &Fq| x.into_bigint().to_string();
        let fr = |x: &Fr| x.into_bigint().to_string();
        let Proof { a, b, c } = &self.proof;
        serde_json::json!({
            "proof": {
                "pi_a": [dec(&a.x), dec(&a.y), "1"],
                "pi_b": [
                    [dec(&b.x.c0), dec(&b.x.c1)],
                    [dec(&b.y.c0), dec(&b.y.c1)],
                    ["1", "0"],
                ],
                "pi_c": [dec(&c.x), dec(&c.y), "1"],
                "protocol": "groth16",
                "curve": "bn128",
            },
            "publicSignals": self.public_signals.iter().map(fr).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// Another valid proof of the same statement: (t·A, t⁻¹·B, C) for a
    /// nonzero t. Anyone can do this to any proof, which is why a proof's
    /// bytes must never serve as its identity (to deduplicate, to rate-limit,
    /// to detect replays). Returns `None` for t = 0.
    pub fn rerandomize(&self, t: Fr) -> Option<Self> {
        let t_inv = t.inverse()?;
        Some(Self {
            proof: Proof {
                a: (self.proof.a * t).into_affine(),
                b: (self.proof.b * t_inv).into_affine(),
                c: self.proof.c,
            },
            public_signals: self.public_signals.clone(),
        })
    }
}
