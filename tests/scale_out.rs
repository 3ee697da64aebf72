//! Several instances on one database (issue #15, points 4 and 5): the outbox's batches and
//! the background jobs' locks on either backend, then the scale-out test proper, on
//! PostgreSQL only — two `cohorte serve` and two `cohorte dispatch` processes sharing one
//! database, 1,000 emails due, an SMTP server that defers some recipients (4xx) and drops
//! one connection, one dispatcher killed with SIGKILL mid-run and restarted, and 20
//! enrolments sent at once through both instances into a cohort with 2 places left.
//!
//! The database comes from `common/db.rs` (`COHORTE_TEST_POSTGRES` names the server; the
//! scale-out test says why it does nothing without it). The scale-out test starts its own
//! SMTP sink (`scripts/smtp_sink.py --events`), which logs the instant of every answer it
//! gives, so that what the dispatchers did is checked where it matters: at the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use cohorte::db::Author;
use cohorte::db::{Job, Kind};
use cohorte::domain::outbox::Status;
use cohorte::error::AppError;
use cohorte::models::outbox::{self, OutboxEmail};

#[path = "common/db.rs"]
mod db;
#[path = "common/outbox_fixtures.rs"]
mod fixtures;
#[path = "common/smtp.rs"]
mod smtp;
use db::TestDb;
use fixtures::{domain, enqueue, plain, reload, t0};

fn ids(rows: &[OutboxEmail]) -> Vec<String> {
    rows.iter().map(|r| r.id.clone()).collect()
}

fn message_id() -> String {
    format!("<{}@scale.test>", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------------------
// The outbox's batches and the jobs' locks, on both backends.

#[test]
fn dispatchers_take_disjoint_batches_and_reserved_rows_wait_for_their_owner_until_it_lapses() {
    let db = TestDb::new();
    let pool = cohorte::db::connect(db.url(), 4).unwrap();
    let d = domain();
    let rows: Vec<OutboxEmail> = (0..5)
        .map(|i| {
            let due = t0() - Duration::minutes(10 - i);
            enqueue(&pool, plain(&format!("s{i}"), &format!("p{i}@{d}"), due))
        })
        .collect();
    let (mut a, mut b) = (pool.get().unwrap(), pool.get().unwrap());
    // Reservations made since then hold.
    let fresh = (Utc::now() - Duration::minutes(1)).naive_utc();

    let first = outbox::take_due(&mut a, t0(), 3, fresh).unwrap();
    assert_eq!(first.ids, ids(&rows[..3]), "the longest waiting first");

    if Kind::of(&a) == Kind::Sqlite {
        // Nothing is reserved: the conditional claim, one writer at a time, decides.
        assert_eq!(first.token, None);
        assert_eq!(outbox::take_due(&mut b, t0(), 3, fresh).unwrap(), first);
        assert!(
            cohorte::db::write_with(&mut a, Author::system(), t0(), |tx| outbox::claim(
                tx,
                &rows[0].id,
                message_id
            ))
            .unwrap()
            .is_some()
        );
        assert!(
            cohorte::db::write_with(&mut b, Author::system(), t0(), |tx| outbox::claim(
                tx,
                &rows[0].id,
                message_id
            ))
            .unwrap()
            .is_none()
        );
        return;
    }

    // PostgreSQL: the second dispatcher gets the rest, the third nothing.
    let token = first.token.clone().expect("an owner token");
    let second = outbox::take_due(&mut b, t0(), 3, fresh).unwrap();
    assert_eq!(second.ids, ids(&rows[3..]));
    assert!(
        outbox::take_due(&mut b, t0(), 3, fresh)
            .unwrap()
            .ids
            .is_empty()
    );
    for row in &rows {
        let r = reload(&pool, row);
        assert_eq!((r.status(), r.attempts), (Status::Scheduled, 0), "{r:?}");
        assert!(
            r.message_id.is_none(),
            "nothing is stored before the send begins"
        );
    }
    // Only the owner claims a reserved row, as its send begins.
    let other = second.token.as_deref().unwrap();
    assert!(
        cohorte::db::write_with(&mut b, Author::system(), t0(), |tx| outbox::claim_reserved(
            tx,
            &rows[0].id,
            other,
            message_id
        ))
        .unwrap()
        .is_none()
    );
    let sending = cohorte::db::write_with(&mut a, Author::system(), t0(), |tx| {
        outbox::claim_reserved(tx, &rows[0].id, &token, message_id)
    })
    .unwrap()
    .expect("its owner claims it");
    assert_eq!(sending.status(), Status::Sending);
    assert_eq!(sending.claim_token.as_deref(), Some(token.as_str()));
    assert!(sending.message_id.is_some());

    // The second dispatcher gives back what it did not reach: free again at once.
    assert_eq!(
        cohorte::db::write_with(&mut b, Author::system(), t0(), |tx| outbox::unreserve(
            tx, other
        ))
        .unwrap(),
        2
    );
    let again = outbox::take_due(&mut b, t0(), 10, fresh).unwrap();
    assert_eq!(again.ids, ids(&rows[3..]));
    assert_eq!(
        cohorte::db::write_with(&mut b, Author::system(), t0(), |tx| {
            outbox::unreserve(tx, again.token.as_deref().unwrap())
        })
        .unwrap(),
        2
    );

    // The first dies. Once its reservation has lapsed, the rows it had not begun are taken
    // by another, and its late claim fails; the one it was sending is left to the lease.
    let lapsed = (Utc::now() + Duration::seconds(1)).naive_utc();
    let taken = outbox::take_due(&mut b, t0(), 10, lapsed).unwrap();
    assert_eq!(taken.ids, ids(&rows[1..]));
    assert!(
        cohorte::db::write_with(&mut a, Author::system(), t0(), |tx| outbox::claim_reserved(
            tx,
            &rows[1].id,
            &token,
            message_id
        ))
        .unwrap()
        .is_none()
    );
    let new_owner = taken.token.as_deref().unwrap();
    let r = cohorte::db::write_with(&mut b, Author::system(), t0(), |tx| {
        outbox::claim_reserved(tx, &rows[1].id, new_owner, message_id)
    })
    .unwrap()
    .expect("the new owner claims it");
    assert_eq!(r.claim_token.as_deref(), Some(new_owner));
    assert_eq!(reload(&pool, &rows[0]).status(), Status::Sending);
}

#[test]
fn a_batch_passes_over_rows_another_transaction_holds_without_waiting() {
    let db = TestDb::new();
    if !db.is_postgres() {
        eprintln!("PostgreSQL only (SQLite has no row locks): set COHORTE_TEST_POSTGRES");
        return;
    }
    let pool = cohorte::db::connect(db.url(), 4).unwrap();
    let d = domain();
    let rows: Vec<OutboxEmail> = (0..3)
        .map(|i| {
            let due = t0() - Duration::minutes(10 - i);
            enqueue(&pool, plain(&format!("s{i}"), &format!("p{i}@{d}"), due))
        })
        .collect();
    // Another transaction holds the longest waiting row (as a dispatcher reserving it).
    let mut holder = pool.get().unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM outbox_emails WHERE id = '{}' FOR UPDATE",
            rows[0].id
        ))
        .unwrap();
    let mut conn = pool.get().unwrap();
    let started = Instant::now();
    let fresh = (Utc::now() - Duration::minutes(1)).naive_utc();
    // A wait would end in the lock timeout (2 s), as an error.
    let batch = outbox::take_due(&mut conn, t0(), 10, fresh).unwrap();
    assert_eq!(batch.ids, ids(&rows[1..]));
    eprintln!("batch taken in {:?} beside a locked row", started.elapsed());
    holder.batch_execute("ROLLBACK").unwrap();
    let rest = outbox::take_due(&mut conn, t0(), 10, fresh).unwrap();
    assert_eq!(rest.ids, ids(&rows[..1]));
}

#[test]
fn the_planner_and_the_purge_each_run_on_one_instance_at_a_time() {
    let db = TestDb::new();
    let pool = cohorte::db::connect(db.url(), 4).unwrap();
    let (mut a, mut b) = (pool.get().unwrap(), pool.get().unwrap());
    let on_postgres = Kind::of(&a) == Kind::Postgres;

    let inside = cohorte::db::exclusive(&mut a, Job::Planner, |_| {
        let planner = cohorte::db::exclusive(&mut b, Job::Planner, |_| Ok("planned"))?;
        let purge = cohorte::db::exclusive(&mut b, Job::Purge, |_| Ok("purged"))?;
        Ok((planner, purge))
    })
    .unwrap();
    if on_postgres {
        // The other instance skips the planner's pass, not the purge.
        assert_eq!(inside, Some((None, Some("purged"))));
    } else {
        // SQLite: its one writer serialises the jobs' writes; nothing to skip.
        assert_eq!(inside, Some((Some("planned"), Some("purged"))));
    }

    // Released when the job ends, fails or panics.
    assert_eq!(
        cohorte::db::exclusive(&mut b, Job::Planner, |_| Ok(1)).unwrap(),
        Some(1)
    );
    let failed = cohorte::db::exclusive(&mut a, Job::Purge, |_| Err::<(), _>(AppError::Busy));
    assert!(matches!(failed, Err(AppError::Busy)), "{failed:?}");
    assert_eq!(
        cohorte::db::exclusive(&mut b, Job::Purge, |_| Ok(2)).unwrap(),
        Some(2)
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cohorte::db::exclusive(&mut a, Job::Planner, |_| -> Result<(), AppError> {
            panic!("the job panicked")
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(
        cohorte::db::exclusive(&mut b, Job::Planner, |_| Ok(3)).unwrap(),
        Some(3)
    );
    // A process that dies holding the lock loses it with its connection.
    if on_postgres {
        let mut dying = pool.get().unwrap();
        dying
            .batch_execute("SELECT pg_advisory_lock(x'436f686f72740002'::bigint)")
            .unwrap();
        assert_eq!(
            cohorte::db::exclusive(&mut b, Job::Planner, |_| Ok(4)).unwrap(),
            None,
            "the key is the planner's"
        );
        // A connection closed by its process (the pool would keep this one open).
        let pid = backend_pid(&mut dying);
        b.batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
            .unwrap();
        let deadline = Instant::now() + StdDuration::from_secs(10);
        while cohorte::db::exclusive(&mut b, Job::Planner, |_| Ok(5)).unwrap() != Some(5) {
            assert!(
                Instant::now() < deadline,
                "the lock outlived its connection"
            );
            std::thread::sleep(StdDuration::from_millis(50));
        }
    }
}

fn backend_pid(conn: &mut cohorte::db::Conn) -> i32 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

// ---------------------------------------------------------------------------------------
// The scale-out test: real processes on one PostgreSQL database.

const EMAILS: usize = 1_000;
/// Recipients the sink defers once (451 at RCPT) and once more with the connection closed
/// (421): temporary failures, each retried after its back-off.
const DEFERRED_451: usize = 20;
const DEFERRED_421: usize = 5;
/// A short lease and so a short reservation (`dispatch::RESERVATION` is capped by it), so
/// that the killed dispatcher's rows come back within the test's time.
const LEASE_SECS: i64 = 10;
/// Recipients the sink answers a second after it has kept their message: while the
/// dispatcher to be killed waits for that answer, the test kills it.
const SLOW: usize = 20;
const ENROLMENTS: usize = 20;
/// Far above what the test needs (about 75 s, most of it the minute of the first retry):
/// only a hung run reaches it.
const PATIENCE: StdDuration = StdDuration::from_secs(170);

/// A child process killed when dropped, its output in a file.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This test's own SMTP sink, logging every answer with its instant, on two ports: the
/// dispatcher to be killed is the only one sending to the second, so that the test sees
/// when it is in the middle of a send.
struct Sink {
    port: u16,
    /// The killed dispatcher's.
    second_port: u16,
    dir: PathBuf,
    events: PathBuf,
    _process: Child,
    _stdin: ChildStdin,
}

impl Sink {
    fn start(dir: &Path) -> Sink {
        let events = dir.join("events.log");
        let dir = dir.join("received");
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_sink.py"))
            .arg("--dir")
            .arg(&dir)
            .arg("--events")
            .arg(&events)
            .args(["--listen", "2"])
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs scripts/smtp_sink.py (aiosmtpd installed)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Vec<u16> = line
            .split_whitespace()
            .map(|p| p.parse().expect("the SMTP sink prints its ports"))
            .collect();
        let stdin = child.stdin.take().unwrap();
        Sink {
            port: ports[0],
            second_port: ports[1],
            dir,
            events,
            _process: child,
            _stdin: stdin,
        }
    }

    /// Every answer so far, in order.
    fn events(&self) -> Vec<Event> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                Some(Event {
                    at: parts.next()?.parse().ok()?,
                    answer: parts.next()?.to_string(),
                    to: parts.next()?.to_string(),
                    port: parts.next()?.parse().ok()?,
                })
            })
            .collect()
    }

    /// Every message received: (Message-ID without brackets, To address).
    fn messages(&self) -> Vec<(String, String)> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| {
                let raw = std::fs::read(&p).unwrap();
                let message = mail_parser::MessageParser::default()
                    .parse(&raw[..])
                    .expect("a MIME message");
                let to = message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_lowercase();
                (message.message_id().unwrap_or_default().to_string(), to)
            })
            .collect()
    }
}

/// One answer of the sink.
#[derive(Debug)]
struct Event {
    /// Unix time, in seconds.
    at: f64,
    /// `250` (kept), `421`, `451` or `drop`.
    answer: String,
    /// Lower case.
    to: String,
    /// The sink's port the dispatcher sent to.
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cohorte <args>` on the test's database and sink, configured by the environment only.
fn cohorte(
    dir: &Path,
    name: &str,
    args: &[&str],
    db: &TestDb,
    smtp_port: u16,
    public_url: &str,
    extra: &[(&str, String)],
) -> Process {
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cohorte"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(&*key);
        }
    }
    command
        .env("DATABASE_URL", db.url())
        .env("COHORTE_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("COHORTE_MAIL__FROM_ADDRESS", "cohorte@dla.test")
        .env("COHORTE_MAIL__DISPATCH_INTERVAL_SECS", "1")
        .env("COHORTE_MAIL__SENDING_LEASE_SECS", LEASE_SECS.to_string())
        // Behind one proxy, both instances have the one public address.
        .env("COHORTE_SERVER__PUBLIC_URL", public_url)
        .env("COHORTE_DATABASE__POOL_SIZE", "4")
        .env("COHORTE_LOG__FILTER", "info")
        .env("NO_COLOR", "1");
    for (key, value) in extra {
        command.env(key, value);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("the cohorte binary starts");
    Process {
        name: name.to_string(),
        child,
        log,
    }
}

fn serve(dir: &Path, name: &str, port: u16, db: &TestDb, sink: &Sink, public: &str) -> Process {
    cohorte(
        dir,
        name,
        &["serve"],
        db,
        sink.port,
        public,
        &[
            ("COHORTE_SERVER__BIND", format!("127.0.0.1:{port}")),
            ("COHORTE_SERVER__WORKERS", "2".to_string()),
        ],
    )
}

fn dispatch(dir: &Path, name: &str, db: &TestDb, smtp_port: u16, public: &str) -> Process {
    cohorte(dir, name, &["dispatch"], db, smtp_port, public, &[])
}

fn wait_listening(server: &mut Process, port: u16) {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("{} exited ({status}):\n{}", server.name, server.log_text());
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen:\n{}",
            server.name,
            server.log_text()
        );
        std::thread::sleep(StdDuration::from_millis(100));
    }
}

/// One HTTP/1.1 request with the API token; the status and the body.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the instance listens");
    stream
        .set_read_timeout(Some(StdDuration::from_secs(60)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

fn json_of(status: u16, body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {body}"))
}

/// What the 20 enrolments sent at once gave.
#[derive(Debug, Default)]
struct Enrolments {
    created: usize,
    full: usize,
    /// Anything else: status and body.
    other: Vec<(u16, String)>,
    enrolled_after: usize,
    cap: usize,
}

/// A cohort with 2 places left (through instance A), then 20 enrolments at once, one in
/// two through each instance.
fn enrol_at_once(ports: [u16; 2], token: &str) -> Enrolments {
    let (status, body) = http(
        ports[0],
        "POST",
        "/api/v1/dlas",
        token,
        Some(&json!({"name": "DLA de la Gironde", "area": "Gironde (33)"})),
    );
    assert_eq!(status, 201, "{body}");
    let dla = json_of(status, &body)["id"].as_str().unwrap().to_string();
    let (status, body) = http(
        ports[1],
        "POST",
        "/api/v1/cohorts",
        token,
        Some(&json!({
            "dla_id": dla,
            "name": "Modèles socio-économiques 2027",
            "territory": "Bordeaux Métropole",
            "approach": "territoriale",
            "start_date": "2027-01-11",
        })),
    );
    assert_eq!(status, 201, "{body}");
    let cohort = json_of(status, &body);
    let cap = cohort["association_cap"].as_u64().expect("a cap") as usize;
    let cohort = cohort["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/cohorts/{cohort}/associations");
    let association = |name: String| {
        json!({
            "name": name,
            "town": "Bordeaux",
            "sector": "Culture",
            "creation_year": 2010,
            "salaried_staff": 5,
            "general_interest": true,
        })
    };
    for i in 0..cap - 2 {
        let (status, body) = http(
            ports[i % 2],
            "POST",
            &path,
            token,
            Some(&association(format!("Association n° {i}"))),
        );
        assert_eq!(status, 201, "{body}");
    }

    let start = Arc::new(Barrier::new(ENROLMENTS));
    let answers: Vec<(u16, String)> = (0..ENROLMENTS)
        .map(|i| {
            let (start, path, token) = (start.clone(), path.clone(), token.to_string());
            let body = association(format!("Association concurrente n° {i}"));
            std::thread::spawn(move || {
                start.wait();
                http(ports[i % 2], "POST", &path, &token, Some(&body))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut out = Enrolments {
        cap,
        ..Enrolments::default()
    };
    for (status, body) in answers {
        match status {
            201 => out.created += 1,
            409 if {
                let error = &json_of(status, &body)["error"];
                error["code"] == "cohort_full"
                    && error["message"].as_str().unwrap_or("").contains("complète")
            } =>
            {
                out.full += 1
            }
            _ => out.other.push((status, body)),
        }
    }
    let (status, body) = http(ports[0], "GET", &path, token, None);
    assert_eq!(status, 200, "{body}");
    out.enrolled_after = json_of(status, &body).as_array().unwrap().len();
    out
}

#[test]
fn two_instances_and_two_dispatchers_on_one_postgresql_deliver_everything_once_and_hold_the_cap() {
    let db = TestDb::new();
    if !db.is_postgres() {
        eprintln!(
            "scale-out test skipped: it needs PostgreSQL (set COHORTE_TEST_POSTGRES to a \
             server's URL, as scripts/test does); several processes on one SQLite file are \
             not the shared set-up it checks"
        );
        return;
    }
    let dir = db.dir.path().to_path_buf();
    let sink = Sink::start(&dir);
    let pool = cohorte::db::connect(db.url(), 4).unwrap();

    // An administrator's API token, as `cohorte token create` makes it.
    let token = {
        let mut conn = pool.get().unwrap();
        cohorte::db::write_with(&mut conn, Author::system(), chrono::Utc::now(), |tx| {
            let admin = cohorte::models::account::create(
                tx,
                cohorte::models::account::NewUser {
                    email: "admin@cohorte.test",
                    name: "Alice Admin",
                    role: "admin",
                    dla_id: None,
                    consultant_id: None,
                    password: None,
                },
            )?;
            cohorte::models::account::create_api_token(tx, &admin.id, "scale-out")
        })
        .unwrap()
        .1
    };

    // 1,000 emails due: the one whose connection is dropped first of all, the deferred
    // and the slow ones spread among the others.
    let d = domain();
    let now = Utc::now();
    let dropped = format!("drop@{d}");
    let mut addresses = vec![dropped.clone()];
    for i in 0..EMAILS - 1 {
        addresses.push(if i % 40 == 7 && i / 40 < DEFERRED_451 {
            format!("once451@t{i}.{d}")
        } else if i % 40 == 27 && i / 40 < DEFERRED_421 {
            format!("once421@c{i}.{d}")
        } else if i % 40 == 17 && i / 40 < SLOW {
            format!("slow1@s{i}.{d}")
        } else {
            format!("p{i}@{d}")
        });
    }
    let count_of = |prefix: &str| addresses.iter().filter(|a| a.starts_with(prefix)).count();
    assert_eq!(count_of("once4"), DEFERRED_451 + DEFERRED_421);
    assert_eq!(count_of("slow1@"), SLOW);
    {
        let mut conn = pool.get().unwrap();
        cohorte::db::write_with(&mut conn, Author::system(), now, |tx| {
            for (i, to) in addresses.iter().enumerate() {
                let due = now - Duration::minutes(10) + Duration::milliseconds(i as i64);
                outbox::enqueue(tx, plain(&format!("e{i}"), to, due))?.expect("queued");
            }
            Ok(())
        })
        .unwrap();
    }

    let ports = [free_port(), free_port()];
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let started = Instant::now();
    let mut a = serve(&dir, "serve-a", ports[0], &db, &sink, &public);
    let mut b = serve(&dir, "serve-b", ports[1], &db, &sink, &public);
    let mut first = dispatch(&dir, "dispatch-1", &db, sink.second_port, &public);
    let second = dispatch(&dir, "dispatch-2", &db, sink.port, &public);
    wait_listening(&mut a, ports[0]);
    wait_listening(&mut b, ports[1]);
    let enrolments = {
        let token = token.clone();
        std::thread::spawn(move || enrol_at_once(ports, &token))
    };

    let mut conn = pool.get().unwrap();
    let count = |conn: &mut cohorte::db::Conn, status: Status| -> usize {
        use cohorte::db::schema::outbox_emails;
        use diesel::prelude::*;
        outbox_emails::table
            .filter(outbox_emails::status.eq(status.as_str()))
            .count()
            .get_result::<i64>(conn)
            .unwrap() as usize
    };
    let row_of = |conn: &mut cohorte::db::Conn, to: &str| -> OutboxEmail {
        use cohorte::db::schema::outbox_emails;
        use diesel::prelude::*;
        outbox_emails::table
            .filter(outbox_emails::recipient_email.eq(to))
            .select(OutboxEmail::as_select())
            .first(conn)
            .unwrap()
    };

    // Mid-run, the first dispatcher is killed (SIGKILL: no clean-up of any kind) while it
    // waits for the answer to an email the server has already kept (a slow one, sent to
    // the sink's second port, which only it uses): the one moment a crash can duplicate an
    // email. Should it get none of the slow emails, it is killed once they are all sent,
    // wherever it is. Then it is started again.
    let deadline = Instant::now() + PATIENCE;
    let (sent_at_kill, killed_in_send) = loop {
        let seconds = |t: chrono::DateTime<Utc>| t.timestamp_micros() as f64 / 1e6;
        let kept = sink
            .events()
            .into_iter()
            .filter(|e| e.port == sink.second_port && e.answer == "250")
            .filter(|e| e.to.starts_with("slow1@") && seconds(Utc::now()) - e.at < 0.6)
            .map(|e| e.to)
            .find(|to| row_of(&mut conn, to).status() == Status::Sending);
        let slow_left = addresses
            .iter()
            .filter(|a| a.starts_with("slow1@"))
            .any(|a| row_of(&mut conn, a).status() != Status::Sent);
        if kept.is_some() || !slow_left {
            first.child.kill().unwrap();
            first.child.wait().unwrap();
            break (count(&mut conn, Status::Sent), kept);
        }
        assert!(
            Instant::now() < deadline,
            "no progress: {} sent\n{}",
            count(&mut conn, Status::Sent),
            first.log_text()
        );
        std::thread::sleep(StdDuration::from_millis(20));
    };
    if let Some(to) = &killed_in_send {
        assert_eq!(row_of(&mut conn, to).status(), Status::Sending);
    }
    let sending_at_kill = count(&mut conn, Status::Sending);
    let killed_after = started.elapsed();
    let restarted = dispatch(&dir, "dispatch-1-restarted", &db, sink.port, &public);

    // Every email ends sent.
    loop {
        let sent = count(&mut conn, Status::Sent);
        if sent == EMAILS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{sent} of {EMAILS} sent after {:?}; failed: {}, scheduled: {}, sending: {}",
            started.elapsed(),
            count(&mut conn, Status::Failed),
            count(&mut conn, Status::Scheduled),
            count(&mut conn, Status::Sending),
        );
        std::thread::sleep(StdDuration::from_millis(100));
    }
    let elapsed = started.elapsed();
    let enrolments = enrolments.join().expect("the enrolments ran");

    // What the server saw.
    let events = sink.events();
    let messages = sink.messages();
    let rows: Vec<OutboxEmail> = addresses.iter().map(|to| row_of(&mut conn, to)).collect();
    let mut duplicates = 0;
    let mut taken_over = 0;
    for row in &rows {
        let address = row.recipient_email.to_lowercase();
        let message_id = row
            .message_id
            .as_deref()
            .expect("a Message-ID")
            .trim_matches(['<', '>']);
        let copies: Vec<&(String, String)> =
            messages.iter().filter(|(_, to)| *to == address).collect();
        assert!(!copies.is_empty(), "lost: {row:?}");
        for (id, _) in &copies {
            assert_eq!(id, message_id, "every copy carries the row's Message-ID");
        }
        duplicates += copies.len() - 1;
        assert_eq!(row.status(), Status::Sent, "{row:?}");
        assert_eq!(row.claim_token, None, "{row:?}");

        // Its answers, in order: a deferred address was refused once, then accepted no
        // earlier than the retry its dispatcher set (`next_attempt_at`, which stays).
        let answers: Vec<&Event> = events.iter().filter(|e| e.to == address).collect();
        let refused: Vec<&&Event> = answers.iter().filter(|e| e.answer != "250").collect();
        let accepted = answers
            .iter()
            .find(|e| e.answer == "250")
            .unwrap_or_else(|| panic!("no 250 for {address}: {answers:?}"));
        let due = row.next_attempt_at.and_utc().timestamp_micros() as f64 / 1e6;
        assert!(
            accepted.at >= due,
            "{address} sent at {} before its next attempt {due}: {answers:?}",
            accepted.at
        );
        // Unknown outcomes: the dropped connection's, and a send its killed dispatcher left.
        let interrupted = row.unconfirmed > i32::from(address == dropped);
        taken_over += usize::from(interrupted);
        if killed_in_send.as_deref() == Some(address.as_str()) {
            // Kept by the server, then sent again by whoever took it over after the lease,
            // with the same Message-ID.
            assert!(interrupted, "{row:?}");
            assert_eq!(copies.len(), 2, "{copies:?}");
        }
        if address.starts_with("once4") || address == dropped {
            assert_eq!(refused.len(), 1, "{answers:?}");
            assert!(refused[0].at < accepted.at, "{answers:?}");
            assert_eq!(row.attempts, 2 + i32::from(interrupted), "{row:?}");
        } else {
            assert!(refused.is_empty(), "{answers:?}");
            assert_eq!(row.attempts, 1 + i32::from(interrupted), "{row:?}");
        }
    }
    let attempts = events.len();

    eprintln!(
        "scale-out: {EMAILS} emails ({} deferred once, 1 dropped connection, {SLOW} slow) \
         delivered by 2 `serve` + 2 `dispatch` in {:.1} s; {} copies received, {duplicates} \
         duplicate(s); {attempts} SMTP attempts; dispatcher killed after {:.1} s ({}) with \
         {sent_at_kill} sent and {sending_at_kill} row(s) in `sending`, {taken_over} row(s) \
         taken over from it; enrolments: cap {}, {} created, {} refused « complète », {} \
         other, {} enrolled",
        DEFERRED_451 + DEFERRED_421,
        elapsed.as_secs_f64(),
        messages.len(),
        killed_after.as_secs_f64(),
        if killed_in_send.is_some() {
            "waiting for the answer to a kept email"
        } else {
            "between two slow emails"
        },
        enrolments.cap,
        enrolments.created,
        enrolments.full,
        enrolments.other.len(),
        enrolments.enrolled_after,
    );

    assert!(sent_at_kill < EMAILS, "the dispatcher was killed mid-run");
    assert!(
        duplicates <= 1,
        "at most one duplicate for the one killed dispatcher: {duplicates}"
    );
    assert!(taken_over <= 1, "a dispatcher sends one email at a time");
    if killed_in_send.is_some() {
        assert_eq!((duplicates, taken_over), (1, 1));
    }
    assert_eq!(messages.len(), EMAILS + duplicates);
    assert!(
        enrolments.other.is_empty(),
        "every refused enrolment is a 409 « complète », none a 5xx: {:?}",
        enrolments.other
    );
    assert_eq!(
        (enrolments.created, enrolments.full),
        (2, ENROLMENTS - 2),
        "exactly the 2 places left are taken"
    );
    assert_eq!(enrolments.enrolled_after, enrolments.cap);
    for process in [&a, &b, &second, &restarted] {
        let log = process.log_text();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" ERROR ") || l.contains("http.status_code=5"))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            process.name,
            errors.join("\n")
        );
    }
}
