//! G2 subgroup membership, at half the cost of arkworks' check.
//!
//! arkworks tests ψ(P) = [6x²]P, a 127-bit scalar multiplication. Dai, Lin,
//! Zhao and Zhou (eprint 2022/348, §3 and §5.1) show that for BN curves
//! P ∈ G2 ⟺ [x+1]P + ψ([x]P) + ψ²([x]P) = ψ³([2x]P), which needs only [x]P
//! (x is 63 bits) and a few endomorphisms; gnark-crypto uses the same test.
//! arkworks does not expose it (nor ψ), so it is written here, and the tests
//! check it against arkworks' own on points inside and outside the group.
//! The check runs on every proof's `pi_b`, so it is on the hot path.

use ark_bn254::{Config, G2Affine, G2Projective};
use ark_ec::{AffineRepr, PrimeGroup, bn::BnConfig};
use ark_ff::{AdditiveGroup, Field};

/// ψ, the untwist-Frobenius-twist endomorphism, in Jacobian coordinates:
/// (X, Y, Z) ↦ (X^p·c_x, Y^p·c_y, Z^p), as (x, y) = (X/Z², Y/Z³) and the
/// Frobenius is a field automorphism.
fn psi(p: &G2Projective) -> G2Projective {
    let mut x = p.x;
    let mut y = p.y;
    let mut z = p.z;
    x.frobenius_map_in_place(1);
    y.frobenius_map_in_place(1);
    z.frobenius_map_in_place(1);
    G2Projective::new_unchecked(
        x * Config::TWIST_MUL_BY_Q_X,
        y * Config::TWIST_MUL_BY_Q_Y,
        z,
    )
}

/// Whether a point already known to be on the twist is in the prime-order
/// subgroup G2.
pub(crate) fn g2_in_subgroup(point: &G2Affine) -> bool {
    let p = point.into_group();
    let xp = p.mul_bigint(Config::X);
    let psi_xp = psi(&xp);
    let lhs = xp + p + psi_xp + psi(&psi_xp);
    let rhs = psi(&psi(&psi(&xp.double())));
    lhs == rhs
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq2, Fr};
    use ark_ec::{CurveGroup, short_weierstrass::SWCurveConfig};
    use ark_ff::{PrimeField, UniformRand, Zero};
    use rand::{SeedableRng, rngs::StdRng};

    fn twist_point(rng: &mut StdRng) -> G2Affine {
        loop {
            let x = Fq2::rand(rng);
            if let Some(y) = (x * x * x + ark_bn254::g2::Config::COEFF_B).sqrt() {
                return G2Affine::new_unchecked(x, y);
            }
        }
    }

    #[test]
    fn psi_is_multiplication_by_p_on_the_group() {
        let mut rng = StdRng::seed_from_u64(1);
        // On G2, ψ acts as [p] = [6x²] (mod r).
        let six_x_squared = Fr::from(6u64) * Fr::from(Config::X[0]) * Fr::from(Config::X[0]);
        for _ in 0..20 {
            let p = G2Projective::generator() * Fr::rand(&mut rng);
            assert_eq!(psi(&p), p * six_x_squared);
        }
    }

    #[test]
    fn agrees_with_arkworks_inside_and_outside_the_subgroup() {
        let mut rng = StdRng::seed_from_u64(2);
        let (mut inside, mut outside) = (0, 0);
        for i in 0..200 {
            let point = match i % 3 {
                0 => (G2Projective::generator() * Fr::rand(&mut rng)).into_affine(),
                1 => twist_point(&mut rng),
                // A group element plus a point with a cofactor component.
                _ => (G2Projective::generator() * Fr::rand(&mut rng) + twist_point(&mut rng))
                    .into_affine(),
            };
            assert!(point.is_on_curve());
            let expected = point.is_in_correct_subgroup_assuming_on_curve();
            assert_eq!(g2_in_subgroup(&point), expected, "point {i}");
            if expected {
                inside += 1;
            } else {
                outside += 1;
            }
        }
        assert!(inside >= 60 && outside >= 120, "{inside} {outside}");
    }

    #[test]
    fn rejects_points_of_the_cofactor_part() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..20 {
            // [r]Q has order dividing the cofactor: outside G2 unless zero.
            let torsion = twist_point(&mut rng).into_group().mul_bigint(Fr::MODULUS);
            if !torsion.is_zero() {
                assert!(!g2_in_subgroup(&torsion.into_affine()));
            }
        }
    }
}
