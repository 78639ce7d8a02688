//! The `taskproof` command line. One file per subcommand; this file only
//! names them. Scripts depend on the flags and exit codes documented in the
//! README.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use taskproof_core::Registry;

mod bench;
#[cfg(feature = "bls")]
mod bls;
#[cfg(feature = "ipfs")]
mod car;
mod check_config;
#[cfg(feature = "ipfs")]
mod cid;
mod completions;
#[cfg(feature = "groth16")]
mod groth16;
mod man;
mod serve;
#[cfg(feature = "tls")]
mod tls;
mod verify;

/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 3;

/// Proof-of-Task verification for AVS attester nodes.
#[derive(Debug, Parser)]
#[command(name = "taskproof", version = crate::metrics::LONG_VERSION, about, long_about = None)]
pub struct Cli {
    /// Log lines as text for people or JSON objects for collectors.
    #[arg(long, global = true, env = "TASKPROOF_LOG_FORMAT", value_enum, default_value_t = crate::logging::LogFormat::Text)]
    log_format: crate::logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// `-c/--config`: the same in every subcommand that reads a config.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConfigArg {
    /// The config file.
    #[arg(
        long = "config",
        short = 'c',
        env = "TASKPROOF_CONFIG",
        default_value = "taskproof.toml"
    )]
    pub(crate) path: PathBuf,
}

/// Where `serve` listens, overriding the config (`check-config` reports it).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ListenArgs {
    /// Listen address, overriding `node.listen` (default 127.0.0.1:4002).
    #[arg(long, env = "TASKPROOF_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Address of the admin listener (`/healthz` and `/metrics` only),
    /// overriding `node.admin_listen`.
    #[arg(long, env = "TASKPROOF_ADMIN_LISTEN")]
    admin_listen: Option<std::net::SocketAddr>,
}

/// Loads the config as `serve` would, flags and environment applied; on a
/// mistake, prints it and returns the exit code.
pub(crate) fn load_config(
    config: &std::path::Path,
    listen: &ListenArgs,
    registry: &Registry,
) -> Result<crate::Config, ExitCode> {
    let mut loaded = crate::Config::load(config, registry).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    if let Some(addr) = listen.listen {
        loaded.node.listen = addr;
    }
    if let Some(addr) = listen.admin_listen {
        loaded.node.admin_listen = Some(addr);
    }
    Ok(loaded)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the attester node (HTTP validation API, JSON-RPC sendTask, metrics).
    Serve(serve::Args),
    /// Verify one task against a task definition and print the verdict as JSON.
    Verify(verify::Args),
    /// Check a config file, list its task definitions and say where `serve`
    /// would listen.
    CheckConfig(check_config::Args),
    /// Drive a task definition's verifier in-process, or a validation service
    /// over HTTP, with a corpus of proofs; report throughput, latency, verdicts
    /// and CPU time.
    Bench(bench::Args),
    /// Groth16 tools: `groth16 verify VK.json PUBLIC.json PROOF.json`, like snarkjs.
    #[cfg(feature = "groth16")]
    Groth16(groth16::Args),
    /// Print a file's IPFS CID, as `ipfs add --only-hash -Q` would.
    #[cfg(feature = "ipfs")]
    Cid(cid::Args),
    /// Work with CAR files: `taskproof car verify FILE.car [--root CID] [--extract OUT]`.
    #[cfg(feature = "ipfs")]
    Car(car::Args),
    /// TLS session proofs: `tls record URL --performer ADDR --task-def N`.
    #[cfg(feature = "tls")]
    Tls(tls::Args),
    /// Othentic's BLS on BN254: `bls public-key`, `bls sign`,
    /// `bls hash-to-point`, `bls verify`.
    #[cfg(feature = "bls")]
    Bls(bls::Args),
    /// Print a shell completion script: `taskproof completions bash`.
    Completions(completions::Args),
    /// Print the manual page (roff), or write one per subcommand with `--out DIR`.
    Man(man::Args),
}

/// The `taskproof` binary with the built-in verifier kinds of this build.
pub fn main() -> ExitCode {
    main_with(taskproof_verifiers::builtin_registry())
}

/// The whole `taskproof` binary (every subcommand, limit and metric) over a
/// registry of the caller's choosing: a custom attester's `main` registers
/// its kinds beside the built-in ones and calls this.
///
/// ```no_run
/// use taskproof_core::{Registry, Verdict, verify_fn};
///
/// fn main() -> std::process::ExitCode {
///     let mut registry = taskproof_verifiers::builtin_registry();
///     registry
///         .register_fn("non-empty", |_: taskproof_core::NoParams, _ctx| {
///             Ok(verify_fn(|task| {
///                 if task.proof_of_task.is_empty() {
///                     Verdict::invalid("proofOfTask is empty")
///                 } else {
///                     Verdict::Valid
///                 }
///             }))
///         })
///         .expect("a new kind name");
///     taskproof_node::main_with(registry)
/// }
/// ```
///
/// Usage errors exit with 3, not clap's usual 2, which `verify` reserves for
/// "undecided".
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let format = cli.log_format;
    match cli.command {
        Command::Serve(args) => serve::run(args, &registry, format),
        Command::Verify(args) => verify::run(args, &registry, format),
        Command::CheckConfig(args) => check_config::run(args, &registry, format),
        Command::Bench(args) => bench::run(args, &registry, format),
        #[cfg(feature = "groth16")]
        Command::Groth16(args) => groth16::run(args),
        #[cfg(feature = "ipfs")]
        Command::Cid(args) => cid::run(args),
        #[cfg(feature = "ipfs")]
        Command::Car(args) => car::run(args),
        #[cfg(feature = "tls")]
        Command::Tls(args) => tls::run(args),
        #[cfg(feature = "bls")]
        Command::Bls(args) => bls::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default filter.
pub(crate) fn init_logging(level: &str, format: crate::logging::LogFormat) {
    crate::logging::init(level, format);
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

/// A progress bar on standard error for inputs over 64 MiB, when it is a terminal.
#[cfg(feature = "ipfs")]
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
