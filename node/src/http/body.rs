//! Reading a request body, with the request-level limits in the order they
//! apply: the media type (before anything is read), the declared and actual
//! size (`max_body_bytes`), the bytes all connections may buffer at once
//! (`max_buffered_body_bytes`), and the time the body may take
//! (`body_read_timeout_ms`).

use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, header},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    metrics::{Metrics, Refusal},
    wire::{self, Rejection},
};

/// The buffered bytes are counted in units of this many bytes.
const UNIT: usize = 1024;

/// The request bytes all connections may hold at once.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    units: Arc<Semaphore>,
    max_bytes: usize,
}

impl BodyBudget {
    pub(crate) fn new(max_bytes: usize) -> Self {
        let units = max_bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        Self {
            units: Arc::new(Semaphore::new(units)),
            max_bytes,
        }
    }
}

/// A body held in memory, counted against the budget until dropped.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) bytes: Bytes,
    _budget: OwnedSemaphorePermit,
}

/// The limits [`receive`] applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    pub(crate) max_body_bytes: usize,
    pub(crate) timeout: Duration,
}

/// Refuses anything but JSON before a byte of the body is read.
pub(crate) fn check_media_type(headers: &HeaderMap, metrics: &Metrics) -> Result<(), Rejection> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| wire::is_json_media_type(v.as_bytes()));
    if json {
        Ok(())
    } else {
        metrics.refusal(Refusal::media_type);
        Err(Rejection::UnsupportedMediaType)
    }
}

/// Reads the body within the size, budget and time limits.
pub(crate) async fn receive(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
    budget: &BodyBudget,
    metrics: &Metrics,
) -> Result<Received, Rejection> {
    let too_large = || {
        metrics.refusal(Refusal::body_too_large);
        Rejection::BodyTooLarge {
            limit: limits.max_body_bytes,
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_body_bytes as u64) {
        return Err(too_large());
    }
    // A body of unknown length reserves the most it may be.
    let reserve = declared.map_or(limits.max_body_bytes, |len| len as usize);
    let units = u32::try_from(reserve.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
    let Ok(permit) = Arc::clone(&budget.units).try_acquire_many_owned(units) else {
        metrics.refusal(Refusal::buffered_bytes);
        return Err(Rejection::BufferFull {
            limit: budget.max_bytes,
        });
    };
    let collected = tokio::time::timeout(
        limits.timeout,
        Limited::new(body, limits.max_body_bytes).collect(),
    )
    .await;
    match collected {
        Err(_) => {
            metrics.refusal(Refusal::body_timeout);
            Err(Rejection::BodyTimedOut {
                ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
            })
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(_)) => Err(Rejection::BodyBroken),
        Ok(Ok(collected)) => Ok(Received {
            bytes: collected.to_bytes(),
            _budget: permit,
        }),
    }
}
