//! `taskproof tls record URL --performer ADDR --task-def N [--data HEX]
//! [--ca FILE] [--out FILE]`: makes a TLS 1.3 handshake bound to a task and
//! writes its `tls13-handshake` proof of task (JSON).
//!
//! The work is `taskproof_verifiers::tls::handshake::record`; this file only
//! reads flags and writes the result. The proof goes to `--out` (written to
//! a temporary file beside it and renamed into place once complete) or to
//! standard output; a summary goes to standard error. Exit 0, or 3 with
//! nothing written when the server does not speak TLS 1.3, cannot be
//! reached, or the recorded handshake does not verify.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use alloy_primitives::{Address, hex};
use taskproof_verifiers::tls::handshake::{RecordRequest, Roots, record};

use super::EXIT_USAGE;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Record a TLS 1.3 handshake with URL's server, bound to a task, as a
    /// `tls13-handshake` proof of task.
    Record(RecordArgs),
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// `https://host[:port]/…`: the server (the host is the TLS server name).
    url: String,
    /// The task's performer address.
    #[arg(long)]
    performer: Address,
    /// The task's taskDefinitionId.
    #[arg(long = "task-def")]
    task_def: u16,
    /// The task's data, hex (0x optional); default empty.
    #[arg(long, default_value = "")]
    data: String,
    /// A PEM file of root certificates to trust instead of the bundled
    /// Mozilla roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Write the proof here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The most the connection and handshake may take, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

pub(super) fn run(args: Args) -> ExitCode {
    let Command::Record(args) = args.command;
    match record_to(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("taskproof tls record: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn record_to(args: &RecordArgs) -> Result<(), String> {
    let data = hex::decode(args.data.trim()).map_err(|e| format!("--data is not hex: {e}"))?;
    let mut request = RecordRequest::new(&args.url, args.performer, args.task_def);
    request.data = data;
    request.timeout = Duration::from_millis(args.timeout_ms);
    if let Some(ca) = &args.ca {
        let pem = taskproof_core::read_capped(ca, 16 << 20)
            .map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
        request.roots = Roots::from_pem(&pem).map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let recording = record(&request).map_err(|e| e.to_string())?;
    let json = recording.to_json() + "\n";
    match &args.out {
        Some(out) => write_atomically(out, json.as_bytes())?,
        None => std::io::stdout()
            .write_all(json.as_bytes())
            .map_err(|e| format!("cannot write the proof: {e}"))?,
    }
    let Some(n) = &recording.negotiated else {
        return Ok(());
    };
    eprintln!(
        "recorded a TLS 1.3 handshake with {}: {}, {}, {}, {} certificate(s){}",
        n.server_name,
        n.cipher_suite,
        n.group,
        n.signature_scheme,
        n.certificates,
        if n.hello_retry {
            ", after a HelloRetryRequest"
        } else {
            ""
        }
    );
    Ok(())
}

fn write_atomically(out: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write beside {}: {e}", out.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.flush())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    tmp.persist(out)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_is_not_listening_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("proof.json");
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let args = RecordArgs {
            url: format!("https://localhost:{port}/"),
            performer: Address::ZERO,
            task_def: 61,
            data: String::new(),
            ca: None,
            out: Some(out.clone()),
            timeout_ms: 2_000,
        };
        let err = record_to(&args).unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
        assert!(!out.exists());
    }
}
