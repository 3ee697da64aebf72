//! What the browser tests stand on: the real `cohorte` binary serving a fresh database on
//! loopback, chromedriver, and a `Browser` that signs in, fills forms by their labels,
//! takes a screenshot of every page it crosses and fails on any console error.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::db::TestDb;
use crate::smtp;

// ---------------------------------------------------------------------------------------
// The application

/// A staff account of the demo, as `cohorte demo` printed it.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub email: String,
    pub password: String,
}

/// The real binary, serving a database of its own with the demo loaded, sending its
/// emails to the SMTP sink every second. Stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub admin: Account,
    pub officer: Account,
    pub consultant: Account,
    /// The demo participant's personal sign-in link.
    pub participant_link: String,
    pub demo_cohort: String,
    /// The server's database (`database.url`: a SQLite file, or a PostgreSQL database on
    /// the PostgreSQL pass), for a test that sets up a state no page can (an email the
    /// sending server keeps deferring).
    pub database: String,
    log: PathBuf,
    /// Dropped last: the database (and the working folder).
    _db: TestDb,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

impl Server {
    /// A fresh instance. The port is free when chosen, but something may take it before
    /// the server binds it: then the whole start is tried again on another port.
    pub fn start() -> Server {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return server,
                Err(log) => last = log,
            }
        }
        panic!("`cohorte serve` exited three times before listening:\n{last}")
    }

    fn try_start() -> Result<Server, String> {
        let db = TestDb::new();
        let dir = &db.dir;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let sink = smtp::sink();
        let command = |args: &[&str]| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_cohorte"));
            c.args(args).current_dir(dir.path());
            // Only this configuration: nothing inherited from the shell or scripts/test.
            for (key, _) in std::env::vars() {
                if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
                    c.env_remove(key);
                }
            }
            c.env("COHORTE_DATABASE__URL", db.url())
                .env("COHORTE_SERVER__BIND", format!("127.0.0.1:{port}"))
                .env("COHORTE_SERVER__PUBLIC_URL", &base)
                .env("COHORTE_SERVER__WORKERS", "2")
                .env(
                    "COHORTE_SMTP_URL",
                    format!("smtp://127.0.0.1:{}", sink.port),
                )
                .env("COHORTE_MAIL__FROM_ADDRESS", "cohorte@dla.test")
                .env("COHORTE_MAIL__DISPATCH_INTERVAL_SECS", "1")
                .env("COHORTE_LOG__FILTER", "info");
            c
        };
        let demo = command(&["demo"]).output().expect("run `cohorte demo`");
        let printed = String::from_utf8_lossy(&demo.stdout).into_owned();
        assert!(
            demo.status.success(),
            "`cohorte demo` failed:\n{printed}\n{}",
            String::from_utf8_lossy(&demo.stderr)
        );
        let account = |role: &str| -> Account {
            let line = printed
                .lines()
                .find(|l| l.trim_start().starts_with(role) && l.contains("mot de passe"))
                .unwrap_or_else(|| panic!("no {role} account in:\n{printed}"));
            let (head, rest) = line
                .rsplit_once(" : ")
                .expect("« : email / mot de passe … »");
            let (email, password) = rest.split_once(" / mot de passe ").expect("password");
            let name = head.split_once(" — ").map(|(_, n)| n).unwrap_or(head);
            Account {
                name: name.trim().to_string(),
                email: email.trim().to_string(),
                password: password.trim().to_string(),
            }
        };
        let participant_link = printed
            .split_whitespace()
            .find(|w| w.contains("/connexion/lien/"))
            .unwrap_or_else(|| panic!("no participant link in:\n{printed}"))
            .to_string();
        let demo_cohort = printed
            .split_whitespace()
            .find(|w| w.contains("/cohortes/"))
            .and_then(|w| w.rsplit('/').next())
            .expect("the demo cohort's address")
            .to_string();

        let log = dir.path().join("serve.log");
        let log_file = std::fs::File::create(&log).expect("server log");
        let child = command(&["serve"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .expect("start `cohorte serve`");
        let mut server = Server {
            child,
            base,
            admin: account("Administrateur"),
            officer: account("Chargé·e de mission"),
            consultant: account("Consultant·e"),
            participant_link,
            demo_cohort,
            database: db.url().to_string(),
            log,
            _db: db,
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if server.child.try_wait().ok().flatten().is_some() {
                return Err(server.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "`cohorte serve` did not listen within 60 s:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// No request answered with a 5xx: a 500 is a bug, whatever the page.
    pub fn assert_no_server_error(&self) {
        let log = self.log_text();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("http.status_code=5") || l.contains(" ERROR "))
            .collect();
        assert!(errors.is_empty(), "server errors:\n{}", errors.join("\n"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Email received by the SMTP sink

/// The messages the sink received for `address`, parsed, oldest first.
pub fn mail_to(address: &str) -> Vec<mail_parser::Message<'static>> {
    smtp::all_received()
        .into_iter()
        .filter_map(|raw| {
            let message = mail_parser::MessageParser::default()
                .parse(&raw)?
                .into_owned();
            let to_this = message.to().is_some_and(|to| {
                to.iter()
                    .any(|a| a.address().is_some_and(|x| x.eq_ignore_ascii_case(address)))
            });
            to_this.then_some(message)
        })
        .collect()
}

/// Waits up to `secs` for a message to `address` whose subject contains `subject`.
pub async fn wait_for_mail(
    address: &str,
    subject: &str,
    secs: u64,
) -> mail_parser::Message<'static> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(m) = mail_to(address)
            .into_iter()
            .find(|m| m.subject().is_some_and(|s| s.contains(subject)))
        {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no email « {subject} » to {address} within {secs} s; received: {:?}",
            mail_to(address)
                .iter()
                .map(|m| m.subject().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---------------------------------------------------------------------------------------
// chromedriver

struct Driver {
    url: String,
    // Kept open for the life of the test binary: chromedriver is stopped when it closes.
    _started: Option<Mutex<(Child, ChildStdin)>>,
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        if let Ok(url) = std::env::var("COHORTE_TEST_WEBDRIVER") {
            return Driver {
                url,
                _started: None,
            };
        }
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "COHORTE_TEST_WEBDRIVER must be set under CI: scripts/test installs Chromium and \
             starts chromedriver"
        );
        // A plain local `cargo test`: start chromedriver here, in a process group of its own
        // that a shell stops — with the browsers it started — when this process's end
        // closes its stdin (scripts/test runs its own the same way).
        let port = free_port();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                "command -v chromedriver >/dev/null || exit 127
                 LANGUAGE=fr setsid chromedriver --port=\"$1\" >/dev/null 2>&1 & pid=$!
                 read -r _; kill -- -\"$pid\" 2>/dev/null || kill \"$pid\"",
            )
            .arg("sh")
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("sh");
        let stdin = child.stdin.take().expect("stdin");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline && child.try_wait().ok().flatten().is_none(),
                "chromedriver did not start: run scripts/test, which installs Debian's \
                 chromium and chromium-driver"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            url: format!("http://127.0.0.1:{port}"),
            _started: Some(Mutex::new((child, stdin))),
        }
    })
}

/// The axe-core script, installed from the npm registry by scripts/test.
pub fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} ({e}): run scripts/test, or `npm ci --prefix tests/browser`",
                path.display()
            )
        })
    })
}

/// Chromium's console, through chromedriver's log endpoint (not in the W3C protocol).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// The browser

/// Laptop width for staff, phone width for participants.
pub const LAPTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// One browser session of one journey.
pub struct Browser {
    pub client: Client,
    base: String,
    journey: String,
    shots: PathBuf,
    step: AtomicUsize,
    /// Console messages that an expected refusal causes (the 422 page of a refused form
    /// is logged by Chromium as a failed resource).
    allowed: Mutex<Vec<String>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn open(server: &Server, journey: &str, size: (u32, u32)) -> Browser {
        Self::open_with(server, journey, size, true).await
    }

    /// A browser whose pages run no JavaScript at all (WebDriver's own scripts still run).
    pub async fn open_without_javascript(
        server: &Server,
        journey: &str,
        size: (u32, u32),
    ) -> Browser {
        let b = Self::open_with(server, journey, size, false).await;
        // Make sure: a page's own script must not run.
        b.client
            .goto("data:text/html,<title>sans</title><script>document.title='avec'</script>")
            .await
            .expect("test page");
        assert_eq!(
            b.client.title().await.expect("title"),
            "sans",
            "JavaScript is off"
        );
        b
    }

    async fn open_with(
        server: &Server,
        journey: &str,
        size: (u32, u32),
        javascript: bool,
    ) -> Browser {
        let profile_dir = tempfile::tempdir().expect("profile folder");
        let profile = profile_dir.path().to_path_buf();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_binary(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-proxy-server",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--lang=fr-FR",
                    format!("--window-size={},{}", size.0, size.1),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "intl.accept_languages": "fr-FR,fr",
                    // 1 = allowed, 2 = blocked.
                    "profile.managed_default_content_settings.javascript":
                        if javascript { 1 } else { 2 },
                },
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver().url)
            .await
            .unwrap_or_else(|e| panic!("Chromium session through {}: {e}", driver().url));
        client
            .set_window_size(size.0, size.1)
            .await
            .expect("window size");
        // axe-core on a long page takes a while on a busy 2-core machine.
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(120)),
                Some(Duration::from_secs(60)),
                None,
            ))
            .await
            .expect("timeouts");
        let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser")
            .join(journey);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        Browser {
            client,
            base: server.base.clone(),
            journey: journey.to_string(),
            shots,
            step: AtomicUsize::new(0),
            allowed: Mutex::new(Vec::new()),
            _profile: profile_dir,
        }
    }

    pub async fn close(self) {
        self.console_clean().await;
        let _ = self.client.close().await;
    }

    /// Opens a path of the app (or a full URL), then checks the page.
    pub async fn go(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.console_clean().await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("text")
    }

    #[track_caller]
    pub fn expect_contains(&self, text: &str, what: &str) {
        assert!(
            text.contains(what),
            "[{}] expected « {what} » on the page:\n{text}",
            self.journey
        );
    }

    pub async fn expect_text(&self, what: &str) {
        let text = self.text().await;
        assert!(
            text.contains(what),
            "[{}] expected « {what} » on {}:\n{text}",
            self.journey,
            self.path().await
        );
    }

    /// Saves a screenshot of the whole page under target/browser/<journey>/.
    pub async fn shot(&self, name: &str) -> PathBuf {
        let n = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        // The full page: the window grows to the document's height for the capture.
        let (w, h) = self.client.get_window_size().await.expect("window size");
        let full = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight)",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(h)
            .clamp(h, 6000);
        if full > h {
            let _ = self.client.set_window_size(w as u32, full as u32).await;
        }
        // From the top of the page, header included.
        let _ = self.client.execute("window.scrollTo(0, 0);", vec![]).await;
        let png = self.client.screenshot().await.expect("screenshot");
        if full > h {
            let _ = self.client.set_window_size(w as u32, h as u32).await;
        }
        let path = self.shots.join(format!("{n:02}-{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// The element whose label reads `label` (the label's own text, without the
    /// required-field star): every field is found the way a user finds it.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space(text())={}]", xpath_literal(label));
        let found = self.client.find(Locator::XPath(&xpath)).await;
        let label_el = match found {
            Ok(el) => el,
            Err(_) => panic!(
                "[{}] no field labelled « {label} » on {}",
                self.journey,
                self.path().await
            ),
        };
        let id = label_el
            .attr("for")
            .await
            .expect("label")
            .unwrap_or_else(|| panic!("label « {label} » has no `for`"));
        self.client
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|_| panic!("label « {label} » points to no field #{id}"))
    }

    /// Types into the field labelled `label`, replacing its content.
    pub async fn fill(&self, label: &str, value: &str) {
        let el = self.field(label).await;
        let kind = el.attr("type").await.ok().flatten().unwrap_or_default();
        if kind == "date" || kind == "time" {
            // Typing into Chromium's date and time widgets depends on the locale's order;
            // set the value as the widget would.
            self.client
                .execute(
                    "arguments[0].value = arguments[1]; \
                     arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
                    vec![serde_json::to_value(&el).expect("element"), json!(value)],
                )
                .await
                .expect("set value");
        } else {
            el.clear().await.expect("clear");
            el.send_keys(value).await.expect("type");
        }
    }

    /// Chooses the option whose text starts with `option` in the list labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let el = self.field(label).await;
        let xpath = format!(
            ".//option[starts-with(normalize-space(.), {})]",
            xpath_literal(option)
        );
        el.select_by(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no option « {option} » in « {label} »: {e}"));
    }

    /// Clicks the button whose visible text starts with `text`, then checks the page.
    pub async fn press(&self, text: &str) {
        let xpath = format!(
            "//button[starts-with(normalize-space(.), {0})] | //input[@type='submit' and starts-with(@value, {0})]",
            xpath_literal(text)
        );
        self.click(&xpath, &format!("button « {text} »")).await;
    }

    /// Follows the link whose visible text starts with `text`.
    pub async fn follow(&self, text: &str) {
        let xpath = format!(
            "//a[starts-with(normalize-space(.), {})]",
            xpath_literal(text)
        );
        self.click(&xpath, &format!("link « {text} »")).await;
    }

    /// Clicks the first element `xpath` finds (`what` names it in a failure), waits for
    /// the next page and checks its console.
    pub async fn click(&self, xpath: &str, what: &str) {
        let Ok(element) = self.client.find(Locator::XPath(xpath)).await else {
            panic!(
                "[{}] no {what} on {}:\n{}",
                self.journey,
                self.path().await,
                self.text().await
            )
        };
        self.mark().await;
        element.click().await.expect("click");
        self.settle().await;
        self.console_clean().await;
    }

    /// Marks the current document, so that `settle` knows when the next one has loaded.
    pub async fn mark(&self) {
        self.client
            .execute("window.__cohorteLeaving = true;", vec![])
            .await
            .expect("mark the page");
    }

    /// Waits for the navigation a click started: a new document, fully loaded.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .client
                .execute(
                    "return !window.__cohorteLeaving && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool());
            if ready == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "page did not load");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The next console message containing `what` is expected (a refused form's 422).
    pub fn allow_console(&self, what: &str) {
        self.allowed.lock().unwrap().push(what.to_string());
    }

    /// Fails on any console message of level SEVERE or WARNING since the last check
    /// (script errors, CSP violations, failed resources), but the ones announced.
    pub async fn console_clean(&self) {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log (chromedriver's se/log endpoint)");
        let mut problems = Vec::new();
        for entry in entries.as_array().cloned().unwrap_or_default() {
            let level = entry["level"].as_str().unwrap_or("");
            let message = entry["message"].as_str().unwrap_or("").to_string();
            if level != "SEVERE" && level != "WARNING" {
                continue;
            }
            let mut allowed = self.allowed.lock().unwrap();
            if let Some(i) = allowed.iter().position(|a| message.contains(a.as_str())) {
                allowed.remove(i);
                continue;
            }
            problems.push(format!("{level}: {message}"));
        }
        assert!(
            problems.is_empty(),
            "[{}] console errors on {}:\n{}",
            self.journey,
            self.path().await,
            problems.join("\n")
        );
    }

    /// Signs a staff member in through the sign-in page.
    pub async fn sign_in(&self, account: &Account) {
        self.go("/connexion").await;
        self.fill("Adresse e-mail", &account.email).await;
        self.fill("Mot de passe", &account.password).await;
        self.press("Se connecter").await;
        let path = self.path().await;
        assert!(
            !path.starts_with("/connexion"),
            "[{}] sign-in failed for {}:\n{}",
            self.journey,
            account.email,
            self.text().await
        );
    }
}

/// Chromium from Debian (`/usr/bin/chromium`), or `COHORTE_TEST_CHROMIUM`.
fn chromium_binary() -> String {
    std::env::var("COHORTE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// A string as an XPath 1.0 literal (which has no escapes).
pub fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
