//! What a benchmark run measured, for people and for machines, and the CPU
//! time of a process (from `/proc/PID/stat`, so Linux only; elsewhere the
//! CPU fields are absent).

use serde_json::{Value, json};

use super::{Args, drive::Tally};

/// User and system CPU seconds of a process.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cpu {
    user: f64,
    system: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.system
    }
}

/// The CPU time a process has used so far: this process, or `pid`.
pub(super) fn cpu_seconds(pid: Option<u32>) -> Option<Cpu> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields 14 and 15 (utime, stime), counted after the command name,
    // which is in parentheses and may itself hold spaces or parentheses.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let tick = rustix::param::clock_ticks_per_second() as f64;
    Some(Cpu {
        user: utime as f64 / tick,
        system: stime as f64 / tick,
    })
}

pub(super) fn cpu_delta(before: Option<Cpu>, after: Option<Cpu>) -> Option<Cpu> {
    let (b, a) = (before?, after?);
    Some(Cpu {
        user: a.user - b.user,
        system: a.system - b.system,
    })
}

/// One run against one target.
pub(super) struct Report {
    target: String,
    corpus: usize,
    concurrency: u32,
    tally: Tally,
    /// The harness's process: in-process, this is the node's work too.
    cpu: Option<Cpu>,
    /// The service's process, when its pid was given.
    server: Option<(u32, Option<Cpu>)>,
}

impl Report {
    pub(super) fn new(
        target: String,
        args: &Args,
        corpus: usize,
        tally: Tally,
        cpu: Option<Cpu>,
        server: Option<(u32, Option<Cpu>)>,
    ) -> Self {
        Self {
            target,
            corpus,
            concurrency: args.concurrency,
            tally,
            cpu,
            server,
        }
    }

    /// Answers that carried a verdict.
    pub(super) fn verdicts(&self) -> u64 {
        self.tally.counts[..3].iter().sum()
    }

    fn seconds(&self) -> f64 {
        self.tally.elapsed.as_secs_f64().max(1e-9)
    }

    fn per_second(&self) -> f64 {
        self.verdicts() as f64 / self.seconds()
    }

    fn valid_per_second(&self) -> f64 {
        self.tally.counts[0] as f64 / self.seconds()
    }

    /// A latency quantile in microseconds.
    fn latency_us(&self, quantile: f64) -> f64 {
        self.tally.latency.value_at_quantile(quantile) as f64 / 1e3
    }

    fn cpu_json(&self, cpu: Option<Cpu>) -> Value {
        match cpu {
            None => Value::Null,
            Some(cpu) => json!({
                "user_s": round(cpu.user, 3),
                "system_s": round(cpu.system, 3),
                "total_s": round(cpu.total(), 3),
                "per_verdict_us": (self.verdicts() > 0)
                    .then(|| round(cpu.total() * 1e6 / self.verdicts() as f64, 3)),
            }),
        }
    }

    fn to_json(&self) -> Value {
        let [valid, invalid, undecided, errors] = self.tally.counts;
        json!({
            "target": self.target,
            "corpus": self.corpus,
            "concurrency": self.concurrency,
            "elapsed_s": round(self.seconds(), 3),
            "verdicts": self.verdicts(),
            "verdicts_per_s": round(self.per_second(), 1),
            "valid_per_s": round(self.valid_per_second(), 1),
            "valid": valid,
            "invalid": invalid,
            "undecided": undecided,
            "errors": errors,
            "first_error": self.tally.first_error,
            "latency_us": {
                "p50": self.latency_us(0.50),
                "p90": self.latency_us(0.90),
                "p99": self.latency_us(0.99),
                "max": self.tally.latency.max() as f64 / 1e3,
                "mean": round(self.tally.latency.mean() / 1e3, 3),
            },
            "cpu": self.cpu_json(self.cpu),
            "server_cpu": self.server.map(|(pid, cpu)| {
                let mut v = self.cpu_json(cpu);
                if let Value::Object(o) = &mut v {
                    o.insert("pid".into(), pid.into());
                }
                v
            }),
        })
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// The ratios of the first run to the second: throughput, valid verdicts
/// per second, and how many times lower the first one's p99 is.
fn ratios(a: &Report, b: &Report) -> Value {
    let ratio = |x: f64, y: f64| (y > 0.0).then(|| round(x / y, 2));
    json!({
        "verdicts_per_s": ratio(a.per_second(), b.per_second()),
        "valid_per_s": ratio(a.valid_per_second(), b.valid_per_second()),
        "p99_lower": ratio(b.latency_us(0.99), a.latency_us(0.99)),
    })
}

/// One JSON object: the report of a run, or with `--compare`
/// `{"runs": [first, second], "ratio": {...}}`.
pub(super) fn json(reports: &[Report]) -> Value {
    match reports {
        [one] => one.to_json(),
        [a, b, ..] => json!({
            "runs": reports.iter().map(Report::to_json).collect::<Vec<_>>(),
            "ratio": ratios(a, b),
        }),
        [] => Value::Null,
    }
}

/// `1234567` as `1,234,567`.
pub(super) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(us: f64) -> String {
    match us {
        us if us < 1_000.0 => format!("{us:.1} µs"),
        us if us < 1_000_000.0 => format!("{:.2} ms", us / 1e3),
        us => format!("{:.2} s", us / 1e6),
    }
}

fn cpu_text(cpu: Option<Cpu>, verdicts: u64) -> String {
    match cpu {
        None => "unknown (no /proc)".into(),
        Some(cpu) => format!(
            "user {:.2} s, system {:.2} s: {:.1} µs per verdict",
            cpu.user,
            cpu.system,
            cpu.total() * 1e6 / verdicts.max(1) as f64
        ),
    }
}

/// The report for people.
pub(super) fn text(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let [valid, invalid, undecided, errors] = r.tally.counts;
        out += &format!(
            "{}\n  {} proofs, {} concurrent, {:.2} s\n",
            r.target,
            r.corpus,
            r.concurrency,
            r.seconds()
        );
        out += &format!(
            "  verdicts   {} ({}/s), valid {} ({}/s), invalid {}, undecided {}\n",
            grouped(r.verdicts()),
            grouped(r.per_second() as u64),
            grouped(valid),
            grouped(r.valid_per_second() as u64),
            grouped(invalid),
            grouped(undecided),
        );
        if errors > 0 {
            out += &format!(
                "  errors     {} (no verdict read), first: {}\n",
                grouped(errors),
                r.tally.first_error.as_deref().unwrap_or("?")
            );
        }
        out += &format!(
            "  latency    p50 {}, p90 {}, p99 {}, max {}\n",
            latency(r.latency_us(0.50)),
            latency(r.latency_us(0.90)),
            latency(r.latency_us(0.99)),
            latency(r.tally.latency.max() as f64 / 1e3),
        );
        out += &format!("  cpu        {}", cpu_text(r.cpu, r.verdicts()));
        out += if r.server.is_some() || reports.len() > 1 {
            " (this harness)\n"
        } else {
            "\n"
        };
        if let Some((pid, cpu)) = r.server {
            out += &format!("  server cpu {} (pid {pid})\n", cpu_text(cpu, r.verdicts()));
        }
    }
    if let [a, b] = reports {
        let ratio = ratios(a, b);
        let show = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x}×"));
        out += &format!(
            "ratio: {} the verdicts/s ({} the valid/s), {} lower p99\n",
            show(&ratio["verdicts_per_s"]),
            show(&ratio["valid_per_s"]),
            show(&ratio["p99_lower"]),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn this_process_has_cpu_time() {
        let cpu = cpu_seconds(None).expect("Linux has /proc/self/stat");
        assert!(cpu.user >= 0.0 && cpu.system >= 0.0);
    }

    #[test]
    fn latencies_read_in_their_unit() {
        assert_eq!(latency(12.34), "12.3 µs");
        assert_eq!(latency(4_900.0), "4.90 ms");
        assert_eq!(latency(2_500_000.0), "2.50 s");
    }
}
