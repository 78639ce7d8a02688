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
mod tls;
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
    /// TLS session proofs: `tls record URL --performer ADDR --task-def N`.
    Tls(tls::Args),
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
        Command::Tls(args) => tls::run(args),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default filter.
pub(crate) fn init_logging(level: &str) {
    crate::logging::init(level);
}

/// The most bytes read from a file or standard input a command is given
/// (a proof of task, a snarkjs JSON file).
pub(crate) const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Reads a command's input file (or `-` for standard input), at most
/// [`MAX_INPUT_BYTES`], as UTF-8 text.
pub(crate) fn read_input(path: &str) -> Result<String, String> {
    use std::io::Read;
    let bytes = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        if bytes.len() as u64 > MAX_INPUT_BYTES {
            return Err(format!(
                "standard input is larger than the {MAX_INPUT_BYTES}-byte limit"
            ));
        }
        bytes
    } else {
        taskproof_core::read_capped(std::path::Path::new(path), MAX_INPUT_BYTES)
            .map_err(|e| format!("cannot read {path}: {e}"))?
    };
    String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))
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
