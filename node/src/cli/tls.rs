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

    /// make-ca.sh's test PKI (2 days of validity) in a temporary folder.
    fn test_pki() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/tls/handshake/make-ca.sh"
        );
        let made = std::process::Command::new("bash")
            .arg(script)
            .arg(dir.path())
            .status()
            .expect("bash runs make-ca.sh (it needs the openssl command)");
        assert!(made.success(), "make-ca.sh failed: is openssl installed?");
        dir
    }

    /// `openssl s_server` on a free port of 127.0.0.1 serving make-ca.sh's
    /// P-256 leaf and its intermediate, killed on drop. Needs `openssl`
    /// (Debian package `openssl`): fails, never skips, without it.
    struct SServer {
        child: std::process::Child,
        port: u16,
    }

    impl SServer {
        fn start(pki: &Path, flags: &[&str]) -> Self {
            use std::{
                io::{BufRead, BufReader},
                process::{Command, Stdio},
            };
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("openssl")
                .arg("s_server")
                .args(flags)
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(pki.join("leaf-p256.pem"))
                .arg("-key")
                .arg(pki.join("leaf-p256.key"))
                .arg("-cert_chain")
                .arg(pki.join("intermediate.pem"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl s_server starts (Debian package openssl)");
            let stdout = child.stdout.take().unwrap();
            let (ready, is_ready) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.starts_with("ACCEPT") {
                        let _ = ready.send(());
                    }
                }
            });
            let server = Self { child, port };
            is_ready
                .recv_timeout(Duration::from_secs(10))
                .expect("openssl s_server listens within 10 s");
            server
        }
    }

    impl Drop for SServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The subcommand as a user types it, parsed by the real CLI, against
    /// `openssl s_server`: exit 0, and the file it writes is a proof the
    /// verifier accepts for that task and refuses for another.
    #[test]
    fn tls_record_writes_a_proof_that_verifies() {
        use clap::Parser;
        use taskproof_core::{BuildContext, Task};
        use taskproof_verifiers::tls::handshake::{HandshakeProof, HandshakeVerifier};

        let pki = test_pki();
        let server = SServer::start(pki.path(), &[]);
        let out = pki.path().join("proof.json");
        let performer = "0x1B146BAE123E9eEd209be03FA0B549EAd00627E3";
        let cli = crate::cli::Cli::try_parse_from([
            "taskproof".to_owned(),
            "tls".to_owned(),
            "record".to_owned(),
            format!("https://localhost:{}/", server.port),
            "--performer".to_owned(),
            performer.to_owned(),
            "--task-def".to_owned(),
            "61".to_owned(),
            "--data".to_owned(),
            "0x7461736b70726f6f66".to_owned(),
            "--ca".to_owned(),
            pki.path().join("root.pem").display().to_string(),
            "--out".to_owned(),
            out.display().to_string(),
        ])
        .unwrap();
        let crate::cli::Command::Tls(args) = cli.command else {
            panic!("tls record parses as the tls subcommand");
        };
        assert_eq!(run(args), ExitCode::SUCCESS);
        drop(server);

        let text = std::fs::read_to_string(&out).unwrap();
        let proof = HandshakeProof::from_json(&text).unwrap();
        assert_eq!(proof.server_name, "localhost");
        assert_eq!(proof.messages.len(), 5);
        let params: toml::Table = format!(
            "format = \"tls13-handshake\"\nserver_name = \"localhost\"\nroots = {:?}",
            pki.path().join("root.pem").display().to_string()
        )
        .parse()
        .unwrap();
        let registry = taskproof_verifiers::builtin_registry();
        let ctx = BuildContext::standalone(&params, Path::new("."), &registry);
        let verifier = HandshakeVerifier::from_context(&ctx).unwrap();
        let performer: Address = performer.parse().unwrap();
        let task = Task::new(text.trim(), b"taskproof".to_vec(), performer, 61);
        assert!(verifier.check_at(&task, proof.time).is_valid());
        let other = Task::new(text.trim(), b"other".to_vec(), performer, 61);
        assert!(!verifier.check_at(&other, proof.time).is_valid());
    }

    /// `openssl s_server -tls1_2`: the recorder says the server does not
    /// speak TLS 1.3 and writes nothing.
    #[test]
    fn a_tls12_server_is_an_error_and_writes_nothing() {
        let pki = test_pki();
        let server = SServer::start(pki.path(), &["-tls1_2"]);
        let out = pki.path().join("proof.json");
        let args = RecordArgs {
            url: format!("https://localhost:{}/", server.port),
            performer: Address::ZERO,
            task_def: 61,
            data: "0x01".into(),
            ca: Some(pki.path().join("root.pem")),
            out: Some(out.clone()),
            timeout_ms: 5_000,
        };
        let err = record_to(&args).unwrap_err();
        drop(server);
        assert!(err.contains("does not speak TLS 1.3"), "{err}");
        assert!(!out.exists());
    }
}
