//! `POST /task/validate` and `POST /validate_task`: the AVS WebAPI that
//! Othentic's attester calls (`--avs-webapi`).
//!
//! Body `{proofOfTask, data, taskDefinitionId | taskDefinitionID, performer}`;
//! answer `{"data": bool, "error": bool, "message": string|null}`. Valid is
//! 200 with data true; invalid is 200 with data false and the reason; an
//! undecided verdict is 503 so the attester abstains; a malformed body 400;
//! an unknown task definition 404; an oversized body 413.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes};
use axum::{
    Json,
    body::Bytes as Body,
    extract::{State, rejection::BytesRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Deserializer, Serialize};
use taskproof_core::{Task, Verdict};

use super::{AppState, status_of};
use crate::metrics::Endpoint;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateRequest {
    proof_of_task: String,
    #[serde(default)]
    data: Option<String>,
    #[serde(alias = "taskDefinitionID", deserialize_with = "task_definition_id")]
    task_definition_id: u16,
    #[serde(default)]
    performer: Option<Address>,
}

/// The answer Othentic's attester reads.
#[derive(Serialize)]
struct ValidateResponse {
    data: bool,
    error: bool,
    message: Option<String>,
}

/// A taskDefinitionId given as a number or as a decimal string.
pub(super) fn task_definition_id<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    let id = match Id::deserialize(d)? {
        Id::Number(n) => n,
        Id::Text(s) => s.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("taskDefinitionId {s:?} is not a number"))
        })?,
    };
    u16::try_from(id)
        .map_err(|_| serde::de::Error::custom(format!("taskDefinitionId {id} is above 65535")))
}

/// `data` is 0x-hex bytes when it reads as such, otherwise the text's UTF-8
/// bytes (Othentic's examples send both).
pub(crate) fn decode_data(data: &str) -> Bytes {
    if let Some(bytes) = data
        .strip_prefix("0x")
        .filter(|hex| hex.len() % 2 == 0 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| alloy_primitives::hex::decode(hex).ok())
    {
        return Bytes::from(bytes);
    }
    Bytes::copy_from_slice(data.as_bytes())
}

pub(super) async fn task_validate(
    State(state): State<Arc<AppState>>,
    body: Result<Body, BytesRejection>,
) -> Response {
    handle(state, body, Endpoint::task_validate).await
}

pub(super) async fn validate_task(
    State(state): State<Arc<AppState>>,
    body: Result<Body, BytesRejection>,
) -> Response {
    handle(state, body, Endpoint::validate_task).await
}

fn answer(status: StatusCode, data: bool, error: bool, message: Option<String>) -> Response {
    (
        status,
        Json(ValidateResponse {
            data,
            error,
            message,
        }),
    )
        .into_response()
}

async fn handle(
    state: Arc<AppState>,
    body: Result<Body, BytesRejection>,
    endpoint: Endpoint,
) -> Response {
    let response = respond(&state, body).await;
    state
        .engine
        .metrics()
        .request(endpoint, response.status().as_u16());
    response
}

async fn respond(state: &AppState, body: Result<Body, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = status_of(&e);
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("request body exceeds {} bytes", state.node.max_body_bytes)
            } else {
                e.body_text()
            };
            return answer(status, false, true, Some(message));
        }
    };
    let request: ValidateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                false,
                true,
                Some(format!("malformed request: {e}")),
            );
        }
    };
    let task = Task::new(
        request.proof_of_task,
        request.data.as_deref().map(decode_data).unwrap_or_default(),
        request.performer.unwrap_or(Address::ZERO),
        request.task_definition_id,
    );
    match state.engine.judge(task).await {
        Err(e) => answer(StatusCode::NOT_FOUND, false, true, Some(e.to_string())),
        Ok(Verdict::Valid) => answer(StatusCode::OK, true, false, None),
        Ok(Verdict::Invalid { reason }) => answer(StatusCode::OK, false, false, Some(reason)),
        Ok(Verdict::Undecided { cause }) => {
            answer(StatusCode::SERVICE_UNAVAILABLE, false, true, Some(cause))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_hex_when_it_reads_as_hex_and_text_otherwise() {
        assert_eq!(decode_data("0x0102").as_ref(), &[1, 2]);
        assert_eq!(decode_data("0x").as_ref(), b"");
        assert_eq!(decode_data("hello").as_ref(), b"hello");
        assert_eq!(decode_data("0xzz").as_ref(), b"0xzz");
        assert_eq!(decode_data("0x123").as_ref(), b"0x123");
    }
}
