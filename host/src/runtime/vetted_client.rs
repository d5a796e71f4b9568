//! Sends an outgoing request that only a `*` allow-list entry permits to the addresses the
//! allow-list checked, without resolving the name again: a second DNS answer (rebinding)
//! cannot redirect it to a loopback or link-local address. TLS still verifies the
//! server's certificate for the name.
//!
//! wasmtime-wasi-http's own client connects by name only, so this is a client of our own
//! with the same behaviour: HTTP/1.1, the webpki roots, connect / first-byte /
//! between-bytes timeouts, and its error codes.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, WasiBody};

use super::IdleTimeout;
use super::outbound::Sent;

/// How long each step of a request may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// To connect, including the TLS and HTTP handshakes.
    pub connect: Duration,
    /// From sending the request to the response's head.
    pub first_byte: Duration,
    /// Between two frames of the response body.
    pub between_bytes: Duration,
}

/// A connection, plain or TLS.
trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// Sends `request` to the first of `addresses` that accepts a connection.
pub(super) async fn send(
    request: http::Request<WasiBody>,
    addresses: &[SocketAddr],
    timeouts: Timeouts,
) -> Result<Sent, Error> {
    send_with(request, addresses, timeouts, tls_config).await
}

/// [`send`], with the TLS settings from `tls` (tests bring their own roots).
async fn send_with(
    mut request: http::Request<WasiBody>,
    addresses: &[SocketAddr],
    timeouts: Timeouts,
    tls: impl FnOnce() -> Result<Arc<rustls::ClientConfig>, Error> + Send,
) -> Result<Sent, Error> {
    let uri = request.uri();
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let handshake = async {
        let tcp = connect(addresses, timeouts.connect).await?;
        let connection: Box<dyn Connection> = if https {
            let name = rustls::pki_types::ServerName::try_from(host)?;
            let tls = tokio_rustls::TlsConnector::from(tls()?)
                .connect(name, tcp)
                .await
                .map_err(Error::Tls)?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        Ok::<_, Error>(
            hyper::client::conn::http1::handshake::<_, WasiBody>(TokioIo::new(connection)).await?,
        )
    };
    let (mut sender, connection) = tokio::time::timeout(timeouts.connect, handshake)
        .await
        .map_err(|_| Error::ConnectionTimeout)??;

    // The request line carries the path only; `Host` is already set from the authority.
    let path = uri_path(request.uri());
    *request.uri_mut() = path;

    // The connection's I/O runs while the response head is awaited, then is handed back to
    // run for the body.
    let mut connection = Box::pin(connection);
    let mut connection_ended = false;
    let response = tokio::time::timeout(timeouts.first_byte, sender.send_request(request));
    tokio::pin!(response);
    let response = loop {
        tokio::select! {
            biased;
            response = &mut response => break response,
            ended = &mut connection, if !connection_ended => {
                ended?;
                connection_ended = true;
            }
        }
    };
    let response = response.map_err(|_| Error::ConnectionReadTimeout)??;
    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = if connection_ended {
        Box::new(async { Ok(()) })
    } else {
        Box::new(async move { connection.await.map_err(Error::from) })
    };
    let response = response.map(|body| {
        IdleTimeout::new(
            body.map_err(Error::from).boxed_unsync(),
            timeouts.between_bytes,
        )
        .boxed_unsync()
    });
    Ok((response, io))
}

/// Connects to the first address that accepts within `budget`. Each address gets an equal
/// share of what is left, so one that never answers (a blackholed IPv6 route, say) does
/// not use up the time the others need.
async fn connect(addresses: &[SocketAddr], budget: Duration) -> Result<TcpStream, Error> {
    let deadline = tokio::time::Instant::now() + budget;
    let mut last_error = None;
    for (index, address) in addresses.iter().enumerate() {
        let untried = (addresses.len() - index) as u32;
        let share = deadline.saturating_duration_since(tokio::time::Instant::now()) / untried;
        match tokio::time::timeout(share, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                // Best effort: small requests and responses go out at once.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(error)) => last_error = Some(error),
            Err(_elapsed) => last_error = None,
        }
    }
    Err(match last_error {
        None => Error::ConnectionTimeout,
        Some(error) if error.kind() == io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
        Some(error) => Error::Connect(error),
    })
}

/// The TLS client settings: the webpki roots and ring, built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(|error| Error::InternalError(Some(format!("TLS settings: {error}"))))
}

/// `uri`'s path and query alone (origin form), `/` if it has none.
fn uri_path(uri: &http::Uri) -> http::Uri {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    path.parse().unwrap_or_else(|_| http::Uri::from_static("/"))
}

#[cfg(test)]
#[path = "vetted_client_tests.rs"]
mod tests;
