//! The HTTP surface: Othentic's validation endpoints, JSON-RPC `sendTask`,
//! `/healthz`, `/metrics` and `/openapi.json`.
//!
//! A request meets the node's limits in this order, each refusal with its
//! own status and never a verdict of `Invalid`:
//!
//! | stage | limit | refusal |
//! |---|---|---|
//! | connection | `max_connections` (then a reserve that answers only `/healthz` and `/metrics`) | 503 / closed |
//! | request head | `header_read_timeout_ms`; hyper's buffer of 64 KiB | closed |
//! | between requests | `idle_timeout_ms` | closed |
//! | media type | `application/json` only, checked before the body is read | 415 |
//! | admission | `max_pending` verifications, checked before the body is read | 503, undecided |
//! | body | `max_body_bytes`; `max_buffered_body_bytes` over all connections; `body_read_timeout_ms` | 413 / 503 / 408 |
//! | decoding | strict JSON, no duplicate keys, canonical ids ([`crate::wire`]) | 400 |
//! | task definition | known `taskDefinitionId` | 404 |
//! | verification | the engine's stages: per-definition concurrency, deadline, panic isolation, batching ([`crate::Engine`]) | 503, undecided |
//! | reply | reasons and causes cut to 1 KiB; logs rate-limited | |
//!
//! Connection handling lives in `server`, body reading in `body`, the
//! endpoints in `validate` and `rpc`.

mod body;
mod openapi;
mod rpc;
mod server;
mod validate;

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::header,
    response::IntoResponse,
    routing::{get, post},
};
use tokio::net::TcpListener;

use alloy_primitives::U256;
use taskproof_core::ConfigError;

use crate::{Attester, AttesterKey, Config, Engine, EngineOptions, Metrics, NodeConfig};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Verification.
    pub engine: Engine,
    /// The node's settings.
    pub node: NodeConfig,
    /// The attester's key, for signed votes.
    pub attester_key: Option<AttesterKey>,
    /// This attester's operator index (from the operator set when there is
    /// one), checked against `restricted_operators`.
    pub operator_index: Option<u64>,
    /// This attester's voting power (from the operator set when there is
    /// one), checked against `minimum_voting_power`.
    pub voting_power: Option<U256>,
    /// The `[consensus]` table: operator set, domain.
    #[cfg(feature = "bls")]
    pub consensus: crate::consensus::Consensus,
    #[cfg(feature = "bls")]
    journal: Option<VoteJournal>,
    budget: body::BodyBudget,
}

/// The journal votes are recorded in before they are signed.
#[cfg(feature = "bls")]
#[derive(Clone)]
struct VoteJournal(Arc<dyn taskproof_consensus::journal::Journal>);

#[cfg(feature = "bls")]
impl std::fmt::Debug for VoteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoteJournal(..)")
    }
}

impl AppState {
    /// The state of a node serving `engine` with `node`'s limits, its
    /// operator index and voting power from `node`, no operator set and no
    /// journal (so it signs no votes).
    pub fn new(engine: Engine, node: NodeConfig, attester_key: Option<AttesterKey>) -> Self {
        Self {
            budget: body::BodyBudget::new(node.max_buffered_body_bytes),
            engine,
            operator_index: node.operator_index,
            voting_power: node.voting_power,
            node,
            attester_key,
            #[cfg(feature = "bls")]
            consensus: crate::consensus::Consensus::default(),
            #[cfg(feature = "bls")]
            journal: None,
        }
    }

    /// What `taskproof serve` runs, from a loaded config: the attester
    /// ([`Config::attester`]), the engine and its metrics, and the journal
    /// the config names (`crate::consensus::journal_from_config`). Call it
    /// inside a Tokio runtime; serve the result with [`serve`].
    pub async fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let Attester {
            key,
            operator_index,
            voting_power,
        } = config.attester()?;
        let metrics = Arc::new(Metrics::new(&config.task_definitions));
        metrics.observe_retrievals();
        let options = EngineOptions {
            timeout: config.node.timeout(),
            max_pending: config.node.max_pending,
            batching: config.node.batching,
            admission_wait: std::time::Duration::from_millis(config.node.admission_wait_ms),
        };
        let engine = Engine::new(config.task_definitions.clone(), options, metrics);
        let mut state = Self::new(engine, config.node.clone(), key);
        state.operator_index = operator_index;
        state.voting_power = voting_power;
        #[cfg(feature = "bls")]
        {
            state.consensus = config.consensus.clone();
            state.journal =
                crate::consensus::journal_from_config(config, state.attester_key.is_some())
                    .await?
                    .map(VoteJournal);
        }
        Ok(state)
    }

    /// Whether votes can be signed: a journal records them first.
    #[cfg(feature = "bls")]
    pub fn has_journal(&self) -> bool {
        self.journal.is_some()
    }

    /// Whether votes can be signed: never without the consensus crate's
    /// journal.
    #[cfg(not(feature = "bls"))]
    pub fn has_journal(&self) -> bool {
        false
    }

    /// Records votes in `journal` rather than in the one the config names:
    /// a journal of the embedding program's own. (`MemoryJournal` forgets on
    /// restart, and then the opposite vote could be signed: tests only.)
    #[cfg(feature = "bls")]
    pub fn with_journal(mut self, journal: Arc<dyn taskproof_consensus::journal::Journal>) -> Self {
        self.journal = Some(VoteJournal(journal));
        self
    }

    /// The node without a journal: it validates, and `sendTask` signs no
    /// votes (`JournalNotConfigured`).
    #[cfg(feature = "bls")]
    pub fn without_journal(mut self) -> Self {
        self.journal = None;
        self
    }

    fn body_limits(&self) -> body::BodyLimits {
        body::BodyLimits {
            max_body_bytes: self.node.max_body_bytes,
            timeout: std::time::Duration::from_millis(self.node.body_read_timeout_ms),
        }
    }
}

/// The node's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/task/validate", post(validate::task_validate))
        .route("/validate_task", post(validate::validate_task))
        .route("/", post(rpc::json_rpc))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::openapi))
        .with_state(state)
}

/// The admin listener's routes: `/healthz` and `/metrics` only.
pub fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "taskDefinitions": state.engine.definitions().len(),
    }))
}

async fn metrics(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = crate::MetricsFormat::negotiate(accept);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        state.engine.metrics().render_as(format),
    )
}

/// Serves until `shutdown` resolves (see [`shutdown_signal`]), then stops
/// accepting, lets requests in flight finish and closes what is still open
/// after `node.shutdown_timeout_ms`. `admin`, when given, serves only
/// `/healthz` and `/metrics`.
pub async fn serve(
    listener: TcpListener,
    admin: Option<TcpListener>,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::run(listener, admin, state, shutdown).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, not when first polled, so a signal that arrives as soon
/// as the node says it is listening is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut i), Ok(mut t)) => {
                    tokio::select! {
                        _ = i.recv() => {},
                        _ = t.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down: finishing in-flight requests");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
