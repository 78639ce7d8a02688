//! The `taskproof` binary; see `taskproof --help` and the README.

fn main() -> std::process::ExitCode {
    taskproof_node::cli::main()
}
