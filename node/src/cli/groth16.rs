//! `taskproof groth16 verify VK.json PUBLIC.json PROOF.json`
//!
//! A drop-in for `snarkjs groth16 verify`: the same three files in the same
//! order. Prints `OK!` and exits 0 when the proof holds; prints the reason and
//! exits 1 when it does not (including every strictness rule snarkjs skips);
//! exits 3 when a file cannot be read or is not what it should be.

use std::{path::PathBuf, process::ExitCode};

use taskproof_verifiers::groth16::{FilesVerdict, verify_snarkjs_files};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Verify a snarkjs proof like `snarkjs groth16 verify` (exit 0 valid,
    /// 1 invalid, 3 unreadable input).
    Verify {
        /// verification_key.json (`snarkjs zkey export verificationkey`).
        verification_key: PathBuf,
        /// public.json: the public signals.
        public: PathBuf,
        /// proof.json.
        proof: PathBuf,
    },
}

pub(super) fn run(args: Args) -> ExitCode {
    let Command::Verify {
        verification_key,
        public,
        proof,
    } = args.command;
    let mut contents = Vec::with_capacity(3);
    for path in [&verification_key, &public, &proof] {
        match super::read_input(&path.to_string_lossy()) {
            Ok(text) => contents.push(text),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    let [vk, public, proof] = contents.as_slice() else {
        return ExitCode::from(super::EXIT_USAGE);
    };
    match verify_snarkjs_files(vk, public, proof) {
        FilesVerdict::Valid => {
            println!("OK!");
            ExitCode::SUCCESS
        }
        FilesVerdict::Invalid(e) => {
            println!("Invalid proof: {e}");
            ExitCode::from(1)
        }
        FilesVerdict::Unreadable(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}
