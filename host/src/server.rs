//! The HTTP server: thread-per-core listeners, hyper connections, graceful shutdown.
//!
//! As measured in `shared/PERF-NOTES.md`, each worker is an OS thread running its own
//! single-threaded tokio runtime with its own listening socket, all bound to one address
//! with `SO_REUSEPORT` so the kernel spreads connections across them. A connection and the
//! handler invocations it starts stay on their worker's thread.
//!
//! Shutdown: when the shutdown future resolves, every worker stops accepting, lets the
//! requests in flight finish (each connection closes after its current response), and
//! gives up on stragglers after [`ServerOptions::shutdown_timeout`].

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use crate::gateway::Gateway;

/// How the server listens and stops.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on; port 0 picks a free port (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// Worker threads, each with its own listener; 0 means one per CPU core.
    pub workers: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's headers (against slowloris).
    pub header_read_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: crate::manifest::DEFAULT_LISTEN,
            workers: 0,
            shutdown_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Most request headers hyper accepts (hyper's own default, made explicit).
const MAX_HEADERS: usize = 100;
/// Pending connections per listening socket.
const LISTEN_BACKLOG: i32 = 1024;

/// A bound server, ready to run.
pub struct Server {
    gateway: Arc<Gateway>,
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
    options: ServerOptions,
}

impl Server {
    /// Binds one listening socket per worker to `options.listen`.
    pub fn bind(gateway: Gateway, options: &ServerOptions) -> io::Result<Self> {
        let workers = match options.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let first = reuseport_listener(options.listen)?;
        // With port 0 the first bind picks the port; the others join that one.
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(reuseport_listener(local_addr)?);
        }
        Ok(Server {
            gateway: Arc::new(gateway),
            listeners,
            local_addr,
            options: options.clone(),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and returns.
    pub fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = Vec::with_capacity(self.listeners.len());
        for (index, listener) in self.listeners.into_iter().enumerate() {
            let gateway = self.gateway.clone();
            let options = self.options.clone();
            let stop = stop_rx.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wasmgate-worker-{index}"))
                    .spawn(move || worker(listener, gateway, options, stop))?,
            );
        }

        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        signals.block_on(shutdown);
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        // Workers that already exited dropped their receivers; nothing else to tell them.
        let _ = stop_tx.send(true);

        let mut first_error = None;
        for handle in workers {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(_) => {
                    first_error = first_error.or(Some(io::Error::other("a worker thread panicked")))
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn reuseport_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// One worker thread: its own runtime, accept loop and connections.
fn worker(
    listener: std::net::TcpListener,
    gateway: Arc<Gateway>,
    options: ServerOptions,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(listener, gateway, options, stop))
}

async fn serve(
    listener: std::net::TcpListener,
    gateway: Arc<Gateway>,
    options: ServerOptions,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_headers(MAX_HEADERS);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();

    loop {
        let (stream, _peer) = tokio::select! {
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
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let gateway = gateway.clone();
        let service = hyper::service::service_fn(move |request| {
            let gateway = gateway.clone();
            async move { Ok::<_, Infallible>(gateway.handle(request).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }

    drop(listener);
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

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
