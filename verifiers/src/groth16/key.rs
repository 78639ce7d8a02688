//! The verification key: snarkjs's `verification_key.json`, checked and
//! prepared once, when the task definition is built.
//!
//! The key is the attester's own trusted file, but it is still checked as if
//! it were not (every point on the curve and in its group, `IC` as long as
//! `nPublic` says): a corrupt key must stop the node at start-up, not make it
//! accept or reject proofs at random.

use std::{fmt, sync::Arc};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::pairing::Pairing;
use ark_groth16::{PreparedVerifyingKey, VerifyingKey, prepare_verifying_key};

use super::{
    json::{VerificationKeyJson, is_bn254_name},
    point::{Infinity, PointError, parse_g1, parse_g2},
    single::linear_combination,
};
use crate::msm_table::{MsmTable, table_bytes};

/// The largest fixed-base table kept for a key's `IC` points. Real keys
/// need kilobytes (16 public signals: 44 KiB); a key with tens of thousands
/// of public signals goes without one rather than pin gigabytes.
const MAX_IC_TABLE_BYTES: usize = 32 << 20;

/// The most public signals a key may declare; far above any real circuit,
/// and it bounds the work a proof can cause.
pub const MAX_PUBLIC_SIGNALS: usize = 1 << 16;

/// Why a verification key file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Not JSON of the expected shape.
    Json(String),
    /// `protocol` is not `groth16`.
    Protocol(String),
    /// `curve` does not name BN254.
    Curve(String),
    /// `IC` does not hold `nPublic + 1` points, or `nPublic` is out of range.
    PublicCount {
        /// `nPublic` as written.
        n_public: u64,
        /// The length of `IC`.
        ic_len: usize,
    },
    /// A point of the key is unusable.
    Point {
        /// `vk_alpha_1`, `IC[3]`, ...
        name: String,
        /// What is wrong with it.
        error: PointError,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "not a snarkjs verification_key.json: {e}"),
            Self::Protocol(p) => write!(f, "protocol is {p:?}, expected \"groth16\""),
            Self::Curve(c) => write!(
                f,
                "curve is {c:?}, expected BN254 (\"bn128\", \"bn254\" or \"altbn128\")"
            ),
            Self::PublicCount { n_public, ic_len } => write!(
                f,
                "nPublic is {n_public} but IC holds {ic_len} points (expected nPublic + 1, \
                 at most {MAX_PUBLIC_SIGNALS} public signals)"
            ),
            Self::Point { name, error } => write!(f, "{name} {error}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A Groth16 verification key over BN254, checked and ready for pairings.
#[derive(Clone, Debug)]
pub struct PreparedKey {
    pub(crate) pvk: PreparedVerifyingKey<Bn254>,
    /// `vk.beta_g2`, prepared for the batch equation.
    pub(crate) beta_g2_prepared: <Bn254 as Pairing>::G2Prepared,
    /// Fixed-base multiples of every `IC` point, so that folding a proof's
    /// public signals costs a fraction of a variable-base MSM.
    ic_table: Option<Arc<MsmTable>>,
}

impl PreparedKey {
    /// Parses, checks and prepares a snarkjs `verification_key.json`.
    pub fn from_snarkjs_json(text: &str) -> Result<Self, KeyError> {
        let json: VerificationKeyJson<'_> =
            serde_json::from_str(text).map_err(|e| KeyError::Json(e.to_string()))?;
        if json.protocol != "groth16" {
            return Err(KeyError::Protocol(json.protocol.into_owned()));
        }
        if !is_bn254_name(&json.curve) {
            return Err(KeyError::Curve(json.curve.into_owned()));
        }
        let ic_len = json.ic.len();
        if usize::try_from(json.n_public).ok() != ic_len.checked_sub(1)
            || ic_len - 1 > MAX_PUBLIC_SIGNALS
        {
            return Err(KeyError::PublicCount {
                n_public: json.n_public,
                ic_len,
            });
        }
        let point = |name: &str, error| KeyError::Point {
            name: name.to_owned(),
            error,
        };
        let alpha_g1 =
            parse_g1(&json.vk_alpha_1, Infinity::Rejected).map_err(|e| point("vk_alpha_1", e))?;
        let beta_g2 =
            parse_g2(&json.vk_beta_2, Infinity::Rejected).map_err(|e| point("vk_beta_2", e))?;
        let gamma_g2 =
            parse_g2(&json.vk_gamma_2, Infinity::Rejected).map_err(|e| point("vk_gamma_2", e))?;
        let delta_g2 =
            parse_g2(&json.vk_delta_2, Infinity::Rejected).map_err(|e| point("vk_delta_2", e))?;
        let gamma_abc_g1 = json
            .ic
            .iter()
            .enumerate()
            .map(|(i, p)| parse_g1(p, Infinity::Allowed).map_err(|e| point(&format!("IC[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_verifying_key(VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        }))
    }

    /// Prepares a key whose points are already known to be valid (built by
    /// arkworks or checked by [`PreparedKey::from_snarkjs_json`]).
    pub fn from_verifying_key(vk: VerifyingKey<Bn254>) -> Self {
        let beta_g2_prepared = vk.beta_g2.into();
        let ic = &vk.gamma_abc_g1;
        let ic_table =
            (table_bytes(ic.len()) <= MAX_IC_TABLE_BYTES).then(|| Arc::new(MsmTable::new(ic)));
        Self {
            pvk: prepare_verifying_key(&vk),
            beta_g2_prepared,
            ic_table,
        }
    }

    /// The number of public signals a proof under this key carries.
    pub fn public_signals(&self) -> usize {
        self.pvk.vk.gamma_abc_g1.len().saturating_sub(1)
    }

    /// The key's points, as arkworks holds them.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    pub(crate) fn alpha_g1(&self) -> G1Affine {
        self.pvk.vk.alpha_g1
    }

    pub(crate) fn ic(&self) -> &[G1Affine] {
        &self.pvk.vk.gamma_abc_g1
    }

    /// `Σⱼ sⱼ·IC[first + j]`, through the fixed-base table when the key has
    /// one. Scalars beyond the last `IC` point are ignored.
    pub(crate) fn ic_combination(&self, first: usize, scalars: &[Fr]) -> G1Projective {
        let points = self.ic().get(first..).unwrap_or_default();
        let scalars = &scalars[..scalars.len().min(points.len())];
        self.ic_table
            .as_ref()
            .and_then(|table| table.msm_serial(first, scalars))
            .unwrap_or_else(|| linear_combination(points, scalars))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One};

    const ATTEST_VK: &str = include_str!("../../../fixtures/groth16/attest/verification_key.json");

    #[test]
    fn the_ic_table_folds_like_a_plain_msm() {
        let key = PreparedKey::from_snarkjs_json(ATTEST_VK).expect("fixture key");
        assert!(key.ic_table.is_some(), "a 17-point IC gets a table");
        let ic = key.ic();
        let scalars: Vec<Fr> = (0..ic.len() as u64)
            .map(|i| match i % 3 {
                0 => -Fr::one(),
                1 => Fr::from(i),
                _ => Fr::from(7u64).pow([i * 31]),
            })
            .collect();
        for first in [0, 1, ic.len() - 1, ic.len()] {
            let expected = linear_combination(&ic[first..], &scalars);
            assert_eq!(
                key.ic_combination(first, &scalars),
                expected,
                "from {first}"
            );
        }
        // Beyond the last point: nothing to add, no panic.
        assert_eq!(
            key.ic_combination(ic.len() + 5, &scalars),
            G1Projective::default()
        );
    }
}
