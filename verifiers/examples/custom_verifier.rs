//! Registering a custom verifier kind next to the built-in ones.
//!
//! An AVS whose performers publish a number that must be even writes a
//! verifier, a factory that reads its params, and registers it. The kind is
//! then usable from the TOML config like any built-in kind.
//!
//! Run with `cargo run -p taskproof-verifiers --example custom_verifier`.

use std::{path::Path, sync::Arc};

use serde::Deserialize;
use taskproof_core::{
    Address, BuildContext, ConfigError, Task, TaskDefinitions, Verdict, Verifier, VerifierFactory,
    async_trait,
};

/// Valid when proofOfTask is a multiple of `divisor`.
struct MultipleOf {
    divisor: u64,
}

#[async_trait]
impl Verifier for MultipleOf {
    async fn verify(&self, task: &Task) -> Verdict {
        match task.proof_of_task.trim().parse::<u64>() {
            Ok(n) if n % self.divisor == 0 => Verdict::Valid,
            Ok(n) => Verdict::invalid(format!("{n} is not a multiple of {}", self.divisor)),
            Err(e) => Verdict::invalid(format!("proofOfTask is not a number: {e}")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    divisor: u64,
}

struct MultipleOfFactory;

impl VerifierFactory for MultipleOfFactory {
    fn kind(&self) -> &str {
        "multiple-of"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        let params: Params = ctx.params()?;
        if params.divisor == 0 {
            return Err(ctx.error("divisor", "must not be zero"));
        }
        Ok(Arc::new(MultipleOf {
            divisor: params.divisor,
        }))
    }
}

const CONFIG: &str = r#"
[[task_definitions]]
id = 7
name = "even-numbers"
verifier = "multiple-of"
params = { divisor = 2 }
"#;

/// Builds the registry, loads the config and judges two tasks; returns the
/// verdicts so the test suite can check them.
pub fn run() -> Result<Vec<Verdict>, Box<dyn std::error::Error>> {
    let mut registry = taskproof_verifiers::builtin_registry();
    registry.register(MultipleOfFactory)?;
    let definitions = TaskDefinitions::from_toml_str(CONFIG, Path::new("example.toml"), &registry)?;
    let def = definitions.get(7).ok_or("task definition 7 is missing")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let verdicts = runtime.block_on(async {
        let mut out = Vec::new();
        for proof in ["42", "43"] {
            out.push(
                def.verifier
                    .verify(&Task::new(proof, Vec::new(), Address::ZERO, 7))
                    .await,
            );
        }
        out
    });
    Ok(verdicts)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    for verdict in run()? {
        println!("{verdict}");
    }
    Ok(())
}
