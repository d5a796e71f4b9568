//! The benchmark's ceiling: what serving `Hello, world!` costs without WebAssembly. The same
//! serving design as wasmgate's (one current-thread tokio runtime per core, each accepting
//! on its own `SO_REUSEPORT` socket, hyper's HTTP/1 per connection), so the difference to
//! wasmgate is the gateway and the guest, not the HTTP stack.
//!
//!   native-hello [ADDR] [THREADS]    # default 127.0.0.1:0, one thread per core
//!
//! Prints `listening on http://ADDR` once every thread accepts.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = match args.next() {
        Some(addr) => addr.parse().map_err(std::io::Error::other)?,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let threads = match args.next() {
        Some(n) => n.parse().map_err(std::io::Error::other)?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // The first socket picks the port (when ADDR's is 0); the others share it.
    let first = bind(addr)?;
    addr = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..threads {
        sockets.push(bind(addr)?);
    }
    println!("listening on http://{addr}");
    let workers: Vec<_> = sockets
        .into_iter()
        .map(|socket| std::thread::spawn(move || serve(socket)))
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| std::io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

/// A listening socket on `addr` that other threads may bind too.
fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Serves `listener` on a current-thread runtime of this thread's own.
fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let service = service_fn(|_request: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"Hello, world!",
                    ))))
                });
                // A client that goes away mid-request is no concern of a benchmark's.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
