//! `taskproof car verify FILE.car [--root CID] [--extract OUT]`: checks a CAR
//! block by block (every hash, the DAG complete from the root in depth-first
//! order, no extra block) and optionally writes the reassembled file.
//!
//! Exit 0 when the CAR holds the file its root names, 1 when it does not, 3
//! when the CAR or the output cannot be read or written.
//!
//! The output is written to a temporary file beside it and renamed into
//! place only when the CAR verified, so a failed or interrupted run never
//! leaves a partial file and never touches an existing one. An existing
//! output is replaced only with `--force`, and only if it is a regular file:
//! a device, a directory, a FIFO or a symbolic link is refused.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use taskproof_verifiers::ipfs::{CarLimits, IpfsCid, verify_car};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Verify a CAR file holding one UnixFS file or raw block.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The CAR file (v1, or v2 wrapping a v1).
    file: PathBuf,
    /// The root the CAR must hold; by default the header's first root.
    #[arg(long)]
    root: Option<String>,
    /// Write the reassembled file here (only once the whole CAR verified).
    #[arg(long)]
    extract: Option<PathBuf>,
    /// Replace the `--extract` file if it exists (a regular file only).
    #[arg(long, requires = "extract")]
    force: bool,
}

/// Where the extracted file goes: a temporary file beside the target,
/// renamed over it on success, deleted otherwise.
struct Output {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
    force: bool,
}

impl Output {
    fn prepare(target: &Path, force: bool) -> Result<Self, String> {
        match std::fs::symlink_metadata(target) {
            Ok(meta) if !meta.file_type().is_file() => {
                return Err(format!(
                    "{} exists and is not a regular file; refusing to replace it",
                    target.display()
                ));
            }
            Ok(_) if !force => {
                return Err(format!(
                    "{} exists; pass --force to replace it",
                    target.display()
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot inspect {}: {e}", target.display())),
        }
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".taskproof-extract-")
            .tempfile_in(dir)
            .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
        Ok(Self {
            target: target.to_owned(),
            temp,
            force,
        })
    }

    /// Moves the finished file into place.
    fn commit(self) -> Result<(), String> {
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| format!("cannot write {}: {e}", self.target.display()))?;
        let persisted = if self.force {
            self.temp.persist(&self.target).map(drop)
        } else {
            // Someone may have created the target meanwhile: never clobber.
            self.temp.persist_noclobber(&self.target).map(drop)
        };
        persisted.map_err(|e| format!("cannot write {}: {}", self.target.display(), e.error))
    }
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: u64,
    report: Box<dyn FnMut(u64)>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.report)(self.read);
        Ok(n)
    }
}

pub(super) fn run(args: Args) -> ExitCode {
    let Command::Verify(args) = args.command;
    let usage = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(super::EXIT_USAGE)
    };
    let root = match args.root.as_deref().map(IpfsCid::try_from).transpose() {
        Ok(root) => root,
        Err(e) => return usage(format!("--root is not a CID: {e}")),
    };
    let file = match File::open(&args.file) {
        Ok(f) => f,
        Err(e) => return usage(format!("cannot read {}: {e}", args.file.display())),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = super::progress_bar(len);
    let report_bar = bar.clone();
    let reader = Counting {
        inner: BufReader::with_capacity(64 * 1024, file),
        read: 0,
        report: Box::new(move |n| {
            if let Some(bar) = &report_bar {
                bar.set_position(n);
            }
        }),
    };
    let output = match args
        .extract
        .as_deref()
        .map(|p| Output::prepare(p, args.force))
    {
        None => None,
        Some(Ok(output)) => Some(output),
        Some(Err(e)) => return usage(e),
    };
    let mut out = match &output {
        Some(o) => match o.temp.reopen() {
            Ok(f) => Some(BufWriter::with_capacity(1 << 20, f)),
            Err(e) => return usage(format!("cannot write {}: {e}", o.target.display())),
        },
        None => None,
    };
    let mut sink = |data: &[u8]| match &mut out {
        Some(w) => w.write_all(data),
        None => Ok(()),
    };
    let limits = CarLimits {
        threads: taskproof_core::cpu::parallelism(),
        ..CarLimits::default()
    };
    let result = verify_car(reader, root.as_ref(), &limits, &mut sink);
    let flushed = out.take().map_or(Ok(()), |mut w| w.flush());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // On every failure `output` is dropped, which deletes the temporary file.
    match (result, flushed) {
        (Ok(car), Ok(())) => {
            if let Some(output) = output
                && let Err(e) = output.commit()
            {
                return usage(e);
            }
            println!(
                "ok: {} holds {} ({} bytes, {} blocks, CARv{})",
                args.file.display(),
                car.root,
                car.file_size,
                car.blocks,
                car.version
            );
            ExitCode::SUCCESS
        }
        (Err(e), _) if e.is_io() => usage(e.to_string()),
        (Err(e), _) => {
            println!("invalid: {e}");
            ExitCode::from(1)
        }
        (Ok(_), Err(e)) => usage(format!("cannot write the extracted file: {e}")),
    }
}
