//! `wasmgate up`'s command line: where it listens, what it keeps, and the limits it sets.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::runtime::EngineOptions;

/// `wasmgate up`'s arguments.
#[derive(Debug, Args)]
pub(super) struct UpArgs {
    /// The manifest to serve (`[gateway]`, `[[modules]]`, `[[routes]]`).
    #[arg(default_value = "wasmgate.toml")]
    pub(super) manifest: PathBuf,

    /// Address to listen on, overriding the manifest's `[gateway] listen`. Port 0 picks a
    /// free port; the chosen address is printed.
    #[arg(long, value_name = "ADDR")]
    pub(super) listen: Option<SocketAddr>,

    /// Worker threads, each with its own listening socket (SO_REUSEPORT); 0 means one per
    /// CPU core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(super) workers: usize,

    /// Most handler instances alive at once across all routes; requests beyond it get 503.
    #[arg(long, value_name = "N", default_value_t = EngineOptions::default().max_instances)]
    pub(super) max_instances: u32,

    /// Fresh instances made ahead of requests while the gateway is idle, at most (never more
    /// than an eighth of --max-instances): a request on an idle gateway then skips
    /// instantiating. Each has served nothing, as a fresh instance. 0: none.
    #[arg(long, value_name = "N", default_value_t = EngineOptions::default().spare_instances, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub(super) spare_instances: u32,

    /// Seconds an idle instance of an `isolation = "reuse"` route is kept for the route's
    /// next request before it is dropped (giving back its slot and memory).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::runtime::IDLE_LIFETIME.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(super) reuse_idle_timeout: u64,

    /// Seconds to wait for requests in flight when shutting down.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(super) shutdown_timeout: u64,

    /// Where modules, compiled code and the registry (versions, aliases, routes) are kept.
    #[arg(long, value_name = "DIR", default_value = ".wasmgate")]
    pub(super) data_dir: PathBuf,

    /// Address of the admin API (uploads, aliases, routes); port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9080")]
    pub(super) admin_listen: SocketAddr,

    /// File holding the admin API's bearer tokens, one a line: `TOKEN`, or `NAME TOKEN` (the
    /// history records changes under the name). Without it, a token is generated on first
    /// start, printed once, and kept in DATA_DIR/admin-token (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub(super) admin_token_file: Option<PathBuf>,

    /// Largest module upload accepted by the admin API, in MiB (larger: 413).
    #[arg(long, value_name = "MIB", default_value_t = 50)]
    pub(super) max_upload_mb: usize,

    /// Most a module's key-value store may hold (its keys and values), in MiB; a write
    /// past it fails (the guest gets the error).
    #[arg(long, value_name = "MB", default_value_t = 64)]
    pub(super) key_value_store_mb: u64,

    /// The key modules' secrets are sealed with, kept outside the data dir [default:
    /// $XDG_CONFIG_HOME/wasmgate/secrets.key or ~/.config/wasmgate/secrets.key, made (mode
    /// 0600) when the first secret is set].
    #[arg(long, value_name = "FILE")]
    pub(super) secrets_key_file: Option<PathBuf>,

    /// Longest a module uploaded through the admin API may take to compile, in
    /// milliseconds (longer: 422); a manifest's own modules compile for as long as they take.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub(super) compile_timeout_ms: u64,

    /// Longest pause between two chunks of a request body, in seconds (longer: 408).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(super) body_idle_timeout: u64,

    /// Longest a chunked request body may take to arrive in full, in seconds (longer: 408).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(super) body_timeout: u64,

    /// Count the instructions guests run, so routes can set a `fuel` budget (deterministic
    /// CPU limits; costs some speed on every route).
    #[arg(long)]
    pub(super) fuel_metering: bool,

    /// Most client connections open at once; more are closed as soon as accepted.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(super) max_connections: usize,

    /// How long a connection may stay open with no request in flight, in seconds (HTTP/2
    /// peers that answer pings included).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(super) idle_timeout: u64,

    /// Most connections one client (an IPv4 address, an IPv6 /64) may hold; more are closed
    /// as soon as accepted. Trusted proxies are exempt; 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub(super) max_connections_per_client: usize,

    /// Seconds a client has to complete its TLS handshake, to send its first request, and
    /// to send each request's headers; also how long an idle HTTP/1 connection stays open.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) header_read_timeout: u64,

    /// After each response, a worker keeps polling its sockets for this many microseconds
    /// before it sleeps, so that a request following soon finds it running: lower latency
    /// at low concurrency, above all on virtual machines (where a sleeping core is slow to
    /// wake), for CPU spent while otherwise idle (at most this much per response). 0: off.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub(super) busy_poll_us: u64,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. The admin
    /// API stays plain HTTP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(super) tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(super) tls_key: Option<PathBuf>,

    /// Write one access-log line per request (`wasmgate::access`: client, route, status,
    /// bytes, latencies, principal; never tokens or keys), and keep the latest for
    /// `wasmgate logs`.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub(super) access_log: bool,

    /// Export traces over OTLP/HTTP (protobuf) to this collector, e.g. `http://otel:4318`
    /// (`/v1/traces` is appended unless the URL ends with it); off by default.
    #[arg(long, value_name = "URL", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub(super) otlp_endpoint: Option<String>,

    /// Count every request in the per-route metrics (requests, refusals, latency and phase
    /// histograms, bytes); gateway-wide figures are kept either way.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub(super) metrics: bool,

    /// Share the registry (and rate limits) with every gateway node given the same Redis:
    /// `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or
    /// `redis+unix:///path`; in place of the manifest's `[store] url`. The data dir still
    /// keeps this node's compiled code.
    #[arg(
        long,
        value_name = "URL",
        env = "WASMGATE_STORE",
        hide_env_values = true
    )]
    pub(super) store: Option<String>,

    /// Also serve `GET /metrics` on this address, without the admin token (for scrapers on
    /// a private network); the admin API serves it with the token either way.
    #[arg(long, value_name = "ADDR")]
    pub(super) metrics_listen: Option<SocketAddr>,
}
