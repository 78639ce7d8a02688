//! `taskproof check-config FILE`: builds every verifier, as `serve` would,
//! and lists the task definitions. Exit 0 when the file is good, 3 otherwise.

use std::{path::PathBuf, process::ExitCode};

use crate::Config;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The config file.
    file: PathBuf,
}

pub(super) fn run(args: Args) -> ExitCode {
    let config = match Config::load(&args.file, &super::registry()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    if let Err(e) = config.attester_key() {
        eprintln!("error: {e}");
        return ExitCode::from(super::EXIT_USAGE);
    }
    println!(
        "{}: ok, listening on {}",
        args.file.display(),
        config.node.listen
    );
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
