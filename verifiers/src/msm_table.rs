//! A fixed-base multi-scalar multiplication table for BN254's G1.
//!
//! Some verifiers multiply the same points by new scalars on every request:
//! EigenDA's commitment check (the SRS points) and Groth16's public-input
//! fold (the key's `IC` points). The work that depends only on the points is
//! done once, when the verifier is built.
//!
//! For window width `c` and `W = ⌈255 / c⌉` windows the table holds
//! `2^(c·j)·P_i` for every point `P_i` and window `j`. An MSM is then
//! one pass of Pippenger's bucket method over all (point, window) pairs into
//! a single set of `2^(c-1)` buckets (signed digits), and one bucket
//! reduction — instead of one bucket reduction per window plus the doublings
//! between windows, as a variable-base MSM must do. The points are split
//! across the rayon pool's threads, each with its own buckets.
//!
//! arkworks has no fixed-base MSM for different scalars per point (its
//! `FixedBase` multiplies one scalar by many points' worth of one base), so
//! this is written here, on arkworks' own field and bucket arithmetic.

use ark_bn254::{Fr, G1Affine, G1Projective, g1::Config as G1Config};
use ark_ec::{CurveGroup, short_weierstrass::Bucket};
use ark_ff::{AdditiveGroup, PrimeField};
use rayon::prelude::*;

/// Bits needed for a signed-digit decomposition of any scalar below r:
/// 254 bits plus one for the final carry.
const SCALAR_BITS: usize = 255;

/// `2^(c·j)·P_i` for every point `P_i` the table was built for.
#[derive(Clone, Debug)]
pub(crate) struct MsmTable {
    window_bits: usize,
    windows: usize,
    /// Point `i`'s windows at `i * windows .. (i + 1) * windows`.
    points: Vec<G1Affine>,
}

/// The widest window a table uses. Wider windows save little (the
/// accumulation pass shrinks as `1/c`) but each thread's bucket reduction
/// doubles with every bit, which small blobs would pay for.
const MAX_WINDOW_BITS: usize = 13;

/// The table's window width for `len` points: the one that minimises the
/// additions of one MSM over all of them, `len · W + 2^c` (bucket
/// accumulation plus the running-sum reduction), at most
/// [`MAX_WINDOW_BITS`].
fn window_bits_for(len: usize) -> usize {
    (4..=MAX_WINDOW_BITS)
        .min_by_key(|&c| len * SCALAR_BITS.div_ceil(c) + (1usize << c))
        .unwrap_or(8)
}

/// About how many group additions arkworks' variable-base MSM spends on
/// `len` points (its window width, its windows, its buckets).
#[cfg_attr(not(feature = "eigenda"), allow(dead_code))]
fn variable_base_additions(len: usize) -> usize {
    let c = if len < 32 {
        3
    } else {
        (len.ilog2() as usize) * 69 / 100 + 2
    };
    SCALAR_BITS.div_ceil(c) * (len + (1 << c))
}

/// The number of table points, and their bytes, a table for `len` base
/// points needs.
pub(crate) fn table_bytes(len: usize) -> usize {
    len * SCALAR_BITS.div_ceil(window_bits_for(len)) * std::mem::size_of::<G1Affine>()
}

impl MsmTable {
    /// The table for `bases`; costs `len · 255` doublings, spread over the
    /// rayon pool.
    pub(crate) fn new(bases: &[G1Affine]) -> Self {
        let window_bits = window_bits_for(bases.len());
        let windows = SCALAR_BITS.div_ceil(window_bits);
        let projective: Vec<G1Projective> = bases
            .par_iter()
            .flat_map_iter(|base| {
                let mut acc = G1Projective::from(*base);
                (0..windows).map(move |_| {
                    let this = acc;
                    for _ in 0..window_bits {
                        acc.double_in_place();
                    }
                    this
                })
            })
            .collect();
        let points = projective
            .par_chunks(4096)
            .flat_map_iter(G1Projective::normalize_batch)
            .collect();
        Self {
            window_bits,
            windows,
            points,
        }
    }

    /// How many base points the table covers.
    pub(crate) fn len(&self) -> usize {
        self.points.len() / self.windows.max(1)
    }

    /// `Σ s_i P_i` for the first `scalars.len()` points, or `None` when the
    /// table covers fewer points or would be slower than the variable-base
    /// MSM (a few symbols against every thread's bucket reduction). Only
    /// EigenDA commits to whole blobs; Groth16 folds one signal at a time.
    #[cfg_attr(not(feature = "eigenda"), allow(dead_code))]
    pub(crate) fn msm(&self, scalars: &[Fr]) -> Option<G1Projective> {
        let threads = rayon::current_num_threads().max(1);
        let additions = scalars.len() * self.windows + threads * (1 << self.window_bits);
        if scalars.len() > self.len() || additions > variable_base_additions(scalars.len()) {
            return None;
        }
        let chunk = scalars.len().div_ceil(threads).max(1);
        Some(
            scalars
                .par_chunks(chunk)
                .enumerate()
                .map(|(k, part)| self.msm_part(k * chunk, part))
                .sum(),
        )
    }

    /// `Σ s_i P_(first + i)` on the calling thread alone, or `None` when the
    /// table does not cover those points. For a few scalars, where splitting
    /// the work across threads would cost more than it saves.
    #[cfg_attr(not(feature = "groth16"), allow(dead_code))]
    pub(crate) fn msm_serial(&self, first: usize, scalars: &[Fr]) -> Option<G1Projective> {
        (first.checked_add(scalars.len())? <= self.len()).then(|| self.msm_part(first, scalars))
    }

    /// The bucket pass for the points from `first`, on one thread.
    fn msm_part(&self, first: usize, scalars: &[Fr]) -> G1Projective {
        let c = self.window_bits;
        let half = 1i64 << (c - 1);
        let mut buckets = vec![Bucket::<G1Config>::ZERO; 1 << (c - 1)];
        let mut digits = vec![0i64; self.windows];
        for (offset, scalar) in scalars.iter().enumerate() {
            signed_digits(&scalar.into_bigint(), c, &mut digits);
            let start = (first + offset) * self.windows;
            let Some(row) = self.points.get(start..start + self.windows) else {
                continue;
            };
            for (&digit, point) in digits.iter().zip(row) {
                if digit > 0 {
                    if let Some(b) = buckets.get_mut((digit - 1) as usize) {
                        *b += point;
                    }
                } else if digit < 0
                    && let Some(b) = buckets.get_mut((-digit - 1) as usize)
                {
                    *b -= point;
                }
            }
            debug_assert!(digits.iter().all(|d| (-half..=half).contains(d)));
        }
        // Σ k · bucket[k-1] as a running sum from the top bucket down.
        let mut running = Bucket::<G1Config>::ZERO;
        let mut total = Bucket::<G1Config>::ZERO;
        for bucket in buckets.iter().rev() {
            running += bucket;
            total += &running;
        }
        total.into()
    }
}

/// Writes the signed base-2^c digits of `scalar` (each in `-2^(c-1) ..=
/// 2^(c-1)`) into `digits`, lowest first; `digits` must have
/// `⌈255 / c⌉` entries so the last carry fits.
fn signed_digits(scalar: &<Fr as PrimeField>::BigInt, c: usize, digits: &mut [i64]) {
    let limbs = scalar.as_ref();
    let mask = (1u64 << c) - 1;
    let half = 1i64 << (c - 1);
    let mut carry = 0i64;
    for (j, digit) in digits.iter_mut().enumerate() {
        let bit = j * c;
        let limb = bit / 64;
        let shift = bit % 64;
        let mut window = limbs.get(limb).map_or(0, |l| l >> shift);
        if shift + c > 64
            && let Some(next) = limbs.get(limb + 1)
        {
            window |= next << (64 - shift);
        }
        let mut value = (window & mask) as i64 + carry;
        if value > half {
            value -= 1 << c;
            carry = 1;
        } else {
            carry = 0;
        }
        *digit = value;
    }
    debug_assert_eq!(carry, 0, "{SCALAR_BITS} bits hold any scalar");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{PrimeGroup, VariableBaseMSM};
    use ark_ff::{Field, One, Zero};

    fn bases(n: usize) -> Vec<G1Affine> {
        let g = G1Projective::generator();
        let points: Vec<G1Projective> = (0..n as u64).map(|i| g * Fr::from(3 * i + 7)).collect();
        G1Projective::normalize_batch(&points)
    }

    fn edge_scalars(n: usize) -> Vec<Fr> {
        let minus_one = -Fr::one();
        (0..n)
            .map(|i| match i % 7 {
                0 => Fr::zero(),
                1 => Fr::one(),
                2 => minus_one,
                3 => Fr::from(2u64).pow([200 + i as u64 % 50]),
                4 => minus_one - Fr::from(1u64 << 40),
                5 => Fr::from(u64::MAX) * Fr::from(i as u64 + 1),
                _ => Fr::from(12345u64).pow([i as u64]),
            })
            .collect()
    }

    #[test]
    fn signed_digits_recompose_the_scalar() {
        for c in 4..=16 {
            let windows = SCALAR_BITS.div_ceil(c);
            let mut digits = vec![0; windows];
            for s in edge_scalars(30) {
                signed_digits(&s.into_bigint(), c, &mut digits);
                let mut acc = Fr::zero();
                for d in digits.iter().rev() {
                    acc *= Fr::from(1u64 << c);
                    let magnitude = Fr::from(d.unsigned_abs());
                    acc += if *d < 0 { -magnitude } else { magnitude };
                }
                assert_eq!(acc, s, "c = {c}");
                assert!(digits.iter().all(|d| d.abs() <= 1 << (c - 1)));
            }
        }
    }

    #[test]
    fn table_msm_equals_the_variable_base_msm() {
        for n in [1, 2, 7, 64, 300] {
            let bases = bases(n);
            let table = MsmTable::new(&bases);
            assert_eq!(table.len(), n);
            let scalars = edge_scalars(n);
            for take in [0, 1, n / 2, n] {
                let expected = G1Projective::msm_unchecked(&bases[..take], &scalars[..take]);
                let sum = table.msm_part(0, &scalars[..take]);
                assert_eq!(sum, expected, "n = {n}, take = {take}");
                if let Some(parallel) = table.msm(&scalars[..take]) {
                    assert_eq!(parallel, expected, "n = {n}, take = {take}");
                }
            }
            assert_eq!(table.msm(&edge_scalars(n + 1)), None);
            assert_eq!(table.msm_serial(1, &edge_scalars(n)), None);
            assert_eq!(table.msm_serial(usize::MAX, &edge_scalars(1)), None);
            let rest = &scalars[..n - 1];
            assert_eq!(
                table.msm_serial(1, rest),
                Some(G1Projective::msm_unchecked(&bases[1..], rest)),
                "n = {n}, from point 1"
            );
        }
    }

    #[test]
    fn the_table_is_used_for_large_blobs_only() {
        let bases = bases(2048);
        let table = MsmTable::new(&bases);
        let scalars = edge_scalars(2048);
        assert!(table.msm(&scalars[..4]).is_none());
        assert_eq!(
            table.msm(&scalars),
            Some(G1Projective::msm_unchecked(&bases, &scalars))
        );
    }

    #[test]
    fn window_width_grows_with_the_point_count() {
        assert!(window_bits_for(16) < window_bits_for(4096));
        assert!(window_bits_for(4096) <= window_bits_for(1 << 20));
        assert_eq!(window_bits_for(1 << 20), MAX_WINDOW_BITS);
    }
}
