//! The HTTP server: thread-per-core listeners, hyper connections, graceful shutdown.
//!
//! As measured in `shared/PERF-NOTES.md`, each worker is an OS thread running its own
//! single-threaded tokio runtime with its own listening socket, all bound to one address
//! with `SO_REUSEPORT` so the kernel spreads connections across them. A connection and the
//! handler invocations it starts stay on their worker's thread.
//!
//! Shutdown ([`RunningServer::stop`]): every worker stops accepting, lets the requests in
//! flight finish (each connection closes after its current response), and gives up on
//! stragglers after [`ServerOptions::shutdown_timeout`].
//!
//! With [`ServerOptions::tls`], each connection first completes a TLS handshake (within
//! the header-read timeout, `server/tls.rs`).
//!
//! Every connection is read through a `framing::WatchedStream`, which spots HTTP/1.1
//! requests framed by both `Content-Length` and `Transfer-Encoding`; those get a 400 here,
//! before the handler sees them.

mod activity;
mod clients;
mod connection;
mod framing;
mod framing_head;
mod listen;
mod metered;
pub mod response;
mod spin;
mod tls;

pub use clients::client_network;
pub use tls::{TlsSetupError, server_config as tls_server_config};

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::watch;

use crate::config::DEFAULT_LISTEN;
use connection::Connection;
use metered::ConnectionMetrics;
use response::ResponseBody;

/// What the server knows of a request's connection, put in each request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The peer's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS (the scheme guests see).
    pub over_tls: bool,
}

/// What a [`Server`] serves: the gateway's routes, or the admin API.
pub trait HttpService: Send + Sync + 'static {
    /// Answers one request.
    fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = hyper::Response<ResponseBody>> + Send;
}

/// How the server listens and stops.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on; port 0 picks a free port (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// Worker threads, each with its own listener; 0 means one per CPU core.
    pub workers: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's headers (against slowloris); also
    /// how long a new connection (after its TLS handshake, if any) may go without a first
    /// request, how long a TLS handshake may take, and how long an idle HTTP/1 keep-alive
    /// connection stays open.
    pub header_read_timeout: Duration,
    /// Most connections open at once per server; more are closed as soon as accepted.
    pub max_connections: usize,
    /// How long a connection may stay open with no request in flight (HTTP/2 peers that
    /// answer pings included).
    pub idle_timeout: Duration,
    /// Most connections one client (an IPv4 address, an IPv6 /64) may hold; more are
    /// closed as soon as accepted. 0: no limit.
    pub max_connections_per_client: usize,
    /// Peers exempt from the per-client limit: the proxies many clients come through.
    pub trusted_proxies: crate::config::TrustedProxies,
    /// TLS settings (see [`tls_server_config`]); `None` serves plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// What metrics call this server's listener (`gateway`, `admin`, `metrics`).
    pub name: &'static str,
    /// How long a worker keeps polling its sockets after a response before it sleeps
    /// (`spin.rs`); zero: it sleeps at once.
    pub busy_poll: Duration,
    /// Called on a worker thread each time it has nothing to run, before it sleeps.
    pub on_idle: Option<fn()>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: DEFAULT_LISTEN,
            workers: 0,
            shutdown_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(60),
            max_connections_per_client: 0,
            trusted_proxies: crate::config::TrustedProxies::default(),
            tls: None,
            name: "gateway",
            busy_poll: Duration::ZERO,
            on_idle: None,
        }
    }
}

/// Most request headers accepted (hyper's own default, made explicit); more: 431.
/// `framing.rs` parses heads with the same limit.
const MAX_HEADERS: usize = 100;

/// How request heads are parsed: httparse's defaults, which is what hyper uses given the
/// HTTP/1 options set in [`connection_builder`]. `framing.rs` parses heads with it, so a parsing option
/// given to hyper must be given here too.
fn h1_parser_config() -> httparse::ParserConfig {
    httparse::ParserConfig::default()
}
/// Largest request head (request line and headers) read, in bytes; larger: 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most streams an HTTP/2 client may open at once on one connection.
const MAX_H2_STREAMS: u32 = 256;
/// Streams an HTTP/2 client may reset before being answered, before the connection is
/// dropped (the "rapid reset" flood).
const MAX_H2_PENDING_RESETS: usize = 50;
/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// A bound server, ready to run.
pub struct Server<H> {
    handler: Arc<H>,
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
    options: ServerOptions,
}

impl<H: HttpService> Server<H> {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts serving on the worker threads; returns at once.
    pub fn start(self) -> io::Result<RunningServer> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let connections = Arc::new(tokio::sync::Semaphore::new(self.options.max_connections));
        let clients = clients::ClientConnections::new(
            self.options.max_connections_per_client,
            self.options.trusted_proxies.clone(),
        );
        let mut workers = Vec::with_capacity(self.listeners.len());
        for (index, listener) in self.listeners.into_iter().enumerate() {
            // Built here so that a failure shows at start-up, not at shutdown.
            let mut runtime = tokio::runtime::Builder::new_current_thread();
            runtime.enable_all();
            if let Some(on_idle) = self.options.on_idle {
                runtime.on_thread_park(on_idle);
            }
            let runtime = runtime.build()?;
            let handler = self.handler.clone();
            let options = self.options.clone();
            let stop = stop_rx.clone();
            let connections = connections.clone();
            let clients = clients.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wasmgate-worker-{index}"))
                    .spawn(move || {
                        let limits = Limits {
                            connections,
                            clients,
                        };
                        runtime.block_on(serve(listener, handler, options, limits, stop))
                    })?,
            );
        }
        Ok(RunningServer {
            local_addr: self.local_addr,
            stop: stop_tx,
            workers,
        })
    }
}

/// A server whose workers are serving.
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    workers: Vec<std::thread::JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish (bounded by the shutdown timeout)
    /// and waits for every worker to exit.
    pub fn stop(self) -> io::Result<()> {
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        // Workers that already exited dropped their receivers; nothing else to tell them.
        let _ = self.stop.send(true);
        let mut first_error = None;
        for handle in self.workers {
            let result = handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// How long connections open at shutdown may still send a request before idle ones close.
const FIRST_REQUEST_LINGER: Duration = Duration::from_millis(100);

/// How hyper serves each connection: HTTP/1.1 and HTTP/2, with their limits.
fn connection_builder(options: &ServerOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .max_pending_accept_reset_streams(MAX_H2_PENDING_RESETS)
        .max_local_error_reset_streams(MAX_H2_PENDING_RESETS)
        // Pings find HTTP/2 peers that went away without closing.
        .keep_alive_interval(Some(H2_KEEP_ALIVE_INTERVAL))
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    builder
}

/// What bounds a server's connections, shared by its workers.
struct Limits {
    /// Every connection's slot.
    connections: Arc<tokio::sync::Semaphore>,
    /// Connections by client.
    clients: Arc<clients::ClientConnections>,
}

/// One worker: its accept loop and connections, on the worker's own runtime.
async fn serve<H: HttpService>(
    listener: std::net::TcpListener,
    handler: Arc<H>,
    options: ServerOptions,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let builder = Arc::new(connection_builder(&options));
    spin::Spin::start_on_this_worker(options.busy_poll);
    let graceful = GracefulShutdown::new();
    let counted = ConnectionMetrics::new(options.name);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = limits.connections.clone().try_acquire_owned() else {
            // At the limit: close it at once rather than let it wait unserved.
            tracing::debug!(%peer, "connection limit reached: closing a new connection");
            counted.refused("limit");
            drop(stream);
            continue;
        };
        let Some(client_slot) = limits.clients.enter(peer.ip()) else {
            tracing::debug!(%peer, "the client holds its share of connections: closing a new one");
            counted.refused("client_limit");
            drop(stream);
            continue;
        };
        let open = counted.open();
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            peer,
            handler: handler.clone(),
            builder: builder.clone(),
            watcher: graceful.watcher(),
            first_request_timeout: options.header_read_timeout,
            idle_timeout: options.idle_timeout,
            over_tls: options.tls.is_some(),
        };
        let tls = options.tls.clone();
        let handshake_timeout = options.header_read_timeout;
        tokio::spawn(async move {
            let _slots = (slot, client_slot, open);
            let Some(tls) = tls else {
                return connection.serve(stream).await;
            };
            let handshake = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
            match tokio::time::timeout(handshake_timeout, handshake).await {
                Ok(Ok(stream)) => connection.serve(stream).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }

    drop(listener);
    // A connection accepted just before the stop has not had its request read yet, and
    // hyper's graceful shutdown closes such a connection at once: give the requests already
    // on their way a moment to arrive, so a restart on a handed-over socket drops none.
    if graceful.count() > 0 {
        tokio::time::sleep(FIRST_REQUEST_LINGER).await;
    }
    let in_flight = graceful.count();
    if in_flight > 0 {
        tracing::info!(connections = in_flight, "waiting for open connections");
    }
    if tokio::time::timeout(options.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_s = options.shutdown_timeout.as_secs(),
            "shutdown timeout reached: dropping the requests still in flight"
        );
    }
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM, listened for from creation on: a signal that arrives
/// before [`ShutdownSignal::recv`] is awaited is not lost (nor does it kill the process).
pub struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Starts listening; call within a tokio runtime, and await [`ShutdownSignal::recv`] on
    /// that runtime.
    pub fn install() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignal {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
    }
}
