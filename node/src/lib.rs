//! # taskproof-node
//!
//! The attester node: the HTTP validation endpoints Othentic's attester
//! already calls (`POST /task/validate`, `POST /validate_task`), a JSON-RPC
//! `sendTask` endpoint that answers with this attester's signed vote,
//! `/healthz` and Prometheus `/metrics`, and the `taskproof` command line.
//!
//! The node is thin: it parses, routes, limits and counts. Every decision
//! about a proof is taken by the task definition's verifier
//! ([`taskproof_core::Verifier`]), driven by the [`Engine`], which adds the
//! node's timeouts, back-pressure and micro-batching.

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod batcher;
pub mod cli;
mod config;
#[cfg(feature = "bls")]
pub mod consensus;
mod engine;
pub mod http;
pub mod logging;
mod metrics;
pub mod signing;
pub mod wire;

pub use cli::main_with;
pub use config::{Attester, AttesterKey, Config, NodeConfig, NotAPrivateKey};
pub use engine::{Admission, Engine, EngineOptions, Overloaded, UnknownTaskDefinition};
pub use metrics::{Metrics, MetricsFormat};
