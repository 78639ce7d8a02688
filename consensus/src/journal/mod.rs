//! The journal: an attester never signs both ways.
//!
//! An attester that signs approve and reject for the same task can be
//! slashed, and one that crashes between signing and recording could do it
//! without knowing. So a vote is recorded, durably, *before* its signature
//! leaves the node: [`Journal::record`] returns only once `(task, approve)`
//! is on disk (or committed by the database), a second request for the same
//! task with the same answer is a [`Recorded::Repeat`] (the node signs the
//! same vote again: BLS signatures are deterministic), and the opposite
//! answer is refused with [`JournalError::AlreadySigned`], across restarts
//! and across the replicas that share one journal.
//!
//! The task key is opaque here: the node derives it from everything that
//! identifies a task for one AttestationCenter on one chain.
//!
//! It trusts the storage it is given to keep what it acknowledged.

use std::{collections::HashMap, sync::Mutex};

mod postgres;
mod redb;

pub use self::postgres::{CONNECT_TIMEOUT, PostgresJournal, QUERY_TIMEOUT};
pub use self::redb::{MAX_BATCH, RedbJournal};

use alloy_primitives::B256;
use async_trait::async_trait;

/// What the journal holds for a task after [`Journal::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The first vote on this task: now durable.
    New,
    /// The same vote was recorded before (a retry, or another replica).
    Repeat,
}

/// Why a vote may not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The opposite vote on this task was signed before.
    #[error("MessageAlreadySigned: this attester already voted to {} task {task}", if *.approved { "approve" } else { "reject" })]
    AlreadySigned {
        /// The task key.
        task: B256,
        /// The vote recorded before.
        approved: bool,
    },
    /// The journal cannot make the vote durable (disk, database): nothing is
    /// signed.
    #[error("the vote journal is unavailable, so nothing was signed: {0}")]
    Unavailable(String),
}

/// Where votes are recorded before they are signed.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Records that this attester votes `approve` on `task`. Returns only
    /// once the record is durable; never records the opposite of an earlier
    /// vote.
    async fn record(&self, task: B256, approve: bool) -> Result<Recorded, JournalError>;
}

/// A journal in memory, for tests and tools: it forgets on restart, so a
/// node never uses it to sign votes.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    votes: Mutex<HashMap<B256, bool>>,
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn record(&self, task: B256, approve: bool) -> Result<Recorded, JournalError> {
        let mut votes = self
            .votes
            .lock()
            .map_err(|_| JournalError::Unavailable("the journal's lock is poisoned".into()))?;
        match votes.get(&task) {
            Some(&approved) if approved == approve => Ok(Recorded::Repeat),
            Some(&approved) => Err(JournalError::AlreadySigned { task, approved }),
            None => {
                votes.insert(task, approve);
                Ok(Recorded::New)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_opposite_vote_is_refused_and_the_same_one_repeated() {
        let journal = MemoryJournal::default();
        let task = B256::repeat_byte(7);
        assert_eq!(journal.record(task, true).await, Ok(Recorded::New));
        assert_eq!(journal.record(task, true).await, Ok(Recorded::Repeat));
        let refused = journal.record(task, false).await.unwrap_err();
        assert_eq!(
            refused,
            JournalError::AlreadySigned {
                task,
                approved: true
            }
        );
        assert!(refused.to_string().starts_with("MessageAlreadySigned"));
        assert_eq!(
            journal.record(B256::repeat_byte(8), false).await,
            Ok(Recorded::New)
        );
    }
}
