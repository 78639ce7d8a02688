//! # taskproof-core
//!
//! The contracts every taskproof verifier and node is built on. An attester
//! receives a [`Task`] (Othentic's `TaskInfo`), looks up the task definition by
//! `taskDefinitionId`, hands the task to that definition's [`Verifier`] and
//! turns the [`Verdict`] into a vote.
//!
//! This crate does no networking and no heavy cryptography. It holds:
//!
//! - [`Task`] and [`Verdict`], the input and output of every verification;
//! - [`Verifier`] and [`VerifierFactory`], what a verifier kind implements;
//! - [`Registry`], the map from kind names (`"merkle"`, `"groth16"`, ...) to
//!   factories, which a user extends with custom kinds;
//! - [`TaskDefinitions`], the task definitions of a TOML config file, every
//!   verifier built and every mistake reported at load time;
//! - [`cpu`], a bounded pool that keeps CPU-heavy verification off the async
//!   reactor, and [`deadline`], the time limit that follows a verification
//!   into its CPU loops;
//! - [`observe`], how verifiers report what the node counts (failed
//!   fetches) without knowing about metrics;
//! - [`read_capped`], how every file named in a config is read (never more
//!   than a stated size, whatever the file claims or is).
//!
//! ## Non-features
//!
//! - A verdict is never derived from the attester's own trouble: a source that
//!   is down, a timeout or an overloaded pool is [`Verdict::Undecided`], never
//!   [`Verdict::Invalid`].
//! - Nothing here trusts the task's content: verifiers are built from the
//!   attester's own configuration, and the task only supplies the claim.
//!
//! ## A custom verifier
//!
//! A kind is a closure from its typed params to a verifier; a stateless
//! check is a function of the task:
//!
//! ```
//! use serde::Deserialize;
//! use taskproof_core::{Registry, Verdict, verify_fn};
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Params {
//!     max_len: usize,
//! }
//!
//! let mut registry = Registry::new();
//! registry
//!     .register_fn("short", |p: Params, _ctx| {
//!         Ok(verify_fn(move |task| match task.proof_of_task.len() {
//!             0 => Verdict::invalid("proofOfTask is empty"),
//!             n if n > p.max_len => Verdict::invalid(format!("{n} bytes, more than {}", p.max_len)),
//!             _ => Verdict::Valid,
//!         }))
//!     })
//!     .unwrap();
//! assert!(registry.get("short").is_some());
//! ```
//!
//! Kinds with state, I/O or batching implement [`Verifier`] (and, when a
//! closure is not enough, [`VerifierFactory`]).

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod config;
pub mod cpu;
pub mod deadline;
pub mod ecrecover;
mod files;
pub mod observe;
mod registry;
mod task;
mod verdict;
mod verifier;

pub use async_trait::async_trait;
pub use config::{
    BuildContext, ConfigError, InnerVerifier, MAX_CONFIG_BYTES, MAX_PARAM_FILE_BYTES,
    TaskDefinition, TaskDefinitions, deserialize_bytes32, deserialize_uint256, parse_document,
    read_config_text,
};
pub use deadline::{Deadline, Expired};
pub use files::{FileTooLarge, read_capped};
pub use registry::{DuplicateKind, NoParams, Registry, verify_fn};
pub use task::{PerformerSignature, SignatureType, Task};
pub use verdict::{MAX_MESSAGE_BYTES, Outcome, QUOTE_CHARS, Quoted, Verdict, quote};
pub use verifier::{BatchPolicy, Verifier, VerifierFactory};

/// Re-exported so verifiers and users share one set of primitive types.
pub use alloy_primitives::{Address, B256, Bytes, U256};
