//! One proof, one pairing check: 3 Miller loops and a final exponentiation.
//!
//! This is ark-groth16's `verify_proof_with_prepared_inputs`, written out so
//! that the public-input combination goes through the key's fixed-base
//! table, the Miller loops use both cores, and a degenerate final
//! exponentiation is a failed check rather than a panic.

use ark_bn254::{Bn254, Fq12, Fr, G1Affine, G1Projective};
use ark_ec::{
    CurveGroup, VariableBaseMSM,
    pairing::{MillerLoopOutput, Pairing},
};
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
fn fold_inputs(key: &PreparedKey, inputs: &[Fr]) -> G1Projective {
    match key.ic().first() {
        Some(first) => key.ic_combination(1, inputs) + first,
        None => G1Projective::zero(),
    }
}

/// Checks the Groth16 equation for one proof whose points and signal count
/// are already checked:
/// `e(A, B) · e(L, −γ) · e(C, −δ) = e(α, β)`, where `L` folds the inputs.
///
/// The two halves of the product run on two threads of rayon's pool (one
/// verification's latency is what a lone request waits for): `A, B` needs
/// `B`'s line coefficients computed, so it pairs with the prepared `−δ`,
/// and the input fold pairs with `−γ`.
pub(crate) fn verify(key: &PreparedKey, checked: &CheckedProof) -> bool {
    let proof = &checked.proof;
    let pvk = &key.pvk;
    let (proof_terms, input_term) = rayon::join(
        || {
            Bn254::multi_miller_loop(
                [
                    <Bn254 as Pairing>::G1Prepared::from(proof.a),
                    proof.c.into(),
                ],
                [
                    <Bn254 as Pairing>::G2Prepared::from(proof.b),
                    pvk.delta_g2_neg_pc.clone(),
                ],
            )
        },
        || {
            let inputs = fold_inputs(key, &checked.public_signals).into_affine();
            Bn254::multi_miller_loop([inputs], [pvk.gamma_g2_neg_pc.clone()])
        },
    );
    match Bn254::final_exponentiation(MillerLoopOutput(proof_terms.0 * input_term.0)) {
        Some(gt) => gt.0 == pvk.alpha_g1_beta_g2,
        None => false,
    }
}

/// True when the target-group element is the identity.
pub(crate) fn is_identity(gt: &Fq12) -> bool {
    gt.is_one()
}
