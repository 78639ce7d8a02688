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
//! ```
//! use std::sync::Arc;
//! use taskproof_core::{async_trait, BuildContext, ConfigError, Registry, Task, Verdict, Verifier, VerifierFactory};
//!
//! struct NonEmpty;
//!
//! #[async_trait]
//! impl Verifier for NonEmpty {
//!     async fn verify(&self, task: &Task) -> Verdict {
//!         if task.proof_of_task.is_empty() {
//!             Verdict::invalid("proofOfTask is empty")
//!         } else {
//!             Verdict::Valid
//!         }
//!     }
//! }
//!
//! struct NonEmptyFactory;
//!
//! impl VerifierFactory for NonEmptyFactory {
//!     fn kind(&self) -> &str {
//!         "non-empty"
//!     }
//!     fn build(&self, _ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
//!         Ok(Arc::new(NonEmpty))
//!     }
//! }
//!
//! let mut registry = Registry::new();
//! registry.register(NonEmptyFactory).unwrap();
//! assert!(registry.get("non-empty").is_some());
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod config;
pub mod cpu;
pub mod deadline;
mod files;
mod registry;
mod task;
mod verdict;
mod verifier;

pub use async_trait::async_trait;
pub use config::{
    BuildContext, ConfigError, InnerVerifier, MAX_CONFIG_BYTES, MAX_PARAM_FILE_BYTES,
    TaskDefinition, TaskDefinitions, deserialize_uint256, read_config_text,
};
pub use deadline::{Deadline, Expired};
pub use files::{FileTooLarge, read_capped};
pub use registry::{DuplicateKind, Registry};
pub use task::{PerformerSignature, SignatureType, Task};
pub use verdict::{MAX_MESSAGE_BYTES, Outcome, QUOTE_CHARS, Quoted, Verdict, quote};
pub use verifier::{BatchPolicy, Verifier, VerifierFactory};

/// Re-exported so verifiers and users share one set of primitive types.
pub use alloy_primitives::{Address, B256, Bytes, U256};
