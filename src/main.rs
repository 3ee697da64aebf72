//! The `cohorte` command: `serve` (default), `migrate`, `dispatch`, `demo`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{App, HttpServer};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cohorte::config::Config;
use cohorte::web::{self, AppState};

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
    /// Load the demo cohort (dates relative to today) and exit.
    Demo,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(&config.log.filter)),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                config.server.bind = bind;
                config.validate()?;
            }
            serve(config)
        }
        Command::Migrate => {
            let pool = cohorte::db::connect(&config.database.url, 1)?;
            let n = cohorte::db::migrate(&pool)?;
            println!(
                "Base de données à jour ({} migration(s) appliquée(s) par cette commande ou au démarrage).",
                n
            );
            Ok(())
        }
        Command::Dispatch { once, now } => {
            let dispatcher = dispatcher(&config, config.database.pool_size)?;
            if once || now.is_some() {
                let stats = dispatcher
                    .run_once(now.unwrap_or_else(chrono::Utc::now))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("Envoi des e-mails dus : {stats}.");
            } else {
                let interval = config
                    .mail
                    .dispatch_interval()
                    .unwrap_or(cohorte::mail::dispatch::DEFAULT_INTERVAL);
                println!(
                    "Envoi des e-mails dus toutes les {} s (Ctrl-C pour arrêter).",
                    interval.as_secs()
                );
                dispatcher.run_forever(interval, &AtomicBool::new(false));
            }
            Ok(())
        }
        Command::Demo => {
            let pool = cohorte::db::connect(&config.database.url, 1)?;
            let mut conn = pool.get()?;
            let today = cohorte::models::programme::today();
            let id = cohorte::demo::load(
                &mut conn,
                &config.programme,
                config.calendar.alsace_moselle,
                today,
                &cohorte::models::outbox::MailContext::new(
                    &config,
                    std::sync::Arc::new(cohorte::templates::build(&config.templates.dir)?),
                ),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Cohorte de démonstration chargée : {}/cohortes/{id}",
                config.server.public_url.trim_end_matches('/')
            );
            Ok(())
        }
    }
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected an RFC 3339 instant like 2027-03-28T07:00:00Z: {e}"))
}

/// The outbox's dispatcher, with its own pool, on the configured transport and sender.
fn dispatcher(
    config: &Config,
    pool_size: u32,
) -> anyhow::Result<cohorte::mail::dispatch::Dispatcher> {
    let pool = cohorte::db::connect(&config.database.url, pool_size)?;
    let transport = cohorte::mail::Transport::from_config(&config.mail)?;
    let from = cohorte::mail::sender(&config.mail).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut dispatcher = cohorte::mail::dispatch::Dispatcher::new(pool, transport, from);
    dispatcher.lease = config.mail.sending_lease();
    let templates = std::sync::Arc::new(cohorte::templates::build(&config.templates.dir)?);
    let mail = cohorte::models::outbox::MailContext::new(config, templates);
    dispatcher.planner = Some(cohorte::models::planner::for_dispatcher(mail));
    Ok(dispatcher)
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let pool = cohorte::db::connect(&config.database.url, config.database.pool_size)?;
    let bind = config.server.bind.clone();
    let workers = config.server.workers;
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
    println!("Cohorte est prête : http://{bind}/");
    if empty {
        println!("Base vide : la page d'accueil propose de charger une cohorte de démonstration.");
    }
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(web::security_headers())
            .wrap(web::normalize())
            .wrap(tracing_actix_web::TracingLogger::default())
            .configure(web::configure(state.clone()))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    server
        .bind(&bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?
        .run()
        .await?;
    // Let the message being sent, if any, be recorded before exiting.
    stop.store(true, Ordering::Relaxed);
    if let Some(thread) = dispatch_thread
        && thread.join().is_err()
    {
        tracing::error!("the outbox dispatcher panicked");
    }
    Ok(())
}
