//! Prometheus metrics: requests, verdicts by task definition and outcome,
//! verification latency, pending verifications, batch sizes, failed fetches
//! by endpoint and cause, the build and the process.
//!
//! Label handles for each task definition are made once, at start-up, so the
//! hot path only bumps atomics. Every label value comes from the config or
//! from a fixed set, never from a request: the number of series is bounded
//! by the config (failed fetches are capped besides, see
//! [`MAX_ENDPOINT_SERIES`]).
//!
//! Two exposition formats, chosen by the scraper's `Accept` header as
//! Prometheus negotiates them ([`MetricsFormat::negotiate`]): OpenMetrics 1.0 (the
//! default) and the Prometheus text format 0.0.4.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, text::encode},
    metrics::{
        MetricType, counter::ConstCounter, counter::Counter, family::Family, gauge::ConstGauge,
        gauge::Gauge, histogram::Histogram, info::Info,
    },
    registry::{Registry, Unit},
};
use taskproof_core::{
    Outcome, TaskDefinitions,
    observe::{Observer, RetrievalFailure},
};

/// The node's version and the git revision it was built from (`unknown`
/// when built outside a git checkout), as `--version` and
/// `taskproof_build_info` show them.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
/// See [`VERSION`].
pub(crate) const REVISION: &str = env!("TASKPROOF_GIT_REVISION");
/// `--version`: `0.1.0 (rev 1a2b3c4d5e6f)`.
pub(crate) const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (rev ",
    env!("TASKPROOF_GIT_REVISION"),
    ")"
);

/// The most (task definition, endpoint, cause) series of failed fetches.
/// Endpoints come from the config, so this is only reached by a config with
/// hundreds of gateways; past it failures are counted under the endpoint
/// `other`.
pub(crate) const MAX_ENDPOINT_SERIES: usize = 1024;

/// The endpoint a request came in on.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum Endpoint {
    task_validate,
    validate_task,
    json_rpc,
}

/// Why a request or connection was refused before any verifier saw it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum Refusal {
    /// `max_pending` verifications were pending.
    overloaded,
    /// `max_connections` connections were open.
    connection_limit,
    /// `max_buffered_body_bytes` were already held.
    buffered_bytes,
    /// The body exceeded `max_body_bytes`.
    body_too_large,
    /// The body did not arrive in time.
    body_timeout,
    /// Not `application/json`.
    media_type,
    /// A connection closed for a header read or idle timeout.
    connection_timeout,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: Refusal,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: Endpoint,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    task_definition: u16,
    name: String,
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DefinitionLabels {
    task_definition: u16,
    name: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    task_definition: u16,
    name: String,
    endpoint: String,
    cause: &'static str,
}

/// Handles for one task definition.
#[derive(Clone)]
pub(crate) struct DefinitionMetrics {
    valid: Counter,
    invalid: Counter,
    undecided: Counter,
    latency: Histogram,
    /// Only for a verifier that batches: a histogram that stays empty would
    /// be a series for nothing.
    pub(crate) batch_size: Option<Histogram>,
}

impl DefinitionMetrics {
    pub(crate) fn record(&self, outcome: Outcome, seconds: f64) {
        match outcome {
            Outcome::Valid => self.valid.inc(),
            Outcome::Invalid => self.invalid.inc(),
            Outcome::Undecided => self.undecided.inc(),
        };
        self.latency.observe(seconds);
    }
}

/// Counts the failed fetches the verifiers report
/// ([`taskproof_core::observe`]).
#[derive(Debug)]
struct RetrievalFailures {
    family: Family<FailureLabels, Counter>,
    names: HashMap<u16, String>,
    series: AtomicUsize,
}

impl Observer for RetrievalFailures {
    fn retrieval_failed(&self, failure: &RetrievalFailure<'_>) {
        let name = self
            .names
            .get(&failure.task_definition)
            .cloned()
            .unwrap_or_default();
        let mut labels = FailureLabels {
            task_definition: failure.task_definition,
            name,
            endpoint: failure.endpoint.to_owned(),
            cause: failure.cause.as_str(),
        };
        if let Some(counter) = self.family.get(&labels) {
            counter.inc();
            return;
        }
        // A new series: count it, or fold it into `other` past the cap.
        if self.series.fetch_add(1, Ordering::Relaxed) >= MAX_ENDPOINT_SERIES {
            self.series.fetch_sub(1, Ordering::Relaxed);
            labels.endpoint = "other".to_owned();
        }
        self.family.get_or_create(&labels).inc();
    }
}

/// The node's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    pub(crate) pending: Gauge,
    pub(crate) connections: Gauge,
    definitions: HashMap<u16, DefinitionMetrics>,
    failures: Arc<RetrievalFailures>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics for a set of task definitions.
    pub fn new(definitions: &TaskDefinitions) -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("taskproof");
        registry.register(
            "build",
            "The taskproof version and the git revision it was built from",
            Info::new(vec![("version", VERSION), ("revision", REVISION)]),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests by endpoint and status",
            requests.clone(),
        );
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Verdicts by task definition (id and name), verifier kind and outcome",
            verdicts.clone(),
        );
        let latency = Family::<DefinitionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_01, 2.0, 22,
            ))
        });
        registry.register_with_unit(
            "verification",
            "Verification latency by task definition and kind, queueing included",
            Unit::Seconds,
            latency.clone(),
        );
        let batch_size = Family::<DefinitionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                1.0, 2.0, 10,
            ))
        });
        registry.register(
            "batch_size",
            "Tasks per verified batch, for task definitions whose verifier batches",
            batch_size.clone(),
        );
        let pending = Gauge::default();
        registry.register(
            "pending_verifications",
            "Verifications admitted and not yet finished (queue depth)",
            pending.clone(),
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "refusals",
            "Requests and connections refused before verification, by reason",
            refusals.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "open_connections",
            "HTTP connections open on the validation listener",
            connections.clone(),
        );
        let failures = Arc::new(RetrievalFailures {
            family: Family::default(),
            names: definitions.iter().map(|d| (d.id, d.name.clone())).collect(),
            series: AtomicUsize::new(0),
        });
        registry.register(
            "retrieval_failures",
            "Failed attempts to fetch from a configured source, gateway or endpoint \
             (URL redacted), by task definition and cause",
            failures.family.clone(),
        );

        let definitions = definitions
            .iter()
            .map(|d| {
                let outcome = |o: Outcome| {
                    verdicts
                        .get_or_create(&VerdictLabels {
                            task_definition: d.id,
                            name: d.name.clone(),
                            kind: d.kind.clone(),
                            outcome: o.as_str().into(),
                        })
                        .clone()
                };
                let labels = DefinitionLabels {
                    task_definition: d.id,
                    name: d.name.clone(),
                    kind: d.kind.clone(),
                };
                let handles = DefinitionMetrics {
                    valid: outcome(Outcome::Valid),
                    invalid: outcome(Outcome::Invalid),
                    undecided: outcome(Outcome::Undecided),
                    latency: latency.get_or_create(&labels).clone(),
                    batch_size: d
                        .verifier
                        .batch_policy()
                        .map(|_| batch_size.get_or_create(&labels).clone()),
                };
                (d.id, handles)
            })
            .collect();
        Self {
            registry: root,
            requests,
            refusals,
            pending,
            connections,
            definitions,
            failures,
        }
    }

    /// Makes the failed fetches of every verifier in the process count here
    /// (a process serves one node; the last one installed wins).
    pub fn observe_retrievals(&self) {
        taskproof_core::observe::set_observer(self.failures.clone());
    }

    pub(crate) fn definition(&self, id: u16) -> Option<&DefinitionMetrics> {
        self.definitions.get(&id)
    }

    pub(crate) fn refused(&self) {
        self.refusal(Refusal::overloaded);
    }

    pub(crate) fn refusal(&self, reason: Refusal) {
        self.refusals.get_or_create(&RefusalLabels { reason }).inc();
    }

    pub(crate) fn request(&self, endpoint: Endpoint, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
    }

    /// The metrics in OpenMetrics text format.
    pub fn render(&self) -> String {
        self.render_as(MetricsFormat::OpenMetrics)
    }

    /// The metrics in `format`.
    pub fn render_as(&self, format: MetricsFormat) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        match format {
            MetricsFormat::OpenMetrics => out,
            MetricsFormat::Prometheus => to_prometheus_text(&out),
        }
    }
}

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsFormat {
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// The Prometheus text format 0.0.4.
    Prometheus,
}

impl MetricsFormat {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for, as Prometheus negotiates it:
    /// the acceptable media range with the highest `q` wins, OpenMetrics on
    /// a tie, without a header or when neither is acceptable.
    /// `application/openmetrics-text` (versions 1.0.0 and 0.0.1, or none) and
    /// `*/*` are OpenMetrics; `text/plain` is the Prometheus text format.
    ///
    /// Hand-written because no maintained crate parses `Accept` for axum 0.8
    /// without pulling a framework along; it reads at most the first 64
    /// media ranges of a header hyper already capped.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::OpenMetrics;
        };
        let mut best: Option<(f32, Self)> = None;
        for range in accept.split(',').take(64) {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse().unwrap_or(0.0),
                    "version" => version = Some(value.to_owned()),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0" | "0.0.1")) =>
                {
                    Self::OpenMetrics
                }
                "text/plain" => Self::Prometheus,
                // Anything: our default.
                "*/*" => Self::OpenMetrics,
                _ => continue,
            };
            if q.is_nan() || q <= 0.0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((bq, bf)) => {
                    q > bq || (q == bq && format == Self::OpenMetrics && bf != format)
                }
            };
            if better {
                best = Some((q, format));
            }
        }
        best.map_or(Self::OpenMetrics, |(_, f)| f)
    }
}

/// Rewrites prometheus-client's OpenMetrics output (the only text it
/// writes) as the Prometheus text format 0.0.4. The samples are the same;
/// the metadata differs: a counter's family is named with its `_total`
/// suffix, an info metric is a gauge named with `_info`, and there are no
/// `# UNIT` or `# EOF` lines. Hand-written because prometheus-client has no
/// 0.0.4 encoder and the `prometheus` crate would mean a second registry.
fn to_prometheus_text(openmetrics: &str) -> String {
    let mut renamed: HashMap<&str, (String, &str)> = HashMap::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, kind)) = rest.split_once(' ')
        {
            match kind {
                "counter" => {
                    renamed.insert(name, (format!("{name}_total"), "counter"));
                }
                "info" => {
                    renamed.insert(name, (format!("{name}_info"), "gauge"));
                }
                _ => {}
            }
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        if let Some((prefix, rest)) = meta
            && let Some((name, tail)) = rest.split_once(' ')
            && let Some((new_name, new_type)) = renamed.get(name)
        {
            let tail = if prefix == "# TYPE " { new_type } else { tail };
            out.push_str(prefix);
            out.push_str(new_name);
            out.push(' ');
            out.push_str(tail);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The standard `process_*` metrics of the Prometheus client libraries,
/// read from `/proc/self` at each scrape. Where `/proc` is missing (an
/// empty root) they are left out rather than reported as zero.
///
/// Hand-written glue: prometheus-client has no process collector, and the
/// crates that have one feed other metrics libraries; `procfs` (what the
/// `prometheus` crate's collector uses) does the reading.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(me) = procfs::process::Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second().max(1) as f64;
            let cpu = (stat.utime + stat.stime) as f64 / ticks;
            ConstCounter::new(cpu).encode(encoder.encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent in seconds",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?)?;
            let rss = stat.rss.saturating_mul(procfs::page_size());
            ConstGauge::new(rss as i64).encode(encoder.encode_descriptor(
                "process_resident_memory",
                "Resident memory size in bytes",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?)?;
            ConstGauge::new(stat.vsize as i64).encode(encoder.encode_descriptor(
                "process_virtual_memory",
                "Virtual memory size in bytes",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?)?;
            ConstGauge::new(stat.num_threads).encode(encoder.encode_descriptor(
                "process_threads",
                "Number of OS threads in the process",
                None,
                MetricType::Gauge,
            )?)?;
            if let Ok(boot) = procfs::boot_time_secs() {
                let start = boot as f64 + stat.starttime as f64 / ticks;
                ConstGauge::new(start).encode(encoder.encode_descriptor(
                    "process_start_time",
                    "Start time of the process since the Unix epoch in seconds",
                    Some(&Unit::Seconds),
                    MetricType::Gauge,
                )?)?;
            }
        }
        if let Ok(open) = me.fd_count() {
            ConstGauge::new(open as i64).encode(encoder.encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors",
                None,
                MetricType::Gauge,
            )?)?;
        }
        if let Ok(limits) = me.limits() {
            let max = match limits.max_open_files.soft_limit {
                procfs::process::LimitValue::Value(v) => v as f64,
                procfs::process::LimitValue::Unlimited => f64::INFINITY,
            };
            ConstGauge::new(max).encode(encoder.encode_descriptor(
                "process_max_fds",
                "Maximum number of open file descriptors",
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_asks_and_gets_what_it_prefers() {
        // What Prometheus 2.x sends by default, OpenMetrics first.
        let prom2 = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(
            MetricsFormat::negotiate(Some(prom2)),
            MetricsFormat::OpenMetrics
        );
        // `scrape_protocols: [PrometheusText0.0.4]`.
        let text = "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            MetricsFormat::negotiate(Some(text)),
            MetricsFormat::Prometheus
        );
        assert_eq!(
            MetricsFormat::negotiate(Some(
                "text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.3"
            )),
            MetricsFormat::Prometheus
        );
        assert_eq!(MetricsFormat::negotiate(None), MetricsFormat::OpenMetrics);
        assert_eq!(
            MetricsFormat::negotiate(Some("*/*")),
            MetricsFormat::OpenMetrics
        );
        assert_eq!(
            MetricsFormat::negotiate(Some(
                "application/openmetrics-text;version=9.0.0, text/plain;q=0.1"
            )),
            MetricsFormat::Prometheus
        );
        assert_eq!(
            MetricsFormat::negotiate(Some("*/*, text/plain;q=0.5")),
            MetricsFormat::OpenMetrics
        );
        assert_eq!(
            MetricsFormat::negotiate(Some("text/plain;q=0, application/json")),
            MetricsFormat::OpenMetrics
        );
    }

    #[test]
    fn counters_and_info_are_renamed_for_the_prometheus_text_format() {
        let om = "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests_total{a=\"1\"} 3\n\
                  # HELP x_build Build.\n# TYPE x_build info\nx_build_info{v=\"1\"} 1\n\
                  # HELP x_wait Wait.\n# TYPE x_wait gauge\n# UNIT x_wait seconds\nx_wait 2\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\nx_requests_total{a=\"1\"} 3\n\
             # HELP x_build_info Build.\n# TYPE x_build_info gauge\nx_build_info{v=\"1\"} 1\n\
             # HELP x_wait Wait.\n# TYPE x_wait gauge\nx_wait 2\n"
        );
    }
}
