//! `junction-bench SCENARIO [FLAGS]`: runs one scenario against a router and prints one line of
//! JSON (stdout) and one line for people (stderr). See `--help` of each subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use junction_bench::{fanout, hook_receiver, idle, nats, pusher, rpc, sse_fanout};

#[derive(Parser)]
#[command(
    name = "junction-bench",
    about = "Load generator for WAMP routers and HTTP pushers"
)]
struct Cli {
    /// Runtime worker threads (1: a single-threaded runtime, for a generator pinned to one core).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// C HTTP connections POSTing events to a pusher path (unsigned or signed), optional subscribers.
    Pusher(pusher::Args),
    /// S subscribers, P publishers on one topic: publishes/s, deliveries/s, publish-to-receive latency.
    Fanout(fanout::Args),
    /// S Server-Sent Events streams, P WAMP publishers on one topic: like `fanout`.
    SseFanout(sse_fanout::Args),
    /// Callees and N callers with K calls in flight: calls/s and round trip.
    Rpc(rpc::Args),
    /// Hold N idle sessions and report the server's resident memory per session.
    Idle(idle::Args),
    /// Answer NATS requests on a subject (the far end of `nats-rtt`).
    NatsEcho(nats::EchoArgs),
    /// NATS request/reply one at a time: the floor under a call between two nodes.
    NatsRtt(nats::RttArgs),
    /// Receive HTTP subscriber requests and count their events: events/s delivered.
    HookReceiver(hook_receiver::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(async {
        match cli.scenario {
            Scenario::Pusher(args) => pusher::run(args).await,
            Scenario::Fanout(args) => fanout::run(args).await,
            Scenario::SseFanout(args) => sse_fanout::run(args).await,
            Scenario::Rpc(args) => rpc::run(args).await,
            Scenario::Idle(args) => idle::run(args).await,
            Scenario::NatsEcho(args) => nats::echo(args).await,
            Scenario::NatsRtt(args) => nats::rtt(args).await,
            Scenario::HookReceiver(args) => hook_receiver::run(args).await,
        }
    });
    match report {
        Ok(report) => {
            report.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
