//! The wire: how a task arrives and how an answer leaves, for both HTTP
//! endpoints and the CLI.
//!
//! Decoding is strict and in one place: a `taskDefinitionId` is a JSON
//! number or a canonical decimal string (`"2"`, never `"+2"`, `" 2 "` or
//! `"002"`), addresses and signatures are `0x`-hex of the right length, and
//! every error quotes at most a short prefix of what was sent. Answers map in
//! one place too: a [`Verdict`] or a [`Rejection`] becomes an HTTP status and
//! Othentic's `{data, error, message}` body, or a JSON-RPC error.

use alloy_primitives::{Address, Bytes};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use taskproof_core::{Verdict, quote};

/// A request refused before any verifier saw it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than `node.max_body_bytes`.
    #[error("request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body did not arrive within `node.body_read_timeout_ms`.
    #[error("request body not received within {ms} ms")]
    BodyTimedOut {
        /// The limit.
        ms: u64,
    },
    /// The body broke off.
    #[error("request body could not be read")]
    BodyBroken,
    /// Request bodies held in memory, all connections together, reached
    /// `node.max_buffered_body_bytes`.
    #[error("node busy: request bodies in memory reached {limit} bytes")]
    BufferFull {
        /// The limit.
        limit: usize,
    },
    /// Not `application/json`.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// The body is not the request this endpoint takes.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The node has no such task definition (`TaskDefinitionNotFound`).
    #[error("TaskDefinitionNotFound({0})")]
    UnknownTaskDefinition(u16),
}

impl Rejection {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::BodyBroken | Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BufferFull { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::UnknownTaskDefinition(_) => StatusCode::NOT_FOUND,
        }
    }
}

/// The answer Othentic's attester reads from `/task/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateAnswer {
    /// Vote valid.
    pub data: bool,
    /// The attester could not decide, or the request was refused.
    pub error: bool,
    /// The reason, the cause or the refusal.
    pub message: Option<String>,
}

/// A verdict as `/task/validate` answers it: valid 200 `data: true`, invalid
/// 200 `data: false` with the reason, undecided 503 `error: true` with the
/// cause (so the attester abstains).
pub fn verdict_answer(verdict: &Verdict) -> (StatusCode, ValidateAnswer) {
    let message = verdict.message().map(str::to_owned);
    match verdict {
        Verdict::Valid => (
            StatusCode::OK,
            ValidateAnswer {
                data: true,
                error: false,
                message,
            },
        ),
        Verdict::Invalid { .. } => (
            StatusCode::OK,
            ValidateAnswer {
                data: false,
                error: false,
                message,
            },
        ),
        Verdict::Undecided { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            ValidateAnswer {
                data: false,
                error: true,
                message,
            },
        ),
    }
}

/// A refusal as `/task/validate` answers it.
pub fn rejection_answer(rejection: &Rejection) -> (StatusCode, ValidateAnswer) {
    (
        rejection.status(),
        ValidateAnswer {
            data: false,
            error: true,
            message: Some(rejection.to_string()),
        },
    )
}

/// JSON-RPC error codes, standard and contract-style.
pub mod rpc_code {
    /// Not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad params.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Our fault.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// `TaskDefinitionNotFound(id)`.
    pub const TASK_DEFINITION_NOT_FOUND: i64 = -32001;
    /// `InvalidPerformerSignature`.
    pub const INVALID_PERFORMER_SIGNATURE: i64 = -32002;
    /// `OperatorDoesNotHaveMinimumVotingPower(index)`.
    pub const MINIMUM_VOTING_POWER: i64 = -32003;
    /// `InvalidRestrictedOperator(taskDefinitionId, index)`.
    pub const RESTRICTED_OPERATOR: i64 = -32004;
    /// `UnsupportedSignatureType`.
    pub const UNSUPPORTED_SIGNATURE_TYPE: i64 = -32005;
    /// `Undecided`: no vote.
    pub const UNDECIDED: i64 = -32006;
    /// `AttesterKeyNotConfigured` / `AttestationCenterNotConfigured` /
    /// `JournalNotConfigured`.
    pub const NOT_CONFIGURED: i64 = -32007;
    /// `UnsupportedTargetChain`.
    pub const UNSUPPORTED_CHAIN: i64 = -32008;
    /// The request could not be taken (too large, too slow, wrong media type).
    pub const REQUEST_REFUSED: i64 = -32009;
    /// `MessageAlreadySigned`: this attester voted the other way on the task.
    pub const MESSAGE_ALREADY_SIGNED: i64 = -32010;
}

/// A JSON-RPC error object, with the contract-style name in `data.error`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The code.
    pub code: i64,
    /// What went wrong.
    pub message: String,
    /// `{"error": name}` for contract-style errors.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error without a name.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// An error carrying a contract-style name in `data.error`.
    pub fn named(code: i64, name: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Some(json!({ "error": name })),
        }
    }

    /// The response object for request `id`.
    pub fn to_json(&self, id: Value) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({ "jsonrpc": "2.0", "error": error, "id": id })
    }
}

impl From<&Rejection> for RpcError {
    fn from(rejection: &Rejection) -> Self {
        match rejection {
            Rejection::UnknownTaskDefinition(_) => Self::named(
                rpc_code::TASK_DEFINITION_NOT_FOUND,
                "TaskDefinitionNotFound",
                rejection.to_string(),
            ),
            Rejection::Malformed(_) => Self::new(rpc_code::INVALID_REQUEST, rejection.to_string()),
            _ => Self::new(rpc_code::REQUEST_REFUSED, rejection.to_string()),
        }
    }
}

/// An undecided verdict as `sendTask` answers it: no vote, nothing signed.
pub fn undecided_rpc_error(cause: &str) -> RpcError {
    RpcError::named(
        rpc_code::UNDECIDED,
        "Undecided",
        format!("no vote: this attester abstains: {cause}"),
    )
}

/// A body that is not the JSON an endpoint takes. serde's messages can
/// repeat a value whole (`invalid type: string "…"`), so they are cut.
pub fn malformed(e: &serde_json::Error) -> Rejection {
    Rejection::Malformed(cut(&e.to_string(), 200))
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Why a field could not be decoded; says which field and quotes a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(String);

/// A `taskDefinitionId`: a JSON number in 0..=65535 or a canonical decimal
/// string of one (digits only, no sign, spaces or leading zeros).
pub fn task_definition_id(value: &Value) -> Result<u16, FieldError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if canonical_decimal(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) => u16::try_from(n)
            .map_err(|_| FieldError(format!("taskDefinitionId: expected 0 to 65535, got {n}"))),
        None => Err(FieldError(format!(
            "taskDefinitionId: expected an integer 0 to 65535 or a decimal string of one, got {}",
            shown(value)
        ))),
    }
}

/// Serde adapter for [`task_definition_id`].
pub fn deserialize_task_definition_id<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let value = Value::deserialize(d)?;
    task_definition_id(&value).map_err(serde::de::Error::custom)
}

fn canonical_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// A JSON value shown in an error: strings quoted and cut, others by type.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s).to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `data` on `/task/validate`: `0x`-hex bytes when it reads as such,
/// otherwise the text's UTF-8 bytes (Othentic's examples send both).
pub fn data_hex_or_text(data: &str) -> Bytes {
    if let Some(bytes) = data
        .strip_prefix("0x")
        .filter(|hex| hex.len() % 2 == 0 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| alloy_primitives::hex::decode(hex).ok())
    {
        return Bytes::from(bytes);
    }
    Bytes::copy_from_slice(data.as_bytes())
}

/// Strict `0x`-hex bytes (`sendTask`'s `data` and ECDSA signature).
pub fn hex_bytes(value: &Value, what: &str) -> Result<Bytes, FieldError> {
    value
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .filter(|h| h.len() % 2 == 0)
        .and_then(|h| alloy_primitives::hex::decode(h).ok())
        .map(Bytes::from)
        .ok_or_else(|| {
            FieldError(format!(
                "{what}: expected 0x-prefixed hex bytes, got {}",
                shown(value)
            ))
        })
}

/// A `0x`-prefixed 20-byte address (any case; a mixed-case address must
/// carry a valid EIP-55 checksum).
pub fn address(value: &Value, what: &str) -> Result<Address, FieldError> {
    value
        .as_str()
        .filter(|s| s.len() == 42 && s.starts_with("0x"))
        .and_then(|s| s.parse::<Address>().ok())
        .ok_or_else(|| {
            FieldError(format!(
                "{what}: expected a 0x-prefixed 20-byte address (0x and 40 hex digits), got {}",
                shown(value)
            ))
        })
}

/// Whether a `content-type` header value is JSON (`application/json`, with
/// or without parameters, any case).
pub fn is_json_media_type(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_ids_must_be_canonical() {
        assert_eq!(task_definition_id(&json!(2)), Ok(2));
        assert_eq!(task_definition_id(&json!("2")), Ok(2));
        assert_eq!(task_definition_id(&json!("0")), Ok(0));
        assert_eq!(task_definition_id(&json!(65535)), Ok(65535));
        for bad in [
            json!("+2"),
            json!(" 2 "),
            json!("002"),
            json!("2.0"),
            json!(2.5),
            json!(-1),
            json!(""),
            json!("0x2"),
            json!(null),
            json!([2]),
        ] {
            let e = task_definition_id(&bad).unwrap_err();
            assert!(e.0.starts_with("taskDefinitionId: expected"), "{bad}: {e}");
        }
        assert_eq!(
            task_definition_id(&json!(65536)).unwrap_err().0,
            "taskDefinitionId: expected 0 to 65535, got 65536"
        );
    }

    #[test]
    fn errors_quote_only_a_prefix_of_what_was_sent() {
        let huge = json!("9".repeat(1 << 20));
        let e = task_definition_id(&huge).unwrap_err();
        assert!(e.0.len() < 200, "{}", e.0.len());
        let e = address(&json!("x".repeat(1 << 20)), "performer").unwrap_err();
        assert!(e.0.len() < 200, "{}", e.0.len());
        assert!(
            e.0.starts_with("performer: expected a 0x-prefixed 20-byte address"),
            "{}",
            e.0
        );
    }

    #[test]
    fn data_is_hex_when_it_reads_as_hex_and_text_otherwise() {
        assert_eq!(data_hex_or_text("0x0102").as_ref(), &[1, 2]);
        assert_eq!(data_hex_or_text("0x").as_ref(), b"");
        assert_eq!(data_hex_or_text("hello").as_ref(), b"hello");
        assert_eq!(data_hex_or_text("0xzz").as_ref(), b"0xzz");
        assert_eq!(data_hex_or_text("0x123").as_ref(), b"0x123");
    }

    #[test]
    fn only_json_is_a_json_media_type() {
        assert!(is_json_media_type(b"application/json"));
        assert!(is_json_media_type(b"Application/JSON; charset=utf-8"));
        for other in [
            &b"text/plain"[..],
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
            b"application/jsonx",
            b"",
        ] {
            assert!(!is_json_media_type(other));
        }
    }

    #[test]
    fn verdicts_map_to_othentic_answers() {
        let (s, a) = verdict_answer(&Verdict::Valid);
        assert_eq!((s.as_u16(), a.data, a.error), (200, true, false));
        let (s, a) = verdict_answer(&Verdict::invalid("no"));
        assert_eq!((s.as_u16(), a.data, a.error), (200, false, false));
        assert_eq!(a.message.as_deref(), Some("no"));
        let (s, a) = verdict_answer(&Verdict::undecided("down"));
        assert_eq!((s.as_u16(), a.data, a.error), (503, false, true));
    }
}
