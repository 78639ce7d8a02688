//! The shared journal: the replicas of one operator (behind a load
//! balancer, one BLS key) record their votes in one PostgreSQL table, whose
//! primary key decides every race between them.
//!
//! It trusts the server to keep what it committed (it refuses a server
//! running with `fsync = off`, and turns `synchronous_commit` back on for
//! its own session if the server turned it off) and nothing else: values
//! travel as parameters only, a stored row is read back rather than
//! assumed, and any trouble with the server is [`JournalError::Unavailable`]
//! (nothing signed), with a new connection tried on the next vote.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::{Journal, JournalError, Recorded};

/// The longest a connection (TCP, start-up, authentication, the table) may
/// take before the vote is answered `Unavailable`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one vote's statements may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Creating the table takes a transaction-scoped advisory lock first: two
/// replicas starting together would otherwise race `CREATE TABLE IF NOT
/// EXISTS` into a unique violation on PostgreSQL's own catalog.
const CREATE_TABLE: &str = "\
BEGIN;
SELECT pg_advisory_xact_lock(7346517270);
CREATE TABLE IF NOT EXISTS taskproof_votes (
    task bytea PRIMARY KEY CHECK (octet_length(task) = 32),
    approved boolean NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
COMMIT;";
/// Returns a row only when this statement inserted the vote.
const INSERT: &str = "INSERT INTO taskproof_votes (task, approved) VALUES ($1, $2) \
                      ON CONFLICT (task) DO NOTHING RETURNING approved";
/// A statement of its own, after the insert: in READ COMMITTED it sees the
/// row a concurrent replica committed, which the insert's own snapshot
/// would not.
const SELECT: &str = "SELECT approved FROM taskproof_votes WHERE task = $1";

struct Session {
    client: Client,
    insert: Statement,
    select: Statement,
}

/// The vote journal in a PostgreSQL database (`[consensus] journal =
/// "postgres://..."`), shared by the replicas of one operator.
///
/// One connection, shared by concurrent votes (tokio-postgres pipelines
/// their statements). A lost connection answers `Unavailable` and is
/// replaced on the next vote. Connections are not encrypted: the database
/// belongs beside the replicas, on a private network or a Unix socket.
pub struct PostgresJournal {
    config: Config,
    target: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    session: Option<Arc<Session>>,
    /// When the last connection attempt failed, and why.
    failed: Option<(Instant, JournalError)>,
}

impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only where it points is shown.
        f.debug_struct("PostgresJournal")
            .field("target", &self.target)
            .finish()
    }
}

impl PostgresJournal {
    /// The server as `host:port/database`, never with the URL's password
    /// (for logs).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Connects to the database at `url` (a `postgres://` URL or a
    /// libpq key=value string) and creates the table if it is missing, so
    /// that a wrong URL or an unusable server stops start-up. Must be called
    /// inside a tokio runtime with timers, like [`Journal::record`].
    pub async fn connect(url: &str) -> Result<Self, JournalError> {
        let mut config: Config = url.parse().map_err(|e| {
            JournalError::Unavailable(format!("the journal's PostgreSQL URL is not valid: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let journal = Self {
            target: describe(&config),
            config,
            state: Mutex::default(),
        };
        journal.session().await?;
        Ok(journal)
    }

    fn unavailable(&self, why: impl std::fmt::Display) -> JournalError {
        JournalError::Unavailable(format!("PostgreSQL journal at {}: {why}", self.target))
    }

    /// The live session, or a new one. Connecting holds the lock, so that a
    /// burst of votes after an outage makes one connection, not one each;
    /// and the votes that waited for an attempt that failed share its
    /// failure instead of each trying again in turn, so that no vote waits
    /// for more than one attempt.
    async fn session(&self) -> Result<Arc<Session>, JournalError> {
        let asked = Instant::now();
        let mut state = self.state.lock().await;
        if let Some(session) = state.session.as_ref().filter(|s| !s.client.is_closed()) {
            return Ok(Arc::clone(session));
        }
        state.session = None;
        if let Some((at, why)) = &state.failed
            && *at >= asked
        {
            return Err(why.clone());
        }
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, self.open_session())
            .await
            .unwrap_or_else(|_| {
                Err(self.unavailable(format!("no connection within {CONNECT_TIMEOUT:?}")))
            });
        match connected {
            Ok(session) => {
                let session = Arc::new(session);
                state.session = Some(Arc::clone(&session));
                state.failed = None;
                Ok(session)
            }
            Err(why) => {
                state.failed = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }

    async fn open_session(&self) -> Result<Session, JournalError> {
        let failed = |e: tokio_postgres::Error| self.unavailable(describe_error(&e));
        let (client, connection) = self.config.connect(NoTls).await.map_err(failed)?;
        // The connection's own task ends when the server or the client goes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let fsync: String = client
            .query_one("SHOW fsync", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failed)?;
        if fsync != "on" {
            return Err(self.unavailable(
                "the server runs with fsync = off, so what it commits may not survive a crash",
            ));
        }
        let synchronous: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failed)?;
        if synchronous == "off" {
            client
                .batch_execute("SET synchronous_commit = on")
                .await
                .map_err(failed)?;
        }
        client.batch_execute(CREATE_TABLE).await.map_err(failed)?;
        let insert = client.prepare(INSERT).await.map_err(failed)?;
        let select = client.prepare(SELECT).await.map_err(failed)?;
        Ok(Session {
            client,
            insert,
            select,
        })
    }

    /// Drops `session` if it is still the current one, so that the next
    /// vote connects anew.
    async fn forget(&self, session: &Arc<Session>) {
        let mut state = self.state.lock().await;
        if state
            .session
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            state.session = None;
        }
    }
}

#[async_trait]
impl Journal for PostgresJournal {
    async fn record(&self, task: B256, approve: bool) -> Result<Recorded, JournalError> {
        let session = self.session().await?;
        let vote = async {
            let key: &[u8] = task.as_slice();
            if let Some(row) = session
                .client
                .query_opt(&session.insert, &[&key, &approve])
                .await?
            {
                // The insert committed (autocommit, synchronous_commit on).
                return Ok(Ok((row.try_get::<_, bool>(0)?, true)));
            }
            match session.client.query_opt(&session.select, &[&key]).await? {
                Some(row) => Ok(Ok((row.try_get::<_, bool>(0)?, false))),
                // The conflict came from a row that is gone again: nobody
                // deletes votes, so refuse rather than guess.
                None => Ok(Err(
                    "the vote conflicted with a row that is not there".to_owned()
                )),
            }
        };
        let stored = match tokio::time::timeout(QUERY_TIMEOUT, vote).await {
            Ok(Ok(Ok(stored))) => stored,
            Ok(Ok(Err(why))) => return Err(self.unavailable(why)),
            Ok(Err(e)) => {
                self.forget(&session).await;
                return Err(self.unavailable(describe_error(&e)));
            }
            Err(_) => {
                // The statement may still commit: a vote recorded but never
                // signed is safe. The connection's state is unknown: replace it.
                self.forget(&session).await;
                return Err(self.unavailable(format!("no answer within {QUERY_TIMEOUT:?}")));
            }
        };
        match stored {
            (approved, true) if approved == approve => Ok(Recorded::New),
            (approved, false) if approved == approve => Ok(Recorded::Repeat),
            (approved, _) => Err(JournalError::AlreadySigned { task, approved }),
        }
    }
}

/// Where the journal points, without the password, for messages.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

/// tokio-postgres says only "db error" for the server's errors; the
/// server's own message is what an operator needs.
fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}
