//! Prometheus metrics: requests, verdicts by task definition and outcome,
//! verification latency, pending verifications and batch sizes.
//!
//! Label handles for each task definition are made once, at start-up, so the
//! hot path only bumps atomics.

use std::collections::HashMap;

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use taskproof_core::{Outcome, TaskDefinitions};

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
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DefinitionLabels {
    task_definition: u16,
    kind: String,
}

/// Handles for one task definition.
#[derive(Clone)]
pub(crate) struct DefinitionMetrics {
    valid: Counter,
    invalid: Counter,
    undecided: Counter,
    latency: Histogram,
    pub(crate) batch_size: Histogram,
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

/// The node's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    pub(crate) pending: Gauge,
    pub(crate) connections: Gauge,
    definitions: HashMap<u16, DefinitionMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics for a set of task definitions.
    pub fn new(definitions: &TaskDefinitions) -> Self {
        let mut registry = Registry::with_prefix("taskproof");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests by endpoint and status",
            requests.clone(),
        );
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Verdicts by task definition, verifier kind and outcome",
            verdicts.clone(),
        );
        let latency = Family::<DefinitionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_01, 2.0, 22,
            ))
        });
        registry.register(
            "verification_seconds",
            "Verification latency by task definition and kind, queueing included",
            latency.clone(),
        );
        let batch_size = Family::<DefinitionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                1.0, 2.0, 10,
            ))
        });
        registry.register("batch_size", "Tasks per verified batch", batch_size.clone());
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

        let definitions = definitions
            .iter()
            .map(|d| {
                let outcome = |o: Outcome| {
                    verdicts
                        .get_or_create(&VerdictLabels {
                            task_definition: d.id,
                            kind: d.kind.clone(),
                            outcome: o.as_str().into(),
                        })
                        .clone()
                };
                let labels = DefinitionLabels {
                    task_definition: d.id,
                    kind: d.kind.clone(),
                };
                let handles = DefinitionMetrics {
                    valid: outcome(Outcome::Valid),
                    invalid: outcome(Outcome::Invalid),
                    undecided: outcome(Outcome::Undecided),
                    latency: latency.get_or_create(&labels).clone(),
                    batch_size: batch_size.get_or_create(&labels).clone(),
                };
                (d.id, handles)
            })
            .collect();
        Self {
            registry,
            requests,
            refusals,
            pending,
            connections,
            definitions,
        }
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

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
