//! JSON-RPC 2.0 on `POST /`: `sendTask`, as a performer calls it.
//!
//! Params `[proofOfTask, data, taskDefinitionId, performerAddress, signature,
//! signatureType?, targetChainId?]`. The performer's signature is checked
//! first; then the task is verified and this attester's vote is returned,
//! signed over Othentic's vote hash. Contract errors are mirrored by name
//! (`TaskDefinitionNotFound(id)`, `InvalidPerformerSignature`, ...).

use std::sync::Arc;

use alloy_primitives::{Address, Bytes, U256};
use axum::{
    Json,
    body::Bytes as Body,
    extract::{State, rejection::BytesRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use taskproof_core::{PerformerSignature, SignatureType, Task, Verdict};

use super::{AppState, status_of};
use crate::{metrics::Endpoint, signing};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;
const TASK_DEFINITION_NOT_FOUND: i64 = -32001;
const INVALID_PERFORMER_SIGNATURE: i64 = -32002;
const MINIMUM_VOTING_POWER: i64 = -32003;
const RESTRICTED_OPERATOR: i64 = -32004;
const UNSUPPORTED_SIGNATURE_TYPE: i64 = -32005;
const UNDECIDED: i64 = -32006;
const NO_ATTESTER_KEY: i64 = -32007;
const UNSUPPORTED_CHAIN: i64 = -32008;
const REQUEST_TOO_LARGE: i64 = -32009;

/// Most requests in one JSON-RPC batch.
const MAX_BATCH: usize = 100;

struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn named(code: i64, name: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Some(json!({ "error": name })),
        }
    }

    fn to_json(&self, id: Value) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({ "jsonrpc": "2.0", "error": error, "id": id })
    }
}

pub(super) async fn json_rpc(
    State(state): State<Arc<AppState>>,
    body: Result<Body, BytesRejection>,
) -> Response {
    let (status, value) = respond(&state, body).await;
    state
        .engine
        .metrics()
        .request(Endpoint::json_rpc, status.as_u16());
    match value {
        Some(v) => (status, Json(v)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn respond(
    state: &AppState,
    body: Result<Body, BytesRejection>,
) -> (StatusCode, Option<Value>) {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = status_of(&e);
            let error = if status == StatusCode::PAYLOAD_TOO_LARGE {
                RpcError::new(
                    REQUEST_TOO_LARGE,
                    format!("request body exceeds {} bytes", state.node.max_body_bytes),
                )
            } else {
                RpcError::new(INVALID_REQUEST, e.body_text())
            };
            return (status, Some(error.to_json(Value::Null)));
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::OK,
                Some(RpcError::new(PARSE_ERROR, format!("parse error: {e}")).to_json(Value::Null)),
            );
        }
    };
    match value {
        Value::Array(requests) if requests.is_empty() => (
            StatusCode::OK,
            Some(RpcError::new(INVALID_REQUEST, "empty batch").to_json(Value::Null)),
        ),
        Value::Array(requests) if requests.len() > MAX_BATCH => (
            StatusCode::OK,
            Some(
                RpcError::new(
                    INVALID_REQUEST,
                    format!("a batch holds at most {MAX_BATCH} requests"),
                )
                .to_json(Value::Null),
            ),
        ),
        Value::Array(requests) => {
            let answers =
                futures_util::future::join_all(requests.into_iter().map(|r| call(state, r))).await;
            let answers: Vec<Value> = answers.into_iter().flatten().collect();
            if answers.is_empty() {
                (StatusCode::NO_CONTENT, None)
            } else {
                (StatusCode::OK, Some(Value::Array(answers)))
            }
        }
        single => (StatusCode::OK, call(state, single).await),
    }
}

/// One request; `None` for a notification (no `id`).
async fn call(state: &AppState, request: Value) -> Option<Value> {
    let Value::Object(request) = request else {
        return Some(
            RpcError::new(INVALID_REQUEST, "a request must be an object").to_json(Value::Null),
        );
    };
    let id = request.get("id").cloned();
    let reply_id = match &id {
        None => Value::Null,
        Some(v @ (Value::Null | Value::String(_) | Value::Number(_))) => v.clone(),
        Some(_) => {
            return Some(
                RpcError::new(INVALID_REQUEST, "`id` must be a string, a number or null")
                    .to_json(Value::Null),
            );
        }
    };
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(RpcError::new(INVALID_REQUEST, "`jsonrpc` must be \"2.0\"").to_json(reply_id));
    }
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Some(RpcError::new(INVALID_REQUEST, "`method` must be a string").to_json(reply_id));
    };
    let result = match method {
        "sendTask" => send_task(state, request.get("params")).await,
        other => Err(RpcError::new(
            METHOD_NOT_FOUND,
            format!("method not found: {other}"),
        )),
    };
    id.as_ref()?;
    Some(match result {
        Ok(value) => json!({ "jsonrpc": "2.0", "result": value, "id": reply_id }),
        Err(e) => e.to_json(reply_id),
    })
}

struct SendTask {
    task: Task,
    target_chain_id: Option<u64>,
}

fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError::new(INVALID_PARAMS, message)
}

fn parse_send_task(params: Option<&Value>) -> Result<SendTask, RpcError> {
    let Some(Value::Array(params)) = params else {
        return Err(invalid_params(
            "params must be [proofOfTask, data, taskDefinitionId, performerAddress, signature, signatureType?, targetChainId?]",
        ));
    };
    if !(5..=7).contains(&params.len()) {
        return Err(invalid_params(format!(
            "sendTask takes 5 to 7 params, got {}",
            params.len()
        )));
    }
    let proof_of_task = params[0]
        .as_str()
        .ok_or_else(|| invalid_params("params[0] proofOfTask must be a string"))?
        .to_owned();
    let data = params[1]
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|h| alloy_primitives::hex::decode(h).ok())
        .map(Bytes::from)
        .ok_or_else(|| invalid_params("params[1] data must be 0x-prefixed hex bytes"))?;
    let task_definition_id = super::validate::task_definition_id(&params[2])
        .map_err(|e| invalid_params(format!("params[2] taskDefinitionId: {e}")))?;
    let performer: Address = params[3]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            invalid_params("params[3] performerAddress must be a 0x-prefixed 20-byte address")
        })?;
    let signature_type = match params.get(5) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("ecdsa") => Some(SignatureType::Ecdsa),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bls") => Some(SignatureType::Bls),
        Some(other) => {
            return Err(invalid_params(format!(
                "params[5] signatureType must be \"ecdsa\" or \"bls\", got {other}"
            )));
        }
    };
    let target_chain_id = match params.get(6) {
        None | Some(Value::Null) => None,
        Some(v) => {
            if signature_type.is_none() {
                return Err(invalid_params(
                    "params[6] targetChainId needs an explicit signatureType",
                ));
            }
            let id = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            Some(id.ok_or_else(|| {
                invalid_params("params[6] targetChainId must be an unsigned integer")
            })?)
        }
    };
    let signature = match signature_type.unwrap_or_default() {
        SignatureType::Ecdsa => {
            let bytes = params[4]
                .as_str()
                .and_then(|s| s.strip_prefix("0x"))
                .and_then(|h| alloy_primitives::hex::decode(h).ok())
                .ok_or_else(|| invalid_params("params[4] signature must be 0x-prefixed hex"))?;
            PerformerSignature::Ecdsa(Bytes::from(bytes))
        }
        SignatureType::Bls => {
            // A BLS signature travels as the JSON string {"x":"0x…","y":"0x…"}.
            let point: Value = match &params[4] {
                Value::String(s) => serde_json::from_str(s).ok(),
                v @ Value::Object(_) => Some(v.clone()),
                _ => None,
            }
            .ok_or_else(|| {
                invalid_params("params[4] a BLS signature must be {\"x\": \"0x…\", \"y\": \"0x…\"}")
            })?;
            let coordinate = |k: &str| {
                point
                    .get(k)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<U256>().ok())
            };
            match (coordinate("x"), coordinate("y")) {
                (Some(x), Some(y)) => PerformerSignature::Bls { x, y },
                _ => {
                    return Err(invalid_params(
                        "params[4] a BLS signature must be {\"x\": \"0x…\", \"y\": \"0x…\"}",
                    ));
                }
            }
        }
    };
    Ok(SendTask {
        task: Task {
            proof_of_task,
            data,
            performer,
            task_definition_id,
            signature: Some(signature),
        },
        target_chain_id,
    })
}

async fn send_task(state: &AppState, params: Option<&Value>) -> Result<Value, RpcError> {
    let SendTask {
        task,
        target_chain_id,
    } = parse_send_task(params)?;
    let id = task.task_definition_id;
    let Some(def) = state.engine.definition(id) else {
        return Err(RpcError::named(
            TASK_DEFINITION_NOT_FOUND,
            "TaskDefinitionNotFound",
            format!("TaskDefinitionNotFound({id})"),
        ));
    };
    match &task.signature {
        Some(PerformerSignature::Ecdsa(signature)) => {
            signing::check_performer_signature(
                signature,
                &task.proof_of_task,
                &task.data,
                task.performer,
                id,
            )
            .map_err(|e| {
                RpcError::named(
                    INVALID_PERFORMER_SIGNATURE,
                    "InvalidPerformerSignature",
                    format!("InvalidPerformerSignature: {e}"),
                )
            })?;
        }
        _ => {
            return Err(RpcError::named(
                UNSUPPORTED_SIGNATURE_TYPE,
                "UnsupportedSignatureType",
                "BLS performer signatures are not supported yet; sign with ECDSA (signatureType \"ecdsa\")",
            ));
        }
    }
    // Would the AttestationCenter accept this attester's vote at all?
    let operator = state.node.operator_index;
    if !def.restricted_operators.is_empty()
        && !operator.is_some_and(|i| def.restricted_operators.contains(&i))
    {
        let index = operator.map_or_else(|| "unset".to_owned(), |i| i.to_string());
        return Err(RpcError::named(
            RESTRICTED_OPERATOR,
            "InvalidRestrictedOperator",
            format!("InvalidRestrictedOperator({id}, {index})"),
        ));
    }
    if !def.minimum_voting_power.is_zero()
        && state.node.voting_power.unwrap_or_default() < def.minimum_voting_power
    {
        let index = operator.map_or_else(|| "unset".to_owned(), |i| i.to_string());
        return Err(RpcError::named(
            MINIMUM_VOTING_POWER,
            "OperatorDoesNotHaveMinimumVotingPower",
            format!("OperatorDoesNotHaveMinimumVotingPower({index})"),
        ));
    }
    let Some(key) = &state.attester_key else {
        return Err(RpcError::named(
            NO_ATTESTER_KEY,
            "AttesterKeyNotConfigured",
            "this node has no attester key (set node.attester_key_file or the node.attester_key_env variable)",
        ));
    };
    let (Some(attestation_center), Some(configured_chain)) =
        (state.node.attestation_center, state.node.chain_id)
    else {
        return Err(RpcError::named(
            NO_ATTESTER_KEY,
            "AttestationCenterNotConfigured",
            "set node.attestation_center and node.chain_id to sign votes",
        ));
    };
    if let Some(chain) = target_chain_id.filter(|&c| c != configured_chain) {
        return Err(RpcError::named(
            UNSUPPORTED_CHAIN,
            "UnsupportedTargetChain",
            format!("this attester signs for chain {configured_chain}, not {chain}"),
        ));
    }
    let proof_of_task = task.proof_of_task.clone();
    let data = task.data.clone();
    let performer = task.performer;
    let verdict = state.engine.judge(task).await.map_err(|e| {
        RpcError::named(
            TASK_DEFINITION_NOT_FOUND,
            "TaskDefinitionNotFound",
            e.to_string(),
        )
    })?;
    let (is_approved, reason) = match verdict {
        Verdict::Valid => (true, None),
        Verdict::Invalid { reason } => (false, Some(reason)),
        Verdict::Undecided { cause } => {
            return Err(RpcError::named(
                UNDECIDED,
                "Undecided",
                format!("no vote: {cause}"),
            ));
        }
    };
    let vote = signing::Vote {
        proof_of_task: &proof_of_task,
        data: &data,
        performer,
        task_definition_id: id,
        attestation_center,
        chain_id: configured_chain,
        is_approved,
    };
    let (vote_hash, signature) = vote
        .sign(key)
        .map_err(|e| RpcError::new(INTERNAL_ERROR, format!("signing the vote failed: {e}")))?;
    Ok(json!({
        "approved": is_approved,
        "reason": reason,
        "voteHash": vote_hash,
        "signature": signature,
        "attester": key.address(),
        "attestationCenter": attestation_center,
        "chainId": configured_chain,
        "taskDefinitionId": id,
    }))
}
