//! A JSON claim check with a tolerance, as a taskproof plugin: the performer
//! claims a number in proofOfTask (e.g. `{"ethPrice": 3456.78}`); the plugin
//! GETs the attester's own source through the host (only URLs the task
//! definition's `allow_http` lists) and accepts the claim within a relative
//! tolerance.
//!
//! What it trusts: `plugin_params` (the source URL, the JSON pointers, the
//! tolerance) and the source's answer. What it does not: proofOfTask. A
//! source that cannot be read is undecided, never invalid.

wit_bindgen::generate!({ path: "../../../wit", world: "verifier" });

use serde_json::Value;
use taskproof::verifier::host::{http_get, log};

struct Claim;

impl Guest for Claim {
    fn verify(params: String, task: Task) -> Verdict {
        let params: Value = match serde_json::from_str(&params) {
            Ok(v) => v,
            Err(e) => return Verdict::Undecided(format!("plugin_params: {e}")),
        };
        let (Some(url), Some(source), Some(claim)) = (
            params.get("url").and_then(Value::as_str),
            params.get("source_pointer").and_then(Value::as_str),
            params.get("claim_pointer").and_then(Value::as_str),
        ) else {
            return Verdict::Undecided("plugin_params needs url, source_pointer and claim_pointer".into());
        };
        let tolerance = params.get("tolerance_percent").and_then(Value::as_f64).unwrap_or(0.0);

        let proof: Value = match serde_json::from_str(&task.proof_of_task) {
            Ok(v) => v,
            Err(e) => return Verdict::Invalid(format!("proofOfTask is not JSON: {e}")),
        };
        let Some(claimed) = proof.pointer(claim).and_then(Value::as_f64) else {
            return Verdict::Invalid(format!("proofOfTask has no number at {claim}"));
        };
        let body = match http_get(url) {
            Ok(body) => body,
            // The attester's trouble: abstain.
            Err(cause) => return Verdict::Undecided(cause),
        };
        let answer: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return Verdict::Undecided(format!("the source's answer is not JSON: {e}")),
        };
        let Some(actual) = answer.pointer(source).and_then(Value::as_f64) else {
            return Verdict::Undecided(format!("the source has no number at {source}"));
        };
        let allowed = actual.abs() * tolerance / 100.0;
        let off = (claimed - actual).abs();
        log(&format!("claimed {claimed}, source {actual}, allowed ±{allowed}"));
        if off <= allowed {
            Verdict::Valid
        } else {
            Verdict::Invalid(format!(
                "claimed {claimed}, the source says {actual}: off by {off}, more than {tolerance}%"
            ))
        }
    }
}

export!(Claim);
