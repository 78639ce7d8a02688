//! `taskproof car verify FILE.car [--root CID] [--extract OUT]`: checks a CAR
//! block by block (every hash, the DAG complete from the root in depth-first
//! order, no extra block) and optionally writes the reassembled file.
//!
//! Exit 0 when the CAR holds the file its root names, 1 when it does not, 3
//! when the CAR or the output cannot be read or written.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::PathBuf,
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
    /// Write the reassembled file here.
    #[arg(long)]
    extract: Option<PathBuf>,
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
    let mut out = match &args.extract {
        Some(path) => match File::create(path) {
            Ok(f) => Some(BufWriter::with_capacity(1 << 20, f)),
            Err(e) => return usage(format!("cannot create {}: {e}", path.display())),
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
    let flushed = out.as_mut().map_or(Ok(()), |w| w.flush());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match (result, flushed) {
        (Ok(car), Ok(())) => {
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
        (Err(e), _) if e.is_io() => {
            remove_partial(&args.extract);
            usage(e.to_string())
        }
        (Err(e), _) => {
            remove_partial(&args.extract);
            println!("invalid: {e}");
            ExitCode::from(1)
        }
        (Ok(_), Err(e)) => {
            remove_partial(&args.extract);
            usage(format!("cannot write the extracted file: {e}"))
        }
    }
}

/// A file cut short by a failed verification is not left behind.
fn remove_partial(extract: &Option<PathBuf>) {
    if let Some(path) = extract {
        let _ = std::fs::remove_file(path);
    }
}
