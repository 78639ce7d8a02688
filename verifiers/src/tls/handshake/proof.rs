//! The proof format, version 1: a JSON document holding the handshake
//! messages as they entered the transcript.
//!
//! ```json
//! {"version": 1, "serverName": "api.example.com", "time": 1767225600,
//!  "handshake": ["<base64 ClientHello>", "<ServerHello>", "<EncryptedExtensions>",
//!                "<Certificate>", "<CertificateVerify>"]}
//! ```
//!
//! Each entry is one whole handshake message (type, 24-bit length, body) in
//! standard base64 with padding; a HelloRetryRequest flow starts with
//! ClientHello1, HelloRetryRequest, ClientHello2. `time` is the performer's
//! claim and nothing signs it.

use base64::{Engine, engine::general_purpose::STANDARD};
use serde::{Deserialize, Serialize};
use taskproof_core::quote;

/// The only version this module reads and writes.
pub const VERSION: u64 = 1;

/// The most messages a proof holds: ClientHello1, HelloRetryRequest,
/// ClientHello2, ServerHello, EncryptedExtensions, Certificate,
/// CertificateVerify.
pub const MAX_MESSAGES: usize = 7;

/// A handshake proof, decoded (nothing checked but its shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeProof {
    /// The name the client asked for (its SNI).
    pub server_name: String,
    /// When the performer says the handshake happened (unix seconds).
    pub time: u64,
    /// The handshake messages, each with its 4-byte header.
    pub messages: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    version: u64,
    server_name: String,
    time: u64,
    handshake: Vec<String>,
}

impl HandshakeProof {
    /// Reads a proof of task. The error says what is wrong, quoting at most
    /// a short prefix of what was sent.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let doc: Document = serde_json::from_str(text).map_err(|e| {
            format!(
                "proofOfTask is not a version-1 TLS handshake proof: {}",
                quote(&e.to_string())
            )
        })?;
        if doc.version != VERSION {
            return Err(format!(
                "unsupported proof version {} (this verifier reads version {VERSION})",
                doc.version
            ));
        }
        if doc.handshake.len() > MAX_MESSAGES {
            return Err(format!(
                "the handshake holds {} messages; a full TLS 1.3 handshake up to CertificateVerify has at most {MAX_MESSAGES} (extra messages)",
                doc.handshake.len()
            ));
        }
        let mut messages = Vec::with_capacity(doc.handshake.len());
        for (i, entry) in doc.handshake.iter().enumerate() {
            let bytes = STANDARD.decode(entry).map_err(|e| {
                format!(
                    "handshake[{i}] is not standard base64 with padding ({e}): {}",
                    quote(entry)
                )
            })?;
            messages.push(bytes);
        }
        Ok(Self {
            server_name: doc.server_name,
            time: doc.time,
            messages,
        })
    }

    /// The proof as the JSON document of version 1.
    pub fn to_json(&self) -> String {
        let doc = Document {
            version: VERSION,
            server_name: self.server_name.clone(),
            time: self.time,
            handshake: self.messages.iter().map(|m| STANDARD.encode(m)).collect(),
        };
        // Serializing strings and numbers cannot fail.
        serde_json::to_string(&doc).unwrap_or_default()
    }
}
