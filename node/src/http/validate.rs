//! `POST /task/validate` and `POST /validate_task`: the AVS WebAPI that
//! Othentic's attester calls (`--avs-webapi`).
//!
//! Body `{proofOfTask, data, taskDefinitionId | taskDefinitionID, performer}`;
//! answer `{"data": bool, "error": bool, "message": string|null}` (mapped in
//! [`crate::wire`]).

use std::sync::Arc;

use alloy_primitives::Address;
use axum::{
    Json,
    body::Body,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;
use taskproof_core::{Task, Verdict};

use super::{AppState, body};
use crate::{
    metrics::Endpoint,
    wire::{self, Rejection},
};

/// The request body. Derived deserialisation refuses duplicate keys (and
/// `taskDefinitionId` given twice under its two spellings); unknown keys are
/// ignored, as Othentic's attester may add some.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateRequest {
    proof_of_task: String,
    #[serde(default)]
    data: Option<String>,
    #[serde(alias = "taskDefinitionID")]
    task_definition_id: Value,
    #[serde(default)]
    performer: Option<Value>,
}

pub(super) async fn task_validate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(state, headers, body, Endpoint::task_validate).await
}

pub(super) async fn validate_task(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(state, headers, body, Endpoint::validate_task).await
}

async fn handle(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Response {
    let (status, answer) = match judge(&state, &headers, body).await {
        Ok(verdict) => wire::verdict_answer(&verdict),
        Err(rejection) => wire::rejection_answer(&rejection),
    };
    state.engine.metrics().request(endpoint, status.as_u16());
    (status, Json(answer)).into_response()
}

/// The request's stages, in order (see [`super`]).
async fn judge(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Verdict, Rejection> {
    let metrics = state.engine.metrics();
    body::check_media_type(headers, metrics)?;
    let admission = match state.engine.admit().await {
        Ok(admission) => admission,
        Err(overloaded) => return Ok(overloaded.into()),
    };
    let received =
        body::receive(headers, body, state.body_limits(), &state.budget, metrics).await?;
    let task = decode(&received.bytes)?;
    let verdict = state
        .engine
        .judge_admitted(&admission, task)
        .await
        .map_err(|e| Rejection::UnknownTaskDefinition(e.0))?;
    // The body's bytes count against the buffer budget until the verdict.
    drop(received);
    Ok(verdict)
}

fn decode(bytes: &[u8]) -> Result<Task, Rejection> {
    let request: ValidateRequest =
        serde_json::from_slice(bytes).map_err(|e| wire::malformed(&e))?;
    let task_definition_id = wire::task_definition_id(&request.task_definition_id)
        .map_err(|e| Rejection::Malformed(e.to_string()))?;
    let performer = match &request.performer {
        None | Some(Value::Null) => Address::ZERO,
        Some(value) => {
            wire::address(value, "performer").map_err(|e| Rejection::Malformed(e.to_string()))?
        }
    };
    Ok(Task::new(
        request.proof_of_task,
        request
            .data
            .as_deref()
            .map(wire::data_hex_or_text)
            .unwrap_or_default(),
        performer,
        task_definition_id,
    ))
}
