//! A server of one document, on whatever path is asked: the JWKS of the JWT tests (JSON the
//! test sets; 503 when set to none, as if down; fetches counted), or the page of the
//! browser test (HTML).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running server (its thread ends with the test process).
pub struct DocumentServer {
    pub addr: SocketAddr,
    body: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
}

impl DocumentServer {
    pub fn start(body: &str) -> Self {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST.into(), body)
    }

    /// Listens on `ip` (any free port) instead of loopback.
    pub fn start_on(ip: std::net::IpAddr, body: &str) -> Self {
        Self::serve(ip, "application/json", body)
    }

    /// Serves the HTML page `body` on loopback.
    pub fn html(body: &str) -> Self {
        Self::serve(std::net::Ipv4Addr::LOCALHOST.into(), "text/html", body)
    }

    fn serve(ip: std::net::IpAddr, content_type: &'static str, body: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = Arc::new(Mutex::new(Some(body.to_owned())));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (body.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                // The request line and headers, up to the blank line.
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                count.fetch_add(1, Ordering::SeqCst);
                let response = match shared.lock().expect("lock").clone() {
                    Some(document) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
                        document.len()
                    ),
                    None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        DocumentServer {
            addr,
            body,
            fetches,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// Serves `body` from now on (`None`: answers 503).
    pub fn set(&self, body: Option<&str>) {
        *self.body.lock().expect("lock") = body.map(str::to_owned);
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}
