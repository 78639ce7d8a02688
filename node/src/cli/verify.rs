//! `taskproof verify --config FILE --task-def N --proof-of-task FILE|- [--data HEX] [--performer ADDR]`
//!
//! Prints one JSON line `{"verdict", "reason", "elapsed_us"}` and exits 0
//! (valid), 1 (invalid), 2 (undecided) or 3 (usage or config error).

use std::{process::ExitCode, sync::Arc, time::Instant};

use alloy_primitives::Address;
use taskproof_core::{Outcome, Registry, Task};

use crate::{Config, Engine, EngineOptions, Metrics, logging::LogFormat};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// The taskDefinitionId.
    #[arg(long = "task-def")]
    task_def: u16,
    /// A file holding the proofOfTask, or `-` for standard input.
    #[arg(long = "proof-of-task")]
    proof_of_task: String,
    /// The task's data: 0x-hex bytes, or text.
    #[arg(long, default_value = "")]
    data: String,
    /// The performer's address.
    #[arg(long, default_value_t = Address::ZERO)]
    performer: Address,
}

pub(super) fn run(args: Args, registry: &Registry, format: LogFormat) -> ExitCode {
    super::init_logging("warn", format);
    let usage = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(super::EXIT_USAGE)
    };
    let config = match Config::load(&args.config.path, registry) {
        Ok(c) => c,
        Err(e) => return usage(e.to_string()),
    };
    let proof_of_task = match super::read_input(&args.proof_of_task) {
        Ok(text) => text,
        Err(e) => return usage(e),
    };
    if config.task_definitions.get(args.task_def).is_none() {
        return usage(format!(
            "{}: TaskDefinitionNotFound({}); the file defines {:?}",
            args.config.path.display(),
            args.task_def,
            config
                .task_definitions
                .iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        ));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage(format!("cannot start the runtime: {e}")),
    };
    let data = crate::wire::data_hex_or_text(&args.data);
    let task = Task::new(proof_of_task, data, args.performer, args.task_def);
    let verdict = runtime.block_on(async {
        let metrics = Arc::new(Metrics::new(&config.task_definitions));
        let options = EngineOptions {
            timeout: config.node.timeout(),
            max_pending: 1,
            batching: false,
            ..EngineOptions::default()
        };
        let engine = Engine::new(config.task_definitions.clone(), options, metrics);
        let started = Instant::now();
        let verdict = engine.judge(task).await;
        (verdict, started.elapsed())
    });
    let (verdict, elapsed) = verdict;
    let Ok(verdict) = verdict else {
        return usage(format!("TaskDefinitionNotFound({})", args.task_def));
    };
    let line = serde_json::json!({
        "verdict": verdict.outcome().as_str(),
        "reason": verdict.message(),
        "elapsed_us": elapsed.as_micros() as u64,
    });
    println!("{line}");
    ExitCode::from(match verdict.outcome() {
        Outcome::Valid => 0,
        Outcome::Invalid => 1,
        Outcome::Undecided => 2,
    })
}
