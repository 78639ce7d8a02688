//! `format = "tls13-handshake"`: a TLS 1.3 handshake transcript bound to the
//! task by a nonce in the ClientHello.

use std::sync::Arc;

use taskproof_core::{BuildContext, ConfigError, Verifier};

/// Builds a `tls` verifier of format `tls13-handshake`.
pub(crate) fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    Err(ctx.error("format", "format \"tls13-handshake\" is not available yet"))
}
