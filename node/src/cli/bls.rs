//! `taskproof bls public-key | sign | hash-to-point | verify`: Othentic's BLS
//! on BN254 from the command line, for operators' scripts.
//!
//! The work is `taskproof_consensus::bls`; this file reads flags and prints.
//! Outputs are Othentic's formats: a public key as a JSON array of four
//! 32-byte `0x`-hex words `[x.c0, x.c1, y.c0, y.c1]`, a point or signature as
//! `{"x":"0x…","y":"0x…"}`. `verify` exits 0 when the signature holds, 1 when
//! it does not (a refused point included, each with its own reason, before
//! any pairing), 3 when an argument cannot be parsed. Trusts the key file it
//! is pointed at only to hold a key: it is read with a cap, and the key is
//! never printed, not even in an error.

use std::process::ExitCode;

use alloy_primitives::B256;
use taskproof_consensus::bls::{self, DecodeError, PublicKey, SecretKey, Signature};
use taskproof_core::quote;

use super::EXIT_USAGE;

/// An ECDSA private key is 66 characters; a key file of more than this is
/// not one, and is not read to the end.
const MAX_KEY_FILE_BYTES: u64 = 4096;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the BLS public key Othentic derives from an operator's ECDSA
    /// private key, as `uint256[4]` `[x.c0, x.c1, y.c0, y.c1]`.
    PublicKey {
        #[command(flatten)]
        key: KeyFile,
    },
    /// Sign a 32-byte message: prints `{"x":"0x…","y":"0x…"}`.
    Sign {
        #[command(flatten)]
        key: KeyFile,
        #[command(flatten)]
        message: MessageArgs,
    },
    /// Hash a 32-byte message to a point of G1: prints `{"x":"0x…","y":"0x…"}`.
    HashToPoint {
        #[command(flatten)]
        message: MessageArgs,
    },
    /// Verify a signature (exit 0 holds, 1 does not or a point is refused,
    /// 3 an argument cannot be parsed).
    Verify {
        /// The public key: a JSON array of four 0x-hex words
        /// `[x.c0, x.c1, y.c0, y.c1]`.
        #[arg(long = "public-key", value_name = "JSON")]
        public_key: String,
        #[command(flatten)]
        message: MessageArgs,
        /// The signature: `{"x":"0x…","y":"0x…"}`.
        #[arg(long, value_name = "JSON")]
        signature: String,
    },
}

#[derive(Debug, clap::Args)]
struct KeyFile {
    /// A file holding the operator's ECDSA private key as Othentic operators
    /// keep it (`0x` and 64 hex digits); surrounding whitespace is ignored.
    #[arg(long = "key-file", value_name = "FILE")]
    path: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
struct MessageArgs {
    /// The message: 32 bytes, `0x` and 64 hex digits.
    #[arg(long, value_name = "0xHEX32")]
    message: String,
    /// The domain: 32 bytes, `0x` and 64 hex digits (default
    /// keccak256("TasksManager")).
    #[arg(long, value_name = "0xHEX32")]
    domain: Option<String>,
}

impl MessageArgs {
    fn parse(&self) -> Result<(B256, B256), String> {
        let message = hex32(&self.message, "--message")?;
        let domain = match &self.domain {
            Some(domain) => hex32(domain, "--domain")?,
            None => bls::TASKS_MANAGER_DOMAIN,
        };
        Ok((message, domain))
    }
}

fn hex32(text: &str, flag: &str) -> Result<B256, String> {
    let parsed = text
        .strip_prefix("0x")
        .filter(|digits| digits.len() == 64)
        .and_then(|digits| digits.parse::<B256>().ok());
    parsed.ok_or_else(|| format!("{flag}: expected 0x and 64 hex digits, got {}", quote(text)))
}

pub(super) fn run(args: Args) -> ExitCode {
    match args.command {
        Command::PublicKey { key } => {
            print_or_usage(read_key(&key).map(|sk| sk.public_key().to_json()))
        }
        Command::Sign { key, message } => print_or_usage(read_key(&key).and_then(|sk| {
            let (message, domain) = message.parse()?;
            Ok(sk.sign(message.as_slice(), &domain).to_json())
        })),
        Command::HashToPoint { message } => print_or_usage(
            message
                .parse()
                .map(|(m, d)| bls::point_to_json(&bls::hash_to_point(m.as_slice(), &d))),
        ),
        Command::Verify {
            public_key,
            message,
            signature,
        } => verify(&public_key, &message, &signature),
    }
}

fn print_or_usage(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The key file's text, surrounding whitespace trimmed and nothing else
/// changed. No error quotes the file's content.
fn read_key(key: &KeyFile) -> Result<SecretKey, String> {
    let shown = key.path.display();
    let bytes = taskproof_core::read_capped(&key.path, MAX_KEY_FILE_BYTES)
        .map_err(|e| format!("cannot read the key file {shown}: {e}"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("the key file {shown} is not text"))?
        .trim_ascii();
    if text.is_empty() {
        return Err(format!("the key file {shown} is empty"));
    }
    SecretKey::from_operator_key(text).map_err(|e| format!("the key file {shown}: {e}"))
}

fn verify(public_key: &str, message: &MessageArgs, signature: &str) -> ExitCode {
    let usage = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_USAGE)
    };
    let (message, domain) = match message.parse() {
        Ok(parsed) => parsed,
        Err(e) => return usage(e),
    };
    let public_key = PublicKey::from_json(public_key);
    let signature = Signature::from_json(signature);
    // Every argument must parse before any is judged: exit 3 says "fix your
    // command", whatever else is wrong.
    for (flag, error) in [
        ("--public-key", public_key.as_ref().err()),
        ("--signature", signature.as_ref().err()),
    ] {
        if let Some(e) = error.filter(|e| e.is_unparseable()) {
            return usage(format!("{flag}: {e}"));
        }
    }
    let refused = |what: &str, e: &DecodeError| {
        println!("invalid: {what}: {e}");
        ExitCode::from(1)
    };
    let public_key = match public_key {
        Ok(pk) => pk,
        Err(e) => return refused("public key", &e),
    };
    let signature = match signature {
        Ok(sig) => sig,
        Err(e) => return refused("signature", &e),
    };
    if public_key.verify(message.as_slice(), &signature, &domain) {
        println!("valid");
        ExitCode::SUCCESS
    } else {
        println!("invalid: the signature does not match the public key, message and domain");
        ExitCode::from(1)
    }
}
