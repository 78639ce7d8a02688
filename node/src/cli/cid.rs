//! `taskproof cid FILE [--profile NAME]`: prints the file's CID as
//! `ipfs add --only-hash -Q` does (default profile `unixfs-v0-2015`, kubo's).
//!
//! Streams the file in constant memory, hashing leaves on every core (a
//! regular file is read at chunk offsets by the hashing threads); shows a
//! progress bar on a terminal for large files, and a byte counter for
//! standard input and pipes. Devices and directories are refused: a CID is
//! the hash of a file, and `/dev/zero` has no end. Exit 0, or 3 when the file
//! cannot be read or the profile is unknown.

use std::{fs::File, path::PathBuf, process::ExitCode};

use taskproof_verifiers::ipfs::{ImportProfile, IpfsCid, cid_of_file, cid_of_reader};

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

/// A byte counter on standard error for inputs of unknown length, when it is a
/// terminal.
fn stream_counter() -> Option<indicatif::ProgressBar> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn hash_stream(
    reader: &mut impl std::io::Read,
    profile: ImportProfile,
    threads: usize,
) -> std::io::Result<(IpfsCid, u64)> {
    let bar = stream_counter();
    let result = cid_of_reader(reader, profile, threads, |n| {
        if let Some(bar) = &bar {
            bar.set_position(n);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// Refuses what is not a file or a stream with an end in sight.
fn refuse_non_files(file: &File, path: &std::path::Path) -> Result<(), String> {
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(format!(
            "{} is a directory; directories are not supported",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() || kind.is_socket() {
            return Err(format!(
                "{} is a device, not a file; to hash what it produces, pipe a bounded part of it to `taskproof cid -`",
                path.display()
            ));
        }
    }
    Ok(())
}

pub(super) fn run(args: Args) -> ExitCode {
    let threads = taskproof_core::cpu::parallelism();
    let result = if args.file.as_os_str() == "-" {
        hash_stream(&mut std::io::stdin().lock(), args.profile, threads)
    } else {
        match File::open(&args.file) {
            Ok(file) if !file.metadata().is_ok_and(|m| m.is_file()) => {
                if let Err(e) = refuse_non_files(&file, &args.file) {
                    eprintln!("error: {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
                hash_stream(&mut &file, args.profile, threads)
            }
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
