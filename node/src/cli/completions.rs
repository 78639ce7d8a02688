//! `taskproof completions <SHELL>`: a completion script for bash, zsh, fish,
//! elvish or PowerShell on standard output, generated from the command
//! line's own definition (so it lists exactly the subcommands and flags of
//! this build).

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The shell to complete for.
    shell: Shell,
}

pub(super) fn run(args: Args) -> ExitCode {
    let mut command = super::Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "taskproof",
        &mut std::io::stdout(),
    );
    ExitCode::SUCCESS
}
