//! The HTTP surface: Othentic's validation endpoints, JSON-RPC `sendTask`,
//! `/healthz` and `/metrics`.

mod rpc;
mod validate;

pub(crate) use validate::decode_data;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
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
}

/// The node's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.node.max_body_bytes;
    Router::new()
        .route("/task/validate", post(validate::task_validate))
        .route("/validate_task", post(validate::validate_task))
        .route("/", post(rpc::json_rpc))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "taskDefinitions": state.engine.definitions().len(),
    }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.engine.metrics().render(),
    )
}

/// Serves until SIGINT or SIGTERM, then stops accepting and lets in-flight
/// requests finish. `ready` receives the bound address (useful with port 0).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, definitions = state.engine.definitions().len(), "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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

pub(crate) fn status_of(e: &axum::extract::rejection::BytesRejection) -> StatusCode {
    e.status()
}
