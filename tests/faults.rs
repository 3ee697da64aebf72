//! The outbox against a failing world: an SMTP server that is down, that answers 421, that
//! drops the connection in the middle of DATA, a dispatcher killed with SIGKILL while it
//! waits for the server's answer, and two dispatcher processes racing on one queue.
//!
//! Everything talks to the real SMTP sink on 127.0.0.1 (`scripts/smtp_sink.py`, started as
//! `tests/common/smtp.rs` says), whose scripted faults are keyed on the recipient's local
//! part: `once421@`, `drop@` (each once per exact address), `slow@` (answers DATA after a
//! few seconds). Each test sends to a random domain of its own, so that what the shared sink
//! holds for an address says something about this test alone. Each test checks both sides:
//! the final state of the `outbox_emails` rows, and what the sink received (parsed with
//! mail-parser).
//!
//! The process tests run the real `cohorte dispatch --once` binary on a SQLite file. They
//! poll with generous deadlines and assert no durations: a slow shared CI machine may make
//! them slower, never wrong.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use mail_parser::{MessageParser, MimeHeaders};

use cohorte::domain::outbox::{Status, backoff};
use cohorte::mail::Transport;
use cohorte::mail::dispatch::Stats;
use cohorte::models::outbox::OutboxEmail;

#[path = "common/convocation.rs"]
mod convocation;
#[path = "common/smtp.rs"]
mod smtp;

#[path = "common/outbox_fixtures.rs"]
mod fixtures;
use fixtures::{Db, db, dispatcher, dispatcher_to, domain, enqueue, plain, reload, t0};

use convocation::convocation;

/// How long a child process or a polled condition may take before the test gives up.
/// Far above what any of them needs: only a hung test ever reaches it.
const PATIENCE: StdDuration = StdDuration::from_secs(180);

fn sink_url() -> String {
    format!("smtp://127.0.0.1:{}", smtp::sink().port)
}

/// One message as the sink received it.
#[derive(Debug)]
struct Copy {
    /// Without angle brackets, as mail-parser gives it.
    message_id: String,
    subject: String,
    to: Vec<String>,
    has_invite: bool,
}

/// Every message the sink holds addressed (To:) to `address`, parsed.
fn received_by(address: &str) -> Vec<Copy> {
    let address = address.to_lowercase();
    smtp::all_received()
        .iter()
        .filter(|raw| raw.windows(address.len()).any(|w| w == address.as_bytes()))
        .filter_map(|raw| {
            let message = MessageParser::default()
                .parse(&raw[..])
                .expect("the sink holds MIME messages");
            let to: Vec<String> = message
                .to()
                .map(|to| {
                    to.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default();
            to.contains(&address).then(|| Copy {
                message_id: message.message_id().unwrap_or_default().to_string(),
                subject: message.subject().unwrap_or_default().to_string(),
                to,
                has_invite: message.parts.iter().any(|part| {
                    part.content_type()
                        .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("calendar"))
                }),
            })
        })
        .collect()
}

/// The row's stored Message-ID as mail-parser shows it (no angle brackets).
fn bare_id(row: &OutboxEmail) -> String {
    row.message_id
        .as_deref()
        .expect("a Message-ID is stored before the first attempt")
        .trim_matches(['<', '>'])
        .to_string()
}

/// Asserts that the sink holds exactly one copy of `row`, the one with its Message-ID.
fn assert_received_once(row: &OutboxEmail) {
    let copies = received_by(&row.recipient_email);
    assert_eq!(copies.len(), 1, "{}: {copies:?}", row.recipient_email);
    assert_eq!(copies[0].message_id, bare_id(row), "{copies:?}");
    assert_eq!(copies[0].subject, row.subject);
    assert_eq!(copies[0].to, [row.recipient_email.to_lowercase()]);
}

/// A loopback port where nothing listens: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn emails_wait_while_the_server_is_down_and_leave_once_each_when_it_is_back() {
    let db = db();
    let d = domain();
    let rows = [
        enqueue(&db.pool, plain("s1", &format!("a@{d}"), t0())),
        enqueue(&db.pool, convocation(&format!("b@{d}"), t0())),
        enqueue(&db.pool, plain("s2", &format!("c@{d}"), t0())),
    ];
    let down = dispatcher_to(
        &db.pool,
        Transport::smtp(&format!("smtp://127.0.0.1:{}", closed_port())).unwrap(),
    );

    // Two passes while the server is down: each row waits, longer each time, and keeps
    // the Message-ID chosen before its first attempt.
    let mut now = t0();
    let mut ids: Vec<Option<String>> = Vec::new();
    for attempt in 1..=2 {
        let stats = down.run_once(now).unwrap();
        assert_eq!(
            stats,
            Stats {
                retried: 3,
                ..Stats::default()
            },
            "attempt {attempt}"
        );
        for row in &rows {
            let r = reload(&db.pool, row);
            assert_eq!(r.status(), Status::Scheduled, "{r:?}");
            assert_eq!(r.attempts, attempt);
            assert_eq!(r.next_attempt_at, (now + backoff(attempt)).naive_utc());
            let error = r.last_error.as_deref().expect("the failure is recorded");
            assert!(error.starts_with("échec temporaire"), "{error}");
            assert!(received_by(&r.recipient_email).is_empty());
        }
        let now_ids: Vec<Option<String>> = rows
            .iter()
            .map(|r| reload(&db.pool, r).message_id)
            .collect();
        assert!(now_ids.iter().all(Option::is_some));
        if attempt > 1 {
            assert_eq!(now_ids, ids);
        }
        ids = now_ids;
        now += backoff(attempt);
    }

    // The server is back (the sink). Nothing leaves before the retry time…
    let up = dispatcher(&db.pool);
    assert!(up.run_once(now - Duration::seconds(1)).unwrap().is_empty());
    for row in &rows {
        assert!(received_by(&row.recipient_email).is_empty());
    }
    // …then every row, once.
    assert_eq!(
        up.run_once(now).unwrap(),
        Stats {
            sent: 3,
            ..Stats::default()
        }
    );
    for (row, id) in rows.iter().zip(&ids) {
        let r = reload(&db.pool, row);
        assert_eq!(r.status(), Status::Sent);
        assert_eq!(r.attempts, 3);
        assert_eq!(r.last_error, None);
        assert_eq!(r.sent_at, Some(now.naive_utc()));
        assert_eq!(&r.message_id, id, "one Message-ID for every attempt");
        assert_received_once(&r);
    }
    assert!(received_by(&format!("b@{d}"))[0].has_invite);

    // Later passes send nothing again.
    assert!(up.run_once(now + Duration::hours(1)).unwrap().is_empty());
    for row in &rows {
        assert_eq!(received_by(&row.recipient_email).len(), 1);
    }
}

#[test]
fn a_421_at_rcpt_is_retried_then_sent_once() {
    let db = db();
    let d = domain();
    let flaky = enqueue(&db.pool, plain("s1", &format!("once421@{d}"), t0()));
    let fine = enqueue(&db.pool, plain("s2", &format!("ok@{d}"), t0()));
    let dispatcher = dispatcher(&db.pool);

    assert_eq!(
        dispatcher.run_once(t0()).unwrap(),
        Stats {
            sent: 1,
            retried: 1,
            ..Stats::default()
        }
    );
    let r = reload(&db.pool, &flaky);
    assert_eq!(r.status(), Status::Scheduled);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.next_attempt_at, (t0() + backoff(1)).naive_utc());
    let error = r.last_error.as_deref().unwrap();
    assert!(error.contains("421"), "{error}");
    assert!(error.starts_with("échec temporaire"), "{error}");
    let first_id = r.message_id.clone();
    assert!(received_by(&flaky.recipient_email).is_empty());
    assert_received_once(&reload(&db.pool, &fine));

    // The retry goes through.
    let now = t0() + backoff(1);
    assert_eq!(dispatcher.run_once(now).unwrap().sent, 1);
    let r = reload(&db.pool, &flaky);
    assert_eq!(r.status(), Status::Sent);
    assert_eq!(r.attempts, 2);
    assert_eq!(r.last_error, None);
    assert_eq!(r.message_id, first_id);
    assert_received_once(&r);
    assert_received_once(&reload(&db.pool, &fine));
}

#[test]
fn a_connection_dropped_during_data_is_a_temporary_failure_then_sent_once() {
    let db = db();
    let d = domain();
    // A convocation: several kilobytes of DATA, all received before the drop.
    let dropped = enqueue(&db.pool, convocation(&format!("drop@{d}"), t0()));
    let fine = enqueue(&db.pool, plain("s2", &format!("ok@{d}"), t0()));
    let dispatcher = dispatcher(&db.pool);

    assert_eq!(
        dispatcher.run_once(t0()).unwrap(),
        Stats {
            sent: 1,
            retried: 1,
            ..Stats::default()
        }
    );
    let r = reload(&db.pool, &dropped);
    assert_eq!(r.status(), Status::Scheduled, "{r:?}");
    assert_eq!(r.attempts, 1);
    assert_eq!(r.next_attempt_at, (t0() + backoff(1)).naive_utc());
    let error = r.last_error.as_deref().unwrap();
    assert!(error.starts_with("échec temporaire"), "{error}");
    let first_id = r.message_id.clone();
    assert!(
        received_by(&dropped.recipient_email).is_empty(),
        "the sink kept nothing from the dropped connection"
    );
    assert_received_once(&reload(&db.pool, &fine));

    let now = t0() + backoff(1);
    assert_eq!(dispatcher.run_once(now).unwrap().sent, 1);
    let r = reload(&db.pool, &dropped);
    assert_eq!(r.status(), Status::Sent);
    assert_eq!(r.attempts, 2);
    assert_eq!(r.last_error, None);
    assert_eq!(r.message_id, first_id);
    assert_received_once(&r);
    assert!(received_by(&dropped.recipient_email)[0].has_invite);
    assert_received_once(&reload(&db.pool, &fine));
}

// ---------------------------------------------------------------------------------------
// The real binary, as separate processes.

/// `cohorte dispatch --once --now <t0>` on the test's database and the sink, its output
/// (logs and the summary line) in a file.
struct Run {
    child: Child,
    output: PathBuf,
}

fn spawn_dispatch(db: &Db, name: &str, lease_secs: Option<u64>) -> Run {
    let output = db.dir.path().join(format!("{name}.out"));
    let file = File::create(&output).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cohorte"));
    command
        .args(["dispatch", "--once", "--now", &t0().to_rfc3339()])
        // Away from any ./cohorte.toml.
        .current_dir(db.dir.path());
    // Nothing of the test's own environment leaks into the child's configuration.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(&*key);
        }
    }
    command
        .env("DATABASE_URL", &db.path)
        .env("COHORTE_SMTP_URL", sink_url())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    if let Some(secs) = lease_secs {
        command.env("COHORTE_MAIL__SENDING_LEASE_SECS", secs.to_string());
    }
    let child = command.spawn().expect("the cohorte binary starts");
    Run { child, output }
}

impl Run {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Waits for the process to end on its own; returns its output.
    fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.output());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("cohorte dispatch did not finish:\n{}", self.output());
            }
            std::thread::sleep(StdDuration::from_millis(50));
        }
    }

    /// Waits for success; returns the numbers of the summary line.
    fn succeed(self) -> PassSummary {
        let (status, output) = self.finish();
        assert!(status.success(), "{status}:\n{output}");
        PassSummary::parse(&output)
    }
}

/// The numbers of `cohorte dispatch`'s last line: « Envoi des e-mails dus : 0 préparé(s),
/// 3 envoyé(s), 0 à réessayer, 0 en échec, 0 manqué(s), 0 repris après interruption. »
#[derive(Debug, PartialEq, Eq)]
struct PassSummary {
    sent: usize,
    retried: usize,
    recovered: usize,
}

impl PassSummary {
    fn parse(output: &str) -> PassSummary {
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix("Envoi des e-mails dus : "))
            .unwrap_or_else(|| panic!("no summary line in:\n{output}"));
        let count = |label: &str| -> usize {
            line.trim_end_matches('.')
                .split(", ")
                .find_map(|part| part.strip_suffix(label))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no « {label} » in {line:?}"))
        };
        PassSummary {
            sent: count(" envoyé(s)"),
            retried: count(" à réessayer"),
            recovered: count(" repris après interruption"),
        }
    }
}

#[test]
fn a_dispatcher_killed_while_the_server_answers_is_taken_over_with_the_same_message_id() {
    let db = db();
    let d = domain();
    // Distinct due times fix the order of the pass: a0, a1, slow, b0, b1.
    let at = |minutes: i64| t0() - Duration::minutes(minutes);
    let before: Vec<OutboxEmail> = (0..2)
        .map(|i| {
            enqueue(
                &db.pool,
                plain(&format!("a{i}"), &format!("a{i}@{d}"), at(10)),
            )
        })
        .collect();
    let slow = enqueue(&db.pool, plain("slow", &format!("slow@{d}"), at(5)));
    let after: Vec<OutboxEmail> = (0..2)
        .map(|i| {
            enqueue(
                &db.pool,
                plain(&format!("b{i}"), &format!("b{i}@{d}"), at(1)),
            )
        })
        .collect();

    // The first dispatcher sends a0 and a1, then waits for the sink's answer to slow@'s
    // DATA. Killed (SIGKILL) while its row is `sending` and the sink already holds the
    // message: the one moment a crash can duplicate an email.
    let mut first = spawn_dispatch(&db, "first", None);
    let deadline = Instant::now() + PATIENCE;
    let killed_while_sending = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            // Only if this machine stalled longer than the sink's pause: the scenario did
            // not happen, but everything below must hold all the same.
            eprintln!(
                "the first dispatcher ended ({status}) before it could be killed:\n{}",
                first.output()
            );
            break false;
        }
        let row = reload(&db.pool, &slow);
        if row.status() == Status::Sending && !received_by(&slow.recipient_email).is_empty() {
            first.child.kill().unwrap(); // SIGKILL: no clean-up of any kind
            first.child.wait().unwrap();
            break true;
        }
        assert!(
            Instant::now() < deadline,
            "slow@ never reached the sink:\n{}",
            first.output()
        );
        std::thread::sleep(StdDuration::from_millis(20));
    };

    let stuck = reload(&db.pool, &slow);
    let slow_id = bare_id(&stuck);
    for row in &before {
        let r = reload(&db.pool, row);
        assert_eq!(r.status(), Status::Sent);
        assert_received_once(&r);
    }
    if killed_while_sending {
        assert_eq!(stuck.status(), Status::Sending, "{stuck:?}");
        for row in &after {
            let r = reload(&db.pool, row);
            assert_eq!((r.status(), r.attempts), (Status::Scheduled, 0), "{r:?}");
            assert!(received_by(&r.recipient_email).is_empty());
        }

        // A dispatcher started at once, with the default lease (10 min), cannot tell a
        // dead dispatcher from a slow one: it leaves the row alone and sends the rest.
        let second = spawn_dispatch(&db, "second", None).succeed();
        assert_eq!(
            second,
            PassSummary {
                sent: 2,
                retried: 0,
                recovered: 0
            }
        );
        assert_eq!(reload(&db.pool, &slow).status(), Status::Sending);

        // Once the (short) lease has run out on the wall clock, the row is taken over.
        let lease_end = stuck.updated_at.and_utc() + Duration::seconds(2);
        while Utc::now() < lease_end {
            std::thread::sleep(StdDuration::from_millis(100));
        }
    }
    let third = spawn_dispatch(&db, "third", Some(1)).succeed();
    assert_eq!(third.recovered, usize::from(killed_while_sending));

    let r = reload(&db.pool, &slow);
    assert_eq!(r.status(), Status::Sent, "{r:?}");
    assert_eq!(r.last_error, None);
    assert_eq!(bare_id(&r), slow_id, "the Message-ID survives the crash");
    let copies = received_by(&slow.recipient_email);
    assert!(
        (1..=2).contains(&copies.len()),
        "at most the one duplicate a crash can cause: {copies:?}"
    );
    for copy in &copies {
        assert_eq!(copy.message_id, slow_id, "{copies:?}");
        assert_eq!(copy.subject, slow.subject);
    }
    for row in before.iter().chain(&after) {
        let r = reload(&db.pool, row);
        assert_eq!(r.status(), Status::Sent);
        assert_eq!(r.attempts, 1);
        assert_received_once(&r);
    }
}

#[test]
fn two_dispatcher_processes_racing_on_one_queue_send_each_email_once() {
    let db = db();
    let d = domain();
    let rows: Vec<OutboxEmail> = (0..20)
        .map(|i| {
            enqueue(
                &db.pool,
                plain(&format!("s{i}"), &format!("p{i}@{d}"), t0()),
            )
        })
        .collect();
    let left = spawn_dispatch(&db, "left", None);
    let right = spawn_dispatch(&db, "right", None);
    let left = left.succeed();
    let right = right.succeed();
    eprintln!("sent by each process: {} + {}", left.sent, right.sent);
    assert_eq!(left.sent + right.sent, rows.len(), "{left:?} {right:?}");
    assert_eq!((left.retried, right.retried), (0, 0));
    for row in &rows {
        let r = reload(&db.pool, row);
        assert_eq!(r.status(), Status::Sent, "{r:?}");
        assert_eq!(r.attempts, 1);
        assert_received_once(&r);
    }
}
