//! What the durable outbox costs over sending with lettre alone.
//!
//! N rendered convocations (text, HTML, invite: a few kilobytes each) go to the SMTP sink on
//! loopback (`scripts/smtp_sink.py`), two ways:
//!
//! - **lettre alone**: build each MIME message and send it through the app's `Transport`
//!   (`Transport::send`: lettre's blocking `SmtpConnection`, one connection per message —
//!   before issue #18, lettre's `SmtpTransport`);
//! - **outbox**: queue each email as a row (`models::outbox::enqueue`, one transaction per
//!   email, as a trigger does) in a SQLite file, then one `Dispatcher::run_once` claims,
//!   builds, sends and records every row through the same transport (one connection for
//!   the pass since issue #18).
//!
//! A third measure takes SMTP out: the dispatcher's database work alone (`due_ids`, `claim`,
//! `record`) on as many rows. A fourth is a reference for the SMTP exchange itself: the same
//! messages sent by a minimal hand-written SMTP client with `TCP_NODELAY` set, which lettre
//! 0.11.23 does not set (see docs/BENCHMARKS.md). Each measure is repeated and the median
//! is reported.
//!
//! Run it with `scripts/bench` (starts the sink, then `cargo bench --bench outbox`).
//! `COHORTE_BENCH_EMAILS` (default 500) and `COHORTE_BENCH_ROUNDS` (default 3) change the
//! size. Without the sink (`COHORTE_TEST_SMTP_PORT` unset) it says so and exits 0. Under
//! `cargo test --all-targets` (no `--bench` argument) it only makes a smoke run of 3 emails,
//! so that this code keeps working; CI measures nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

use cohorte::config::Config;
use cohorte::db::Pool;
use cohorte::db::{Author, write_with};
use cohorte::domain::outbox::Next;
use cohorte::jobs::Dispatcher;
use cohorte::mail::{Email, Renderer, Transport, new_message_id, sender};
use cohorte::models::outbox;

#[path = "../tests/common/convocation.rs"]
mod convocation;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let Some(port) = std::env::var("COHORTE_TEST_SMTP_PORT")
        .ok()
        .filter(|p| !p.trim().is_empty())
    else {
        println!(
            "benches/outbox: no SMTP sink (COHORTE_TEST_SMTP_PORT is not set), nothing \
             measured. Run scripts/bench: it starts the sink on loopback, then this benchmark."
        );
        return;
    };
    let port: u16 = port
        .trim()
        .parse()
        .expect("COHORTE_TEST_SMTP_PORT is a port");
    let (n, rounds) = if bench {
        (
            env_number("COHORTE_BENCH_EMAILS", 500),
            env_number("COHORTE_BENCH_ROUNDS", 3),
        )
    } else {
        println!("benches/outbox: smoke run (3 emails, 1 round); `cargo bench` measures.");
        (3, 1)
    };
    let sink_dir = std::env::var_os("COHORTE_TEST_SMTP_DIR").map(PathBuf::from);

    let url = format!("smtp://127.0.0.1:{port}");
    let transport = Transport::smtp(&url).unwrap();
    let from = sender(&Config::defaults().mail).unwrap();
    let now = Utc.with_ymd_and_hms(2027, 2, 1, 8, 0, 0).unwrap();

    // Rendering comes before either path (a trigger renders, then queues or sends).
    let renderer = Renderer::build("").unwrap();
    let started = Instant::now();
    let domain = format!("{}.example", uuid::Uuid::new_v4().simple());
    let emails: Vec<Email> = (0..n)
        .map(|i| convocation::email(&renderer, &format!("p{i}@{domain}"), now))
        .collect();
    let render = started.elapsed();
    let size = emails[0]
        .to_message(&from, &new_message_id(&from))
        .unwrap()
        .formatted()
        .len();

    let mut lettre = Vec::new();
    let mut build = Vec::new();
    let mut enqueue = Vec::new();
    let mut dispatch = Vec::new();
    let mut bookkeeping = Vec::new();
    let mut by_hand = Vec::new();
    for round in 1..=rounds {
        if bench {
            eprintln!("round {round}/{rounds}…");
        }
        build.push(build_only(&emails, &from));

        let before = count_received(&sink_dir);
        lettre.push(lettre_alone(&emails, &transport, &from));
        check_received(&sink_dir, before, n, "lettre alone");

        let before = count_received(&sink_dir);
        let (e, d) = through_outbox(&emails, &transport, &from, now);
        enqueue.push(e);
        dispatch.push(d);
        check_received(&sink_dir, before, n, "outbox");

        bookkeeping.push(bookkeeping_only(&emails, now));

        let before = count_received(&sink_dir);
        by_hand.push(smtp_by_hand(&emails, port, &from));
        check_received(&sink_dir, before, n, "by hand");
    }

    let lettre = median(lettre);
    let build = median(build);
    let enqueue = median(enqueue);
    let dispatch = median(dispatch);
    let outbox_total = enqueue + dispatch;
    let bookkeeping = median(bookkeeping);
    let by_hand = median(by_hand);

    println!();
    println!(
        "Outbox vs lettre alone: {n} convocations of {size} bytes to the SMTP sink on \
         127.0.0.1:{port}, median of {rounds} round(s)"
    );
    println!();
    println!(
        "| {:<58} | {:>9} | {:>9} | {:>8} |",
        "measure", "total (s)", "emails/s", "ms/email"
    );
    println!("|{:-<60}|{:->11}|{:->11}|{:->10}|", "", "", "", "");
    let row = |label: &str, d: Duration| {
        let s = d.as_secs_f64();
        println!(
            "| {label:<58} | {s:>9.3} | {:>9.0} | {:>8.3} |",
            n as f64 / s,
            s * 1000.0 / n as f64
        );
    };
    row("render (handlebars + invite), before either path", render);
    row("lettre alone: build + send", lettre);
    row("  of which: build the MIME message", build);
    row("outbox: enqueue (one transaction per email)", enqueue);
    row(
        "outbox: Dispatcher::run_once (claim, build, send, record)",
        dispatch,
    );
    row("outbox: enqueue + dispatch", outbox_total);
    row("  dispatcher's database work alone, no SMTP", bookkeeping);
    row("reference: build + SMTP by hand with TCP_NODELAY", by_hand);
    println!();
    let ratio = |path: Duration| lettre.as_secs_f64() / path.as_secs_f64();
    println!(
        "Throughput, outbox / lettre alone: {:.2} (enqueue + dispatch), {:.2} (dispatch only)",
        ratio(outbox_total),
        ratio(dispatch)
    );
    println!(
        "Outbox overhead per email: {:.3} ms (enqueue + dispatch − lettre alone)",
        (outbox_total.as_secs_f64() - lettre.as_secs_f64()) * 1000.0 / n as f64
    );
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .unwrap_or_else(|| panic!("{name} must be a positive whole number, not {v:?}")),
        Err(_) => default,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A SQLite file (not in memory: the outbox is durable) in the target's scratch folder.
fn fresh_db() -> (Pool, tempfile::TempDir) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("bench.db");
    let pool = cohorte::db::connect(path.to_str().unwrap(), 2).unwrap();
    (pool, dir)
}

fn build_only(emails: &[Email], from: &lettre::message::Mailbox) -> Duration {
    let started = Instant::now();
    for email in emails {
        let message = email.to_message(from, &new_message_id(from)).unwrap();
        std::hint::black_box(message);
    }
    started.elapsed()
}

fn lettre_alone(
    emails: &[Email],
    transport: &Transport,
    from: &lettre::message::Mailbox,
) -> Duration {
    let started = Instant::now();
    for email in emails {
        let message = email.to_message(from, &new_message_id(from)).unwrap();
        transport
            .send(&message)
            .expect("the sink accepts the message");
    }
    started.elapsed()
}

/// Returns (enqueue, dispatch).
fn through_outbox(
    emails: &[Email],
    transport: &Transport,
    from: &lettre::message::Mailbox,
    now: DateTime<Utc>,
) -> (Duration, Duration) {
    let (pool, _dir) = fresh_db();
    let started = Instant::now();
    {
        let mut conn = pool.get().unwrap();
        for email in emails {
            write_with(&mut conn, Author::system(), Utc::now(), |tx| {
                outbox::enqueue(tx, convocation::new_email(email, now))
            })
            .unwrap()
            .expect("a new row");
        }
    }
    let enqueue = started.elapsed();

    let dispatcher = Dispatcher::new(pool.clone(), transport.clone(), from.clone());
    let started = Instant::now();
    let stats = dispatcher.run_once(now).unwrap();
    let dispatch = started.elapsed();
    assert_eq!(stats.sent, emails.len(), "{stats:?}");
    (enqueue, dispatch)
}

/// The dispatcher's loop with the send taken out: what the outbox adds per email once the
/// rows exist.
fn bookkeeping_only(emails: &[Email], now: DateTime<Utc>) -> Duration {
    let (pool, _dir) = fresh_db();
    let mut conn = pool.get().unwrap();
    for email in emails {
        write_with(&mut conn, Author::system(), Utc::now(), |tx| {
            outbox::enqueue(tx, convocation::new_email(email, now))
        })
        .unwrap();
    }
    let started = Instant::now();
    let mut done = 0;
    loop {
        let due = outbox::due_ids(&mut conn, now, 50).unwrap();
        if due.is_empty() {
            break;
        }
        for id in due {
            let row = write_with(&mut conn, Author::system(), now, |tx| {
                outbox::claim(tx, &id, || format!("<{id}@bench>"))
            })
            .unwrap()
            .expect("claimed");
            let sent = outbox::Outcome {
                next: Next::Sent,
                attempts: 1,
                unconfirmed: 0,
                error: None,
                detail: None,
            };
            assert!(
                write_with(&mut conn, Author::system(), now, |tx| outbox::record(
                    tx, &row, &sent
                ))
                .unwrap()
            );
            done += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(done, emails.len());
    elapsed
}

/// The same SMTP transaction as lettre's (connect, EHLO, MAIL, RCPT, DATA, QUIT, one
/// connection per message) by a minimal client that sets `TCP_NODELAY`: what the exchange
/// costs when nothing waits for a delayed ACK. A reference, not a transport.
fn smtp_by_hand(emails: &[Email], port: u16, from: &lettre::message::Mailbox) -> Duration {
    let started = Instant::now();
    for email in emails {
        let message = email
            .to_message(from, &new_message_id(from))
            .unwrap()
            .formatted();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut exchange = |command: &[u8], expect: &str| {
            if !command.is_empty() {
                writer.write_all(command).unwrap();
            }
            let mut line = String::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                // The last line of a reply has a space after the code.
                if line.as_bytes().get(3) != Some(&b'-') {
                    break;
                }
            }
            assert!(line.starts_with(expect), "{expect}: {line:?}");
        };
        exchange(b"", "220");
        exchange(b"EHLO bench\r\n", "250");
        exchange(format!("MAIL FROM:<{}>\r\n", from.email).as_bytes(), "250");
        exchange(
            format!("RCPT TO:<{}>\r\n", email.to_address).as_bytes(),
            "250",
        );
        exchange(b"DATA\r\n", "354");
        // Dot-stuffed, with the terminating line in the same write.
        let mut data = Vec::with_capacity(message.len() + 16);
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        exchange(&data, "250");
        exchange(b"QUIT\r\n", "221");
    }
    started.elapsed()
}

fn count_received(dir: &Option<PathBuf>) -> Option<usize> {
    let dir = dir.as_ref()?;
    Some(
        std::fs::read_dir(dir)
            .ok()?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count(),
    )
}

/// Every message of the run reached the sink (when its folder is known).
fn check_received(dir: &Option<PathBuf>, before: Option<usize>, n: usize, what: &str) {
    if let (Some(before), Some(after)) = (before, count_received(dir)) {
        assert!(
            after - before >= n,
            "{what}: the sink got {} of {n} messages",
            after - before
        );
    }
}
