//! One source's answer: fetched under the retrieval policy, then read once.
//!
//! Every failure here is the attester's trouble, never the performer's: it
//! ends as `Undecided`. The values of every field a source provides are
//! extracted from the answer's text when it arrives, so the answer cached
//! for `cache_ttl_ms` costs nothing more per request.

use std::sync::Arc;

use tokio::time::Instant;

use super::{
    json::{self, ReadError, Scalar},
    params::{Field, Source},
};
use crate::retrieval::{FetchError, Fetcher};

/// Why a source gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The body is not JSON (an HTML error page, a truncated answer).
    #[error("the response is not JSON: {0}")]
    NotJson(String),
    /// No source has this index in the config.
    #[error("no source {0} is configured")]
    NoSuchSource(usize),
}

/// What one source answered: the value (or the problem) of each field it
/// provides, read once from the answer's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAnswer {
    /// Indexed like the fields; `None` for fields this source does not
    /// provide.
    values: Vec<Option<Result<Scalar, ReadError>>>,
}

impl SourceAnswer {
    /// Reads the fields `source` provides from a JSON body.
    pub(crate) fn read(
        source: &Source,
        fields: &[Field],
        body: &[u8],
    ) -> Result<Self, SourceError> {
        let root = json::document_bytes(body).map_err(|e| SourceError::NotJson(e.to_string()))?;
        let mut values = vec![None; fields.len()];
        for (index, pointer) in &source.provides {
            let (Some(slot), Some(field)) = (values.get_mut(*index), fields.get(*index)) else {
                continue;
            };
            *slot = Some(json::read(field.kind, json::pointer(root, pointer)));
        }
        Ok(Self { values })
    }

    /// An answer providing no field (tests of the cache).
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Self { values: Vec::new() }
    }

    /// The value of field `index`, if this source provides it.
    pub(crate) fn value(&self, index: usize) -> Option<&Result<Scalar, ReadError>> {
        self.values.get(index)?.as_ref()
    }
}

/// Fetches and reads one source, with the policy's retries, within its total
/// timeout.
pub(crate) async fn fetch(
    fetcher: &Fetcher,
    source: &Source,
    fields: &[Field],
) -> Result<Arc<SourceAnswer>, SourceError> {
    let policy = fetcher.policy();
    let deadline = Instant::now() + policy.total_timeout;
    let body = fetcher
        .get_bytes(&source.endpoint, deadline, policy.max_response_bytes)
        .await?;
    SourceAnswer::read(source, fields, &body).map(Arc::new)
}
