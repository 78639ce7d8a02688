//! The shared vote journal on a real PostgreSQL server (Debian's
//! `postgresql` package, started by `scripts/postgres.sh`): two replicas
//! racing for the same tasks, a server that goes away and comes back, and a
//! server that would not keep what it commits.

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use taskproof_consensus::journal::{Journal, JournalError, PostgresJournal, Recorded};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");

/// A throwaway server, stopped when the test ends, also when it fails.
struct Server {
    dir: tempfile::TempDir,
    url: String,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = script("start", dir.path());
        Self { dir, url }
    }

    fn stop(&self) {
        script("stop", self.dir.path());
    }

    fn restart(&self) {
        assert_eq!(script("start", self.dir.path()), self.url);
    }

    async fn admin(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop".as_ref(), self.dir.path().as_os_str()])
            .status();
    }
}

fn script(action: &str, dir: &Path) -> String {
    let out = Command::new(SCRIPT)
        .args([action.as_ref(), dir.as_os_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postgres.sh {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn task(i: u32) -> B256 {
    let mut key = [0x5au8; 32];
    key[..4].copy_from_slice(&i.to_be_bytes());
    B256::from(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_opposite_votes_sign_exactly_one() {
    let server = Server::start();
    let a = Arc::new(PostgresJournal::connect(&server.url).await.unwrap());
    let b = Arc::new(PostgresJournal::connect(&server.url).await.unwrap());
    let races: Vec<_> = (0..200u32)
        .map(|i| {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            let approve = tokio::spawn(async move { a.record(task(i), true).await });
            let reject = tokio::spawn(async move { b.record(task(i), false).await });
            (i, approve, reject)
        })
        .collect();
    let mut approved = Vec::new();
    for (i, approve, reject) in races {
        let (approve, reject) = (approve.await.unwrap(), reject.await.unwrap());
        match (&approve, &reject) {
            (Ok(Recorded::New), Err(JournalError::AlreadySigned { approved: true, .. })) => {
                approved.push(i)
            }
            (
                Err(JournalError::AlreadySigned {
                    approved: false, ..
                }),
                Ok(Recorded::New),
            ) => {}
            _ => panic!("task {i}: approve {approve:?}, reject {reject:?}"),
        }
    }
    // What the database holds is what the winners were told.
    let admin = server.admin().await;
    let rows = admin
        .query("SELECT task, approved FROM taskproof_votes", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 200);
    for row in rows {
        let key: Vec<u8> = row.get(0);
        let i = u32::from_be_bytes(key[..4].try_into().unwrap());
        assert_eq!(row.get::<_, bool>(1), approved.contains(&i), "task {i}");
    }
    // Later votes, from either replica, keep to the recorded one.
    for i in 0..200u32 {
        let vote = approved.contains(&i);
        assert_eq!(a.record(task(i), vote).await, Ok(Recorded::Repeat));
        assert_eq!(
            b.record(task(i), !vote).await,
            Err(JournalError::AlreadySigned {
                task: task(i),
                approved: vote
            })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_the_same_vote_both_sign_it() {
    let server = Server::start();
    let a = Arc::new(PostgresJournal::connect(&server.url).await.unwrap());
    let b = Arc::new(PostgresJournal::connect(&server.url).await.unwrap());
    let races: Vec<_> = (0..200u32)
        .map(|i| {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            let first = tokio::spawn(async move { a.record(task(i), i % 2 == 0).await });
            let second = tokio::spawn(async move { b.record(task(i), i % 2 == 0).await });
            (i, first, second)
        })
        .collect();
    for (i, first, second) in races {
        let mut answers = [first.await.unwrap(), second.await.unwrap()];
        answers.sort_by_key(|a| format!("{a:?}"));
        assert_eq!(
            answers,
            [Ok(Recorded::New), Ok(Recorded::Repeat)],
            "task {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_signs_nothing_then_recovers() {
    let server = Server::start();
    let journal = PostgresJournal::connect(&server.url).await.unwrap();
    assert_eq!(journal.record(task(1), true).await, Ok(Recorded::New));

    server.stop();
    for i in [1, 2] {
        let started = Instant::now();
        match journal.record(task(i), false).await {
            Err(JournalError::Unavailable(why)) => {
                assert!(why.starts_with("PostgreSQL journal at 127.0.0.1:"), "{why}")
            }
            other => panic!("with the server down, task {i} was answered {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(12));
    }

    // Many votes at once while it is down: they share connection attempts,
    // so none waits for the attempts of all the others.
    let journal = Arc::new(journal);
    let started = Instant::now();
    let votes: Vec<_> = (100..164u32)
        .map(|i| {
            let journal = Arc::clone(&journal);
            tokio::spawn(async move { journal.record(task(i), true).await })
        })
        .collect();
    for vote in votes {
        assert!(matches!(
            vote.await.unwrap(),
            Err(JournalError::Unavailable(_))
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(12));

    server.restart();
    assert_eq!(journal.record(task(2), false).await, Ok(Recorded::New));
    assert_eq!(journal.record(task(1), true).await, Ok(Recorded::Repeat));
    assert_eq!(
        journal.record(task(1), false).await,
        Err(JournalError::AlreadySigned {
            task: task(1),
            approved: true
        })
    );
}

#[tokio::test]
async fn a_server_without_fsync_is_refused() {
    let server = Server::start();
    let admin = server.admin().await;
    // ALTER SYSTEM refuses to run inside a transaction: two statements.
    admin
        .batch_execute("ALTER SYSTEM SET fsync = off")
        .await
        .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // The reload is asynchronous: wait until a new session sees it.
    for _ in 0..50 {
        let fresh = server.admin().await;
        let fsync: String = fresh.query_one("SHOW fsync", &[]).await.unwrap().get(0);
        if fsync == "off" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match PostgresJournal::connect(&server.url).await {
        Err(JournalError::Unavailable(why)) => assert!(why.contains("fsync = off"), "{why}"),
        other => panic!("a server that does not fsync was accepted: {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_refused_at_connect() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://replica:secret-password@127.0.0.1:{port}/votes");
    match PostgresJournal::connect(&url).await {
        Err(JournalError::Unavailable(why)) => {
            assert!(
                why.starts_with(&format!("PostgreSQL journal at 127.0.0.1:{port}/votes")),
                "{why}"
            );
            assert!(!why.contains("secret-password"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    match PostgresJournal::connect("postgres://replica:secret-password@[::1").await {
        Err(JournalError::Unavailable(why)) => {
            assert!(why.contains("URL is not valid"), "{why}");
            assert!(!why.contains("secret-password"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}
