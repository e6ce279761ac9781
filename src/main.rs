//! The `junction` command: `start` runs the router from a config.json, `check` validates one.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use junction::cluster::Cluster;
use junction::config;
use junction::guest::Guests;
use junction::http_peer::callee::HttpCallees;
use junction::http_peer::subscriber::HttpSubscribers;
use junction::poller::supervisor::Pollers;
use junction::router::Router;
use junction::transport::{admission, listener};

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
    /// Write a starter config.json and an .env with a generated pusher secret into DIR.
    Init {
        /// The folder (made if missing); nothing in it is overwritten.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The port the starter listens on (127.0.0.1).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Validate a configuration and print a summary of it.
    Check {
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
    },
    /// Sign a publisher/caller request body read from stdin; prints the query string to append.
    Sign {
        #[arg(long)]
        key: String,
        #[arg(long)]
        secret: String,
        #[arg(long, default_value_t = 1)]
        seq: u64,
    },
    /// Publish one event to a publisher (pusher) path; prints the publication id.
    Publish {
        /// The publisher path, e.g. http://127.0.0.1:8080/push
        #[arg(long)]
        url: String,
        #[arg(long)]
        topic: String,
        #[arg(long, requires = "secret")]
        key: Option<String>,
        #[arg(long, requires = "key")]
        secret: Option<String>,
        /// Keyword arguments as a JSON object.
        #[arg(long)]
        kwargs: Option<String>,
        /// Positional arguments: each is JSON if it parses, else a string.
        args: Vec<String>,
    },
}

/// What `check` and `start` warn about: the config's own warnings, then those that need the
/// router's rules (which permissions anonymous sessions end up with).
fn warnings(config: &config::Config) -> Vec<String> {
    let mut all = config::warnings(config);
    all.extend(junction::router::config_warnings::warnings(config));
    all
}

/// `junction init`: the starter, then the next three commands to run.
fn init(dir: &std::path::Path, port: u16) -> ExitCode {
    let starter = match config::write_starter(dir, port) {
        Ok(starter) => starter,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (key, var) = (config::STARTER_KEY, config::STARTER_SECRET_VAR);
    println!(
        "wrote {} and {} (the signed pusher's secret and the admin password)",
        starter.config.display(),
        starter.env.display()
    );
    println!();
    println!("next:");
    println!(
        "  cd {} && set -a && . ./.env && set +a && junction start",
        dir.display()
    );
    println!(
        "  curl -H 'Content-Type: application/json' \
         -d '{{\"topic\": \"com.example.hello\", \"args\": [\"Hello\"]}}' \
         http://127.0.0.1:{port}/push"
    );
    println!("  curl http://127.0.0.1:{port}/ready");
    println!();
    println!(
        "WAMP clients join realm1 at ws://127.0.0.1:{port}/ws; signed pushes go to \
         /push-signed: junction publish --url http://127.0.0.1:{port}/push-signed \
         --key {key} --secret \"${var}\" --topic com.example.hello Hello"
    );
    println!(
        "The admin dashboard: http://127.0.0.1:{port}/admin (user {}, the password is \
         {} in {})",
        config::STARTER_ADMIN_USER,
        config::STARTER_ADMIN_VAR,
        starter.env.display()
    );
    ExitCode::SUCCESS
}

/// Exit code for an invalid configuration.
const CONFIG_ERROR: u8 = 2;

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process (TLS listeners, `publish` to https).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match config::load_file(&config) {
            Ok(config) => {
                print!("{}", config::summary(&config));
                for warning in warnings(&config) {
                    eprintln!("warning: {warning}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(CONFIG_ERROR)
            }
        },
        Command::Sign { key, secret, seq } => sign(&key, &secret, seq),
        Command::Init { dir, port } => init(&dir, port),
        Command::Publish {
            url,
            topic,
            key,
            secret,
            kwargs,
            args,
        } => {
            let signing = key.as_deref().zip(secret.as_deref());
            publish(&url, topic, signing, kwargs.as_deref(), &args)
        }
        Command::Start { config } => {
            init_logging();
            let config = match config::load_file(&config) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(CONFIG_ERROR);
                }
            };
            for warning in warnings(&config) {
                tracing::warn!("config: {warning}");
            }
            for part in &config.not_run {
                tracing::warn!(
                    "not run by Junction: {}: {}; instead: {}",
                    part.path,
                    part.what,
                    part.instead
                );
            }
            start(config)
        }
    }
}

fn sign(key: &str, secret: &str, seq: u64) -> ExitCode {
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("error: cannot read the body from stdin: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{}",
        junction::http::signature::signed_query(key, secret, seq, &body)
    );
    ExitCode::SUCCESS
}

fn publish(
    url: &str,
    topic: String,
    signing: Option<(&str, &str)>,
    kwargs: Option<&str>,
    args: &[String],
) -> ExitCode {
    use junction::http::push_client::{self, Event};
    let kwargs = match kwargs.map(serde_json::from_str::<serde_json::Value>) {
        None => serde_json::Map::new(),
        Some(Ok(serde_json::Value::Object(map))) => map,
        Some(_) => {
            eprintln!("error: --kwargs must be a JSON object");
            return ExitCode::FAILURE;
        }
    };
    let event = Event {
        topic,
        args: args.iter().map(|a| push_client::parse_arg(a)).collect(),
        kwargs,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(push_client::publish(url, &event, signing)) {
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, at `JUNCTION_LOG` (default `info`), in the human format, or with
/// `JUNCTION_LOG_FORMAT=json` as one JSON object a line: `timestamp`, `level`, `target`,
/// `message` and the event's fields (`realm`, `topic`, ...) at the top level, for log
/// shippers. An unknown format is named on stderr and the human one used.
fn init_logging() {
    let filter = EnvFilter::try_from_env("JUNCTION_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("JUNCTION_LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.as_str() {
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        other => {
            if !other.is_empty() && other != "text" {
                eprintln!("JUNCTION_LOG_FORMAT={other:?} is not json or text: logging as text");
            }
            builder.with_ansi(std::io::stderr().is_terminal()).init()
        }
    }
}

fn start(config: config::Config) -> ExitCode {
    junction::http::metrics::mark_start();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // Raise the open-file limit before the store and the listeners take descriptors.
        let connections = admission::process_max();
        tracing::debug!("at most {connections} connections in this process (ulimit -n less 256)");
        let router = match Router::open(&config) {
            Ok(router) => Arc::new(router),
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        // A store another process holds opens in the background once it is free.
        router.retry_stores();
        // In a cluster, the realms are linked to the other nodes before anyone can join.
        let cluster = match config.workers.iter().find_map(|w| w.cluster.as_ref()) {
            Some(settings) => match Cluster::start(settings, &router).await {
                Ok(cluster) => Some(cluster),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start: {}", settings.path);
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        let pollers = match Pollers::start(&config, &router, &config.topics_api_realms()) {
            Ok(pollers) => Arc::new(pollers),
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        // Until shutdown: dropping it ends the callees' sessions (unregistering them).
        let http_callees = match HttpCallees::start(&config, &router) {
            Ok(callees) => callees,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        // HTTP subscribers subscribe before any client can publish, so no event is missed.
        let http_subscribers = match HttpSubscribers::start(&config, &router).await {
            Ok(subscribers) => subscribers,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        // `pollers` lives until shutdown: dropping it stops every poller.
        if let Err(e) = listener::start(&config, Arc::clone(&router), Arc::clone(&pollers)).await {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
        // Guests start once every listener is up: they usually connect to one.
        let guests = match Guests::start(&config) {
            Ok(guests) => guests,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        wait_for_shutdown().await;
        // Guests leave first, while the router still answers their GOODBYE.
        guests.stop().await;
        tracing::info!(
            "shutting down: saying GOODBYE to {} connection(s)",
            router.open_connections()
        );
        router.begin_shutdown();
        drop(pollers);
        drop(http_callees);
        // Their sessions leave the realm; events still queued for them are not sent.
        drop(http_subscribers);
        // Give writers a moment to deliver GOODBYE and close frames.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        while router.open_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if let Some(cluster) = &cluster {
            cluster.leave().await;
        }
        // Retained events and history entries still queued reach the disk.
        router.close_stores();
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
