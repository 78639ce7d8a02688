//! Curve points from snarkjs JSON, checked before any arithmetic touches them.
//!
//! arkworks' `Affine::new` asserts that a point is on the curve and in the
//! subgroup, so it panics on hostile input; points are built here with
//! `new_unchecked` and then checked explicitly, each failure named. Every G1
//! point of BN254 on the curve is in the prime-order group (cofactor 1); G2's
//! cofactor is large, so G2 points get the subgroup check snarkjs skips.
//!
//! The point at infinity has two spellings: snarkjs's projective `[0, 1, 0]`
//! and the affine `(0, 0)` of the EVM precompiles, which arkworks' BN254
//! points also read as infinity (they carry no infinity flag). Both are
//! refused as infinity wherever a real point is needed.

use std::fmt;

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;

use super::{
    decimal::{DecimalError, parse_field},
    json::{G1Json, G2Json, Num},
    subgroup::g2_in_subgroup,
};

/// Why a JSON value is not an acceptable curve point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointError {
    /// Not `[x, y, z]` (G1) or `[[x0, x1], [y0, y1], [z0, z1]]` (G2).
    Shape,
    /// A coordinate is not a canonical decimal below q.
    Coordinate {
        /// `x`, `y`, `x.c0`, ...
        coordinate: &'static str,
        /// What is wrong with it.
        error: DecimalError,
    },
    /// `z` is neither `"1"` (affine) nor the point-at-infinity encoding.
    NotAffine,
    /// The point at infinity, where a proof needs a real point.
    Infinity,
    /// The coordinates do not satisfy the curve equation.
    NotOnCurve,
    /// On the curve but outside the prime-order subgroup (G2 only): pairing
    /// with such a point is not what the Groth16 security proof assumes.
    NotInSubgroup,
}

impl fmt::Display for PointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape => f.write_str(
                "has the wrong shape (G1: [x, y, \"1\"]; G2: [[x.c0, x.c1], [y.c0, y.c1], [\"1\", \"0\"]])",
            ),
            Self::Coordinate { coordinate, error } => {
                write!(f, "coordinate {coordinate} {error}")
            }
            Self::NotAffine => f.write_str("is not in affine form (z must be \"1\")"),
            Self::Infinity => f.write_str("is the point at infinity"),
            Self::NotOnCurve => f.write_str("is not on the curve"),
            Self::NotInSubgroup => f.write_str("is not in the prime-order subgroup"),
        }
    }
}

/// Whether the point at infinity is acceptable where the point is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Infinity {
    /// Only in a verification key's `IC` (a public input whose polynomial is
    /// zero); never in a proof.
    Allowed,
    Rejected,
}

fn coordinate(num: &Num<'_>, name: &'static str) -> Result<Fq, PointError> {
    let text = num.as_str().ok_or(PointError::Coordinate {
        coordinate: name,
        error: DecimalError::NotAString,
    })?;
    parse_field(text).map_err(|error| PointError::Coordinate {
        coordinate: name,
        error,
    })
}

fn text_is(num: &Num<'_>, expected: &str) -> bool {
    num.as_str() == Some(expected)
}

/// Reads a G1 point and checks that it is on the curve (hence in the group).
pub(crate) fn parse_g1(json: &G1Json<'_>, infinity: Infinity) -> Result<G1Affine, PointError> {
    let [x, y, z] = json.as_slice() else {
        return Err(PointError::Shape);
    };
    if text_is(x, "0") && text_is(y, "1") && text_is(z, "0") {
        return at_infinity(infinity);
    }
    let x = coordinate(x, "x")?;
    let y = coordinate(y, "y")?;
    if !text_is(z, "1") {
        return Err(PointError::NotAffine);
    }
    let point = G1Affine::new_unchecked(x, y);
    if point.is_zero() {
        // `(0, 0)`: arkworks' (and the EVM's) encoding of infinity, which
        // `is_on_curve` accepts.
        return at_infinity(infinity);
    }
    if !point.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    // Cofactor 1: on the curve means in the group.
    Ok(point)
}

/// The point at infinity where the caller may or may not accept it.
fn at_infinity<P: AffineRepr>(infinity: Infinity) -> Result<P, PointError> {
    match infinity {
        Infinity::Allowed => Ok(P::zero()),
        Infinity::Rejected => Err(PointError::Infinity),
    }
}

fn fq2(pair: &[Num<'_>], c0: &'static str, c1: &'static str) -> Result<Fq2, PointError> {
    let [a, b] = pair else {
        return Err(PointError::Shape);
    };
    Ok(Fq2::new(coordinate(a, c0)?, coordinate(b, c1)?))
}

/// Reads a G2 point and checks that it is on the twist and in the
/// prime-order subgroup.
pub(crate) fn parse_g2(json: &G2Json<'_>, infinity: Infinity) -> Result<G2Affine, PointError> {
    let [x, y, z] = json.as_slice() else {
        return Err(PointError::Shape);
    };
    let is = |pair: &[Num<'_>], c0: &str, c1: &str| matches!(pair, [a, b] if text_is(a, c0) && text_is(b, c1));
    if is(x, "0", "0") && is(y, "1", "0") && is(z, "0", "0") {
        return at_infinity(infinity);
    }
    let x = fq2(x, "x.c0", "x.c1")?;
    let y = fq2(y, "y.c0", "y.c1")?;
    if !matches!(z.as_slice(), [_, _]) {
        return Err(PointError::Shape);
    }
    if !is(z, "1", "0") {
        return Err(PointError::NotAffine);
    }
    let point = G2Affine::new_unchecked(x, y);
    if point.is_zero() {
        return at_infinity(infinity);
    }
    if !point.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    if !g2_in_subgroup(&point) {
        return Err(PointError::NotInSubgroup);
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_ff::{BigInteger, PrimeField};
    use std::borrow::Cow;

    fn num(s: &str) -> Num<'static> {
        Num::Text(Cow::Owned(s.to_owned()))
    }

    fn dec(x: Fq) -> String {
        x.into_bigint().to_string()
    }

    fn g1_json(p: G1Affine) -> G1Json<'static> {
        vec![num(&dec(p.x)), num(&dec(p.y)), num("1")]
    }

    fn g2_json(p: G2Affine) -> G2Json<'static> {
        vec![
            vec![num(&dec(p.x.c0)), num(&dec(p.x.c1))],
            vec![num(&dec(p.y.c0)), num(&dec(p.y.c1))],
            vec![num("1"), num("0")],
        ]
    }

    #[test]
    fn reads_generators() {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        assert_eq!(parse_g1(&g1_json(g1), Infinity::Rejected), Ok(g1));
        assert_eq!(parse_g2(&g2_json(g2), Infinity::Rejected), Ok(g2));
        let p = (g1 * ark_bn254::Fr::from(12345u64)).into_affine();
        assert_eq!(parse_g1(&g1_json(p), Infinity::Rejected), Ok(p));
    }

    #[test]
    fn rejects_point_off_the_curve_without_panicking() {
        let mut json = g1_json(G1Affine::generator());
        json[1] = num("3");
        assert_eq!(
            parse_g1(&json, Infinity::Rejected),
            Err(PointError::NotOnCurve)
        );
        let mut json = g2_json(G2Affine::generator());
        json[1][0] = num("3");
        assert_eq!(
            parse_g2(&json, Infinity::Rejected),
            Err(PointError::NotOnCurve)
        );
    }

    #[test]
    fn rejects_coordinate_at_or_above_q() {
        let g = G1Affine::generator();
        let mut x = g.x.into_bigint();
        x.add_with_carry(&Fq::MODULUS);
        let json = vec![num(&x.to_string()), num(&dec(g.y)), num("1")];
        assert_eq!(
            parse_g1(&json, Infinity::Rejected),
            Err(PointError::Coordinate {
                coordinate: "x",
                error: DecimalError::NotBelowModulus
            })
        );
    }

    #[test]
    fn rejects_g2_point_outside_the_subgroup() {
        // Search a twist point with x = k + u whose y exists: with cofactor
        // ~2^254 it is outside the subgroup.
        let b = ark_bn254::g2::Config::COEFF_B;
        let point = (1u64..)
            .find_map(|k| {
                let x = Fq2::new(Fq::from(k), Fq::from(1u64));
                let y = ark_ff::Field::sqrt(&(x * x * x + b))?;
                Some(G2Affine::new_unchecked(x, y))
            })
            .unwrap();
        assert!(point.is_on_curve());
        assert_eq!(
            parse_g2(&g2_json(point), Infinity::Rejected),
            Err(PointError::NotInSubgroup)
        );
    }

    #[test]
    fn infinity_only_where_allowed() {
        let inf = vec![num("0"), num("1"), num("0")];
        assert_eq!(
            parse_g1(&inf, Infinity::Rejected),
            Err(PointError::Infinity)
        );
        assert_eq!(parse_g1(&inf, Infinity::Allowed), Ok(G1Affine::zero()));
        let inf2 = vec![
            vec![num("0"), num("0")],
            vec![num("1"), num("0")],
            vec![num("0"), num("0")],
        ];
        assert_eq!(
            parse_g2(&inf2, Infinity::Rejected),
            Err(PointError::Infinity)
        );
    }

    #[test]
    fn rejects_infinity_spelled_as_affine_zero_zero() {
        // `(0, 0)` is what arkworks' BN254 points (and the EVM) read as
        // infinity; `is_on_curve` says yes to it.
        assert!(G1Affine::new_unchecked(Fq::from(0u64), Fq::from(0u64)).is_on_curve());
        let g1 = vec![num("0"), num("0"), num("1")];
        assert_eq!(parse_g1(&g1, Infinity::Rejected), Err(PointError::Infinity));
        assert_eq!(parse_g1(&g1, Infinity::Allowed), Ok(G1Affine::zero()));
        let g2 = vec![
            vec![num("0"), num("0")],
            vec![num("0"), num("0")],
            vec![num("1"), num("0")],
        ];
        assert_eq!(parse_g2(&g2, Infinity::Rejected), Err(PointError::Infinity));
        assert_eq!(parse_g2(&g2, Infinity::Allowed), Ok(G2Affine::zero()));
    }

    #[test]
    fn rejects_projective_and_misshapen_points() {
        let mut json = g1_json(G1Affine::generator());
        json[2] = num("2");
        assert_eq!(
            parse_g1(&json, Infinity::Rejected),
            Err(PointError::NotAffine)
        );
        json.pop();
        assert_eq!(parse_g1(&json, Infinity::Rejected), Err(PointError::Shape));
        let mut json = g2_json(G2Affine::generator());
        json[2] = vec![num("1")];
        assert_eq!(parse_g2(&json, Infinity::Rejected), Err(PointError::Shape));
        let mut json = g2_json(G2Affine::generator());
        json[0].push(num("0"));
        assert_eq!(parse_g2(&json, Infinity::Rejected), Err(PointError::Shape));
    }

    use ark_ec::short_weierstrass::SWCurveConfig;
}
