//! The `wasmgate` command line (clap): `wasmgate up` serves; the other commands talk to a
//! running gateway's admin API.

mod access_format;
mod args;
mod authorizers;
mod background_compile;
mod build;
mod cache;
mod client;
mod commands;
mod completions;
mod dev;
mod gateway_settings;
mod history;
mod keys;
mod log_queue;
mod log_writer;
mod logs;
mod modules;
mod new;
mod open_files;
mod openapi;
mod output;
mod profile;
mod progress;
mod replay;
mod routes;
mod store;
mod top;
mod up;
mod up_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::fmt::format;

use access_format::AccessAware;

/// wasmgate: a self-hosted serverless gateway. HTTP routes lead to sandboxed WebAssembly
/// handlers (`wasi:http` components), each request in a fresh instance.
#[derive(Debug, Parser)]
#[command(name = "wasmgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// How log lines (the access log's included) are written to stderr: `text`, or `json`
    /// (one object per line, its fields at the top level).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// `time LEVEL target: message key=value …`, control characters escaped.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the routes of a manifest (and of the registry) until SIGINT or SIGTERM.
    Up(up_args::UpArgs),
    /// Start a project from a template: a handler, its build, a manifest and a README.
    New(new::NewArgs),
    /// Run the builds the manifest's modules declare (`build = { command = "…" }`).
    Build(build::BuildArgs),
    /// Build, serve, and rebuild and redeploy on every change of a source (as `up`, plus
    /// watching).
    Dev(up_args::UpArgs),
    /// Upload a module as a new version; optionally point an alias and a route at it.
    Deploy(commands::DeployArgs),
    /// List the modules or show one; delete a version or an alias; set a module's
    /// environment or outbound hosts.
    Modules(modules::ModulesArgs),
    /// List the routes; add, show or delete one; its live counts.
    Routes(routes::RoutesArgs),
    /// Point an alias of a module at a version, optionally with a canary version.
    Alias(commands::AliasArgs),
    /// List the authorizers; set, show or delete one.
    Authorizers(authorizers::AuthorizersArgs),
    /// List the API keys; create, show, update, enable, disable, rotate or delete one.
    Keys(keys::KeysArgs),
    /// List the usage plans; set, show or delete one.
    Plans(keys::PlansArgs),
    /// Show the gateway-wide settings; set the throttle every route shares.
    Gateway(gateway_settings::GatewayArgs),
    /// Forget the responses a route's cache keeps.
    Cache(cache::CacheArgs),
    /// Create or replace the routes and authorizers of an OpenAPI document, all or nothing.
    Import(openapi::ImportArgs),
    /// Write the routes and authorizers as an OpenAPI 3.1 document.
    Export(openapi::ExportArgs),
    /// Show alias moves and route changes, newest first.
    History(history::HistoryArgs),
    /// Point an alias (`module@alias`) back at what it pointed at before its latest move.
    Rollback(history::RollbackArgs),
    /// Run a request through the gateway without an HTTP client (a test invoke).
    Invoke(commands::InvokeArgs),
    /// Re-run a route's recorded invocations on another version and show what differs.
    Replay(replay::ReplayArgs),
    /// Show the latest access records; with --follow, stream them and guest output.
    Logs(logs::LogsArgs),
    /// A live view of the routes: req/s, p50/p99, errors, throttled, in flight, queued.
    Top(top::TopArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Write the man pages of every command into a folder.
    Man(completions::ManArgs),
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Writes the log lines still queued when dropped.
    let log_writer = init_logging(cli.log_format);
    // The one TLS crypto provider (ring) for every outbound HTTPS call; a second call
    // would only find it installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Command::Up(args) => up::up(args),
        Command::New(args) => new::new(args),
        Command::Build(args) => build::build(args),
        Command::Dev(args) => dev::dev(args),
        Command::Deploy(args) => commands::deploy(args),
        Command::Modules(args) => modules::modules(args),
        Command::Routes(args) => routes::routes(args),
        Command::Authorizers(args) => authorizers::authorizers(args),
        Command::Keys(args) => keys::keys(args),
        Command::Plans(args) => keys::plans(args),
        Command::Gateway(args) => gateway_settings::gateway(args),
        Command::Alias(args) => commands::alias(args),
        Command::Cache(args) => cache::cache(args),
        Command::Import(args) => openapi::import(args),
        Command::Export(args) => openapi::export(args),
        Command::History(args) => history::history(args),
        Command::Rollback(args) => history::rollback(args),
        Command::Invoke(args) => commands::invoke(args),
        Command::Replay(args) => replay::replay(args),
        Command::Logs(args) => logs::logs(args),
        Command::Top(args) => top::top(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    // Every log line is out before the outcome is printed (it is the last line).
    drop(log_writer);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr through a queue drained by a thread of its own (`log_queue.rs`): a reader
/// of stderr that stalls costs log lines, never a blocked worker.
fn init_logging(format: LogFormat) -> log_queue::LogQueueGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = log_queue::log_queue(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer::EscapingMakeWriter(writer))
        // No colours: their escape sequences would be escaped too (log_writer.rs).
        .with_ansi(false);
    match format {
        LogFormat::Text => builder
            .event_format(AccessAware::new(format::format().with_ansi(false), false))
            .init(),
        // JSON escapes control characters itself; the writer finds none left to escape.
        LogFormat::Json => {
            let general = format::format()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false);
            builder
                .fmt_fields(format::JsonFields::new())
                .event_format(AccessAware::new(general, true))
                .init()
        }
    }
    guard
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of the definition (unique names, valid groups), which otherwise
    /// only run when a command is parsed in a debug build.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
