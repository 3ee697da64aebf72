//! The outbox against a failing world: an SMTP server that is down (for an hour, with two
//! dispatchers), that answers 421, that drops the connection in the middle of DATA, that
//! answers the final dot 35 s late or later than the configured timeout, a dispatcher
//! killed with SIGKILL while it waits for the server's answer, and two dispatcher
//! processes racing on one queue.
//!
//! Everything talks to the real SMTP sink on 127.0.0.1 (`scripts/smtp_sink.py`, started as
//! `tests/common/smtp.rs` says), whose scripted faults are keyed on the recipient's local
//! part: `once421@`, `drop@` (each once per exact address), `slow@` and `slowN@` (answer
//! the final dot after a few, or N, seconds). A server that is down is a closed loopback
//! port. Each test sends to a random domain of its own, so that what the shared sink
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

use cohorte::db::{Author, write_with};
use cohorte::domain::outbox::{
    self as rules, Attempt, GIVE_UP_AFTER, MAX_RETRY, Next, Status, Tries, backoff,
};
use cohorte::jobs::Stats;
use cohorte::mail::Transport;
use cohorte::mail::transport::SmtpTimeouts;
use cohorte::models::outbox::{self, OutboxEmail};

#[path = "common/convocation.rs"]
mod convocation;
#[path = "common/smtp.rs"]
mod smtp;

#[path = "common/db.rs"]
mod db;
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
            assert_eq!(error, "Le serveur d'envoi ne répond pas.");
            let detail = r.last_error_detail.as_deref().unwrap();
            assert!(detail.starts_with("connexion : "), "{detail}");
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
    assert_eq!(
        error,
        "Le serveur d'envoi a fermé la connexion (421) : nouvel essai plus tard."
    );
    assert!(
        r.last_error_detail.as_deref().unwrap().contains("421"),
        "{r:?}"
    );
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
    // The whole message went out before the drop: an unknown outcome, sent again once.
    let error = r.last_error.as_deref().unwrap();
    assert_eq!(
        error,
        "Connexion coupée avant la confirmation du serveur : l'e-mail est peut-être arrivé."
    );
    assert_eq!(r.unconfirmed, 1);
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
    spawn_dispatch_at(db, name, lease_secs, t0(), &sink_url())
}

/// `cohorte dispatch --once --now <now>` sending to `smtp_url`.
fn spawn_dispatch_at(
    db: &Db,
    name: &str,
    lease_secs: Option<u64>,
    now: chrono::DateTime<Utc>,
    smtp_url: &str,
) -> Run {
    let output = db.dir().join(format!("{name}.out"));
    let file = File::create(&output).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cohorte"));
    command
        .args(["dispatch", "--once", "--now", &now.to_rfc3339()])
        // Away from any ./cohorte.toml.
        .current_dir(db.dir());
    // Nothing of the test's own environment leaks into the child's configuration.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(&*key);
        }
    }
    command
        .env("DATABASE_URL", &db.path)
        .env("COHORTE_SMTP_URL", smtp_url)
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
    missed: usize,
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
            missed: count(" manqué(s)"),
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
        // dead dispatcher from a slow one: it leaves the row alone and sends the rest — on
        // SQLite. On PostgreSQL the killed dispatcher had reserved its whole batch
        // (`outbox::take_due`, FOR UPDATE SKIP LOCKED): the rest waits for that
        // reservation to run out (a minute, or the lease if shorter), sent by nobody twice.
        let second = spawn_dispatch(&db, "second", None).succeed();
        let sent_at_once = if db.test.is_postgres() { 0 } else { 2 };
        assert_eq!(
            second,
            PassSummary {
                sent: sent_at_once,
                retried: 0,
                missed: 0,
                recovered: 0
            }
        );
        assert_eq!(reload(&db.pool, &slow).status(), Status::Sending);
        if db.test.is_postgres() {
            for row in &after {
                let r = reload(&db.pool, row);
                assert_eq!((r.status(), r.attempts), (Status::Scheduled, 0), "{r:?}");
                assert!(received_by(&r.recipient_email).is_empty());
            }
        }

        // Once the (short) lease — and with it the reservation — has run out on the wall
        // clock, the row is taken over.
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

// ---------------------------------------------------------------------------------------
// Issue #18: back-off with two dispatchers, slow relays, unknown outcomes, one connection.

#[test]
fn two_dispatcher_processes_at_one_instant_attempt_each_row_once_while_the_server_is_down() {
    let db = db();
    let d = domain();
    let rows: Vec<OutboxEmail> = (0..600)
        .map(|i| {
            enqueue(
                &db.pool,
                plain(&format!("s{i}"), &format!("p{i}@{d}"), t0()),
            )
        })
        .collect();
    let down = format!("smtp://127.0.0.1:{}", closed_port());
    // Each reads its batch of due ids, then claims them one by one while the other
    // reschedules the same rows after their failure: a stale id must not be sent again.
    // (600 rows make the two passes overlap despite each process's start-up: with the
    // claim checking only the status, they made 941 attempts.)
    let left = spawn_dispatch_at(&db, "left", None, t0(), &down);
    let right = spawn_dispatch_at(&db, "right", None, t0(), &down);
    let (left, right) = (left.succeed(), right.succeed());
    assert_eq!(
        left.retried + right.retried,
        rows.len(),
        "one attempt per row: {left:?} {right:?}"
    );
    for row in &rows {
        let r = reload(&db.pool, row);
        assert_eq!((r.status(), r.attempts), (Status::Scheduled, 1), "{r:?}");
        assert_eq!(r.next_attempt_at, (t0() + backoff(1)).naive_utc());
        assert_eq!(r.claim_token, None);
    }
}

/// What the rules say a row goes through over `passes` (instant, server up?): its
/// attempts, and when it is sent (or `None`: missed), computed with the dispatcher's own
/// pure rules, `domain::outbox::decide`.
fn expected_fate(
    row: &OutboxEmail,
    passes: &[(chrono::DateTime<Utc>, bool)],
) -> (i32, Option<chrono::DateTime<Utc>>) {
    let mut next = row.send_after.and_utc();
    let mut attempts = 0;
    let mut first_due = None;
    for &(at, up) in passes {
        if rules::is_missed(at, row.not_after_utc()) {
            return (attempts, None);
        }
        if at < next {
            continue;
        }
        attempts += 1;
        let tries = Tries {
            attempts,
            unconfirmed: 0,
            first_due: *first_due.get_or_insert(next),
            not_after: row.not_after_utc(),
        };
        let attempt = if up {
            Attempt::Sent
        } else {
            Attempt::Temporary
        };
        match rules::decide(at, &tries, GIVE_UP_AFTER, attempt) {
            Next::Sent => return (attempts, Some(at)),
            Next::Retry { at } => next = at,
            Next::Missed => return (attempts, None),
            Next::Failed(why) => panic!("not within an hour: {why:?}"),
        }
    }
    panic!("{} still waiting after the last pass", row.recipient_email);
}

#[test]
fn two_dispatchers_through_a_one_hour_outage_deliver_everything_within_minutes_of_recovery() {
    let db = db();
    let d = domain();
    let minutes = |m: i64| t0() + Duration::minutes(m);
    let mut rows: Vec<OutboxEmail> = Vec::new();
    // Due when the server goes down, during the outage, and just before it comes back.
    for (i, due) in [0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 23, 23, 41, 41, 57, 59]
        .into_iter()
        .enumerate()
    {
        rows.push(enqueue(
            &db.pool,
            plain(&format!("s{i}"), &format!("p{i}@{d}"), minutes(due)),
        ));
    }
    // A reminder whose session starts during the outage: missed, never sent late.
    let mut reminder = plain("r", &format!("reminder@{d}"), minutes(5));
    reminder.not_after = Some(minutes(30));
    rows.push(enqueue(&db.pool, reminder));
    // And a crowd due at once, so that the two processes' passes overlap (each takes
    // about a second to start): each works through rows the other reschedules.
    for i in 0..300 {
        rows.push(enqueue(
            &db.pool,
            plain(&format!("b{i}"), &format!("bulk{i}@{d}"), minutes(0)),
        ));
    }

    // Passes by each of two dispatcher processes: every two minutes for an hour with the
    // server down (a closed port), then every minute with the sink. (Two minutes rather
    // than the default 30 s keep the test near a minute: each debug process takes about
    // one second to start. The rules hold whatever the interval.)
    let down = format!("smtp://127.0.0.1:{}", closed_port());
    let recovery = minutes(60);
    let passes: Vec<(chrono::DateTime<Utc>, bool)> = (0..60)
        .step_by(2)
        .chain(60..=66)
        .map(|m| (minutes(m), minutes(m) >= recovery))
        .collect();
    for (k, &(at, up)) in passes.iter().enumerate() {
        let url = if up { sink_url() } else { down.clone() };
        let a = spawn_dispatch_at(&db, &format!("{k}a"), None, at, &url);
        let b = spawn_dispatch_at(&db, &format!("{k}b"), None, at, &url);
        let (a, b) = (a.succeed(), b.succeed());
        if !up {
            assert_eq!(a.sent + b.sent, 0);
        }
    }

    // What the sink received for this test's domain: Message-IDs per recipient.
    let mut received: std::collections::HashMap<String, Vec<String>> = Default::default();
    for raw in smtp::all_received() {
        if !raw.windows(d.len()).any(|w| w == d.as_bytes()) {
            continue;
        }
        let message = MessageParser::default().parse(&raw[..]).unwrap();
        let to = message.to().unwrap().first().unwrap().address().unwrap();
        received
            .entry(to.to_lowercase())
            .or_default()
            .push(message.message_id().unwrap().to_string());
    }
    let mut sent = 0;
    for row in &rows {
        let r = reload(&db.pool, row);
        let (attempts, sent_at) = expected_fate(&r, &passes);
        assert_eq!(r.attempts, attempts, "attempts as the back-off says: {r:?}");
        match sent_at {
            Some(sent_at) => {
                assert_eq!(r.status(), Status::Sent, "{r:?}");
                assert_eq!(r.sent_at, Some(sent_at.naive_utc()), "{r:?}");
                assert!(
                    r.sent_at.unwrap() >= r.next_attempt_at,
                    "never before its next attempt: {r:?}"
                );
                assert!(
                    sent_at - recovery <= MAX_RETRY,
                    "within minutes of recovery: {r:?}"
                );
                assert_eq!(
                    received.get(&r.recipient_email),
                    Some(&vec![bare_id(&r)]),
                    "received once: {r:?}"
                );
                sent += 1;
            }
            None => {
                assert_eq!(r.status(), Status::Missed, "{r:?}");
                assert_eq!(received.get(&r.recipient_email), None);
            }
        }
    }
    assert_eq!(sent, rows.len() - 1);
    assert_eq!(
        received.values().map(Vec::len).sum::<usize>(),
        sent,
        "nothing else"
    );
    // What that means in figures: a row due when the server went down was tried 12 times
    // in the hour (at 0, 2, 4, 8, 14, 20, … 56 min: 1, 2, 4, then 5 minutes after each
    // failure, at the next pass), then left at 61 min, a minute after the recovery.
    let first = reload(&db.pool, &rows[0]);
    assert_eq!(first.attempts, 13);
    assert_eq!(first.sent_at, Some(minutes(61).naive_utc()));
}

#[test]
fn a_relay_answering_35_s_after_the_final_dot_gets_the_email_once_and_it_is_sent() {
    let db = db();
    let d = domain();
    // lettre's single 30 s timeout gave up on it, and the row was sent again and again.
    let row = enqueue(&db.pool, plain("s1", &format!("slow35@{d}"), t0()));
    let dispatcher = dispatcher(&db.pool); // RFC 5321's timeouts, as configured by default
    assert_eq!(
        dispatcher.run_once(t0()).unwrap(),
        Stats {
            sent: 1,
            ..Stats::default()
        }
    );
    let r = reload(&db.pool, &row);
    assert_eq!(r.status(), Status::Sent, "{r:?}");
    assert_eq!(r.status().label(), "envoyé");
    assert_eq!((r.attempts, r.unconfirmed), (1, 0));
    assert_eq!(r.last_error, None);
    assert_received_once(&r);
    assert!(
        dispatcher
            .run_once(t0() + Duration::hours(1))
            .unwrap()
            .is_empty()
    );
    assert_received_once(&r);
}

#[test]
fn past_the_data_end_timeout_an_email_is_sent_again_once_with_its_message_id_then_failed() {
    let db = db();
    let d = domain();
    let slow = enqueue(&db.pool, plain("s1", &format!("slow3@{d}"), t0()));
    let fine = enqueue(&db.pool, plain("s2", &format!("ok@{d}"), t0()));
    // mail.timeouts.data_end_secs scaled down from 600 to 1: the sink answers in 3 s.
    let timeouts = SmtpTimeouts {
        data_end_secs: 1,
        ..SmtpTimeouts::default()
    };
    let short = dispatcher_to(
        &db.pool,
        Transport::smtp_with(&sink_url(), timeouts).unwrap(),
    );

    // The message reached the sink, its reply did not come in time: an unknown outcome.
    // The next email of the pass goes on a new connection.
    assert_eq!(
        short.run_once(t0()).unwrap(),
        Stats {
            sent: 1,
            retried: 1,
            ..Stats::default()
        }
    );
    let r = reload(&db.pool, &slow);
    assert_eq!(
        (r.status(), r.attempts, r.unconfirmed),
        (Status::Scheduled, 1, 1)
    );
    assert_eq!(
        r.last_error.as_deref(),
        Some(
            "Délai dépassé en attendant la confirmation du serveur : l'e-mail est peut-être arrivé."
        )
    );
    let detail = r.last_error_detail.as_deref().unwrap();
    assert!(detail.starts_with("fin du message : "), "{detail}");
    assert_eq!(r.next_attempt_at, (t0() + backoff(1)).naive_utc());
    assert_eq!(received_by(&slow.recipient_email).len(), 1);
    assert_received_once(&reload(&db.pool, &fine));
    let id = bare_id(&r);

    // Sent again once, with the same Message-ID; unanswered again: failed, and said so.
    let retry = t0() + backoff(1);
    assert_eq!(short.run_once(retry).unwrap().failed, 1);
    let r = reload(&db.pool, &slow);
    assert_eq!(
        (r.status(), r.attempts, r.unconfirmed),
        (Status::Failed, 2, 2)
    );
    assert_eq!(
        r.last_error.as_deref(),
        Some(
            "Délai dépassé en attendant la confirmation du serveur : l'e-mail est peut-être \
             arrivé. Deuxième envoi sans confirmation du serveur : l'e-mail est peut-être \
             arrivé. Vérifiez auprès du destinataire avant de le renvoyer."
        )
    );
    let copies = received_by(&slow.recipient_email);
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert!(copies.iter().all(|c| c.message_id == id), "{copies:?}");
    // And no more.
    assert!(
        short
            .run_once(retry + Duration::hours(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(received_by(&slow.recipient_email).len(), 2);

    // Sent again by someone, to the same address, it keeps its Message-ID: a mail client
    // that got one of the copies recognises the next.
    let resent = write_with(
        &mut db.pool.get().unwrap(),
        Author::system(),
        Utc::now(),
        |tx| outbox::resend(tx, &slow.id, None),
    )
    .unwrap();
    assert_eq!(bare_id(&resent), id);
    assert_eq!((resent.attempts, resent.unconfirmed), (0, 0));
    assert_eq!(dispatcher(&db.pool).run_once(Utc::now()).unwrap().sent, 1);
    let copies = received_by(&slow.recipient_email);
    assert_eq!(copies.len(), 3);
    assert!(copies.iter().all(|c| c.message_id == id), "{copies:?}");
}

#[test]
fn the_emails_of_a_pass_share_one_connection_which_is_replaced_when_it_breaks() {
    let db = db();
    let d = domain();
    let at = |minutes: i64| t0() - Duration::minutes(minutes);
    // In this order: fine; refused at RCPT (the transaction stays open: RSET before the
    // next); fine twice; accepted then closed by the server; fine (its MAIL meets the
    // closed connection: it goes at once on a new one); dropped before the reply to its
    // final dot (an unknown outcome); fine twice.
    let who = [
        "a0", "refuse", "a1", "a2", "close", "b0", "drop", "c0", "c1",
    ];
    let rows: Vec<OutboxEmail> = who
        .iter()
        .enumerate()
        .map(|(i, who)| {
            enqueue(
                &db.pool,
                plain(&format!("s{i}"), &format!("{who}@{d}"), at(20 - i as i64)),
            )
        })
        .collect();
    let stats = dispatcher(&db.pool).run_once(t0()).unwrap();
    assert_eq!(
        (stats.sent, stats.failed, stats.retried),
        (7, 1, 1),
        "{stats:?}"
    );
    for (row, who) in rows.iter().zip(who) {
        let r = reload(&db.pool, row);
        let expected = match who {
            "refuse" => Status::Failed,
            "drop" => Status::Scheduled,
            _ => Status::Sent,
        };
        assert_eq!(r.status(), expected, "{r:?}");
        if expected == Status::Sent {
            assert_eq!(r.attempts, 1, "{r:?}");
            assert_received_once(&r);
        }
    }
    let peer = |i: usize| smtp::peer_of(reload(&db.pool, &rows[i]).message_id.as_deref().unwrap());
    let first = peer(0);
    assert_eq!(
        peer(2),
        first,
        "the same connection after a refused recipient"
    );
    assert_eq!(peer(3), first);
    assert_eq!(peer(4), first);
    let second = peer(5);
    assert_ne!(second, first, "a new connection after the server closed it");
    let third = peer(7);
    assert_ne!(third, second, "a new connection after the drop");
    assert_eq!(peer(8), third);
}
