//! The `taskproof` command line. One file per subcommand; this file only
//! names them. Scripts depend on the flags and exit codes documented in the
//! README.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod car;
mod check_config;
mod cid;
mod groth16;
mod serve;
mod verify;

/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 3;

/// Proof-of-Task verification for AVS attester nodes.
#[derive(Debug, Parser)]
#[command(name = "taskproof", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the attester node (HTTP validation API, JSON-RPC sendTask, metrics).
    Serve(serve::Args),
    /// Verify one task against a task definition and print the verdict as JSON.
    Verify(verify::Args),
    /// Check a config file and list its task definitions.
    CheckConfig(check_config::Args),
    /// Groth16 tools: `groth16 verify VK.json PUBLIC.json PROOF.json`, like snarkjs.
    Groth16(groth16::Args),
    /// Print a file's IPFS CID, as `ipfs add --only-hash -Q` would.
    Cid(cid::Args),
    /// Work with CAR files: `taskproof car verify FILE.car [--root CID] [--extract OUT]`.
    Car(car::Args),
}

/// Parses the arguments and runs the subcommand. Usage errors exit with 3,
/// not clap's usual 2, which `verify` reserves for "undecided".
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Groth16(args) => groth16::run(args),
        Command::Cid(args) => cid::run(args),
        Command::Car(args) => car::run(args),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub(crate) fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub(crate) fn registry() -> taskproof_core::Registry {
    taskproof_verifiers::builtin_registry()
}

/// A progress bar on standard error for inputs over 64 MiB, when it is a terminal.
pub(crate) fn progress_bar(len: u64) -> Option<indicatif::ProgressBar> {
    if len < 64 * 1024 * 1024 || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
