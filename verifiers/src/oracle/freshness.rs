//! The proof's own timestamp must be close to the attester's clock, so a
//! performer cannot replay yesterday's (correct at the time) prices.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{
    compare::{Scalar, read},
    params::{FieldKind, FreshnessParams, TimeUnit},
};

/// Checks the proof's timestamp against `now`; `Err` is the reason the proof is
/// invalid.
pub(crate) fn check(
    params: &FreshnessParams,
    proof: &Value,
    now: SystemTime,
) -> Result<(), String> {
    let Some(Scalar::Number(stamp)) = proof
        .pointer(&params.pointer)
        .and_then(|v| read(FieldKind::Number, v))
    else {
        return Err(format!(
            "the proof has no numeric timestamp at `{}`",
            params.pointer
        ));
    };
    let seconds = match params.unit {
        TimeUnit::Seconds => stamp,
        TimeUnit::Milliseconds => stamp / 1000.0,
    };
    // A clock before 1970 is the attester's problem; treat it as the epoch.
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let age = now - seconds;
    // u64 -> f64 loses precision only beyond 2^53 seconds, far past any window.
    let max = params.max_age_secs as f64;
    if age > max {
        Err(format!(
            "the proof's timestamp {stamp} is {age:.0} s old, more than the allowed {max} s"
        ))
    } else if -age > max {
        Err(format!(
            "the proof's timestamp {stamp} is {:.0} s in the future, more than the allowed {max} s",
            -age
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn params(unit: TimeUnit) -> FreshnessParams {
        FreshnessParams {
            pointer: "/ts".into(),
            max_age_secs: 60,
            unit,
        }
    }

    #[test]
    fn rejects_replayed_stale_proof() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let proof = serde_json::json!({"ts": 1_700_000_000 - 61});
        assert!(check(&params(TimeUnit::Seconds), &proof, now).is_err());
        let proof = serde_json::json!({"ts": 1_700_000_000 - 60});
        assert!(check(&params(TimeUnit::Seconds), &proof, now).is_ok());
        let proof = serde_json::json!({"ts": 1_700_000_000_000u64 + 59_000});
        assert!(check(&params(TimeUnit::Milliseconds), &proof, now).is_ok());
        let proof = serde_json::json!({"ts": 1_700_000_000 + 3600});
        assert!(check(&params(TimeUnit::Seconds), &proof, now).is_err());
        let proof = serde_json::json!({"when": 1});
        assert!(check(&params(TimeUnit::Seconds), &proof, now).is_err());
    }
}
