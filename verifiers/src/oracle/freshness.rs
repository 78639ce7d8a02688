//! The proof's own timestamp must be close to the attester's clock, so a
//! performer cannot replay yesterday's (correct at the time) prices. The
//! timestamp is read and compared exactly, like every other number.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;

use super::{
    json::{self, Scalar},
    number::Decimal,
    params::{FieldKind, FreshnessParams, TimeUnit},
};

/// Checks the proof's timestamp against `now`; `Err` is the reason the proof is
/// invalid.
pub(crate) fn check(
    params: &FreshnessParams,
    proof: &RawValue,
    now: SystemTime,
) -> Result<(), String> {
    let stamp = match json::read(FieldKind::Number, json::pointer(proof, &params.pointer)) {
        Ok(Scalar::Number(stamp)) => stamp,
        Ok(_) | Err(_) => {
            return Err(format!(
                "the proof has no numeric timestamp at `{}`",
                params.pointer
            ));
        }
    };
    let seconds = match params.unit {
        TimeUnit::Seconds => stamp.clone(),
        TimeUnit::Milliseconds => stamp.thousandth(),
    };
    // A clock before 1970 is the attester's problem; treat it as the epoch.
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .min(i128::MAX as u128) as i128;
    let now = Decimal::from_integer(now_ms).thousandth();
    let age = now.minus(&seconds);
    let max = Decimal::from_integer(i128::from(params.max_age_secs));
    if age > max {
        Err(format!(
            "the proof's timestamp {stamp} is {} s old, more than the allowed {max} s",
            age.whole()
        ))
    } else if age.abs() > max {
        Err(format!(
            "the proof's timestamp {stamp} is {} s in the future, more than the allowed {max} s",
            age.abs().whole()
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

    fn run(unit: TimeUnit, proof: &str) -> Result<(), String> {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        check(&params(unit), json::document(proof).unwrap(), now)
    }

    #[test]
    fn rejects_replayed_stale_proof() {
        assert_eq!(
            run(TimeUnit::Seconds, r#"{"ts": 1699999939}"#),
            Err("the proof's timestamp 1699999939 is 61 s old, more than the allowed 60 s".into())
        );
        assert_eq!(run(TimeUnit::Seconds, r#"{"ts": 1699999940}"#), Ok(()));
        assert_eq!(
            run(TimeUnit::Milliseconds, r#"{"ts": 1700000059000}"#),
            Ok(())
        );
        // One millisecond past the window is past it.
        assert!(run(TimeUnit::Milliseconds, r#"{"ts": 1699999939999}"#).is_err());
        assert_eq!(
            run(TimeUnit::Seconds, r#"{"ts": "1700003600"}"#),
            Err("the proof's timestamp 1700003600 is 3600 s in the future, more than the allowed 60 s".into())
        );
        assert_eq!(
            run(TimeUnit::Seconds, r#"{"when": 1}"#),
            Err("the proof has no numeric timestamp at `/ts`".into())
        );
    }
}
