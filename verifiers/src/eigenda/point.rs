//! BN254 G1 points as EigenDA writes them (gnark-crypto's encodings), checked.
//!
//! Compressed: 32 bytes, the big-endian x with its two top bits as flags
//! (`0b10`: y is the smaller root, `0b11`: the larger, `0b01`: infinity).
//! Uncompressed: 64 bytes, big-endian x ‖ y. Every decoded point is checked:
//! coordinates below p, on the curve, in the prime-order subgroup.

use ark_bn254::{Fq, G1Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};

use super::encoding::bigint_from_be;

const FLAG_MASK: u8 = 0b1100_0000;
const COMPRESSED_SMALLEST: u8 = 0b1000_0000;
const COMPRESSED_LARGEST: u8 = 0b1100_0000;
const COMPRESSED_INFINITY: u8 = 0b0100_0000;

/// Why bytes are not a G1 point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointError {
    /// Neither 32 nor 64 bytes.
    #[error("a G1 point is 32 (compressed) or 64 (uncompressed) bytes, not {0}")]
    BadLength(usize),
    /// A coordinate is not below the base field's modulus.
    #[error("a coordinate is not below the field modulus p")]
    CoordinateNotInField,
    /// Unknown flag bits.
    #[error("unknown compression flags 0b{0:02b}")]
    BadFlags(u8),
    /// No point has this x.
    #[error("the point is not on the curve")]
    NotOnCurve,
    /// The point is not in the prime-order subgroup.
    #[error("the point is not in the prime-order subgroup")]
    NotInSubgroup,
}

fn fq_from_be(bytes: &[u8]) -> Result<Fq, PointError> {
    bigint_from_be(bytes)
        .and_then(Fq::from_bigint)
        .ok_or(PointError::CoordinateNotInField)
}

fn checked(point: G1Affine) -> Result<G1Affine, PointError> {
    if !point.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointError::NotInSubgroup);
    }
    Ok(point)
}

fn is_larger(y: &Fq) -> bool {
    y.into_bigint() > (-*y).into_bigint()
}

/// Decodes a compressed (32-byte) or uncompressed (64-byte) G1 point.
pub fn decode_g1(bytes: &[u8]) -> Result<G1Affine, PointError> {
    match bytes.len() {
        32 => decode_g1_compressed(bytes),
        64 => {
            let (x, y) = bytes.split_at(32);
            if bytes.iter().all(|b| *b == 0) {
                return Ok(G1Affine::zero());
            }
            checked(G1Affine::new_unchecked(fq_from_be(x)?, fq_from_be(y)?))
        }
        n => Err(PointError::BadLength(n)),
    }
}

fn decode_g1_compressed(bytes: &[u8]) -> Result<G1Affine, PointError> {
    let first = bytes.first().copied().unwrap_or(0);
    let flags = first & FLAG_MASK;
    let mut x_bytes = [0u8; 32];
    x_bytes.copy_from_slice(bytes.get(..32).ok_or(PointError::BadLength(bytes.len()))?);
    x_bytes[0] &= !FLAG_MASK;
    match flags {
        COMPRESSED_INFINITY => {
            if x_bytes.iter().all(|b| *b == 0) {
                Ok(G1Affine::zero())
            } else {
                Err(PointError::BadFlags(flags >> 6))
            }
        }
        COMPRESSED_SMALLEST | COMPRESSED_LARGEST => {
            let x = fq_from_be(&x_bytes)?;
            let rhs = x.square() * x + Fq::from(3u64);
            let y = rhs.sqrt().ok_or(PointError::NotOnCurve)?;
            let want_larger = flags == COMPRESSED_LARGEST;
            let y = if is_larger(&y) == want_larger { y } else { -y };
            checked(G1Affine::new_unchecked(x, y))
        }
        other => Err(PointError::BadFlags(other >> 6)),
    }
}

/// The 32-byte compressed encoding of a point.
pub fn encode_g1_compressed(point: &G1Affine) -> [u8; 32] {
    let mut out = [0u8; 32];
    match point.xy() {
        None => out[0] = COMPRESSED_INFINITY,
        Some((x, y)) => {
            out.copy_from_slice(&x.into_bigint().to_bytes_be());
            out[0] |= if is_larger(&y) {
                COMPRESSED_LARGEST
            } else {
                COMPRESSED_SMALLEST
            };
        }
    }
    out
}

/// The 64-byte uncompressed encoding (x ‖ y, big-endian; zeros for infinity).
pub fn encode_g1_uncompressed(point: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = point.xy() {
        out[..32].copy_from_slice(&x.into_bigint().to_bytes_be());
        out[32..].copy_from_slice(&y.into_bigint().to_bytes_be());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::G1Projective;
    use ark_ec::{CurveGroup, PrimeGroup};

    #[test]
    fn both_encodings_round_trip() {
        let mut p = G1Projective::generator();
        for _ in 0..20 {
            let a = p.into_affine();
            assert_eq!(decode_g1(&encode_g1_compressed(&a)).unwrap(), a);
            assert_eq!(decode_g1(&encode_g1_uncompressed(&a)).unwrap(), a);
            p = p + p + G1Projective::generator();
        }
        let zero = G1Affine::zero();
        assert_eq!(decode_g1(&encode_g1_compressed(&zero)).unwrap(), zero);
    }

    #[test]
    fn rejects_a_point_off_the_curve() {
        let mut bytes = encode_g1_uncompressed(&G1Affine::generator());
        bytes[63] ^= 1;
        assert_eq!(decode_g1(&bytes), Err(PointError::NotOnCurve));
        // x = 0: 0³ + 3 = 3 is not a square mod p, so there is no point.
        let mut compressed = [0u8; 32];
        compressed[0] = COMPRESSED_SMALLEST;
        assert_eq!(decode_g1(&compressed), Err(PointError::NotOnCurve));
    }

    #[test]
    fn rejects_a_coordinate_aliased_by_p() {
        // x + p encodes the same residue as x: it must not be accepted.
        let p = hex::decode("30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47")
            .unwrap();
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&p);
        bytes[32..].copy_from_slice(&encode_g1_uncompressed(&G1Affine::generator())[32..]);
        assert_eq!(decode_g1(&bytes), Err(PointError::CoordinateNotInField));
        assert_eq!(decode_g1(&[1u8; 33]), Err(PointError::BadLength(33)));
    }
}
