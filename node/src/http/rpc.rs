//! JSON-RPC 2.0 on `POST /`: `sendTask`, as a performer calls it.
//!
//! Params `[proofOfTask, data, taskDefinitionId, performerAddress, signature,
//! signatureType?, targetChainId?]`. The performer's signature is checked
//! first; then the task is verified and this attester's vote is returned,
//! signed over Othentic's vote hash. Contract errors are mirrored by name
//! (`TaskDefinitionNotFound(id)`, `InvalidPerformerSignature`, ...).
//!
//! Requests are decoded strictly: a request object with a key given twice
//! is refused (serde_json's `Value` would keep the last one silently), as
//! `/task/validate` refuses them.

use std::sync::Arc;

use alloy_primitives::U256;
use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json, value::RawValue};
use taskproof_core::{PerformerSignature, SignatureType, Task, Verdict, quote};

use super::{AppState, body};
use crate::{
    metrics::Endpoint,
    signing,
    wire::{self, RpcError, rpc_code},
};

/// Most requests in one JSON-RPC batch.
const MAX_BATCH: usize = 100;

/// One request object. Derived deserialisation refuses duplicate members.
#[derive(Deserialize)]
struct RpcRequest {
    #[serde(default)]
    jsonrpc: Option<Value>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default)]
    params: Option<Value>,
}

/// Distinguishes `"id": null` (a request) from no `id` (a notification).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A BLS signature `{"x": "0x…", "y": "0x…"}`; duplicate members refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlsSignature {
    x: String,
    y: String,
}

pub(super) async fn json_rpc(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (status, value) = respond(&state, &headers, body).await;
    state
        .engine
        .metrics()
        .request(Endpoint::json_rpc, status.as_u16());
    match value {
        Some(v) => (status, Json(v)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn respond(state: &AppState, headers: &HeaderMap, body: Body) -> (StatusCode, Option<Value>) {
    let metrics = state.engine.metrics();
    let received = match body::check_media_type(headers, metrics) {
        Ok(()) => body::receive(headers, body, state.body_limits(), &state.budget, metrics).await,
        Err(e) => Err(e),
    };
    let received = match received {
        Ok(r) => r,
        Err(rejection) => {
            return (
                rejection.status(),
                Some(RpcError::from(&rejection).to_json(Value::Null)),
            );
        }
    };
    let document: &RawValue = match serde_json::from_slice(&received.bytes) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::OK,
                Some(
                    RpcError::new(
                        rpc_code::PARSE_ERROR,
                        format!("parse error: {}", wire::malformed(&e)),
                    )
                    .to_json(Value::Null),
                ),
            );
        }
    };
    if !document.get().starts_with('[') {
        return (StatusCode::OK, call(state, document).await);
    }
    let requests: Vec<&RawValue> = match serde_json::from_str(document.get()) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::OK,
                Some(
                    RpcError::new(rpc_code::PARSE_ERROR, format!("parse error: {e}"))
                        .to_json(Value::Null),
                ),
            );
        }
    };
    if requests.is_empty() {
        return (
            StatusCode::OK,
            Some(RpcError::new(rpc_code::INVALID_REQUEST, "empty batch").to_json(Value::Null)),
        );
    }
    if requests.len() > MAX_BATCH {
        return (
            StatusCode::OK,
            Some(
                RpcError::new(
                    rpc_code::INVALID_REQUEST,
                    format!("a batch holds at most {MAX_BATCH} requests"),
                )
                .to_json(Value::Null),
            ),
        );
    }
    let answers =
        futures_util::future::join_all(requests.into_iter().map(|r| call(state, r))).await;
    let answers: Vec<Value> = answers.into_iter().flatten().collect();
    if answers.is_empty() {
        (StatusCode::NO_CONTENT, None)
    } else {
        (StatusCode::OK, Some(Value::Array(answers)))
    }
}

/// One request; `None` for a notification (no `id`).
async fn call(state: &AppState, raw: &RawValue) -> Option<Value> {
    let request: RpcRequest = match serde_json::from_str(raw.get()) {
        Ok(r) => r,
        Err(e) => {
            let message = if raw.get().starts_with('{') {
                format!("malformed request: {}", wire::malformed(&e))
            } else {
                "a request must be an object".into()
            };
            return Some(RpcError::new(rpc_code::INVALID_REQUEST, message).to_json(Value::Null));
        }
    };
    let reply_id = match &request.id {
        None => Value::Null,
        Some(v @ (Value::Null | Value::String(_) | Value::Number(_))) => v.clone(),
        Some(_) => {
            return Some(
                RpcError::new(
                    rpc_code::INVALID_REQUEST,
                    "`id` must be a string, a number or null",
                )
                .to_json(Value::Null),
            );
        }
    };
    if request.jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
        return Some(
            RpcError::new(rpc_code::INVALID_REQUEST, "`jsonrpc` must be \"2.0\"").to_json(reply_id),
        );
    }
    let Some(method) = request.method.as_ref().and_then(Value::as_str) else {
        return Some(
            RpcError::new(rpc_code::INVALID_REQUEST, "`method` must be a string").to_json(reply_id),
        );
    };
    let result = match method {
        "sendTask" => send_task(state, request.params.as_ref()).await,
        other => Err(RpcError::new(
            rpc_code::METHOD_NOT_FOUND,
            format!("method not found: {}", quote(other)),
        )),
    };
    request.id.as_ref()?;
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
    RpcError::new(rpc_code::INVALID_PARAMS, message)
}

fn field(e: wire::FieldError, position: usize) -> RpcError {
    invalid_params(format!("params[{position}] {e}"))
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
    let data = wire::hex_bytes(&params[1], "data").map_err(|e| field(e, 1))?;
    let task_definition_id = wire::task_definition_id(&params[2]).map_err(|e| field(e, 2))?;
    let performer = wire::address(&params[3], "performerAddress").map_err(|e| field(e, 3))?;
    let signature_type = match params.get(5) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("ecdsa") => Some(SignatureType::Ecdsa),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bls") => Some(SignatureType::Bls),
        Some(other) => {
            return Err(invalid_params(format!(
                "params[5] signatureType must be \"ecdsa\" or \"bls\", got {}",
                shown(other)
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
                Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
                _ => None,
            };
            Some(id.ok_or_else(|| {
                invalid_params("params[6] targetChainId must be an unsigned integer")
            })?)
        }
    };
    let signature = match signature_type.unwrap_or_default() {
        SignatureType::Ecdsa => PerformerSignature::Ecdsa(
            wire::hex_bytes(&params[4], "signature").map_err(|e| field(e, 4))?,
        ),
        SignatureType::Bls => {
            // A BLS signature travels as the JSON string {"x":"0x…","y":"0x…"}.
            let malformed = || {
                invalid_params("params[4] a BLS signature must be {\"x\": \"0x…\", \"y\": \"0x…\"}")
            };
            let point: BlsSignature = match &params[4] {
                Value::String(s) => serde_json::from_str(s).map_err(|_| malformed())?,
                v @ Value::Object(_) => {
                    BlsSignature::deserialize(v.clone()).map_err(|_| malformed())?
                }
                _ => return Err(malformed()),
            };
            let coordinate = |s: &str| s.parse::<U256>().ok();
            match (coordinate(&point.x), coordinate(&point.y)) {
                (Some(x), Some(y)) => PerformerSignature::Bls { x, y },
                _ => return Err(malformed()),
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

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s).to_string(),
        other => {
            let text = other.to_string();
            quote(&text).to_string()
        }
    }
}

async fn send_task(state: &AppState, params: Option<&Value>) -> Result<Value, RpcError> {
    let SendTask {
        task,
        target_chain_id,
    } = parse_send_task(params)?;
    let id = task.task_definition_id;
    let Some(def) = state.engine.definition(id) else {
        return Err(RpcError::from(&wire::Rejection::UnknownTaskDefinition(id)));
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
                    rpc_code::INVALID_PERFORMER_SIGNATURE,
                    "InvalidPerformerSignature",
                    format!("InvalidPerformerSignature: {e}"),
                )
            })?;
        }
        _ => {
            return Err(RpcError::named(
                rpc_code::UNSUPPORTED_SIGNATURE_TYPE,
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
            rpc_code::RESTRICTED_OPERATOR,
            "InvalidRestrictedOperator",
            format!("InvalidRestrictedOperator({id}, {index})"),
        ));
    }
    if !def.minimum_voting_power.is_zero()
        && state.node.voting_power.unwrap_or_default() < def.minimum_voting_power
    {
        let index = operator.map_or_else(|| "unset".to_owned(), |i| i.to_string());
        return Err(RpcError::named(
            rpc_code::MINIMUM_VOTING_POWER,
            "OperatorDoesNotHaveMinimumVotingPower",
            format!("OperatorDoesNotHaveMinimumVotingPower({index})"),
        ));
    }
    let Some(key) = &state.attester_key else {
        return Err(RpcError::named(
            rpc_code::NOT_CONFIGURED,
            "AttesterKeyNotConfigured",
            "this node has no attester key (set node.attester_key_file or the node.attester_key_env variable)",
        ));
    };
    let (Some(attestation_center), Some(configured_chain)) =
        (state.node.attestation_center, state.node.chain_id)
    else {
        return Err(RpcError::named(
            rpc_code::NOT_CONFIGURED,
            "AttestationCenterNotConfigured",
            "set node.attestation_center and node.chain_id to sign votes",
        ));
    };
    if let Some(chain) = target_chain_id.filter(|&c| c != configured_chain) {
        return Err(RpcError::named(
            rpc_code::UNSUPPORTED_CHAIN,
            "UnsupportedTargetChain",
            format!("this attester signs for chain {configured_chain}, not {chain}"),
        ));
    }
    let proof_of_task = task.proof_of_task.clone();
    let data = task.data.clone();
    let performer = task.performer;
    let admission = match state.engine.admit().await {
        Ok(admission) => admission,
        Err(overloaded) => return Err(wire::undecided_rpc_error(&overloaded.to_string())),
    };
    let verdict = state
        .engine
        .judge_admitted(&admission, task)
        .await
        .map_err(|e| RpcError::from(&wire::Rejection::UnknownTaskDefinition(e.0)))?;
    let (is_approved, reason) = match verdict {
        Verdict::Valid => (true, None),
        Verdict::Invalid { reason } => (false, Some(reason)),
        Verdict::Undecided { cause } => return Err(wire::undecided_rpc_error(&cause)),
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
    let (vote_hash, signature) = vote.sign(key).map_err(|e| {
        RpcError::new(
            rpc_code::INTERNAL_ERROR,
            format!("signing the vote failed: {e}"),
        )
    })?;
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
