//! `taskproof cid FILE [--profile NAME]`: prints the file's CID as
//! `ipfs add --only-hash -Q` does (default profile `unixfs-v0-2015`, kubo's).
//!
//! Streams the file in constant memory, hashing leaves on every core (a
//! regular file is read at chunk offsets by the hashing threads); shows a
//! progress bar on a terminal for large files. Exit 0, or 3 when the file
//! cannot be read or the profile is unknown.

use std::{fs::File, path::PathBuf, process::ExitCode};

use taskproof_verifiers::ipfs::{ImportProfile, cid_of_file, cid_of_reader};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The file, or `-` for standard input.
    file: PathBuf,
    /// The import profile: unixfs-v0-2015 (alias kubo-legacy), unixfs-v1-2025
    /// or helia-default.
    #[arg(long, default_value = "unixfs-v0-2015", value_parser = parse_profile)]
    profile: ImportProfile,
}

fn parse_profile(s: &str) -> Result<ImportProfile, String> {
    s.parse()
        .map_err(|e: taskproof_verifiers::ipfs::UnknownProfile| e.to_string())
}

pub(super) fn run(args: Args) -> ExitCode {
    let threads = taskproof_core::cpu::parallelism();
    let result = if args.file.as_os_str() == "-" {
        cid_of_reader(&mut std::io::stdin().lock(), args.profile, threads, |_| {})
    } else {
        match File::open(&args.file) {
            Ok(file) => {
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                let bar = super::progress_bar(len);
                let result = cid_of_file(&file, args.profile, threads, |n| {
                    if let Some(bar) = &bar {
                        bar.set_position(n);
                    }
                });
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                result
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok((cid, _)) => {
            println!("{cid}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}
