//! A task program for re-execution (the `task-program` world): the
//! performer's own computation, which every attester runs again on the task's
//! data and compares with proofOfTask.
//!
//! The task: statistics of a JSON array of numbers (`[3, 1.5, 4]`), output
//! as JSON `{"count":3,"sum":8.5,"mean":2.8333333333333335,"max":4.0}`. The
//! program is deterministic: no imports at all, so no clock or randomness,
//! and the host canonicalizes NaNs.

wit_bindgen::generate!({ path: "../../../wit", world: "task-program" });

use serde_json::{Value, json};

struct Stats;

impl Guest for Stats {
    fn execute(input: Vec<u8>) -> Result<Vec<u8>, String> {
        let numbers: Vec<Value> =
            serde_json::from_slice(&input).map_err(|e| format!("the input is not a JSON array: {e}"))?;
        let mut sum = 0.0f64;
        let mut max = f64::NEG_INFINITY;
        for (i, n) in numbers.iter().enumerate() {
            let n = n.as_f64().ok_or(format!("input[{i}] is not a number"))?;
            sum += n;
            max = max.max(n);
        }
        if numbers.is_empty() {
            return Err("the input is empty".into());
        }
        let count = numbers.len();
        let out = json!({ "count": count, "sum": sum, "mean": sum / count as f64, "max": max });
        Ok(out.to_string().into_bytes())
    }
}

export!(Stats);
