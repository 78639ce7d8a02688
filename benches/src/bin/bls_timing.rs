//! Per-operation BLS timings for `benches/scripts/bls_vs_mcl.sh`, over every
//! case of `fixtures/bls/vectors.json` (the inputs mcl-wasm is timed on).
//!
//! ```text
//! bls-timing [ROUNDS]         # medians in µs, one `name value` line each
//! PARTS=1 bls-timing [ROUNDS] # and where one verification's time goes
//! ```
//!
//! `sign` hashes the message to a point and multiplies; `verify` hashes and
//! checks one product of two pairings (`verify_prepared_key`: with the key's
//! pairing coefficients computed beforehand, as for an operator set). Each is timed per case, `ROUNDS`
//! times (default 20), after a warm-up pass; wall-clock and process CPU time
//! (`*_cpu_us`: every thread, since arkworks may run the two Miller loops on
//! two).

use std::time::Instant;

use alloy_primitives::{B256, Bytes};
use taskproof_consensus::bls::{self, PublicKey, SecretKey};

fn cpu_us() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

struct Case {
    sk: SecretKey,
    pk: PublicKey,
    message: Bytes,
    domain: B256,
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(20, |r| r.parse().expect("ROUNDS is a number"));
    let vectors = taskproof_benches::fixture("bls/vectors.json");
    let cases: Vec<Case> = vectors["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let sk = SecretKey::from_operator_key(c["key"].as_str().expect("key")).expect("key");
            let domain = vectors["domains"][c["domain"].as_str().expect("domain")]
                .as_str()
                .expect("domain")
                .parse()
                .expect("hex");
            Case {
                pk: sk.public_key(),
                sk,
                message: c["message"]
                    .as_str()
                    .expect("message")
                    .parse()
                    .expect("hex"),
                domain,
            }
        })
        .collect();
    let signatures: Vec<_> = cases
        .iter()
        .map(|c| c.sk.sign(&c.message, &c.domain))
        .collect();

    let n = cases.len();
    let mut time = |name: &str, op: &mut dyn FnMut(usize)| {
        for i in 0..n {
            op(i);
        }
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for i in 0..n {
                let (c0, t0) = (cpu_us(), Instant::now());
                op(i);
                wall.push(t0.elapsed().as_secs_f64() * 1e6);
                cpu.push(cpu_us() - c0);
            }
        }
        println!("{name}_us {:.2}", median(wall));
        println!("{name}_cpu_us {:.2}", median(cpu));
    };
    time("hash_to_point", &mut |i| {
        let _ = std::hint::black_box(bls::hash_to_point(&cases[i].message, &cases[i].domain));
    });
    time("sign", &mut |i| {
        let _ = std::hint::black_box(cases[i].sk.sign(&cases[i].message, &cases[i].domain));
    });
    time("verify", &mut |i| {
        let c = &cases[i];
        assert!(c.pk.verify(&c.message, &signatures[i], &c.domain));
    });
    let prepared: Vec<_> = cases.iter().map(|c| c.pk.prepare()).collect();
    time("verify_prepared_key", &mut |i| {
        let c = &cases[i];
        assert!(prepared[i].verify(&c.message, &signatures[i], &c.domain));
    });
    if std::env::var_os("PARTS").is_some() {
        parts(&cases, &signatures, &mut time);
    }
}

/// Times an operation over every case and prints its medians.
type Timer<'a> = dyn FnMut(&str, &mut dyn FnMut(usize)) + 'a;

/// Where one verification's time goes.
fn parts(cases: &[Case], signatures: &[bls::Signature], time: &mut Timer<'_>) {
    use ark_bn254::{Bn254, Fq, G2Affine};
    use ark_ec::{AffineRepr, pairing::Pairing};
    use ark_ff::Field;
    let points: Vec<_> = cases
        .iter()
        .map(|c| bls::hash_to_point(&c.message, &c.domain))
        .collect();
    let neg_g2: <Bn254 as Pairing>::G2Prepared = (-G2Affine::generator()).into();
    time("part_map_to_g1", &mut |i| {
        let t = bls::hash_to_field(&cases[i].message, &cases[i].domain)[0];
        let _ = std::hint::black_box(bls::map_to_g1(t));
    });
    time("part_fq_pow", &mut |i| {
        let t = bls::hash_to_field(&cases[i].message, &cases[i].domain)[0];
        let _ = std::hint::black_box(t.pow([u64::MAX, u64::MAX, u64::MAX, 0x0fff_ffff_ffff_ffff]));
    });
    time("part_fq_inverse", &mut |i| {
        let t: Fq = bls::hash_to_field(&cases[i].message, &cases[i].domain)[0];
        let _ = std::hint::black_box(t.inverse());
    });
    time("part_g2_prepare", &mut |i| {
        let p: <Bn254 as Pairing>::G2Prepared = (*cases[i].pk.point()).into();
        let _ = std::hint::black_box(p);
    });
    let prepared: Vec<<Bn254 as Pairing>::G2Prepared> =
        cases.iter().map(|c| (*c.pk.point()).into()).collect();
    time("part_miller_loops", &mut |i| {
        let _ = std::hint::black_box(Bn254::multi_miller_loop(
            [*signatures[i].point(), points[i]],
            [neg_g2.clone(), prepared[i].clone()],
        ));
    });
    let loops: Vec<_> = (0..cases.len())
        .map(|i| {
            Bn254::multi_miller_loop(
                [*signatures[i].point(), points[i]],
                [neg_g2.clone(), prepared[i].clone()],
            )
        })
        .collect();
    time("part_final_exponentiation", &mut |i| {
        let _ = std::hint::black_box(Bn254::final_exponentiation(loops[i]));
    });
}
