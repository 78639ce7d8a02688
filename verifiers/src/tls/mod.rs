//! The `tls` verifier: what can honestly be proven about a TLS session.
//!
//! A TLS session proves nothing to a third party by itself: the client holds
//! the traffic keys and can forge any response, and a session id is a random
//! number the client could invent. Two things can be proven, one format each:
//!
//! - `format = "reclaim"`: **what an HTTPS API returned**, attested by
//!   witnesses who watched the session (Reclaim Protocol's attestors). Trust
//!   comes only from the attester's own allowlist of attestor addresses.
//! - `format = "tls13-handshake"`: **that a session with a given server
//!   happened after the task existed, with the negotiated security**: the
//!   server's CertificateVerify signs the transcript hash of a ClientHello
//!   carrying a nonce derived from the task. It proves liveness, identity and
//!   the negotiated parameters, never what the server sent afterwards.

pub mod handshake;
pub mod reclaim;

use std::sync::Arc;

use serde::Deserialize;
use taskproof_core::{BuildContext, ConfigError, Verifier, VerifierFactory};

/// The factory for kind `tls`: `params.format` picks the format.
#[derive(Debug, Default, Clone, Copy)]
pub struct TlsFactory;

/// The formats, by their `format` name.
const FORMATS: &str = "\"reclaim\" or \"tls13-handshake\"";

impl VerifierFactory for TlsFactory {
    fn kind(&self) -> &str {
        "tls"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        #[derive(Deserialize)]
        struct Format {
            format: Option<String>,
        }
        let format = toml::Value::Table(ctx.raw_params().clone())
            .try_into::<Format>()
            .ok()
            .and_then(|f| f.format);
        match format.as_deref() {
            Some("reclaim") => reclaim::build(ctx),
            Some("tls13-handshake") => handshake::build(ctx),
            Some(other) => Err(ctx.error(
                "format",
                format!("unknown format `{other}` (expected {FORMATS})"),
            )),
            None => Err(ctx.error("format", format!("a string is required: {FORMATS}"))),
        }
    }
}
