//! The Fouque–Tibouchi map from a field element to a point of BN254's G1, in
//! the exact form of mcl's `MapTo::calcBN` (its original map-to mode, which
//! mcl-wasm's `setMapToMode(BN254)` selects) and of Hubble's BLS.sol
//! `mapToPoint`, which Othentic's contracts use.
//!
//! Written by hand because no maintained crate has it: arkworks and
//! RustCrypto implement RFC 9380's maps (SWU, SVDW), which give other points,
//! and the BN254 hash-to-curve crates follow the RFC too. Trusts nothing about
//! its input; every field element maps to a point, without a panic.

use ark_bn254::{Fq, G1Affine};
use ark_ff::{AdditiveGroup, Field, LegendreSymbol, MontFp};

/// sqrt(−3) as `(−3)^((p+1)/4)`: the root mcl and Hubble use (Hubble's `z0`).
/// The other root gives other points.
const SQRT_MINUS_3: Fq = MontFp!("4407920970296243842837207485651524041948558517760411303933");
/// (−1 + sqrt(−3)) / 2, a cube root of unity (Hubble's `z1`).
const CUBE_ROOT_OF_UNITY: Fq =
    MontFp!("2203960485148121921418603742825762020974279258880205651966");
/// The curve's `b`: y² = x³ + 3.
const B: Fq = MontFp!("3");

/// The point `t` maps to. With w = sqrt(−3)·t / (1 + b + t²), the first of
/// x1 = (−1 + sqrt(−3))/2 − t·w, x2 = −1 − x1, x3 = 1 + 1/w² whose x³ + b is a
/// square gives the point; y is the root `(x³ + b)^((p+1)/4)`, negated when t
/// is not a square. One of the three always is a square (Fouque–Tibouchi).
///
/// t = 0 maps to (x1 = (−1 + sqrt(−3))/2, 2), as in mcl and Hubble.
pub fn map_to_g1(t: Fq) -> G1Affine {
    // 1 + b + t² is never zero: −4 is not a square, since p ≡ 3 (mod 4).
    // Zero's inverse is taken as zero, as Hubble's modexp-based inverse does,
    // so that even that impossible case is the contract's answer, not a panic.
    let denominator = t.square() + Fq::ONE + B;
    let w = SQRT_MINUS_3 * t * denominator.inverse().unwrap_or(Fq::ZERO);
    let negate = t.legendre() == LegendreSymbol::QuadraticNonResidue;

    let x1 = CUBE_ROOT_OF_UNITY - t * w;
    let x2 = -x1 - Fq::ONE;
    let candidates = [x1, x2];
    let found = candidates
        .iter()
        .find_map(|&x| curve_y(x).map(|y| (x, y)))
        .unwrap_or_else(|| {
            // w = 0 only when t = 0, where x1 is always on the curve.
            let x3 = Fq::ONE + w.square().inverse().unwrap_or(Fq::ZERO);
            // By Fouque–Tibouchi, x3³ + b is a square whenever the first two
            // are not; the root is taken without checking, as Hubble would
            // have reverted and mcl thrown on a map that is not this one.
            (x3, root(x3 * x3.square() + B))
        });
    let (x, y) = found;
    G1Affine::new_unchecked(x, if negate { -y } else { y })
}

/// y with y² = x³ + b, when x³ + b is a square.
fn curve_y(x: Fq) -> Option<Fq> {
    let rhs = x * x.square() + B;
    let y = root(rhs);
    (y.square() == rhs).then_some(y)
}

/// `a^((p+1)/4)`: a square root of a when a is a square (p ≡ 3 mod 4), and
/// the one mcl and Hubble take. arkworks' `sqrt` computes the same power for
/// this field, but the choice of root decides the point, so it is spelt out.
fn root(a: Fq) -> Fq {
    // (p + 1) / 4, little-endian limbs.
    const P_PLUS_1_DIV_4: [u64; 4] = [
        0x4f082305b61f3f52,
        0x65e05aa45a1c72a3,
        0x6e14116da0605617,
        0x0c19139cb84c680a,
    ];
    a.pow(P_PLUS_1_DIV_4)
}

#[cfg(test)]
mod tests {
    use ark_ec::AffineRepr;
    use ark_ff::{BigInteger, PrimeField};

    use super::*;

    #[test]
    fn constants_are_what_they_claim() {
        assert_eq!(SQRT_MINUS_3.square(), -Fq::from(3u8));
        assert_eq!(root(-Fq::from(3u8)), SQRT_MINUS_3);
        assert_eq!(
            CUBE_ROOT_OF_UNITY,
            (SQRT_MINUS_3 - Fq::ONE) * Fq::from(2u8).inverse().unwrap()
        );
        let p_plus_1 = {
            let mut p = Fq::MODULUS;
            p.add_with_carry(&ark_ff::BigInt::from(1u8));
            p
        };
        let mut quarter = p_plus_1;
        quarter.div2();
        quarter.div2();
        assert_eq!(
            quarter.0,
            [
                0x4f082305b61f3f52,
                0x65e05aa45a1c72a3,
                0x6e14116da0605617,
                0x0c19139cb84c680a,
            ]
        );
        assert_eq!(root(Fq::from(4u8)), Fq::from(2u8));
    }

    #[test]
    fn every_map_output_is_on_the_curve() {
        let mut t = Fq::ZERO;
        for _ in 0..200 {
            let p = map_to_g1(t);
            assert!(p.is_on_curve(), "t = {t}");
            assert!(!p.is_zero());
            t = t.square() + Fq::from(7u8);
        }
        for t in [-Fq::ONE, SQRT_MINUS_3, -SQRT_MINUS_3, Fq::from(2u8)] {
            assert!(map_to_g1(t).is_on_curve());
        }
    }

    #[test]
    fn zero_maps_to_the_cube_root_of_unity_and_two() {
        let p = map_to_g1(Fq::ZERO);
        assert_eq!(p.xy(), Some((CUBE_ROOT_OF_UNITY, Fq::from(2u8))));
    }
}
