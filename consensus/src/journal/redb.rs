//! The embedded journal: one redb file, fsync'd before any vote is signed,
//! with group commit so that concurrent votes share one flush.
//!
//! It trusts the file system to keep what an fsync acknowledged, and redb to
//! refuse a file that is not one of its databases. It trusts nothing else
//! in the file: a vote byte that is neither approve nor reject makes the
//! task unavailable, never a vote.
//!
//! One writer thread owns the database. Callers hand it `(task, approve)`
//! over a bounded channel and wait; the writer takes everything pending (up
//! to [`MAX_BATCH`]), decides and inserts all of it in one write transaction,
//! commits once with redb's durable commit, and only then answers every
//! caller of the batch. A failed commit answers [`JournalError::Unavailable`]
//! to the whole batch: nothing of it may be signed.

use std::{
    fs,
    io::ErrorKind,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use ::redb::{Builder, Database, DatabaseError, Durability, ReadableTable, TableDefinition};
use alloy_primitives::B256;
use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{Journal, JournalError, Recorded};

/// Task key → vote: [`APPROVE`] or [`REJECT`].
const VOTES: TableDefinition<[u8; 32], u8> = TableDefinition::new("taskproof_votes");
const APPROVE: u8 = 1;
const REJECT: u8 = 0;

/// How many requests may wait for the writer. A full queue makes callers
/// wait (backpressure) instead of growing memory.
const QUEUE: usize = 1024;
/// The most requests decided in one transaction, so that one commit's
/// latency stays bounded however deep the queue.
pub const MAX_BATCH: usize = 1024;

struct Request {
    task: B256,
    approve: bool,
    answer: oneshot::Sender<Result<Recorded, JournalError>>,
}

/// The vote journal in a redb file (the default: `[consensus] journal =
/// "taskproof-journal.redb"`).
///
/// [`Journal::record`] returns once the vote is committed with an fsync.
/// The file is locked while a `RedbJournal` holds it: a second process or a
/// second journal on the same file is refused at [`RedbJournal::open`].
/// Dropping the journal finishes the batch in progress and releases the file.
pub struct RedbJournal {
    path: PathBuf,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedbJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbJournal")
            .field("path", &self.path)
            .field("commits", &self.commits())
            .finish()
    }
}

impl RedbJournal {
    /// Opens the journal at `path`, creating it when no file is there.
    ///
    /// Refused, with a message that names the file: a file that is not a
    /// redb database or is corrupt, an existing empty file (a journal that
    /// lost its votes: delete it only if this attester never signed with
    /// it), and a file that another process or another journal holds.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let database = open_or_create(&path)?;
        Self::start(path, database)
    }

    fn start(path: PathBuf, database: Database) -> Result<Self, JournalError> {
        let (requests, queue) = mpsc::channel(QUEUE);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        let writer = std::thread::Builder::new()
            .name("vote-journal".into())
            .spawn(move || write_batches(database, queue, &counter))
            .map_err(|e| unavailable(&path, format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            path,
            requests: Some(requests),
            writer: Some(writer),
            commits,
        })
    }

    /// The file this journal holds.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many write transactions were committed (each one fsync). With
    /// concurrent callers it is fewer than the votes recorded: the ratio is
    /// the mean batch size.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

impl Drop for RedbJournal {
    fn drop(&mut self) {
        // Closing the channel ends the writer after its current batch; joining
        // it closes the database, so the file is free when `drop` returns
        // (a restart in the same process reopens it at once).
        self.requests.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[async_trait]
impl Journal for RedbJournal {
    async fn record(&self, task: B256, approve: bool) -> Result<Recorded, JournalError> {
        let stopped = || unavailable(&self.path, "the journal's writer has stopped".into());
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        let (answer, answered) = oneshot::channel();
        requests
            .send(Request {
                task,
                approve,
                answer,
            })
            .await
            .map_err(|_| stopped())?;
        // No timeout of our own: the caller's deadline may drop this future,
        // and a vote recorded but never signed is safe.
        answered.await.map_err(|_| stopped())?
    }
}

fn unavailable(path: &Path, why: String) -> JournalError {
    JournalError::Unavailable(format!("{}: {why}", path.display()))
}

fn open_or_create(path: &Path) -> Result<Database, JournalError> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => Err(unavailable(
            path,
            "the journal file is empty: it lost the votes it held (delete it only if this \
             attester never signed with it)"
                .into(),
        )),
        Ok(_) => open_existing(path),
        Err(e) if e.kind() == ErrorKind::NotFound => create(path),
        Err(e) => Err(unavailable(path, format!("cannot read the journal: {e}"))),
    }
}

fn open_existing(path: &Path) -> Result<Database, JournalError> {
    // redb is fuzzed, but a hostile file must never take the node down with
    // it: a panic while reading it is one more way of being unreadable.
    let opened = catch_unwind(AssertUnwindSafe(|| Builder::new().open(path))).map_err(|_| {
        unavailable(
            path,
            "not a redb journal, or corrupt (redb panicked reading it)".into(),
        )
    })?;
    let database = opened.map_err(|e| unavailable(path, describe_open_error(e)))?;
    ensure_table(&database).map_err(|e| unavailable(path, e))?;
    Ok(database)
}

fn describe_open_error(e: DatabaseError) -> String {
    match e {
        DatabaseError::DatabaseAlreadyOpen => {
            "the journal is held by another process or another journal in this one (it is \
             locked): two writers could sign both ways"
                .into()
        }
        DatabaseError::Storage(::redb::StorageError::Io(e))
            if e.kind() == ErrorKind::UnexpectedEof =>
        {
            format!("not a redb journal, or truncated: {e}")
        }
        e => format!("not a redb journal, or corrupt: {e}"),
    }
}

/// A new journal appears under its name only once it is a complete, empty
/// database: it is built under a name of its own, then hard-linked into
/// place, which fails if another process created the journal meanwhile (a
/// rename would silently replace that one, and both would then sign).
fn create(path: &Path) -> Result<Database, JournalError> {
    let name = path
        .file_name()
        .ok_or_else(|| unavailable(path, "not a file name".into()))?;
    let mut staging = name.to_os_string();
    staging.push(format!(".creating.{}", std::process::id()));
    let staging = path.with_file_name(staging);
    let _ = fs::remove_file(&staging);
    let database = Builder::new()
        .create_with_file_format_v3(true)
        .create(&staging)
        .map_err(|e| unavailable(path, format!("cannot create the journal: {e}")))?;
    let linked = ensure_table(&database)
        .and_then(|()| fs::hard_link(&staging, path).map_err(|e| e.to_string()));
    let _ = fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            sync_directory(path).map_err(|e| unavailable(path, e))?;
            Ok(database)
        }
        Err(_) if path.exists() => {
            drop(database);
            open_existing(path)
        }
        Err(e) => Err(unavailable(path, format!("cannot create the journal: {e}"))),
    }
}

/// The journal's directory entry must be durable too, or a crash could
/// forget the file with its votes.
fn sync_directory(path: &Path) -> Result<(), String> {
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync the journal's directory: {e}"))
}

/// Creates the table if missing; refuses a redb file whose table of that
/// name holds something else.
fn ensure_table(database: &Database) -> Result<(), String> {
    let mut tx = database.begin_write().map_err(|e| e.to_string())?;
    tx.set_durability(Durability::Immediate);
    tx.open_table(VOTES)
        .map_err(|e| format!("not a vote journal: {e}"))?;
    tx.commit().map_err(|e| e.to_string())
}

fn write_batches(database: Database, mut queue: mpsc::Receiver<Request>, commits: &AtomicU64) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        match decide(&database, &batch) {
            Ok((answers, committed)) => {
                if committed {
                    commits.fetch_add(1, Ordering::Relaxed);
                }
                for (request, answer) in batch.drain(..).zip(answers) {
                    let _ = request.answer.send(answer);
                }
            }
            Err(why) => {
                let why = format!("the vote was not committed, so it must not be signed: {why}");
                for request in batch.drain(..) {
                    let _ = request
                        .answer
                        .send(Err(JournalError::Unavailable(why.clone())));
                }
            }
        }
    }
}

/// Decides every request of a batch in one write transaction, in order, so
/// that the first of two opposite votes in one batch wins. Commits (one
/// fsync) only when something new was inserted: a batch of repeats and
/// refusals only read what an earlier commit made durable.
#[allow(clippy::type_complexity)]
fn decide(
    database: &Database,
    batch: &[Request],
) -> Result<(Vec<Result<Recorded, JournalError>>, bool), String> {
    let mut tx = database.begin_write().map_err(|e| e.to_string())?;
    tx.set_durability(Durability::Immediate);
    let mut answers = Vec::with_capacity(batch.len());
    let mut inserted = false;
    {
        let mut table = tx.open_table(VOTES).map_err(|e| e.to_string())?;
        for request in batch {
            let key: [u8; 32] = request.task.0;
            let stored = table
                .get(key)
                .map_err(|e| e.to_string())?
                .map(|v| v.value());
            answers.push(match stored {
                Some(APPROVE) if request.approve => Ok(Recorded::Repeat),
                Some(REJECT) if !request.approve => Ok(Recorded::Repeat),
                Some(APPROVE) => Err(JournalError::AlreadySigned {
                    task: request.task,
                    approved: true,
                }),
                Some(REJECT) => Err(JournalError::AlreadySigned {
                    task: request.task,
                    approved: false,
                }),
                Some(other) => Err(JournalError::Unavailable(format!(
                    "the journal holds vote byte {other} for task {}, neither approve nor reject",
                    request.task
                ))),
                None => {
                    let vote = if request.approve { APPROVE } else { REJECT };
                    table.insert(key, vote).map_err(|e| e.to_string())?;
                    inserted = true;
                    Ok(Recorded::New)
                }
            });
        }
    }
    if inserted {
        tx.commit().map_err(|e| e.to_string())?;
    } else {
        tx.abort().map_err(|e| e.to_string())?;
    }
    Ok((answers, inserted))
}

#[cfg(test)]
mod tests {
    //! A commit that fails must leave nothing signed: these tests put the
    //! journal on a storage whose flush can be made to fail.

    use std::sync::atomic::AtomicBool;

    use ::redb::{StorageBackend, backends::InMemoryBackend};

    use super::*;

    #[derive(Debug, Default)]
    struct FlakyDisk {
        inner: InMemoryBackend,
        failing: Arc<AtomicBool>,
    }

    impl StorageBackend for FlakyDisk {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.inner.len()
        }
        fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, std::io::Error> {
            self.inner.read(offset, len)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            self.inner.set_len(len)
        }
        fn sync_data(&self, eventual: bool) -> Result<(), std::io::Error> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("the disk refused the flush"));
            }
            self.inner.sync_data(eventual)
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            self.inner.write(offset, data)
        }
    }

    fn flaky_journal() -> (RedbJournal, Arc<AtomicBool>) {
        let disk = FlakyDisk::default();
        let failing = Arc::clone(&disk.failing);
        let database = Builder::new().create_with_backend(disk).expect("create");
        ensure_table(&database).expect("table");
        let journal = RedbJournal::start(PathBuf::from("flaky"), database).expect("start");
        (journal, failing)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failed_flush_answers_unavailable_to_the_whole_batch() {
        let (journal, failing) = flaky_journal();
        assert_eq!(
            journal.record(B256::repeat_byte(1), true).await,
            Ok(Recorded::New)
        );
        failing.store(true, Ordering::SeqCst);
        let journal = Arc::new(journal);
        let tasks: Vec<_> = (10..42u8)
            .map(|i| {
                let journal = Arc::clone(&journal);
                tokio::spawn(async move { journal.record(B256::repeat_byte(i), i % 2 == 0).await })
            })
            .collect();
        // The first failed batch reports the disk's error; redb then refuses
        // every later write until the file is reopened, so later batches
        // report that instead. Every vote is refused either way.
        let mut disk_error_seen = false;
        for task in tasks {
            match task.await.expect("join") {
                Err(JournalError::Unavailable(why)) => {
                    assert!(why.contains("not committed"), "{why}");
                    disk_error_seen |= why.contains("refused the flush");
                }
                other => panic!("a vote whose commit failed was answered {other:?}"),
            }
        }
        assert!(disk_error_seen);
        assert_eq!(journal.commits(), 1, "only the first commit succeeded");
        // What failed to commit is never answered as recorded afterwards: it
        // was rolled back (New, durable this time) or the journal refuses to
        // work until it is reopened (Unavailable); a Repeat would let a vote
        // be signed that no disk holds.
        failing.store(false, Ordering::SeqCst);
        let again = journal.record(B256::repeat_byte(10), true).await;
        assert!(
            matches!(again, Ok(Recorded::New) | Err(JournalError::Unavailable(_))),
            "{again:?}"
        );
    }
}
