//! A custom attester: the whole `taskproof` binary (serve, verify,
//! check-config, every limit and metric) with one more verifier kind.
//!
//! ```toml
//! [[task_definitions]]
//! id = 7
//! name = "even-numbers"
//! verifier = "multiple-of"
//! params = { divisor = 2 }
//! ```
//!
//! `cargo run -p taskproof-node --example custom_attester -- serve -c attester.toml`

use serde::Deserialize;
use taskproof_core::{Verdict, verify_fn};

/// The kind's params, read (and their mistakes located) at start-up.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MultipleOf {
    divisor: u64,
}

fn main() -> std::process::ExitCode {
    let mut registry = taskproof_verifiers::builtin_registry();
    registry
        .register_fn("multiple-of", |p: MultipleOf, ctx| {
            if p.divisor == 0 {
                return Err(ctx.error("divisor", "must not be zero"));
            }
            Ok(verify_fn(move |task| {
                match task.proof_of_task.trim().parse::<u64>() {
                    Ok(n) if n % p.divisor == 0 => Verdict::Valid,
                    Ok(n) => Verdict::invalid(format!("{n} is not a multiple of {}", p.divisor)),
                    Err(_) => Verdict::invalid("proofOfTask is not a decimal number"),
                }
            }))
        })
        .expect("a kind name of our own");
    taskproof_node::main_with(registry)
}
