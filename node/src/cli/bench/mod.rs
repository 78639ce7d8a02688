//! `taskproof bench`: drives a task definition's verifier in-process through
//! the node's own [`Engine`] (`--config F --task-def N`), or any validation
//! service over HTTP in Othentic's wire format (`--url`, and `--compare URL`
//! for a second one on the same corpus), with a corpus of proofs, and
//! reports throughput, latency percentiles, verdict counts and CPU time.
//!
//! In-process runs go through [`Engine::judge`], the path every HTTP request
//! takes after its body is parsed: admission, deadline, per-definition
//! concurrency, batching and metrics all count, so the figure is what the
//! node can do without HTTP. It trusts its corpus no more than a config:
//! files are read with caps.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use alloy_primitives::Address;
use taskproof_core::{Registry, Task};

use crate::{Config, Engine, EngineOptions, Metrics, logging::LogFormat};

mod corpus;
mod drive;
mod report;

use report::Report;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// The taskDefinitionId of the proofs that do not name one.
    #[arg(long = "task-def")]
    task_def: Option<u16>,
    /// The corpus: a directory (one proofOfTask per file, `*.jsonl` files,
    /// an optional `task.json` sidecar) or a JSONL file of
    /// `{"proofOfTask", "data"?, "performer"?, "taskDefinitionId"?}` lines.
    /// Repeatable.
    #[arg(long, required = true)]
    proofs: Vec<PathBuf>,
    /// The data of the proofs that do not give theirs: 0x-hex bytes, or text.
    #[arg(long)]
    data: Option<String>,
    /// The performer of the proofs that do not give theirs.
    #[arg(long)]
    performer: Option<Address>,
    /// How long to send tasks (`10s`, `500ms`, `1m`), per service.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Tasks in flight at once (HTTP: connections).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65536))]
    concurrency: u32,
    /// Drive a validation service over HTTP instead of the config's
    /// verifier: `http://host:port/task/validate`.
    #[arg(long)]
    url: Option<String>,
    /// A second service to run after the first, with the same corpus,
    /// duration and concurrency; prints the ratio.
    #[arg(long, requires = "url")]
    compare: Option<String>,
    /// HTTP: the process id of the service (then of the compared one), whose
    /// CPU time is reported beside the harness's own.
    #[arg(long = "server-pid", requires = "url")]
    server_pid: Vec<u32>,
    /// HTTP: how long to wait for one answer before counting an error.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Print one JSON object instead of the report for people.
    #[arg(long)]
    json: bool,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(super::EXIT_USAGE)
}

pub(super) fn run(args: Args, registry: &Registry, format: LogFormat) -> ExitCode {
    super::init_logging("warn", format);
    let flags = corpus::Fields {
        data: args.data.clone(),
        performer: args.performer,
        task_definition_id: args.task_def,
    };
    let entries = match corpus::load(&args.proofs, &flags) {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage(format!("cannot start the runtime: {e}")),
    };
    let reports = match &args.url {
        None => match in_process(&args, registry, &entries, &runtime) {
            Ok(report) => vec![report],
            Err(code) => return code,
        },
        Some(url) => {
            let mut reports = Vec::new();
            for (i, url) in std::iter::once(url).chain(&args.compare).enumerate() {
                match over_http(
                    &args,
                    url,
                    args.server_pid.get(i).copied(),
                    &entries,
                    &runtime,
                ) {
                    Ok(report) => reports.push(report),
                    Err(code) => return code,
                }
            }
            reports
        }
    };
    if args.json {
        println!("{}", report::json(&reports));
    } else {
        print!("{}", report::text(&reports));
    }
    if reports.iter().any(|r| r.verdicts() == 0) {
        // Nothing answered with a verdict: the figures mean nothing.
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn in_process(
    args: &Args,
    registry: &Registry,
    entries: &[corpus::Entry],
    runtime: &tokio::runtime::Runtime,
) -> Result<Report, ExitCode> {
    let config = Config::load(&args.config.path, registry).map_err(usage)?;
    let defined: Vec<u16> = config.task_definitions.iter().map(|d| d.id).collect();
    if let Some(missing) = entries
        .iter()
        .map(|e| e.task_definition_id)
        .find(|id| config.task_definitions.get(*id).is_none())
    {
        return Err(usage(format!(
            "{}: TaskDefinitionNotFound({missing}); the file defines {defined:?}",
            args.config.path.display()
        )));
    }
    let tasks: Arc<[Task]> = entries
        .iter()
        .map(|e| {
            Task::new(
                e.proof_of_task.clone(),
                crate::wire::data_hex_or_text(&e.data),
                e.performer,
                e.task_definition_id,
            )
        })
        .collect();
    let mut ids: Vec<u16> = entries.iter().map(|e| e.task_definition_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let target = format!(
        "{} task definition {} (in-process)",
        args.config.path.display(),
        ids.iter()
            .map(|id| match config.task_definitions.get(*id) {
                Some(d) => format!("{id} {} ({})", d.name, d.kind),
                None => id.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cpu_before = report::cpu_seconds(None);
    let tally = runtime.block_on(async {
        // The node's engine, configured as `serve` configures it.
        let options = EngineOptions {
            timeout: config.node.timeout(),
            max_pending: config.node.max_pending,
            batching: config.node.batching,
            admission_wait: Duration::from_millis(config.node.admission_wait_ms),
        };
        let metrics = Arc::new(Metrics::new(&config.task_definitions));
        let engine = Arc::new(Engine::new(
            config.task_definitions.clone(),
            options,
            metrics,
        ));
        drive::run(
            args.concurrency as usize,
            args.duration,
            tasks.len(),
            || drive::InProcess {
                engine: engine.clone(),
                tasks: tasks.clone(),
            },
            progress_line(args.duration),
        )
        .await
    });
    finish_progress();
    Ok(Report::new(
        target,
        args,
        entries.len(),
        tally,
        report::cpu_delta(cpu_before, report::cpu_seconds(None)),
        None,
    ))
}

fn over_http(
    args: &Args,
    url: &str,
    server_pid: Option<u32>,
    entries: &[corpus::Entry],
    runtime: &tokio::runtime::Runtime,
) -> Result<Report, ExitCode> {
    let endpoint = Arc::new(drive::Endpoint::parse(url).map_err(usage)?);
    let bodies: Arc<[_]> = entries.iter().map(drive::wire_body).collect();
    let server_before = server_pid.map(|pid| report::cpu_seconds(Some(pid)));
    let cpu_before = report::cpu_seconds(None);
    let tally = runtime.block_on(drive::run(
        args.concurrency as usize,
        args.duration,
        bodies.len(),
        || drive::Http {
            endpoint: endpoint.clone(),
            bodies: bodies.clone(),
            timeout: args.request_timeout,
            connection: None,
        },
        progress_line(args.duration),
    ));
    finish_progress();
    let harness = report::cpu_delta(cpu_before, report::cpu_seconds(None));
    let server = server_pid.zip(server_before).map(|(pid, before)| {
        (
            pid,
            report::cpu_delta(before, report::cpu_seconds(Some(pid))),
        )
    });
    Ok(Report::new(
        url.to_string(),
        args,
        entries.len(),
        tally,
        harness,
        server,
    ))
}

/// A live progress line on standard error: redrawn in place on a terminal,
/// a plain line a second otherwise (logs and CI keep a record).
fn progress_line(duration: Duration) -> impl FnMut(Duration, drive::Counts) + Send + 'static {
    let terminal = std::io::stderr().is_terminal();
    let mut last = Duration::ZERO;
    let mut last_total = 0u64;
    let mut next_line = Duration::from_secs(1);
    move |elapsed, counts| {
        let total: u64 = counts.iter().sum();
        let rate = (total - last_total) as f64 / (elapsed - last).as_secs_f64().max(1e-9);
        let text = format!(
            "{:5.1}/{:.0} s  {} answers  {}/s  valid {}  invalid {}  undecided {}  errors {}",
            elapsed.as_secs_f64(),
            duration.as_secs_f64(),
            report::grouped(total),
            report::grouped(rate as u64),
            report::grouped(counts[0]),
            report::grouped(counts[1]),
            report::grouped(counts[2]),
            report::grouped(counts[3]),
        );
        if terminal {
            eprint!("\r\x1b[2K{text}");
            let _ = std::io::stderr().flush();
        } else if elapsed >= next_line {
            eprintln!("{text}");
            next_line += Duration::from_secs(1);
        } else {
            return;
        }
        last = elapsed;
        last_total = total;
    }
}

fn finish_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}
