//! `taskproof serve [-c FILE] [--listen ADDR] [--admin-listen ADDR]`; every
//! flag also reads an environment variable (`TASKPROOF_CONFIG`,
//! `TASKPROOF_LISTEN`, `TASKPROOF_ADMIN_LISTEN`, `TASKPROOF_LOG_FORMAT`).

use std::{process::ExitCode, sync::Arc, time::Duration};

use taskproof_core::Registry;

use crate::{http, logging::LogFormat};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    #[command(flatten)]
    listen: super::ListenArgs,
}

pub(super) fn run(args: Args, registry: &Registry, format: LogFormat) -> ExitCode {
    super::init_logging("info", format);
    let config = match super::load_config(&args.config.path, &args.listen, registry) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown_timeout = Duration::from_millis(config.node.shutdown_timeout_ms);
    let code = runtime.block_on(async move {
        let state = match http::AppState::from_config(&config).await {
            Ok(state) => Arc::new(state),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let listener = match tokio::net::TcpListener::bind(config.node.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", config.node.listen);
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let admin = match config.node.admin_listen {
            None => None,
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("error: cannot listen on {addr} (node.admin_listen): {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
            },
        };
        match &state.attester_key {
            Some(key) => tracing::info!(
                attester = %key.address(),
                operator_index = ?state.operator_index,
                "attester key loaded"
            ),
            None => tracing::info!(
                "no attester key: sendTask answers with an error, /task/validate works"
            ),
        }
        if state.attester_key.is_some() && !state.has_journal() {
            tracing::warn!(
                "no durable vote journal ([consensus] journal): sendTask signs no votes"
            );
        }
        for def in config.task_definitions.iter() {
            tracing::info!(id = def.id, name = %def.name, kind = %def.kind, "task definition");
        }
        let shutdown = http::shutdown_signal();
        match http::serve(listener, admin, state, shutdown).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    });
    // Verifications still running stop at their next deadline check; wait
    // for them no longer than the shutdown timeout.
    runtime.shutdown_timeout(shutdown_timeout);
    code
}
