//! The `junction` command: `start` runs the router from a config.json, `check` validates one.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use junction::config;
use junction::router::Router;
use junction::transport::listener;

#[derive(Parser)]
#[command(
    name = "junction",
    version,
    about = "A WAMP v2 router with an HTTP bridge"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the router.
    Start {
        /// The configuration file (Crossbar's config.json shape).
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
    },
    /// Validate a configuration and print a summary of it.
    Check {
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
    },
}

/// Exit code for an invalid configuration.
const CONFIG_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match config::load_file(&config) {
            Ok(config) => {
                print!("{}", config::summary(&config));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(CONFIG_ERROR)
            }
        },
        Command::Start { config } => {
            init_logging();
            let config = match config::load_file(&config) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(CONFIG_ERROR);
                }
            };
            start(config)
        }
    }
}

fn init_logging() {
    let filter = EnvFilter::try_from_env("JUNCTION_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn start(config: config::Config) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let router = Arc::new(Router::new(&config));
        if let Err(e) = listener::start(&config, router).await {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
        wait_for_shutdown().await;
        tracing::info!("shutting down");
        ExitCode::SUCCESS
    })
}

async fn wait_for_shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
