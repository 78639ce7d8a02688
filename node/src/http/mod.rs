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

use crate::{AttesterKey, Engine, NodeConfig};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Verification.
    pub engine: Engine,
    /// The node's settings.
    pub node: NodeConfig,
    /// The attester's key, for signed votes.
    pub attester_key: Option<AttesterKey>,
    budget: body::BodyBudget,
}

impl AppState {
    /// The state of a node serving `engine` with `node`'s limits.
    pub fn new(engine: Engine, node: NodeConfig, attester_key: Option<AttesterKey>) -> Self {
        Self {
            budget: body::BodyBudget::new(node.max_buffered_body_bytes),
            engine,
            node,
            attester_key,
        }
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
