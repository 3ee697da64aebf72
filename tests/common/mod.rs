//! Test harness: the application exactly as `main.rs` builds it (same pool, configuration,
//! state, middleware and routes), on a fresh database per test (a SQLite file, or a
//! PostgreSQL database when `COHORTE_TEST_POSTGRES` is set: `db::TestDb`), driven through
//! HTTP.
//!
//! Every response is checked for one property that holds everywhere: no 5xx. A 500 is a
//! bug, whatever the request.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::web::Bytes;
use serde_json::{Value, json};

pub mod db;

use cohorte::config::Config;
use cohorte::db::{Author, Clock, Conn, Pool, Tx};
use cohorte::error::AppError;
use cohorte::web::AppState;

/// `f` in a write transaction of its own, by « Système », at `now`: as the command line and
/// the dispatcher write (`db::write_with`).
pub fn write_at<T>(
    conn: &mut Conn,
    now: chrono::DateTime<chrono::Utc>,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
) -> Result<T, AppError> {
    cohorte::db::write_with(conn, Author::system(), now, f)
}

/// [`write_at`] now.
pub fn write<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
) -> Result<T, AppError> {
    write_at(conn, chrono::Utc::now(), f)
}

/// A response read to the end.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `id` of the JSON body (what a creation answers).
    pub fn id(&self) -> String {
        self.json()["id"]
            .as_str()
            .expect("an id in the answer")
            .to_string()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected JSON ({e}), got {} with body:\n{}",
                self.status,
                self.text()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE.as_str()).unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body:\n{}",
            self.text()
        );
        self
    }

    /// Asserts the API error shape `{"error": {"code", "message", "fields"}}` and the code;
    /// returns the `error` object.
    #[track_caller]
    pub fn api_error(&self, code: &str) -> Value {
        assert!(
            self.content_type().starts_with("application/json"),
            "an API error is JSON, got {:?}: {}",
            self.content_type(),
            self.text()
        );
        let body = self.json();
        let error = body
            .get("error")
            .unwrap_or_else(|| panic!("no `error` object in {body}"));
        assert_eq!(error["code"], code, "error code in {body}");
        let message = error["message"].as_str().expect("error.message is text");
        assert!(!message.trim().is_empty(), "empty error message in {body}");
        assert!(
            error["fields"].is_object(),
            "error.fields is an object in {body}"
        );
        error.clone()
    }
}

/// Type-erased service, so that the harness can hold the app `init_service` returns.
trait Call {
    fn call(&self, req: TestRequest) -> Pin<Box<dyn Future<Output = Response> + '_>>;
}

struct Wrapped<S, R> {
    service: S,
    to_request: fn(TestRequest) -> R,
}

impl<S, R, B> Call for Wrapped<S, R>
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    fn call(&self, req: TestRequest) -> Pin<Box<dyn Future<Output = Response> + '_>> {
        let req = (self.to_request)(req);
        Box::pin(async move {
            let res = call_service(&self.service, req).await;
            let status = res.status();
            let headers = res.headers().clone();
            let body = read_body(res).await;
            Response {
                status,
                headers,
                body,
            }
        })
    }
}

pub struct TestApp {
    app: Box<dyn Call>,
    pub pool: Pool,
    pub config: Config,
    /// The administrator every `send` signs in as (bearer API token), unless a test sends
    /// with `send_raw`.
    pub admin_token: String,
    pub admin_id: String,
    /// The administrator's session cookie, for pages (with its CSRF token).
    pub admin_cookie: String,
    /// The app's clock (`AppState::clock`): the wall clock until a test sets it; every
    /// request's « now » and every write's instant follow it.
    pub clock: Clock,
    // Dropped last: removes the database.
    pub db: db::TestDb,
}

/// The app on a new, migrated SQLite file, wired as `main.rs` wires it.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// As [`spawn`], with the configuration changed first (e.g. an https public address).
pub async fn spawn_with(change: impl FnOnce(&mut Config)) -> TestApp {
    spawn_on(db::TestDb::new(), change).await
}

/// As [`spawn_with`], on the database `db` (e.g. a SQLite file on the PostgreSQL run).
pub async fn spawn_on(db: db::TestDb, change: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::defaults();
    change(&mut config);
    config.database.url = db.url().to_string();
    config.validate().expect("test configuration is valid");
    let pool = cohorte::db::connect_with(&config.database, 4).expect("database");
    // As every command does: server.public_url, else the recorded address, else the default.
    cohorte::models::instance::resolve_public_url(
        &mut pool.get().expect("connection"),
        &mut config,
    )
    .expect("public address");
    let lifetimes = cohorte::models::account::Lifetimes::from_config(&config.auth);
    let (admin_id, admin_token, admin_cookie) = write(&mut pool.get().expect("connection"), |tx| {
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
        let (_, token) = cohorte::models::account::create_api_token(tx, &admin.id, "tests")?;
        let at = tx.now_naive();
        let cookie = cohorte::models::account::start_session(
            tx,
            &cohorte::models::account::Principal::User(admin.id.clone()),
            lifetimes,
            at,
        )?;
        Ok((admin.id, token, cookie))
    })
    .expect("administrator, API token and session");
    let (app, clock) = wire(&pool, &config).await;
    TestApp {
        app,
        pool,
        config,
        admin_token,
        admin_id,
        admin_cookie,
        clock,
        db,
    }
}

/// The application as `main.rs` builds it, on `pool`, and its clock.
async fn wire(pool: &Pool, config: &Config) -> (Box<dyn Call>, Clock) {
    let state = AppState::new(pool.clone(), config.clone()).expect("state");
    let clock = state.clock.clone();
    let service = init_service(cohorte::web::app(state)).await;
    (
        Box::new(Wrapped {
            service,
            to_request: TestRequest::to_request,
        }),
        clock,
    )
}

impl TestApp {
    /// The application served from `db`, which holds a copy of this app's data (`cohorte
    /// copy`): the same configuration, and the same administrator, whose token and session
    /// were copied with the rest. Nothing is written to `db` here.
    pub async fn reopen(&self, db: db::TestDb) -> TestApp {
        let mut config = self.config.clone();
        config.database.url = db.url().to_string();
        let pool = cohorte::db::connect_with(&config.database, 4).expect("database");
        let (app, clock) = wire(&pool, &config).await;
        TestApp {
            app,
            pool,
            config,
            admin_token: self.admin_token.clone(),
            admin_id: self.admin_id.clone(),
            admin_cookie: self.admin_cookie.clone(),
            clock,
            db,
        }
    }

    /// `f` in a write transaction of its own, by « Système », at the app's clock.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>) -> T {
        let mut conn = self.pool.get().expect("connection");
        write_at(&mut conn, self.clock.now(), f).expect("write")
    }

    /// Sends the request as the administrator — bearer token on the API, session cookie
    /// and CSRF header on pages —; fails the test on any 5xx.
    pub async fn send(&self, req: TestRequest) -> Response {
        self.send_raw(self.as_admin(req)).await
    }

    /// As [`TestApp::send`], for a test that keeps the database busy on purpose: the one
    /// 5xx it accepts is a 503 whose body says `busy` (JSON or page); any other still
    /// fails the test.
    pub async fn send_while_busy(&self, req: TestRequest) -> Response {
        let res = self.app.call(self.as_admin(req)).await;
        let busy = res.status == StatusCode::SERVICE_UNAVAILABLE
            && (res.text().contains("\"busy\"")
                || res.text().contains("Cohorte est très occupé en ce moment"));
        assert!(
            res.status.as_u16() < 500 || busy,
            "server error {}; body:\n{}",
            res.status,
            res.text()
        );
        res
    }

    fn as_admin(&self, req: TestRequest) -> TestRequest {
        req.insert_header((
            header::AUTHORIZATION,
            format!("Bearer {}", self.admin_token),
        ))
        .insert_header((
            header::COOKIE,
            format!(
                "{}={}",
                cohorte::web::actor::session_cookie_name(self.config.server.is_https()),
                self.admin_cookie
            ),
        ))
        .insert_header((
            "x-csrf-token",
            cohorte::web::actor::csrf_for(&self.admin_cookie),
        ))
    }

    /// Sends the request with only the credentials it carries, and accepts the one 5xx
    /// `allowed` (the health check's 503 when the database does not answer); any other
    /// still fails the test.
    pub async fn send_raw_allowing(&self, req: TestRequest, allowed: StatusCode) -> Response {
        let res = self.app.call(req).await;
        assert!(
            res.status.as_u16() < 500 || res.status == allowed,
            "server error {}; body:\n{}",
            res.status,
            res.text()
        );
        res
    }

    /// Sends the request with only the credentials it carries; fails the test on any 5xx.
    pub async fn send_raw(&self, req: TestRequest) -> Response {
        let res = self.app.call(req).await;
        assert!(
            res.status.as_u16() < 500,
            "server error {}; body:\n{}",
            res.status,
            res.text()
        );
        res
    }

    pub async fn get(&self, uri: &str) -> Response {
        self.send(TestRequest::get().uri(uri)).await
    }

    pub async fn post_json(&self, uri: &str, body: Value) -> Response {
        self.send(TestRequest::post().uri(uri).set_json(body)).await
    }

    pub async fn put_json(&self, uri: &str, body: Value) -> Response {
        self.send(TestRequest::put().uri(uri).set_json(body)).await
    }

    /// A form as a browser sends it (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> Response {
        self.send(TestRequest::post().uri(uri).set_form(fields))
            .await
    }

    // --- Calls for applications: the staff page and the public form ----------------------

    /// Opens the cohort's call from its page (as the administrator), closing in 30 days;
    /// returns the public form's path.
    pub async fn open_call(&self, cohort_id: &str) -> String {
        let closes = (chrono::Utc::now() + chrono::Duration::days(30))
            .format("%Y-%m-%d")
            .to_string();
        self.post_form(
            &format!("/cohortes/{cohort_id}/appel"),
            &[
                ("closes_on", closes.as_str()),
                ("presentation", "Quatre séances."),
            ],
        )
        .await
        .expect(303);
        let html = self
            .get(&format!("/cohortes/{cohort_id}/appel"))
            .await
            .expect(200)
            .text();
        let start = html.find("/candidature/").expect("public link shown");
        let end = start + html[start..].find('"').unwrap();
        html[start..end].to_string()
    }

    /// Sends the public form at `path` as a stranger (no cookie) would.
    pub async fn post_public(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.send_raw(TestRequest::post().uri(path).set_form(fields))
            .await
    }

    /// Sends the public form from the client address `peer` (each has its own rate limit).
    pub async fn post_public_from(
        &self,
        path: &str,
        peer: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        self.send_raw(
            TestRequest::post()
                .uri(path)
                .peer_addr(peer.parse().expect("a socket address"))
                .set_form(fields),
        )
        .await
    }

    // --- Fixtures, through the API -------------------------------------------------------

    pub async fn create_dla(&self) -> String {
        self.post_json(
            "/api/v1/dlas",
            json!({"name": "DLA de la Gironde", "area": "Gironde (33)"}),
        )
        .await
        .expect(201)
        .id()
    }

    /// A cohort starting on Monday 11 January 2027; returns its id.
    pub async fn create_cohort(&self, dla_id: &str, name: &str) -> String {
        self.post_json(
            "/api/v1/cohorts",
            json!({
                "dla_id": dla_id,
                "name": name,
                "territory": "Bordeaux Métropole",
                "approach": "territoriale",
                "start_date": "2027-01-11",
            }),
        )
        .await
        .expect(201)
        .id()
    }

    /// Enrols an association with a salaried director and a board member; returns its id.
    pub async fn enrol(&self, cohort_id: &str, name: &str) -> String {
        let res = self
            .post_json(
                &format!("/api/v1/cohorts/{cohort_id}/associations"),
                json!({
                    "name": name,
                    "town": "Bordeaux",
                    "sector": "Culture",
                    "creation_year": 2010,
                    "salaried_staff": 5,
                    "general_interest": true,
                }),
            )
            .await
            .expect(201);
        let id = res.json()["id"]
            .as_str()
            .expect("association id")
            .to_string();
        let slug: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        for (person, role, function) in [
            ("Nadia Benali", "direction", "Directrice"),
            ("Pierre Lacoste", "gouvernance", "Président"),
        ] {
            let email = format!(
                "{}.{role}@{slug}.fr",
                person.to_lowercase().replace(' ', ".")
            );
            self.post_json(
                &format!("/api/v1/associations/{id}/participants"),
                json!({"name": person, "email": email, "role": role, "function": function}),
            )
            .await
            .expect(201);
        }
        id
    }

    /// A cohort with `n` associations enrolled; returns the cohort's id and theirs.
    pub async fn cohort_with(&self, n: usize) -> (String, Vec<String>) {
        let dla = self.create_dla().await;
        let cohort = self
            .create_cohort(&dla, "Modèles socio-économiques 2027")
            .await;
        let mut ids = Vec::new();
        for i in 1..=n {
            ids.push(self.enrol(&cohort, &format!("Association n° {i}")).await);
        }
        (cohort, ids)
    }

    /// Generates the cohort's programme; returns the `Generated` body.
    pub async fn generate(&self, cohort_id: &str) -> Value {
        self.send(TestRequest::post().uri(&format!("/api/v1/cohorts/{cohort_id}/programme")))
            .await
            .expect(201)
            .json()
    }

    /// Every email of the cohort as the API lists them (the latest first, without their
    /// bodies), read page after page of the largest size.
    pub async fn outbox(&self, cohort_id: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        loop {
            let res = self
                .get(&format!(
                    "/api/v1/cohorts/{cohort_id}/outbox?limit=500&offset={}",
                    rows.len()
                ))
                .await
                .expect(200);
            let total: usize = res
                .header("x-total-count")
                .and_then(|t| t.parse().ok())
                .expect("X-Total-Count");
            let page = res.json().as_array().expect("a list").clone();
            let done = page.is_empty();
            rows.extend(page);
            if done || rows.len() >= total {
                return rows;
            }
        }
    }

    /// One email of the cohort with its bodies (`body_text`, `body_html`, `ics`).
    pub async fn outbox_email(&self, cohort_id: &str, email_id: &str) -> Value {
        self.get(&format!("/api/v1/cohorts/{cohort_id}/outbox/{email_id}"))
            .await
            .expect(200)
            .json()
    }
}

/// Reads a `;`-separated, CRLF-ended CSV with RFC 4180 quoting.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ';') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR is followed by LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\n') => panic!("a bare LF ends a line: CRLF expected"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "the file ends with CRLF"
    );
    rows
}

/// The text of the page between the field `name` and the next field: where its value and
/// its error message must be shown.
pub fn around_field<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in the page:\n{html}"));
    let rest = &html[start + marker.len()..];
    let end = rest.find(" name=\"").unwrap_or(rest.len());
    &rest[..end]
}

/// What a browser sends when the form posting to `action` is submitted with its first
/// button: every named input (checkboxes only when ticked, no buttons), textarea and
/// select (its selected option, else its first), in page order, entities decoded.
pub fn form_of(html: &str, action: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        s.replace("&#x3D;", "=")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#x60;", "`")
            .replace("&amp;", "&")
    }
    fn attr(tag: &str, name: &str) -> Option<String> {
        let marker = format!(" {name}=\"");
        let start = tag.find(&marker)? + marker.len();
        let end = tag[start..].find('"')?;
        Some(decode(&tag[start..start + end]))
    }
    let open = format!("action=\"{action}\"");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no form posting to {action}:\n{html}"));
    let form = &html[start..];
    let form = &form[..form.find("</form>").expect("the form's end")];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("a tag's end");
        let (tag, body) = (&rest[..end], &rest[end + 1..]);
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if tag.starts_with("input ") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            let ticked = tag.contains(" checked");
            if kind == "submit" || kind == "button" || (kind == "checkbox" && !ticked) {
                continue;
            }
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        } else if tag.starts_with("textarea ") {
            let text = &body[..body.find("</textarea>").expect("the textarea's end")];
            fields.push((name, decode(text)));
        } else if tag.starts_with("select ") {
            let options = &body[..body.find("</select>").expect("the select's end")];
            let tags: Vec<&str> = options
                .split("<option")
                .skip(1)
                .map(|o| &o[..o.find('>').expect("an option's end")])
                .collect();
            let chosen = tags
                .iter()
                .find(|t| t.contains(" selected"))
                .or(tags.first())
                .and_then(|t| attr(t, "value"))
                .unwrap_or_default();
            fields.push((name, chosen));
        }
    }
    fields
}

/// A complete application form (every criterion met), with `overrides` replacing or adding
/// fields.
pub fn application_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Les Amis du Quartier"),
        ("rna", "W332004518"),
        ("town", "Bordeaux"),
        ("creation_year", "2015"),
        ("salaried_staff", "4"),
        ("fte", "2,5"),
        ("volunteers", "30"),
        ("sector", "Culture"),
        ("general_interest", "on"),
        ("director_name", "Zoé Martin"),
        ("director_function", "Directrice"),
        ("director_email", "zoe@amis.test"),
        ("board_name", "Paul Durand"),
        ("board_function", "Président"),
        ("board_email", "paul@amis.test"),
        ("motivation", "Motivation secrète XYZZY"),
        ("available_all", "on"),
        ("consent_data", "on"),
        ("site_web", ""),
    ];
    for (k, v) in overrides {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(f) => f.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields
}
