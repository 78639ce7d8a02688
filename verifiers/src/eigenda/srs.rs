//! The structured reference string: the G1 powers `[τ^i]G1` a KZG commitment
//! is computed against.
//!
//! The real SRS comes from EigenDA's trusted setup, published as `g1.point`
//! (32-byte compressed points, gnark-crypto's format); only its first
//! `blob symbols` points are needed. [`Srs::insecure_from_known_secret`]
//! makes one from a secret everybody knows, for tests only: anyone who knows
//! τ can open a commitment to anything.

use std::{io::Read, path::Path, sync::Arc};

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, One};

use super::point::{PointError, decode_g1};
use crate::msm_table::{MsmTable, table_bytes};

/// Why an SRS could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum SrsError {
    /// The file could not be read.
    #[error("cannot read the SRS: {0}")]
    Read(#[from] std::io::Error),
    /// The file holds fewer points than asked for.
    #[error("the SRS holds {found} points, {wanted} were asked for")]
    TooShort {
        /// Points found.
        found: usize,
        /// Points wanted.
        wanted: usize,
    },
    /// A point is malformed or not in G1.
    #[error("SRS point {index}: {error}")]
    BadPoint {
        /// Its index.
        index: usize,
        /// What is wrong.
        error: PointError,
    },
    /// A blob longer than the SRS.
    #[error("a blob of {symbols} symbols needs more than the SRS's {available} points")]
    BlobTooLong {
        /// The blob's symbols.
        symbols: usize,
        /// The SRS's points.
        available: usize,
    },
}

/// The G1 points of an SRS, and optionally a fixed-base table that makes
/// commitments to blobs it covers about twice as fast.
#[derive(Clone, Debug)]
pub struct Srs {
    g1: Vec<G1Affine>,
    table: Option<Arc<MsmTable>>,
}

impl Srs {
    /// Reads the first `count` points of an EigenDA `g1.point` stream.
    pub fn read_g1_points(mut reader: impl Read, count: usize) -> Result<Self, SrsError> {
        let mut g1 = Vec::with_capacity(count.min(1 << 24));
        let mut buf = [0u8; 32];
        for index in 0..count {
            if let Err(e) = reader.read_exact(&mut buf) {
                return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    SrsError::TooShort {
                        found: index,
                        wanted: count,
                    }
                } else {
                    SrsError::Read(e)
                });
            }
            g1.push(decode_g1(&buf).map_err(|error| SrsError::BadPoint { index, error })?);
        }
        Ok(Self { g1, table: None })
    }

    /// Reads the first `count` points of a `g1.point` file.
    pub fn from_g1_point_file(path: &Path, count: usize) -> Result<Self, SrsError> {
        let file = std::fs::File::open(path)?;
        Self::read_g1_points(std::io::BufReader::new(file), count)
    }

    /// **Insecure: for tests only.** The SRS `[τ^i]G1` for a τ the caller
    /// knows — and so can forge openings with. Never configure a node with it.
    pub fn insecure_from_known_secret(tau: Fr, count: usize) -> Self {
        let generator = G1Projective::generator();
        let mut power = Fr::one();
        let mut points = Vec::with_capacity(count);
        for _ in 0..count {
            points.push(generator * power);
            power *= tau;
        }
        Self {
            g1: G1Projective::normalize_batch(&points),
            table: None,
        }
    }

    /// Precomputes the fixed-base table for as many leading points as fit in
    /// `max_bytes` (all of them when they fit). Blobs of at most that many
    /// symbols then commit through the table; longer ones through the plain
    /// MSM. Takes about `points × 255` doublings, on every core.
    pub fn with_msm_table(mut self, max_bytes: usize) -> Self {
        let mut covered = self.g1.len();
        while covered > 0 && table_bytes(covered) > max_bytes {
            covered /= 2;
        }
        self.table = (covered > 0)
            .then(|| self.g1.get(..covered))
            .flatten()
            .map(|bases| Arc::new(MsmTable::new(bases)));
        self
    }

    /// How many leading points the fixed-base table covers (0 without one).
    pub fn msm_table_points(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.len())
    }

    /// True when this SRS was made from the secret published with the test
    /// fixtures ([`PUBLISHED_TEST_SECRET`]): anyone can forge openings
    /// against it, so a node configured with it must say so loudly.
    pub fn is_published_test_srs(&self) -> bool {
        self.g1.get(1).is_some_and(|p| {
            *p == (G1Projective::generator() * published_test_secret()).into_affine()
        })
    }

    /// The points, for writing an SRS file.
    pub fn g1(&self) -> &[G1Affine] {
        &self.g1
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.g1.len()
    }

    /// True when the SRS has no points.
    pub fn is_empty(&self) -> bool {
        self.g1.is_empty()
    }

    /// The KZG commitment to the polynomial with these coefficients:
    /// `Σ c_i [τ^i]G1`, one multi-scalar multiplication.
    pub fn commit(&self, coefficients: &[Fr]) -> Result<G1Affine, SrsError> {
        let bases = self
            .g1
            .get(..coefficients.len())
            .ok_or(SrsError::BlobTooLong {
                symbols: coefficients.len(),
                available: self.g1.len(),
            })?;
        let sum = match self.table.as_ref().and_then(|t| t.msm(coefficients)) {
            Some(sum) => sum,
            None => G1Projective::msm_unchecked(bases, coefficients),
        };
        Ok(sum.into_affine())
    }
}

/// The τ of `fixtures/eigenda/insecure-g1.point`, published in its
/// `generate.py`: 32 bytes of `0x2a`, reduced modulo the group order.
pub const PUBLISHED_TEST_SECRET: [u8; 32] = [0x2a; 32];

/// [`PUBLISHED_TEST_SECRET`] as a field element.
pub fn published_test_secret() -> Fr {
    use ark_ff::PrimeField;
    Fr::from_be_bytes_mod_order(&PUBLISHED_TEST_SECRET)
}

/// `τ^i`, exposed so tests can cross-check the insecure SRS.
pub fn insecure_power(tau: Fr, i: u64) -> Fr {
    tau.pow([i])
}
