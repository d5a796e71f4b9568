//! The listening sockets of a [`Server`]: one `SO_REUSEPORT` socket per worker on an
//! address claimed first, or clones of one socket handed over by a service manager.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use super::{HttpService, Server, ServerOptions};

/// Pending connections per listening socket.
const LISTEN_BACKLOG: i32 = 1024;

impl<H: HttpService> Server<H> {
    /// Binds one listening socket per worker to `options.listen`.
    pub fn bind(handler: Arc<H>, options: &ServerOptions) -> io::Result<Self> {
        let workers = match options.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // The probe socket is closed before the workers' sockets bind the same address.
        let local_addr = claim_address(options.listen)?;
        let listeners = (0..workers)
            .map(|_| reuseport_listener(local_addr))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Server {
            handler,
            listeners,
            local_addr,
            options: options.clone(),
        })
    }

    /// A server on a listening socket handed over by the service manager (systemd's
    /// `LISTEN_FDS`): every worker accepts on it (the kernel hands each connection to one),
    /// and it stays open in the manager while this process restarts.
    pub fn from_listener(
        handler: Arc<H>,
        listener: std::net::TcpListener,
        options: &ServerOptions,
    ) -> io::Result<Self> {
        let workers = match options.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let mut listeners = Vec::with_capacity(workers);
        for _ in 1..workers {
            listeners.push(listener.try_clone()?);
        }
        listeners.push(listener);
        Ok(Server {
            handler,
            listeners,
            local_addr,
            options: options.clone(),
        })
    }

    /// [`Server::from_listener`] with `inherited` when there is one, else [`Server::bind`].
    pub fn bind_or_inherit(
        handler: Arc<H>,
        inherited: Option<std::net::TcpListener>,
        options: &ServerOptions,
    ) -> io::Result<Self> {
        match inherited {
            Some(listener) => Self::from_listener(handler, listener, options),
            None => Self::bind(handler, options),
        }
    }
}

/// Fails if something else already listens on `addr` — including another process that set
/// `SO_REUSEPORT`, which would otherwise silently share the port with us — and returns the
/// address with the port the kernel picked for port 0.
fn claim_address(addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound a non-IP address"))
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
