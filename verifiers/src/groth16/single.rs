//! One proof, one pairing check: 3 Miller loops and a final exponentiation.
//!
//! This is ark-groth16's `verify_proof_with_prepared_inputs`, written out so
//! that the public-input combination uses a multi-scalar multiplication and
//! a degenerate final exponentiation is a failed check rather than a panic.

use ark_bn254::{Bn254, Fq12, Fr, G1Affine, G1Projective};
use ark_ec::{CurveGroup, VariableBaseMSM, pairing::Pairing};
use ark_ff::{One, Zero};

use super::{key::PreparedKey, proof::CheckedProof};

/// `Σ sᵢ·Pᵢ`, by a multi-scalar multiplication when there are enough points
/// for Pippenger's buckets to pay off. Extra points or scalars are ignored.
pub(crate) fn linear_combination(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    if n <= 2 {
        bases.iter().zip(scalars).map(|(p, s)| *p * s).sum()
    } else {
        G1Projective::msm_unchecked(bases, scalars)
    }
}

/// `IC[0] + Σ xⱼ·IC[j]`: the public inputs folded into one G1 point.
fn fold_inputs(ic: &[G1Affine], inputs: &[Fr]) -> G1Projective {
    match ic.split_first() {
        Some((first, rest)) => linear_combination(rest, inputs) + first,
        None => G1Projective::zero(),
    }
}

/// Checks the Groth16 equation for one proof whose points and signal count
/// are already checked.
pub(crate) fn verify(key: &PreparedKey, checked: &CheckedProof) -> bool {
    let proof = &checked.proof;
    let inputs = fold_inputs(key.ic(), &checked.public_signals).into_affine();
    let pvk = &key.pvk;
    let ml = Bn254::multi_miller_loop(
        [
            <Bn254 as Pairing>::G1Prepared::from(proof.a),
            inputs.into(),
            proof.c.into(),
        ],
        [
            <Bn254 as Pairing>::G2Prepared::from(proof.b),
            pvk.gamma_g2_neg_pc.clone(),
            pvk.delta_g2_neg_pc.clone(),
        ],
    );
    match Bn254::final_exponentiation(ml) {
        Some(gt) => gt.0 == pvk.alpha_g1_beta_g2,
        None => false,
    }
}

/// True when the target-group element is the identity.
pub(crate) fn is_identity(gt: &Fq12) -> bool {
    gt.is_one()
}
