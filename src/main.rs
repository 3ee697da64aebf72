//! The `cohorte` command: `serve` (default), `migrate`, `dispatch`, `demo`, `purge`,
//! `copy`, `bench-data`, `bench-mail`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::HttpServer;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cohorte::config::Config;
use cohorte::db::{Author, Clock, write_with};
use cohorte::web::{self, AppState};

/// See Cargo.toml: measured in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in the `mi_option_t` of mimalloc 3, which
/// libmimalloc-sys builds (its Rust constants name only mimalloc 2's places). Checked by
/// the test below against the option's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory before giving it back to the system, in
/// milliseconds (its default: 1,000). A second of a busy server's freed memory was most of
/// its resident size: the instance's report, which allocates ~50 MB a build, took the
/// process from 60 to 160 MB at 3,000 cohorts; at 10 ms, 90 MB, with the pages' throughput
/// unchanged (at 0, a fifth lower: every free gives back). `MIMALLOC_PURGE_DELAY` in the
/// environment still decides when set.
const PURGE_DELAY_MS: std::os::raw::c_long = 10;

/// How long after `serve` starts listening its start is over (`memory::page_out_startup_code`).
const STARTED_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists (mimalloc's
        // options are not synchronised); the option exists in the linked mimalloc.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[derive(Parser)]
#[command(
    name = "cohorte",
    version,
    about = "Accompagnements collectifs sur le modèle socio-économique (DLA)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides server.bind).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Send the outbox's due emails: every 30 s until stopped, or once with --once.
    Dispatch {
        /// One pass, then exit (for cron).
        #[arg(long)]
        once: bool,
        /// Send what is due at this instant (RFC 3339, e.g. 2027-03-28T07:00:00Z) in one
        /// pass, then exit: replays time in tests. Implies --once.
        #[arg(long, value_parser = parse_instant)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Load the demo cohort (dates relative to today), create one account per role and
    /// print how to sign in as each, then exit.
    Demo,
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Copy a whole SQLite instance into a new PostgreSQL database (migrated first, refused
    /// unless empty), in one transaction, then print the rows per table and exit.
    Copy {
        /// The SQLite file to copy (left unchanged; it may be in use).
        #[arg(long)]
        from: String,
        /// The PostgreSQL database to fill: postgres://user:password@host:port/database.
        #[arg(long)]
        to: String,
    },
    /// Fill an empty database with a national-size dataset for scripts/bench (DLAs, their
    /// staff, cohorts over five years with their history and outbox), print the rows per
    /// table and the accounts to sign in with, and exit. Not for a real instance.
    BenchData {
        /// Number of cohorts (3,000: the national size of issue #19).
        #[arg(long, default_value_t = 3000)]
        cohorts: usize,
        /// Number of DLAs (default: one per 25 cohorts, at least 1). The first, the
        /// benchmark officer's, runs about 25 cohorts (one in cohorts/25) whatever this
        /// number, at least one in DLAs and at most one in two.
        #[arg(long)]
        dlas: Option<usize>,
        /// Seed of the names and dates: the same seed builds the same instance.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Password of the two benchmark accounts (administrator, chargé·e de mission).
        #[arg(long, env = "COHORTE_BENCH_PASSWORD", default_value = cohorte::bench_data::DEFAULT_PASSWORD)]
        password: String,
    },
    /// Purge now the personal data of cohorts ended more than privacy.purge_after_months
    /// months ago (also done every hour by the dispatcher), and exit.
    Purge,
    /// Queue N emails due at --now (shaped like a convocation, each to its own address),
    /// for the email throughput step of scripts/bench, and exit. Not for a real instance.
    BenchMail {
        #[arg(long, default_value_t = 1000)]
        emails: usize,
        /// The recipients' domain: p0@<domain>, p1@<domain>…
        #[arg(long, default_value = "banc-essai.example")]
        domain: String,
        /// When they are due (RFC 3339); now by default.
        #[arg(long, value_parser = parse_instant)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account. Without --password, prints a link to choose one.
    Add {
        /// admin, officer (chargé·e de mission) or consultant.
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        /// Shown name (defaults to the email's local part).
        #[arg(long)]
        name: Option<String>,
        /// At least 12 characters; prefer the printed link for real people.
        #[arg(long)]
        password: Option<String>,
        /// The DLA of a chargé·e de mission (its id).
        #[arg(long)]
        dla: Option<String>,
        /// The consultant record of a consultant·e account (its id).
        #[arg(long)]
        consultant: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a staff account and print it (shown once).
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for, as listed on the account page.
        #[arg(long, default_value = "ligne de commande")]
        name: String,
    },
}

/// A refusal at start (a setting, the database, the address taken) is one French sentence
/// on standard error and a failure status — never a backtrace.
fn main() -> std::process::ExitCode {
    tune_allocator();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Cohorte ne peut pas démarrer : {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(&config.log.filter)),
        )
        .init();
    // The one clock of the commands (a dispatch pass's `--now` replaces it).
    let clock = Clock::system();
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                config.server.bind = bind;
                config.validate()?;
            }
            serve(config)
        }
        Command::Migrate => {
            let pool = cohorte::db::connect_unmigrated(&config.database)?;
            let n = cohorte::db::migrate(&pool)?;
            println!("Base de données à jour ({n} migration(s) appliquée(s)).");
            Ok(())
        }
        Command::Dispatch { once, now } => {
            resolve_public_url(&mut config)?;
            tighten_mail_files(&config)?;
            let mut dispatcher = dispatcher(&config, config.database.connections())?;
            dispatcher.clock = Clock::at(now);
            if once || now.is_some() {
                let started = std::time::Instant::now();
                let stats = dispatcher
                    .run_once(dispatcher.clock.now())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                // The pass's own time (scripts/bench reads it), without the start-up.
                println!("Envoi des e-mails dus : {stats}.");
                println!("Durée du passage : {} ms.", started.elapsed().as_millis());
            } else {
                let interval = config
                    .mail
                    .dispatch_interval()
                    .unwrap_or(cohorte::jobs::dispatch::DEFAULT_INTERVAL);
                println!(
                    "Envoi des e-mails dus toutes les {} s (Ctrl-C pour arrêter).",
                    interval.as_secs()
                );
                dispatcher.run_forever(interval, &AtomicBool::new(false));
            }
            Ok(())
        }
        Command::Purge => {
            let months = config.privacy.purge_after_months;
            let a_months = config.privacy.applications_purge_after_months;
            let pool = cohorte::db::connect_with(&config.database, 1)?;
            let mut conn = pool.get()?;
            let started = std::time::Instant::now();
            // Not while a dispatcher of another instance on the same PostgreSQL purges.
            let purged = cohorte::db::exclusive(&mut conn, cohorte::db::Job::Purge, |conn| {
                if months == 0 {
                    println!(
                        "Purge des cohortes désactivée (privacy.purge_after_months = 0) : aucune cohorte effacée."
                    );
                } else {
                    let n = cohorte::models::privacy::purge_ended_cohorts(
                        conn,
                        months,
                        chrono::Utc::now(),
                    )?;
                    println!(
                        "Purge des données personnelles : {n} cohorte(s) terminée(s) depuis plus de {months} mois purgée(s)."
                    );
                }
                if a_months == 0 {
                    println!(
                        "Suppression des candidatures désactivée (privacy.applications_purge_after_months = 0)."
                    );
                } else {
                    let a = cohorte::models::privacy::purge_applications(
                        conn,
                        a_months,
                        chrono::Utc::now(),
                    )?;
                    println!(
                        "Candidatures non retenues supprimées ({a_months} mois après la clôture) : {a}."
                    );
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if purged.is_none() {
                println!(
                    "Une autre instance purge en ce moment la même base : rien n'a été fait. Relancez la commande plus tard."
                );
            }
            println!("Durée de la purge : {} ms.", started.elapsed().as_millis());
            Ok(())
        }
        Command::Copy { from, to } => {
            println!("Copie de {from} vers PostgreSQL (lignes par table : source → copie) :");
            let started = std::time::Instant::now();
            let copied = cohorte::db::copy::copy(&from, &to, &mut |c| {
                println!("  {} : {} → {}", c.table, c.source, c.target);
            })?;
            println!(
                "Copie terminée : {} lignes dans {} tables, en {:.1} s.",
                copied.iter().map(|c| c.target).sum::<i64>(),
                copied.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::BenchMail {
            emails,
            domain,
            now,
        } => {
            let pool = cohorte::db::connect_with(&config.database, 1)?;
            let mut conn = pool.get()?;
            let due = now.unwrap_or_else(|| clock.now());
            let queued = write_with(&mut conn, Author::system(), clock.now(), |tx| {
                cohorte::bench_data::queue_emails(tx, emails, &domain, due)
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{queued} e-mail(s) en attente d'envoi.");
            Ok(())
        }
        Command::BenchData {
            cohorts,
            dlas,
            seed,
            password,
        } => {
            resolve_public_url(&mut config)?;
            bench_data(&config, cohorts, dlas, seed, password, &clock)
        }
        Command::User {
            command:
                UserCommand::Add {
                    role,
                    email,
                    name,
                    password,
                    dla,
                    consultant,
                },
        } => {
            resolve_public_url(&mut config)?;
            let pool = cohorte::db::connect_with(&config.database, 1)?;
            let mut conn = pool.get()?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            let (user, link) = write_with(&mut conn, Author::system(), clock.now(), |tx| {
                let user = cohorte::models::account::create(
                    tx,
                    cohorte::models::account::NewUser {
                        email: &email,
                        name: &name,
                        role: &role,
                        dla_id: dla.as_deref(),
                        consultant_id: consultant.as_deref(),
                        password: password.as_deref(),
                    },
                )?;
                let link = match password {
                    Some(_) => None,
                    None => Some(cohorte::models::account::password_link(
                        tx,
                        &user.id,
                        &config.server.public_url,
                        chrono::Duration::days(7),
                    )?),
                };
                Ok((user, link))
            })
            .map_err(cli_error)?;
            println!("Compte créé : {} ({}).", user.email, user.role().label());
            if let Some(link) = link {
                println!("Lien pour choisir le mot de passe (valable 7 jours, une fois) : {link}");
            }
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email, name },
        } => {
            resolve_public_url(&mut config)?;
            let pool = cohorte::db::connect_with(&config.database, 1)?;
            let mut conn = pool.get()?;
            let user = cohorte::models::account::find_by_email(&mut conn, &email)
                .map_err(cli_error)?
                .ok_or_else(|| anyhow::anyhow!("aucun compte avec l'adresse {email}"))?;
            let (_, secret) = write_with(&mut conn, Author::system(), clock.now(), |tx| {
                cohorte::models::account::create_api_token(tx, &user.id, &name)
            })
            .map_err(cli_error)?;
            println!("{secret}");
            eprintln!(
                "Jeton créé pour {} : il ne sera plus affiché. Envoyez-le dans l'en-tête « Authorization: Bearer … ».",
                user.email
            );
            Ok(())
        }
        Command::Demo => {
            resolve_public_url(&mut config)?;
            let pool = cohorte::db::connect_with(&config.database, 1)?;
            let mut conn = pool.get()?;
            let today = cohorte::models::programme::today(clock.now());
            let mail = cohorte::models::outbox::MailContext::new(
                &config,
                std::sync::Arc::new(cohorte::templates::build(&config.templates.dir)?),
            );
            let public_url = config.server.public_url.trim_end_matches('/');
            let (id, accounts) = write_with(&mut conn, Author::system(), clock.now(), |tx| {
                let id = cohorte::demo::load(
                    tx,
                    &config.programme,
                    config.calendar.alsace_moselle,
                    today,
                    &mail,
                )?;
                let accounts = cohorte::demo::accounts(
                    tx,
                    &id,
                    public_url,
                    config.auth.participant_link_days,
                )?;
                Ok((id, accounts))
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Cohorte de démonstration chargée : {public_url}/cohortes/{id}");
            println!("Comptes de démonstration (connexion : {public_url}/connexion) :");
            for a in accounts {
                match (a.password, a.link) {
                    (Some(pw), _) => println!(
                        "  {} — {} : {} / mot de passe {pw}",
                        a.role, a.name, a.email
                    ),
                    (None, Some(link)) => println!("  {} — {} : ouvrir {link}", a.role, a.name),
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

/// `cohorte bench-data`: builds the dataset, then prints the rows per table, the file's
/// size, and the accounts and ids the benchmark uses as `BENCH_…=value` lines.
fn bench_data(
    config: &Config,
    cohorts: usize,
    dlas: Option<usize>,
    seed: u64,
    password: String,
    clock: &Clock,
) -> anyhow::Result<()> {
    use cohorte::bench_data::{self, ADMIN_EMAIL, OFFICER_EMAIL, Options};
    let pool = cohorte::db::connect(&config.database.url, 1)?;
    let mut conn = pool.get()?;
    let mail = cohorte::models::outbox::MailContext::new(
        config,
        std::sync::Arc::new(cohorte::templates::build(&config.templates.dir)?),
    );
    let started = std::time::Instant::now();
    let step = (cohorts / 20).max(1);
    let mut last = 0;
    println!("Jeu d'essai : {cohorts} cohortes…");
    let built = bench_data::build(
        &mut conn,
        &config.programme,
        config.calendar.alsace_moselle,
        &mail,
        &Options {
            cohorts,
            dlas,
            seed,
            password: password.clone(),
        },
        clock,
        &mut |done, total| {
            if done - last >= step || done == total {
                last = done;
                println!(
                    "  {done}/{total} cohortes ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        },
    )
    .map_err(cli_error)?;
    let elapsed = started.elapsed().as_secs_f64();
    // The WAL copied into the file, so that its size is the data's.
    cohorte::db::checkpoint_after_erasure(&mut conn);
    println!(
        "{} DLA, {} cohortes en {elapsed:.0} s. Lignes par table :",
        built.dlas, built.cohorts
    );
    for (table, n) in bench_data::table_counts(&mut conn).map_err(cli_error)? {
        println!("  {table:<28} {n:>10}");
    }
    let path = config
        .database
        .url
        .strip_prefix("sqlite://")
        .unwrap_or(&config.database.url);
    if let Ok(meta) = std::fs::metadata(path) {
        println!(
            "Fichier : {path}, {:.1} Mo",
            meta.len() as f64 / 1_000_000.0
        );
    }
    println!(
        "Comptes (mot de passe {password}) : administrateur·rice {ADMIN_EMAIL}, chargé·e de \
         mission {OFFICER_EMAIL} ({} cohortes).",
        built.officer_cohorts
    );
    for (key, value) in [
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("OFFICER_EMAIL", OFFICER_EMAIL),
        ("PASSWORD", password.as_str()),
        ("DLA", &built.dla_id),
        ("COHORT", &built.cohort_id),
        ("SESSION_HELD", &built.session_held),
        ("SESSION_AHEAD", &built.session_ahead),
        ("ASSOCIATION", &built.association_id),
        ("PARTICIPANT_LINK", &built.participant_link),
    ] {
        println!("BENCH_{key}={value}");
    }
    Ok(())
}

/// A refusal as the command line shows it: the message and each field's message.
fn cli_error(e: cohorte::error::AppError) -> anyhow::Error {
    match e {
        cohorte::error::AppError::Validation { message, fields } => {
            let details: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("  --{k} : {v}"))
                .collect();
            anyhow::anyhow!("{message}\n{}", details.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected an RFC 3339 instant like 2027-03-28T07:00:00Z: {e}"))
}

/// Links this command prints or sends: `server.public_url`, else the address `serve`
/// recorded in the database, else http://127.0.0.1:8080 (`models::instance`).
fn resolve_public_url(config: &mut Config) -> anyhow::Result<()> {
    let pool = cohorte::db::connect_with(&config.database, 1)?;
    let mut conn = pool.get()?;
    cohorte::models::instance::resolve_public_url(&mut conn, config)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// At start: the `.eml` folder and messages left open by an older version are made
/// readable by Cohorte's user only.
fn tighten_mail_files(config: &Config) -> anyhow::Result<()> {
    cohorte::mail::Transport::from_config(&config.mail)?
        .tighten_existing_files()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot restrict the permissions of {}: {e}",
                config.mail.file_dir
            )
        })
}

/// The outbox's dispatcher, with its own pool, on the configured transport and sender.
fn dispatcher(config: &Config, pool_size: u32) -> anyhow::Result<cohorte::jobs::Dispatcher> {
    let pool = cohorte::db::connect_with(&config.database, pool_size)?;
    let transport = cohorte::mail::Transport::from_config(&config.mail)?;
    let from = cohorte::mail::sender(&config.mail).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut dispatcher = cohorte::jobs::Dispatcher::new(pool, transport, from);
    dispatcher.lease = config.mail.sending_lease();
    dispatcher.give_up_after = config.mail.give_up_after();
    let templates = std::sync::Arc::new(cohorte::templates::build(&config.templates.dir)?);
    let mail = cohorte::models::outbox::MailContext::new(config, templates);
    // Each pass plans, purges the ended cohorts' personal data at most once an hour, and
    // compresses the bodies of emails sent long enough ago.
    dispatcher.planner = Some(
        cohorte::jobs::AppHooks::new(mail)
            .compacting(config.mail.compress_after_days)
            .purging(
                config.privacy.purge_after_months,
                config.privacy.applications_purge_after_months,
            )
            .planner(),
    );
    Ok(dispatcher)
}

#[actix_web::main]
async fn serve(mut config: Config) -> anyhow::Result<()> {
    let pool = cohorte::db::connect_with(&config.database, config.database.connections())?;
    tighten_mail_files(&config)?;
    let bind = config.server.bind.clone();
    // Links follow the address served (or server.public_url), recorded for later commands.
    let stand_in = {
        let mut conn = pool.get()?;
        let (url, stand_in) =
            write_with(&mut conn, Author::system(), Clock::system().now(), |tx| {
                cohorte::models::instance::record_at_start(tx, &config.server.public_url, &bind)
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        config.server.public_url = url;
        stand_in
    };
    let workers = config.server.workers;
    let pool_size = config.database.connections() as usize;
    let empty = {
        let mut conn = pool.get()?;
        cohorte::models::cohort::is_database_empty(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?
    };
    // The dispatcher sends on its own thread with its own connection, off the runtime.
    let stop = Arc::new(AtomicBool::new(false));
    let dispatch_thread = match config.mail.dispatch_interval() {
        Some(interval) => {
            let mut dispatcher = dispatcher(&config, 1)?;
            dispatcher.stop = Some(stop.clone());
            let stop = stop.clone();
            Some(
                std::thread::Builder::new()
                    .name("outbox-dispatcher".into())
                    .spawn(move || dispatcher.run_forever(interval, &stop))?,
            )
        }
        None => {
            tracing::info!("mail.dispatch_interval_secs = 0: this instance does not send emails");
            None
        }
    };
    let state = AppState::new(pool, config)?;
    tracing::info!(database = %state.config.database.url, "database ready");
    let public_url = state.config.server.public_url.clone();
    println!("Cohorte est prête : {public_url}/");
    if stand_in {
        println!(
            "Cohorte écoute sur toutes les interfaces ({bind}) : les liens (e-mails, comptes) utilisent {public_url}, qui ne marche que sur cette machine. Indiquez l'adresse publique dans server.public_url (ou COHORTE_SERVER__PUBLIC_URL)."
        );
    }
    {
        let mut conn = state.pool.get()?;
        let public_url = &state.config.server.public_url;
        if let Some(link) = write_with(&mut conn, Author::system(), state.clock.now(), |tx| {
            cohorte::models::account::first_admin_link(tx, public_url)
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            println!(
                "Aucun compte pour l'instant : créez le compte administrateur avec ce lien (valable 7 jours, une fois) :"
            );
            println!("  {link}");
        }
    }
    if empty {
        println!("Base vide : la page d'accueil propose de charger une cohorte de démonstration.");
    }
    let mut server = HttpServer::new(move || web::app(state.clone()));
    let workers = if workers > 0 {
        workers
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    };
    // Database work runs on each worker's blocking threads (`db::run`); more of them than
    // the pool has connections only wait for one, and each keeps its own allocator pages:
    // unbounded (512 by default), a burst of 32 connections left 50 threads and 130 MB.
    server = server
        .workers(workers)
        .worker_max_blocking_threads(pool_size.div_ceil(workers) + 1);
    let running = server
        .bind(&bind)
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "l'adresse est déjà utilisée par un autre programme"
                }
                std::io::ErrorKind::PermissionDenied => {
                    "ce port demande des droits d'administrateur"
                }
                _ => "l'adresse n'est pas disponible sur cette machine",
            };
            anyhow::anyhow!(
                "impossible d'écouter sur {bind} ({why}) : choisissez-en une autre avec --bind ou \
                 le réglage « server.bind »."
            )
        })?
        .run();
    // Once started — the workers' routes built, the dispatcher's first pass (the purge,
    // the planner) under way or done — the code that only starting ran may leave memory
    // (see `memory`).
    actix_web::rt::spawn(async {
        actix_web::rt::time::sleep(STARTED_AFTER).await;
        if let Ok(advised) =
            actix_web::rt::task::spawn_blocking(cohorte::memory::page_out_startup_code).await
        {
            tracing::debug!(bytes = advised, "startup code paged out");
        }
    });
    running.await?;
    // Let the message being sent, if any, be recorded before exiting.
    stop.store(true, Ordering::Relaxed);
    if let Some(thread) = dispatch_thread
        && thread.join().is_err()
    {
        tracing::error!("the outbox dispatcher panicked");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_mimalloc_documents() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading an option; mimalloc initialises its options on first use.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            default, 1000,
            "mimalloc 3's purge_delay defaults to 1,000 ms"
        );
        // A neighbour three places on, to tell a shifted enumeration from a changed default.
        // SAFETY: as above.
        let os_tag = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY + 3) };
        assert_eq!(os_tag, 100, "mimalloc 3's os_tag defaults to 100");
    }
}
