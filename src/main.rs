//! The `cohorte` command: `serve` (default), `migrate`, `demo`.

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
        Command::Demo => {
            let pool = cohorte::db::connect(&config.database.url, 1)?;
            let mut conn = pool.get()?;
            let today = cohorte::models::programme::today();
            let id = cohorte::demo::load(
                &mut conn,
                &config.programme,
                config.calendar.alsace_moselle,
                today,
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

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let pool = cohorte::db::connect(&config.database.url, config.database.pool_size)?;
    let bind = config.server.bind.clone();
    let workers = config.server.workers;
    let empty = {
        let mut conn = pool.get()?;
        cohorte::models::cohort::is_database_empty(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?
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
    Ok(())
}
