//! The redb vote journal: the same vote is repeated, the opposite refused,
//! across restarts, under concurrency, against another process holding the
//! file, after a kill -9, and with a damaged file.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use taskproof_consensus::journal::{Journal, JournalError, Recorded, RedbJournal};

fn task(i: u32) -> B256 {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&i.to_be_bytes());
    key[31] = 0xaa;
    B256::from(key)
}

fn refusal(result: Result<RedbJournal, JournalError>) -> String {
    match result {
        Ok(journal) => panic!("opened {journal:?}"),
        Err(JournalError::Unavailable(why)) => why,
        Err(other) => panic!("refused for the wrong reason: {other}"),
    }
}

#[tokio::test]
async fn signing_both_ways_is_refused_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskproof-journal.redb");
    {
        let journal = RedbJournal::open(&path).unwrap();
        assert_eq!(journal.record(task(1), true).await, Ok(Recorded::New));
        assert_eq!(journal.record(task(2), false).await, Ok(Recorded::New));
        assert_eq!(journal.record(task(1), true).await, Ok(Recorded::Repeat));
    }
    // A restart: a new journal on the same file.
    let journal = RedbJournal::open(&path).unwrap();
    assert_eq!(journal.record(task(1), true).await, Ok(Recorded::Repeat));
    assert_eq!(journal.record(task(2), false).await, Ok(Recorded::Repeat));
    let refused = journal.record(task(1), false).await.unwrap_err();
    assert_eq!(
        refused,
        JournalError::AlreadySigned {
            task: task(1),
            approved: true
        }
    );
    assert!(refused.to_string().starts_with("MessageAlreadySigned"));
    assert_eq!(
        journal.record(task(2), true).await,
        Err(JournalError::AlreadySigned {
            task: task(2),
            approved: false
        })
    );
    // Repeats and refusals read what is durable already: no new commit.
    assert_eq!(journal.commits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_votes_share_commits_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let journal = Arc::new(RedbJournal::open(&path).unwrap());
    let records: Vec<_> = (0..64u32)
        .map(|i| {
            let journal = Arc::clone(&journal);
            tokio::spawn(async move { journal.record(task(i), i % 3 == 0).await })
        })
        .collect();
    for record in records {
        assert_eq!(record.await.unwrap(), Ok(Recorded::New));
    }
    let commits = journal.commits();
    assert!(
        (1..64).contains(&commits),
        "64 concurrent votes took {commits} commits: no group commit"
    );
    drop(Arc::try_unwrap(journal).expect("the only owner"));

    let journal = RedbJournal::open(&path).unwrap();
    for i in 0..64u32 {
        let approve = i % 3 == 0;
        assert_eq!(journal.record(task(i), approve).await, Ok(Recorded::Repeat));
        assert_eq!(
            journal.record(task(i), !approve).await,
            Err(JournalError::AlreadySigned {
                task: task(i),
                approved: approve
            })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_opposite_votes_sign_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(RedbJournal::open(dir.path().join("journal.redb")).unwrap());
    let races: Vec<_> = (0..200u32)
        .map(|i| {
            let (a, b) = (Arc::clone(&journal), Arc::clone(&journal));
            let approve = tokio::spawn(async move { a.record(task(i), true).await });
            let reject = tokio::spawn(async move { b.record(task(i), false).await });
            (i, approve, reject)
        })
        .collect();
    for (i, approve, reject) in races {
        let (approve, reject) = (approve.await.unwrap(), reject.await.unwrap());
        match (&approve, &reject) {
            (Ok(Recorded::New), Err(JournalError::AlreadySigned { approved: true, .. }))
            | (
                Err(JournalError::AlreadySigned {
                    approved: false, ..
                }),
                Ok(Recorded::New),
            ) => {}
            _ => panic!("task {i}: approve {approve:?}, reject {reject:?}"),
        }
    }
}

#[tokio::test]
async fn a_second_journal_on_a_held_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let first = RedbJournal::open(&path).unwrap();
    let why = refusal(RedbJournal::open(&path));
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(why.contains("locked"), "{why}");
    // The first journal keeps working; once it is gone the file opens.
    assert_eq!(first.record(task(1), true).await, Ok(Recorded::New));
    drop(first);
    let again = RedbJournal::open(&path).unwrap();
    assert_eq!(again.record(task(1), true).await, Ok(Recorded::Repeat));
}

/// Another process, killed when the test ends, also when it fails.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs this test binary again as another process, in `role`, on `path`.
fn child(role: &str, path: &Path) -> ChildGuard {
    ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("JOURNAL_CHILD", role)
            .env("JOURNAL_PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Not a test by itself: the other process of the tests below. `hold` opens
/// the journal and keeps it until its standard input closes; `vote` records
/// votes as fast as it can and prints each one once `record` returned.
/// It writes to the process's standard output itself, past the harness's
/// capture of `println!`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process() {
    let (Ok(role), Ok(path)) = (
        std::env::var("JOURNAL_CHILD"),
        std::env::var("JOURNAL_PATH"),
    ) else {
        return;
    };
    let journal = Arc::new(RedbJournal::open(&path).unwrap());
    match role.as_str() {
        "hold" => {
            writeln!(std::io::stdout(), "held").unwrap();
            std::io::stdout().flush().unwrap();
            let _ = std::io::stdin().lines().count();
        }
        "vote" => {
            // 16 voters at once, so that commits are shared as in a node.
            let voters: Vec<_> = (0..16u32)
                .map(|voter| {
                    let journal = Arc::clone(&journal);
                    tokio::spawn(async move {
                        for n in 0.. {
                            let i = n * 16 + voter;
                            let approve = i % 2 == 0;
                            assert_eq!(journal.record(task(i), approve).await, Ok(Recorded::New));
                            writeln!(std::io::stdout(), "{i}").unwrap();
                        }
                    })
                })
                .collect();
            for voter in voters {
                voter.await.unwrap();
            }
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_journal_held_by_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let mut holder = child("hold", &path);
    let holder = &mut holder.0;
    // The test harness prints its own lines first, and the start of the one
    // the child's first line ends.
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.unwrap().ends_with("held")));
    let why = refusal(RedbJournal::open(&path));
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(why.contains("locked"), "{why}");
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    RedbJournal::open(&path).unwrap();
}

#[tokio::test]
async fn every_acknowledged_vote_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let mut voter = child("vote", &path);
    let voter = &mut voter.0;
    let acknowledged: Vec<u32> = BufReader::new(voter.stdout.take().unwrap())
        .lines()
        .filter_map(|line| line.ok()?.split_whitespace().last()?.parse().ok())
        .take(500)
        .collect();
    // SIGKILL mid-stream: batches are in flight, one may be half-written.
    voter.kill().unwrap();
    voter.wait().unwrap();
    assert_eq!(acknowledged.len(), 500);

    let journal = RedbJournal::open(&path).unwrap();
    for &i in &acknowledged {
        let approve = i % 2 == 0;
        assert_eq!(
            journal.record(task(i), approve).await,
            Ok(Recorded::Repeat),
            "task {i}"
        );
        assert_eq!(
            journal.record(task(i), !approve).await,
            Err(JournalError::AlreadySigned {
                task: task(i),
                approved: approve
            }),
            "task {i}"
        );
    }
}

#[test]
fn a_garbage_journal_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    std::fs::write(&path, b"{\"votes\": \"not a database\"}\n".repeat(300)).unwrap();
    let why = refusal(RedbJournal::open(&path));
    assert!(why.starts_with(&path.display().to_string()), "{why}");
    assert!(why.contains("not a redb journal"), "{why}");
}

#[tokio::test]
async fn a_truncated_journal_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    {
        let journal = RedbJournal::open(&path).unwrap();
        for i in 0..100 {
            journal.record(task(i), true).await.unwrap();
        }
    }
    let full = std::fs::read(&path).unwrap();
    for keep in [1, 100, 511, 4096] {
        std::fs::write(&path, &full[..keep]).unwrap();
        let why = refusal(RedbJournal::open(&path));
        assert!(
            why.starts_with(&path.display().to_string()),
            "{keep}: {why}"
        );
        assert!(why.contains("not a redb journal"), "{keep}: {why}");
    }
}

#[test]
fn an_emptied_journal_file_is_refused_not_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    drop(RedbJournal::open(&path).unwrap());
    std::fs::write(&path, b"").unwrap();
    let why = refusal(RedbJournal::open(&path));
    assert!(why.starts_with(&path.display().to_string()), "{why}");
    assert!(why.contains("empty"), "{why}");
}

#[test]
fn a_missing_directory_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("journal.redb");
    let why = refusal(RedbJournal::open(&path));
    assert!(why.starts_with(&path.display().to_string()), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_journal_leaves_no_staging_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let started = Instant::now();
    let journal = RedbJournal::open(&path).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["journal.redb"]);
    assert_eq!(journal.record(task(9), false).await, Ok(Recorded::New));
}
