//! The load: `concurrency` workers, each sending one task after another for
//! the run's duration, through the node's [`Engine`] (in-process) or over
//! HTTP to any service that speaks Othentic's `/task/validate`. Workers keep
//! their own latency histogram and counts, so the harness shares nothing per
//! verdict; counts reach the progress line in batches.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::body::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full, Limited};
use taskproof_core::{Outcome, Task};

use super::corpus::Entry;
use crate::Engine;

/// What one task came back as. `Error` is a transport failure or an answer
/// that is not Othentic's `{data, error, message}`: the harness could not
/// read a verdict.
#[derive(Debug)]
pub(super) enum Answer {
    Verdict(Outcome),
    Error(String),
}

/// One worker's way of sending a task. Each worker owns one (an HTTP worker
/// its keep-alive connection).
pub(super) trait Target: Send + 'static {
    fn send(&mut self, index: usize) -> impl Future<Output = Answer> + Send + '_;
}

/// The counts of a run: valid, invalid, undecided, errors.
pub(super) type Counts = [u64; 4];

fn slot(answer: &Answer) -> usize {
    match answer {
        Answer::Verdict(Outcome::Valid) => 0,
        Answer::Verdict(Outcome::Invalid) => 1,
        Answer::Verdict(Outcome::Undecided) => 2,
        Answer::Error(_) => 3,
    }
}

/// What the workers measured.
pub(super) struct Tally {
    pub(super) counts: Counts,
    /// Latency of every answer, in nanoseconds.
    pub(super) latency: Histogram<u64>,
    pub(super) first_error: Option<String>,
    pub(super) elapsed: Duration,
}

/// The counts so far, for the progress line; workers add to it in batches.
#[derive(Default)]
pub(super) struct Live {
    pub(super) counts: [AtomicU64; 4],
}

impl Live {
    pub(super) fn snapshot(&self) -> Counts {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

fn histogram() -> Histogram<u64> {
    // 1 ns to an hour at 3 significant digits: any answer fits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// How often a worker publishes its counts to the progress line.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

async fn work<T: Target>(
    mut target: T,
    first: usize,
    len: usize,
    stop: Arc<AtomicBool>,
    live: Arc<Live>,
) -> (Counts, Histogram<u64>, Option<String>) {
    let mut counts = [0u64; 4];
    let mut unpublished = [0u64; 4];
    let mut latency = histogram();
    let mut first_error = None;
    let mut index = first;
    let mut last_publish = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // A verifier that answers at once never returns Pending: without
        // this, workers would hold the runtime's threads and starve its
        // other tasks (batchers, the timer driver).
        tokio::task::consume_budget().await;
        // From the call to the verdict: the time the task spent in the
        // engine (or on the wire), not the time this worker waited for a
        // thread between two tasks.
        let sent_at = Instant::now();
        let answer = target.send(index).await;
        let now = Instant::now();
        latency.saturating_record(u64::try_from((now - sent_at).as_nanos()).unwrap_or(u64::MAX));
        let s = slot(&answer);
        counts[s] += 1;
        unpublished[s] += 1;
        if let (Answer::Error(e), None) = (answer, &first_error) {
            first_error = Some(e);
        }
        if now - last_publish >= PUBLISH_EVERY {
            publish(&live, &mut unpublished);
            last_publish = now;
        }
        index += 1;
        if index == len {
            index = 0;
        }
    }
    publish(&live, &mut unpublished);
    (counts, latency, first_error)
}

fn publish(live: &Live, unpublished: &mut Counts) {
    for (shared, n) in live.counts.iter().zip(unpublished.iter_mut()) {
        if *n > 0 {
            shared.fetch_add(*n, Ordering::Relaxed);
            *n = 0;
        }
    }
}

/// Runs `concurrency` workers made by `make` for `duration`, calling
/// `progress` about four times a second. Each worker starts at its own place
/// in the corpus and walks it in order, so every proof is sent and no
/// counter is shared per task. Tasks in flight when the time is up are
/// finished and counted, and the elapsed time runs until the last one is.
pub(super) async fn run<T: Target>(
    concurrency: usize,
    duration: Duration,
    corpus_len: usize,
    make: impl Fn() -> T,
    mut progress: impl FnMut(Duration, Counts) + Send + 'static,
) -> Tally {
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Live::default());
    let started = Instant::now();
    // The clock is a thread of its own: busy workers delay the runtime's
    // timers, and the run must end on time however busy they are.
    let clock = {
        let (stop, live) = (stop.clone(), live.clone());
        std::thread::spawn(move || {
            loop {
                let elapsed = started.elapsed();
                let Some(left) = duration.checked_sub(elapsed).filter(|l| !l.is_zero()) else {
                    break;
                };
                if elapsed > Duration::ZERO {
                    progress(elapsed, live.snapshot());
                }
                std::thread::sleep(left.min(Duration::from_millis(250)));
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            tokio::spawn(work(
                make(),
                i * corpus_len / concurrency,
                corpus_len,
                stop.clone(),
                live.clone(),
            ))
        })
        .collect();
    let mut tally = Tally {
        counts: [0; 4],
        latency: histogram(),
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let (counts, latency, error) = match worker.await {
            Ok(done) => done,
            Err(e) => (
                [0, 0, 0, 1],
                histogram(),
                Some(format!("a worker failed: {e}")),
            ),
        };
        for (total, n) in tally.counts.iter_mut().zip(counts) {
            *total += n;
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = tally.latency.add(&latency);
        tally.first_error = tally.first_error.or(error);
    }
    tally.elapsed = started.elapsed();
    // It has set `stop`, so it has ended or is about to.
    let _ = clock.join();
    tally
}

/// In-process: the node's own [`Engine`] (admission, per-definition
/// concurrency, deadline, panic isolation, batching, metrics), without HTTP.
pub(super) struct InProcess {
    pub(super) engine: Arc<Engine>,
    pub(super) tasks: Arc<[Task]>,
}

impl Target for InProcess {
    async fn send(&mut self, index: usize) -> Answer {
        match self.engine.judge(self.tasks[index].clone()).await {
            Ok(verdict) => Answer::Verdict(verdict.outcome()),
            Err(e) => Answer::Error(e.to_string()),
        }
    }
}

/// Where an HTTP service listens, from its URL.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    pub(super) host: String,
    pub(super) port: u16,
    /// `host[:port]` as the Host header says it.
    pub(super) authority: String,
    pub(super) path: String,
}

impl Endpoint {
    /// `http://host[:port]/path`; `https` is refused (a validation service
    /// runs beside its attester).
    pub(super) fn parse(url: &str) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!("{url}: only http:// is supported, not {other}://"));
            }
            None => return Err(format!("{url}: expected http://host:port/path")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url}: no host"))?
            .clone();
        Ok(Self {
            host: authority.host().trim_matches(['[', ']']).to_string(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.to_string(),
            path: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_string()),
        })
    }
}

/// The JSON body Othentic's attester posts to its validation service.
pub(super) fn wire_body(entry: &Entry) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "proofOfTask": entry.proof_of_task,
            "data": entry.data,
            "taskDefinitionId": entry.task_definition_id,
            "performer": entry.performer,
        })
        .to_string(),
    )
}

/// The most bytes of an answer read: Othentic's answer is a small object.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Over HTTP/1.1, one keep-alive connection per worker (as wrk does),
/// reconnecting when the service closes it.
pub(super) struct Http {
    pub(super) endpoint: Arc<Endpoint>,
    pub(super) bodies: Arc<[Bytes]>,
    pub(super) timeout: Duration,
    pub(super) connection: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Http {
    async fn connect(
        &self,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
        let stream =
            tokio::net::TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", self.endpoint.authority))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("{}: {e}", self.endpoint.authority))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    async fn exchange(&mut self, index: usize) -> Answer {
        let mut sender = match self.connection.take() {
            Some(s) if !s.is_closed() => s,
            _ => match self.connect().await {
                Ok(s) => s,
                Err(e) => {
                    // Do not spin on a service that is down.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return Answer::Error(e);
                }
            },
        };
        if sender.ready().await.is_err() {
            return Answer::Error(format!("{}: connection closed", self.endpoint.authority));
        }
        let request = hyper::Request::post(self.endpoint.path.as_str())
            .header(hyper::header::HOST, self.endpoint.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(self.bodies[index].clone()));
        let request = match request {
            Ok(r) => r,
            Err(e) => return Answer::Error(e.to_string()),
        };
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => return Answer::Error(format!("{}: {e}", self.endpoint.authority)),
        };
        let status = response.status();
        let body = match Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) => return Answer::Error(format!("answer unreadable (status {status}): {e}")),
        };
        self.connection = Some(sender);
        classify(status.as_u16(), &body)
    }
}

impl Target for Http {
    async fn send(&mut self, index: usize) -> Answer {
        match tokio::time::timeout(self.timeout, self.exchange(index)).await {
            Ok(answer) => answer,
            Err(_) => {
                self.connection = None;
                Answer::Error(format!("no answer within {} ms", self.timeout.as_millis()))
            }
        }
    }
}

/// Othentic's answer, whatever the status: `data: true` is a valid vote,
/// `error: true` means the service could not decide (an abstention), and
/// `data: false` without an error is an invalid vote. Anything else is not
/// a verdict.
fn classify(status: u16, body: &[u8]) -> Answer {
    #[derive(serde::Deserialize)]
    struct Othentic {
        data: Option<bool>,
        #[serde(default)]
        error: bool,
    }
    match serde_json::from_slice::<Othentic>(body) {
        Ok(Othentic {
            data: Some(true), ..
        }) => Answer::Verdict(Outcome::Valid),
        Ok(Othentic { error: true, .. }) => Answer::Verdict(Outcome::Undecided),
        Ok(Othentic {
            data: Some(false), ..
        }) => Answer::Verdict(Outcome::Invalid),
        _ => Answer::Error(format!(
            "status {status}: not an answer {{\"data\", \"error\", \"message\"}}: {}",
            taskproof_core::quote(&String::from_utf8_lossy(body))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_their_body_not_their_status() {
        let outcome = |status, body: &str| match classify(status, body.as_bytes()) {
            Answer::Verdict(o) => o.as_str().to_string(),
            Answer::Error(e) => e,
        };
        assert_eq!(
            outcome(200, r#"{"data":true,"error":false,"message":null}"#),
            "valid"
        );
        assert_eq!(
            outcome(200, r#"{"data":false,"error":false,"message":"no"}"#),
            "invalid"
        );
        assert_eq!(
            outcome(503, r#"{"data":false,"error":true,"message":"busy"}"#),
            "undecided"
        );
        // Othentic's Express example answers an exception with 500 and error: true.
        assert_eq!(outcome(500, r#"{"data":null,"error":true}"#), "undecided");
        // A 200 that is not the answer is not a valid vote.
        assert!(outcome(200, "OK").starts_with("status 200: not an answer"));
    }

    #[test]
    fn only_plain_http_urls_are_taken() {
        let e = Endpoint::parse("http://127.0.0.1:4002/task/validate").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 4002, "/task/validate")
        );
        assert!(
            Endpoint::parse("https://x/task/validate")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(Endpoint::parse("127.0.0.1:4002").is_err());
    }
}
