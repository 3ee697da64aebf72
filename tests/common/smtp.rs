//! The SMTP sink the mail tests send to: Python's aiosmtpd on loopback
//! (`scripts/smtp_sink.py`), a real server this project did not write.
//!
//! `scripts/test` starts the sink and sets `COHORTE_TEST_SMTP_PORT` and
//! `COHORTE_TEST_SMTP_DIR`. Without them, a local `cargo test` starts its own sink with
//! `python3` (aiosmtpd needed); under CI (`CI=true`) their absence is a failure, not a skip.
//! Included with `#[path = "common/smtp.rs"] mod smtp;` by each test file that sends mail.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use cohorte::mail::Transport;

pub struct Sink {
    pub port: u16,
    pub dir: PathBuf,
    // Kept open for the life of the test binary: the sink exits when it closes.
    _started: Option<Mutex<(Child, ChildStdin)>>,
}

pub fn sink() -> &'static Sink {
    static SINK: OnceLock<Sink> = OnceLock::new();
    SINK.get_or_init(|| {
        let port = std::env::var("COHORTE_TEST_SMTP_PORT").ok();
        let dir = std::env::var("COHORTE_TEST_SMTP_DIR").ok();
        if let (Some(port), Some(dir)) = (port, dir) {
            return Sink {
                port: port
                    .trim()
                    .parse()
                    .expect("COHORTE_TEST_SMTP_PORT is a port"),
                dir: dir.into(),
                _started: None,
            };
        }
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "COHORTE_TEST_SMTP_PORT and COHORTE_TEST_SMTP_DIR must be set under CI: \
             scripts/test starts the SMTP sink"
        );
        start_sink()
    })
}

/// Starts `scripts/smtp_sink.py` on a free port, for a plain local `cargo test`.
fn start_sink() -> Sink {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("smtp-sink-{}", std::process::id()));
    let mut child = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_sink.py"))
        .arg("--dir")
        .arg(&dir)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect(
            "python3 runs scripts/smtp_sink.py (install aiosmtpd: python3 -m pip install aiosmtpd)",
        );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "the SMTP sink did not start (is aiosmtpd installed? python3 -m pip install aiosmtpd)"
        )
    });
    let stdin = child.stdin.take().unwrap();
    Sink {
        port,
        dir,
        _started: Some(Mutex::new((child, stdin))),
    }
}

pub fn smtp() -> Transport {
    Transport::smtp(&format!("smtp://127.0.0.1:{}", sink().port)).unwrap()
}

/// The message the sink received with this Message-ID (waits a little for it).
pub fn received(message_id: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir(&sink().dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).unwrap();
                let needle = format!("Message-ID: {message_id}");
                if raw.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    return raw;
                }
            }
        }
        assert!(Instant::now() < deadline, "{message_id} never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every message the sink has received so far, raw.
pub fn all_received() -> Vec<Vec<u8>> {
    std::fs::read_dir(&sink().dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn contains(raw: &[u8], needle: &str) -> bool {
    raw.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// How many received messages carry this Message-ID (the SMTP server has written a
/// message before it answers 250, so this is exact once `send` has returned).
pub fn count_with_message_id(message_id: &str) -> usize {
    let needle = format!("Message-ID: {message_id}");
    all_received()
        .iter()
        .filter(|r| contains(r, &needle))
        .count()
}

/// How many received messages are addressed to this address.
pub fn count_to(address: &str) -> usize {
    all_received()
        .iter()
        .filter(|r| contains(r, address))
        .count()
}

/// The client address and port (`127.0.0.1:41234`) of the connection that carried the
/// message with this Message-ID: messages sent over one connection share it.
pub fn peer_of(message_id: &str) -> String {
    let needle = format!("Message-ID: {message_id}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir(&sink().dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).unwrap();
                if contains(&raw, &needle) {
                    return std::fs::read_to_string(path.with_extension("peer"))
                        .expect("the sink writes <n>.peer before <n>.eml")
                        .trim()
                        .to_string();
                }
            }
        }
        assert!(Instant::now() < deadline, "{message_id} never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}
