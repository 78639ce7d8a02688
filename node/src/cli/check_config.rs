//! `taskproof check-config [FILE | -c FILE]`: builds every verifier, as
//! `serve` would (flags and environment variables applied), lists the task
//! definitions and says where `serve` would listen. Exit 0 when the file is
//! good, 3 otherwise.

use std::{path::PathBuf, process::ExitCode};

use taskproof_core::Registry;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The config file (the same as `-c FILE`).
    file: Option<PathBuf>,
    #[command(flatten)]
    config: super::ConfigArg,
    #[command(flatten)]
    listen: super::ListenArgs,
}

pub(super) fn run(args: Args, registry: &Registry, format: crate::logging::LogFormat) -> ExitCode {
    // Warnings (a `danger` option, a test SRS) are what a reviewer of the
    // file most needs to see; the per-kind `info` lines are noise here.
    super::init_logging("warn", format);
    let path = args.file.unwrap_or(args.config.path);
    let config = match super::load_config(&path, &args.listen, registry) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let attester = match config.attester() {
        Ok(attester) => attester,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let admin = config.node.admin_listen.map_or_else(
        || "no admin listener".to_owned(),
        |a| format!("admin listener on {a}"),
    );
    println!(
        "{}: ok; `taskproof serve` would listen on {} ({admin})",
        path.display(),
        config.node.listen
    );
    #[cfg(feature = "bls")]
    if let Some((file, set)) = &config.consensus.operators {
        println!(
            "operator set {}: {} operators, voting power {} in all",
            file.display(),
            set.len(),
            set.total_voting_power()
        );
    }
    match (&attester.key, attester.operator_index) {
        (Some(key), Some(index)) => println!(
            "attester {}: operator {index}, voting power {}",
            key.address(),
            attester
                .voting_power
                .map_or_else(|| "unset".to_owned(), |p| p.to_string())
        ),
        (Some(key), None) => println!("attester {}: no operator index", key.address()),
        (None, _) => println!("no attester key: sendTask signs no votes"),
    }
    println!("{:>5}  {:<10}  name", "id", "verifier");
    for def in config.task_definitions.iter() {
        let mut notes = Vec::new();
        if !def.minimum_voting_power.is_zero() {
            notes.push(format!("minimum voting power {}", def.minimum_voting_power));
        }
        if !def.restricted_operators.is_empty() {
            notes.push(format!("operators {:?}", def.restricted_operators));
        }
        if let Some(t) = def.timeout {
            notes.push(format!("timeout {} ms", t.as_millis()));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        println!("{:>5}  {:<10}  {}{notes}", def.id, def.kind, def.name);
    }
    ExitCode::SUCCESS
}
