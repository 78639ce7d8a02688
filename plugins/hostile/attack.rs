//! The attacks both hostile components share: each returns what a
//! well-behaved program would, or never returns.

use std::{
    hint::black_box,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
};

/// Runs `attack`; returns what a well-behaved plugin would say otherwise.
pub fn attack(name: &str) -> Result<Vec<u8>, String> {
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

static STOP: AtomicBool = AtomicBool::new(false);

/// Recursion whose frames live on the wasm stack (no locals in linear
/// memory), and which the compiler cannot turn into a loop.
fn deep(n: u64) -> u64 {
    if STOP.load(Ordering::Relaxed) {
        return n;
    }
    deep(n + 1).rotate_left((n & 63) as u32)
}

