//! Many proofs under one key, checked together with a random linear
//! combination, and bisected when the combination fails.
//!
//! For proofs (Aᵢ, Bᵢ, Cᵢ) with public inputs folded into Lᵢ, and secret
//! random 128-bit rᵢ from a CSPRNG, one equation stands for all of them:
//!
//! ```text
//! Πᵢ e(rᵢ·Aᵢ, Bᵢ) · e(−(Σrᵢ)·α, β) · e(Σrᵢ·Lᵢ, −γ) · e(Σrᵢ·Cᵢ, −δ) = 1
//! ```
//!
//! N proofs cost N + 3 Miller loops and one final exponentiation, and the
//! public inputs of all proofs fold into a single multi-scalar
//! multiplication over the key's `IC` points (Σrᵢ·Lᵢ = (Σrᵢ)·IC₀ +
//! Σⱼ(Σᵢ rᵢ·xᵢⱼ)·ICⱼ). An invalid proof makes the equation fail except with
//! probability about 2⁻¹²⁸ over the rᵢ, which the prover never sees.
//!
//! When it fails, the batch is split in halves and each half checked again
//! (with fresh randomness), down to single proofs, so every proof gets its
//! own verdict. Large batches are split across cores with rayon.
//!
//! A batch of hostile proofs costs up to about 2N checks, seconds for a
//! large batch, so the verification's deadline is tested before every
//! check and in the preparation of every proof: past it, the batch stops
//! with [`Expired`] and its proofs get no verdict of their own.
//!
//! No maintained crate batches Groth16 verification for arkworks 0.6; this is
//! written here on top of ark-ec's Miller loop and final exponentiation.

use ark_bn254::{Bn254, Fq12, Fr, G1Affine, G1Projective};
use ark_ec::{
    CurveGroup, VariableBaseMSM,
    pairing::{MillerLoopOutput, Pairing},
};
use ark_ff::{BigInt, One, PrimeField, Zero};
use rand::{Rng, RngCore};
use rayon::prelude::*;
use taskproof_core::deadline::{Deadline, Expired};

use super::{
    key::PreparedKey,
    proof::CheckedProof,
    single::{self, is_identity},
};

type G2Prepared = <Bn254 as Pairing>::G2Prepared;

/// Batches at least this large are spread across rayon's threads.
const PARALLEL_FROM: usize = 8;

/// Below this size a failed batch is finished proof by proof: a single check
/// costs 3 Miller loops, less than splitting further.
const SINGLES_BELOW: usize = 3;

/// A proof with its G2 point prepared once, reused by every check of the
/// bisection.
struct Prepared<'a> {
    checked: &'a CheckedProof,
    b: G2Prepared,
}

/// Verifies every proof; `result[i]` says whether `proofs[i]` holds.
///
/// `deadline` is tested before each pairing check and while proofs are
/// prepared on rayon's threads (which do not carry the caller's deadline).
/// Each test reads the clock: a check costs a millisecond, a clock read tens
/// of nanoseconds, and [`taskproof_core::deadline::check`]'s sampling would
/// let dozens of checks run past the deadline.
pub(crate) fn verify_all(
    key: &PreparedKey,
    proofs: &[CheckedProof],
    deadline: &Deadline,
) -> Result<Vec<bool>, Expired> {
    deadline.check()?;
    match proofs {
        [] => Ok(Vec::new()),
        [one] => Ok(vec![single::verify(key, one)]),
        _ => {
            let prepare = |checked| {
                deadline.check()?;
                Ok::<_, Expired>(Prepared {
                    checked,
                    b: checked.proof.b.into(),
                })
            };
            let prepared: Vec<Prepared<'_>> = if proofs.len() >= PARALLEL_FROM {
                proofs.par_iter().map(prepare).collect::<Result<_, _>>()?
            } else {
                proofs.iter().map(prepare).collect::<Result<_, _>>()?
            };
            let mut verdicts = vec![false; proofs.len()];
            bisect(key, &prepared, &mut verdicts, false, deadline)?;
            Ok(verdicts)
        }
    }
}

/// Fills `verdicts` for `proofs`; `known_bad` says a check of a larger batch
/// already showed that this part holds an invalid proof.
fn bisect(
    key: &PreparedKey,
    proofs: &[Prepared<'_>],
    verdicts: &mut [bool],
    known_bad: bool,
    deadline: &Deadline,
) -> Result<(), Expired> {
    match proofs.len() {
        0 => {}
        1 if known_bad => verdicts[0] = false,
        n if n < SINGLES_BELOW => {
            for (p, v) in proofs.iter().zip(verdicts.iter_mut()) {
                deadline.check()?;
                *v = single::verify(key, p.checked);
            }
        }
        n => {
            deadline.check()?;
            if !known_bad && combined_check(key, proofs, &mut rand::thread_rng()) {
                verdicts.fill(true);
                return Ok(());
            }
            let (left, right) = proofs.split_at(n / 2);
            let (left_verdicts, right_verdicts) = verdicts.split_at_mut(n / 2);
            bisect(key, left, left_verdicts, false, deadline)?;
            // If the left half is all valid, the failure is on the right.
            let left_clean = left_verdicts.iter().all(|&v| v);
            bisect(key, right, right_verdicts, left_clean, deadline)?;
        }
    }
    Ok(())
}

/// What one slice of a batch contributes to the combined equation.
struct Partial {
    /// Πᵢ Miller(rᵢ·Aᵢ, Bᵢ).
    miller: Fq12,
    /// Σᵢ rᵢ·Cᵢ.
    c: G1Projective,
    /// Σᵢ rᵢ.
    r_sum: Fr,
    /// Σᵢ rᵢ·xᵢⱼ for each public input j.
    inputs: Vec<Fr>,
}

impl Partial {
    fn combine(mut self, other: Self) -> Self {
        self.miller *= other.miller;
        self.c += other.c;
        self.r_sum += other.r_sum;
        for (a, b) in self.inputs.iter_mut().zip(other.inputs) {
            *a += b;
        }
        self
    }
}

fn partial(proofs: &[Prepared<'_>], scalars: &[Fr], n_inputs: usize) -> Partial {
    let mut r_sum = Fr::zero();
    let mut inputs = vec![Fr::zero(); n_inputs];
    let mut scaled_a = Vec::with_capacity(proofs.len());
    for (p, r) in proofs.iter().zip(scalars) {
        r_sum += r;
        for (acc, x) in inputs.iter_mut().zip(&p.checked.public_signals) {
            *acc += *r * x;
        }
        scaled_a.push(p.checked.proof.a * r);
    }
    let scaled_a = G1Projective::normalize_batch(&scaled_a);
    let cs: Vec<G1Affine> = proofs.iter().map(|p| p.checked.proof.c).collect();
    let c = G1Projective::msm_unchecked(&cs, scalars);
    let MillerLoopOutput(miller) =
        Bn254::multi_miller_loop(scaled_a, proofs.iter().map(|p| p.b.clone()));
    Partial {
        miller,
        c,
        r_sum,
        inputs,
    }
}

/// One random-linear-combination check of `proofs` (at least two).
fn combined_check(key: &PreparedKey, proofs: &[Prepared<'_>], rng: &mut impl RngCore) -> bool {
    // 128-bit nonzero multipliers: soundness error 2^-128 per check.
    let scalars: Vec<Fr> = (0..proofs.len())
        .map(|_| {
            let r: u128 = rng.gen_range(1..=u128::MAX);
            Fr::from_bigint(BigInt::new([r as u64, (r >> 64) as u64, 0, 0])).unwrap_or(Fr::one())
        })
        .collect();
    let n_inputs = key.public_signals();
    let total = if proofs.len() >= PARALLEL_FROM {
        let threads = rayon::current_num_threads().max(1);
        let chunk = proofs.len().div_ceil(threads);
        proofs
            .par_chunks(chunk)
            .zip(scalars.par_chunks(chunk))
            .map(|(p, s)| partial(p, s, n_inputs))
            .reduce_with(Partial::combine)
    } else {
        Some(partial(proofs, &scalars, n_inputs))
    };
    let Some(total) = total else {
        return true;
    };
    let mut input_scalars = Vec::with_capacity(n_inputs + 1);
    input_scalars.push(total.r_sum);
    input_scalars.extend(total.inputs);
    let folded = key.ic_combination(0, &input_scalars);
    let alpha = -(key.alpha_g1() * total.r_sum);
    let pvk = &key.pvk;
    let MillerLoopOutput(key_terms) = Bn254::multi_miller_loop(
        [
            alpha.into_affine(),
            folded.into_affine(),
            total.c.into_affine(),
        ],
        [
            key.beta_g2_prepared.clone(),
            pvk.gamma_g2_neg_pc.clone(),
            pvk.delta_g2_neg_pc.clone(),
        ],
    );
    match Bn254::final_exponentiation(MillerLoopOutput(total.miller * key_terms)) {
        Some(gt) => is_identity(&gt.0),
        None => false,
    }
}
