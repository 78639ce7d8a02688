//! `taskproof man [--out DIR]`: the manual page, in roff, generated from the
//! command line's own definition: `taskproof.1` on standard output, or one
//! page per subcommand (`taskproof-serve.1`, ...) written into a directory.

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Write `taskproof.1` and a page per subcommand into this directory
    /// (made if missing) instead of printing `taskproof.1`.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(super) fn run(args: Args) -> ExitCode {
    let command = super::Cli::command();
    let written = match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .and_then(|()| std::io::stdout().lock().write_all(&page))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(command, dir))
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let place = args
                .out
                .map_or("standard output".to_owned(), |d| d.display().to_string());
            eprintln!("error: cannot write the manual page to {place}: {e}");
            ExitCode::FAILURE
        }
    }
}
