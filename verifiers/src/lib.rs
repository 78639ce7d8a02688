//! # taskproof-verifiers
//!
//! The built-in verifier kinds, one module and one cargo feature each. A
//! build that needs only one kind compiles only that kind's dependencies.
//!
//! | kind | feature | what it checks |
//! |---|---|---|
//! | `eigenda` | `eigenda` | a blob fetched from an eigenda-proxy style endpoint and checked against its KZG commitment, optionally handed to an inner verifier |
//! | `ipfs` | `ipfs` | content named by a CID, fetched from gateways and proven (CAR or rebuilt DAG), optionally handed to an inner verifier |
//! | `merkle` | `merkle` | membership and state-update proofs against a trusted root |
//! | `oracle` | `oracle` | claimed JSON values against the attester's own sources, within tolerance |
//! | `location` | `location` | Astral location attestations (EAS off-chain, EIP-712) against geofences |
//! | `groth16` | `groth16` | circom/snarkjs Groth16 proofs over BN254, batched |
//! | `tls` | `tls` | TLS session proofs: Reclaim attestor claims, TLS 1.3 handshake transcripts |
//! | `wasm` | `wasm` | a WebAssembly component loaded at run time: a plugin's own verdict, or the performer's program re-executed |
//!
//! [`builtin_registry`] returns a [`Registry`] holding every kind compiled in.

// One `unsafe` block in the crate, allowed where it stands: handing the
// wasm kind's own compiled code back to wasmtime (`wasm::engine`).
#![deny(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

use taskproof_core::{DuplicateKind, Registry};

#[cfg(feature = "eigenda")]
pub mod eigenda;
#[cfg(feature = "groth16")]
pub mod groth16;
#[cfg(feature = "ipfs")]
pub mod ipfs;
#[cfg(feature = "location")]
pub mod location;
#[cfg(feature = "merkle")]
pub mod merkle;
#[cfg(any(feature = "groth16", feature = "eigenda"))]
mod msm_table;
#[cfg(feature = "oracle")]
pub mod oracle;
#[cfg(any(feature = "oracle", feature = "ipfs", feature = "eigenda"))]
pub mod retrieval;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "wasm")]
pub mod wasm;

/// A registry with every built-in kind enabled by cargo features.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::new();
    register_builtins(&mut registry).expect("built-in kind names are unique");
    registry
}

/// Adds every built-in kind to `registry`, which may already hold custom
/// kinds; fails if one of them took a built-in kind's name.
pub fn register_builtins(registry: &mut Registry) -> Result<(), DuplicateKind> {
    let _ = &registry;
    #[cfg(feature = "groth16")]
    registry.register_fn("groth16", groth16::build)?;
    #[cfg(feature = "eigenda")]
    registry.register(eigenda::EigenDaFactory)?;
    #[cfg(feature = "ipfs")]
    registry.register(ipfs::IpfsFactory)?;
    #[cfg(feature = "merkle")]
    registry.register_fn("merkle", merkle::build)?;
    #[cfg(feature = "oracle")]
    registry.register(oracle::OracleFactory)?;
    #[cfg(feature = "location")]
    registry.register_fn("location", |p, ctx| {
        Ok(std::sync::Arc::new(location::LocationVerifier::new(
            p, ctx,
        )?))
    })?;
    #[cfg(feature = "tls")]
    registry.register(tls::TlsFactory)?;
    #[cfg(feature = "wasm")]
    registry.register(wasm::WasmFactory)?;
    Ok(())
}
