//! `format = "reclaim"`: Reclaim Protocol attestor claims.

use std::sync::Arc;

use taskproof_core::{BuildContext, ConfigError, Verifier};

/// Builds a `tls` verifier of format `reclaim`.
pub(crate) fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    Err(ctx.error("format", "format \"reclaim\" is not available yet"))
}
