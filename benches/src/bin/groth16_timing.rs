//! Per-proof Groth16 timings for `benches/scripts/groth16_vs_snarkjs.sh`.
//!
//! ```text
//! groth16-timing emit CIRCUIT N            # N distinct valid proofs, as a JSON array
//! groth16-timing time CIRCUIT PROOFS.json  # medians, one `name value` line each
//! groth16-timing parts CIRCUIT             # where one verification's time goes
//! ```
//!
//! `time` verifies every proof of the file one by one (parse, checks,
//! pairing), then in batches of 64 and of all of them; each run is repeated
//! `ROUNDS` times (default 7) and the median per-proof time is printed in ms,
//! wall-clock and CPU time (`*_cpu_ms`: all the process's threads, since one
//! check uses two and a batch every core).

use std::{process::ExitCode, time::Instant};

use taskproof_benches::groth16::{proofs, verifier};
use taskproof_core::{Address, Task, Verdict};

/// CPU time of this thread or of the whole process, in ms. On a machine
/// shared with other work, wall time measures the scheduler; CPU time
/// measures the verification.
fn cpu_ms(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid `ts`.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["emit", circuit, n] => {
            let n: usize = n.parse().expect("N is a number");
            let docs: Vec<serde_json::Value> = proofs(circuit, n)
                .iter()
                .map(|p| serde_json::from_str(p).expect("json"))
                .collect();
            println!("{}", serde_json::Value::Array(docs));
            ExitCode::SUCCESS
        }
        ["time", circuit, file] => {
            let rounds: usize = std::env::var("ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(7);
            let text = std::fs::read_to_string(file).expect("proofs file");
            let docs: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON array");
            let tasks: Vec<Task> = docs
                .iter()
                .map(|d| Task::new(d.to_string(), Vec::new(), Address::ZERO, 10))
                .collect();
            let v = verifier(circuit);
            // Warm up, and make sure every proof holds.
            assert!(tasks.iter().all(|t| v.check(t) == Verdict::Valid));
            let (mut single, mut single_cpu) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                for t in &tasks {
                    let cpu = cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID);
                    let start = Instant::now();
                    std::hint::black_box(v.check(t));
                    single.push(start.elapsed().as_secs_f64() * 1e3);
                    single_cpu.push(cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID) - cpu);
                }
            }
            println!("single_ms {:.4}", median(single));
            println!("single_cpu_ms {:.4}", median(single_cpu));
            let mut sizes = vec![64.min(tasks.len())];
            if tasks.len() > 64 {
                sizes.push(tasks.len());
            }
            for size in sizes {
                let (mut per_proof, mut cpu_per_proof) = (Vec::new(), Vec::new());
                for _ in 0..rounds {
                    for chunk in tasks.chunks(size).filter(|c| c.len() == size) {
                        let cpu = cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID);
                        let start = Instant::now();
                        let verdicts = v.check_batch(chunk);
                        per_proof.push(start.elapsed().as_secs_f64() * 1e3 / size as f64);
                        cpu_per_proof
                            .push((cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID) - cpu) / size as f64);
                        assert!(verdicts.iter().all(|v| *v == Verdict::Valid));
                    }
                }
                println!("batch{size}_ms_per_proof {:.4}", median(per_proof));
                // All threads' CPU time: on an idle 2-core machine the wall
                // time approaches half of it.
                println!("batch{size}_cpu_ms_per_proof {:.4}", median(cpu_per_proof));
            }
            ExitCode::SUCCESS
        }
        ["parts", circuit] => {
            parts(circuit);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: groth16-timing emit CIRCUIT N | time CIRCUIT PROOFS.json");
            ExitCode::from(3)
        }
    }
}

/// Where the time of one verification goes.
fn parts(circuit: &str) {
    use ark_bn254::{Bn254, G1Affine, G2Affine};
    use ark_ec::{AffineRepr, pairing::Pairing};
    let v = verifier(circuit);
    let tasks: Vec<Task> = proofs(circuit, 16)
        .into_iter()
        .map(|p| Task::new(p, Vec::new(), Address::ZERO, 10))
        .collect();
    let time = |name: &str, f: &mut dyn FnMut(usize)| {
        let mut xs = Vec::new();
        for r in 0..200 {
            let start = Instant::now();
            f(r % 16);
            xs.push(start.elapsed().as_secs_f64() * 1e3);
        }
        println!("{name:<24}{:.4} ms", median(xs));
    };
    time("check (all)", &mut |i| {
        std::hint::black_box(v.check(&tasks[i]));
    });
    time("check_fields (parse)", &mut |i| {
        let t = &tasks[i];
        let _ = std::hint::black_box(v.check_fields(&t.proof_of_task, &t.performer, &t.data));
    });
    let checked: Vec<_> = tasks
        .iter()
        .map(|t| {
            v.check_fields(&t.proof_of_task, &t.performer, &t.data)
                .unwrap()
        })
        .collect();
    time("g2 subgroup", &mut |i| {
        std::hint::black_box(
            checked[i]
                .proof
                .b
                .is_in_correct_subgroup_assuming_on_curve(),
        );
    });
    time("g2 on curve", &mut |i| {
        std::hint::black_box(checked[i].proof.b.is_on_curve());
    });
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    time("miller x3", &mut |i| {
        let _ = std::hint::black_box(Bn254::multi_miller_loop(
            [checked[i].proof.a, g1, checked[i].proof.c],
            [checked[i].proof.b, g2, g2],
        ));
    });
    time("miller x1", &mut |i| {
        let _ = std::hint::black_box(Bn254::multi_miller_loop(
            [checked[i].proof.a],
            [checked[i].proof.b],
        ));
    });
    let ml = Bn254::multi_miller_loop([g1], [g2]);
    time("final exp", &mut |_| {
        std::hint::black_box(Bn254::final_exponentiation(ml));
    });
    time("g1 mul 254-bit", &mut |i| {
        let _ = std::hint::black_box(checked[i].proof.a * checked[i].public_signals[0]);
    });
}
