//! JSON-RPC 2.0 on `POST /`: `sendTask`, as a performer calls it.
//!
//! Params `[proofOfTask, data, taskDefinitionId, performerAddress, signature,
//! signatureType?, targetChainId?]`. The performer's signature is checked
//! first (ECDSA by recovery; BLS with the performer's key from the operator
//! set, points refused before any pairing); then the task is verified, the
//! vote recorded in the journal, and only then signed over Othentic's vote
//! hash, with ECDSA and BLS. The opposite of a recorded vote is never
//! signed (`MessageAlreadySigned`); an undecided verdict records and signs
//! nothing. Contract errors are mirrored by name
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
    // The cheap part of a BLS check (decoding, the performer's key) comes
    // first; its pairing waits for admission, so it is bounded like a
    // verification.
    let performer_bls = match &task.signature {
        Some(PerformerSignature::Ecdsa(signature)) => {
            signing::check_performer_signature(
                signature,
                &task.proof_of_task,
                &task.data,
                task.performer,
                id,
            )
            .map_err(|e| invalid_performer_signature(&e))?;
            None
        }
        Some(PerformerSignature::Bls { x, y }) => Some(performer_bls::decode(state, &task, x, y)?),
        None => return Err(invalid_params("params[4] signature is missing")),
    };
    // Would the AttestationCenter accept this attester's vote at all?
    let operator = state.operator_index;
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
        && state.voting_power.unwrap_or_default() < def.minimum_voting_power
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
    let journal = votes::journal(state)?;
    let proof_of_task = task.proof_of_task.clone();
    let data = task.data.clone();
    let performer = task.performer;
    let admission = match state.engine.admit().await {
        Ok(admission) => admission,
        Err(overloaded) => return Err(wire::undecided_rpc_error(&overloaded.to_string())),
    };
    if let Some(check) = performer_bls {
        performer_bls::verify(check).await?;
    }
    let verdict = state
        .engine
        .judge_admitted(&admission, task)
        .await
        .map_err(|e| RpcError::from(&wire::Rejection::UnknownTaskDefinition(e.0)))?;
    let (is_approved, reason) = match verdict {
        Verdict::Valid => (true, None),
        Verdict::Invalid { reason } => (false, Some(reason)),
        // Nothing is recorded and nothing signed: the attester abstains.
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
    // No signature leaves the node before the journal holds the vote.
    votes::record(&journal, &vote).await?;
    let (vote_hash, signature) = vote.sign(key);
    let mut answer = json!({
        "approved": is_approved,
        "reason": reason,
        "voteHash": vote_hash,
        "signature": signature,
        "attester": key.address(),
        "attestationCenter": attestation_center,
        "chainId": configured_chain,
        "taskDefinitionId": id,
    });
    votes::add_bls_signature(state, key, vote_hash, &mut answer).await?;
    Ok(answer)
}

fn invalid_performer_signature(reason: &dyn std::fmt::Display) -> RpcError {
    RpcError::named(
        rpc_code::INVALID_PERFORMER_SIGNATURE,
        "InvalidPerformerSignature",
        format!("InvalidPerformerSignature: {reason}"),
    )
}

/// Performer BLS signatures, checked with the performer's key from the
/// operator set.
#[cfg(feature = "bls")]
mod performer_bls {
    use alloy_primitives::{Address, B256, U256};
    use taskproof_consensus::bls::{self, PublicKey, Signature};
    use taskproof_core::Task;

    use super::{AppState, RpcError, invalid_performer_signature, rpc_code, signing};

    /// A signature decoded and the key to check it with, not yet paired.
    pub(super) struct Check {
        key: PublicKey,
        signature: Signature,
        task_hash: B256,
        domain: B256,
        performer: Address,
    }

    /// Refuses, before any pairing, a point that is not one (a coordinate
    /// ≥ p, infinity, off the curve) and a performer without a BLS key.
    pub(super) fn decode(
        state: &AppState,
        task: &Task,
        x: &U256,
        y: &U256,
    ) -> Result<Check, RpcError> {
        let Some(set) = state.consensus.operator_set() else {
            return Err(RpcError::named(
                rpc_code::UNSUPPORTED_SIGNATURE_TYPE,
                "UnsupportedSignatureType",
                "BLS performer signatures are checked with the performer's key from the operator set, and this node has none: configure `[consensus] operators`, or sign with ECDSA (signatureType \"ecdsa\")",
            ));
        };
        let signature = Signature::from_words(x, y).map_err(|e| {
            invalid_performer_signature(&format!("the BLS signature is refused: {e}"))
        })?;
        let Some(operator) = set.by_address(&task.performer) else {
            return Err(invalid_performer_signature(&format!(
                "the performer {} is not in the operator set, so there is no BLS key to check its signature with",
                task.performer
            )));
        };
        Ok(Check {
            key: operator.bls_public_key,
            signature,
            task_hash: signing::task_hash(
                &task.proof_of_task,
                &task.data,
                task.performer,
                task.task_definition_id,
            ),
            domain: state.consensus.domain,
            performer: task.performer,
        })
    }

    /// The pairing, on the verification pool.
    pub(super) async fn verify(check: Check) -> Result<(), RpcError> {
        let Check {
            key,
            signature,
            task_hash,
            domain,
            performer,
        } = check;
        let holds =
            taskproof_core::cpu::run(move || key.verify(task_hash.as_slice(), &signature, &domain))
                .await
                .map_err(|e| crate::wire::undecided_rpc_error(&e.to_string()))?;
        if holds {
            return Ok(());
        }
        let domain = if domain == bls::TASKS_MANAGER_DOMAIN {
            "keccak256(\"TasksManager\")".to_owned()
        } else {
            domain.to_string()
        };
        Err(invalid_performer_signature(&format!(
            "the BLS signature does not verify with the BLS key of the performer {performer} over the task hash {task_hash} (domain {domain})"
        )))
    }
}

/// Without the consensus crate there is no BLS to check with.
#[cfg(not(feature = "bls"))]
mod performer_bls {
    use alloy_primitives::U256;
    use taskproof_core::Task;

    use super::{AppState, RpcError, rpc_code};

    pub(super) struct Check;

    pub(super) fn decode(
        _state: &AppState,
        _task: &Task,
        _x: &U256,
        _y: &U256,
    ) -> Result<Check, RpcError> {
        Err(RpcError::named(
            rpc_code::UNSUPPORTED_SIGNATURE_TYPE,
            "UnsupportedSignatureType",
            "this taskproof was built without the `bls` cargo feature, so it cannot check BLS performer signatures; sign with ECDSA (signatureType \"ecdsa\")",
        ))
    }

    pub(super) async fn verify(_check: Check) -> Result<(), RpcError> {
        Ok(())
    }
}

/// The vote's journal and its BLS signature.
#[cfg(feature = "bls")]
mod votes {
    use std::sync::Arc;

    use alloy_primitives::B256;
    use serde_json::{Value, json};
    use taskproof_consensus::journal::{Journal, JournalError};

    use super::{AppState, RpcError, rpc_code, signing};
    use crate::{AttesterKey, wire};

    /// The journal, or why no vote can be signed.
    pub(super) fn journal(state: &AppState) -> Result<Arc<dyn Journal>, RpcError> {
        state
            .journal
            .as_ref()
            .map(|j| Arc::clone(&j.0))
            .ok_or_else(|| {
                RpcError::named(
                    rpc_code::NOT_CONFIGURED,
                    "JournalNotConfigured",
                    "this node has no durable vote journal (`[consensus] journal`), so it signs no votes: without one it could sign both answers to one task",
                )
            })
    }

    /// Makes the vote durable; the opposite of an earlier vote is refused.
    pub(super) async fn record(
        journal: &Arc<dyn Journal>,
        vote: &signing::Vote<'_>,
    ) -> Result<(), RpcError> {
        match journal.record(vote.task_key(), vote.is_approved).await {
            Ok(_new_or_repeat) => Ok(()),
            Err(e @ JournalError::AlreadySigned { .. }) => Err(RpcError::named(
                rpc_code::MESSAGE_ALREADY_SIGNED,
                "MessageAlreadySigned",
                e.to_string(),
            )),
            Err(e @ JournalError::Unavailable(_)) => Err(wire::undecided_rpc_error(&e.to_string())),
        }
    }

    /// `blsSignature`: the attester's BLS signature on the vote hash.
    pub(super) async fn add_bls_signature(
        state: &AppState,
        key: &AttesterKey,
        vote_hash: B256,
        answer: &mut Value,
    ) -> Result<(), RpcError> {
        let secret = key.bls_key().clone();
        let domain = state.consensus.domain;
        let signature =
            taskproof_core::cpu::run(move || secret.sign(vote_hash.as_slice(), &domain))
                .await
                .map_err(|e| {
                    RpcError::new(
                        rpc_code::INTERNAL_ERROR,
                        format!("signing the vote failed: {e}"),
                    )
                })?;
        let [x, y] = signature.to_words();
        answer["blsSignature"] = json!({ "x": B256::from(x), "y": B256::from(y) });
        Ok(())
    }
}

/// Without the consensus crate there is no journal, so no vote is signed.
#[cfg(not(feature = "bls"))]
mod votes {
    use alloy_primitives::B256;
    use serde_json::Value;

    use super::{AppState, RpcError, rpc_code, signing};
    use crate::AttesterKey;

    pub(super) struct NoJournal;

    fn not_configured() -> RpcError {
        RpcError::named(
            rpc_code::NOT_CONFIGURED,
            "JournalNotConfigured",
            "this taskproof was built without the `bls` cargo feature, whose vote journal records every vote before it is signed, so it signs no votes",
        )
    }

    pub(super) fn journal(_state: &AppState) -> Result<NoJournal, RpcError> {
        Err(not_configured())
    }

    pub(super) async fn record(
        _journal: &NoJournal,
        _vote: &signing::Vote<'_>,
    ) -> Result<(), RpcError> {
        Err(not_configured())
    }

    pub(super) async fn add_bls_signature(
        _state: &AppState,
        _key: &AttesterKey,
        _vote_hash: B256,
        _answer: &mut Value,
    ) -> Result<(), RpcError> {
        Ok(())
    }
}
