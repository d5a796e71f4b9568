//! HTTPS: `--tls-cert` and `--tls-key` make the gateway serve TLS, HTTP/2 through ALPN
//! and HTTP/1.1 alike; plain HTTP on that port gets no answer; bad files stop start-up
//! with a message naming them.

use std::io::{Read, Write};

use rustls::pki_types::pem::PemObject;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Gateway, install_tls, run, standard_manifest};

/// A self-signed certificate for `localhost`: (certificate file, key file, the PEM).
fn certificate(dir: &Path) -> (PathBuf, PathBuf, String) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write certificate");
    std::fs::write(&key_path, signing_key.serialize_pem()).expect("write key");
    (cert_path, key_path, cert.pem())
}

fn https_client(pem: &str, http1_only: bool) -> reqwest::Client {
    install_tls();
    let mut builder = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().expect("client")
}

/// `up`'s flags for an ephemeral loopback port serving TLS with `cert` and `key`.
fn tls_flags<'a>(cert: &'a Path, key: &'a Path) -> [&'a str; 6] {
    [
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ]
}

pub(crate) fn https_gateway(dir: &Path) -> (Gateway, String) {
    let (cert, key, pem) = certificate(dir);
    let gw = Gateway::start_with_args(&standard_manifest(), &tls_flags(&cert, &key));
    (gw, pem)
}

#[tokio::test]
async fn https_serves_http2_and_http1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gw, pem) = https_gateway(dir.path());
    let url = format!("https://localhost:{}/hello/ada", gw.addr.port());
    for (http1_only, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        let response = https_client(&pem, http1_only)
            .get(&url)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), version);
        assert!(
            response.text().await.expect("body").contains("Hello, ada!"),
            "{version:?}"
        );
    }
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_no_http_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gw, _) = https_gateway(dir.path());
    let mut stream = TcpStream::connect(gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    // The server answers with a TLS alert and closes (not a timeout).
    let read = stream.read_to_end(&mut answer);
    assert!(
        read.is_ok()
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{read:?}"
    );
    assert!(
        !answer.is_empty() && !answer.starts_with(b"HTTP/"),
        "{answer:?}"
    );
    // A client that does not trust the certificate gives up.
    install_tls();
    let unknown = reqwest::Client::builder()
        .build()
        .expect("client")
        .get(format!("https://localhost:{}/hello/ada", gw.addr.port()))
        .send()
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
}

#[test]
fn bad_certificate_files_stop_start_up_with_their_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("wasmgate.toml");
    std::fs::write(&manifest, "").expect("manifest");
    let (cert, key, _) = certificate(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let missing = dir.path().join("missing.pem");
    let encrypted = dir.path().join("encrypted.pem");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .expect("write");
    for (cert, key, expected) in [
        (&cert, &encrypted, "the TLS private key is encrypted"),
        (&missing, &key, "cannot read the TLS certificate chain"),
        (&garbage, &key, "holds no PEM certificate"),
        (&cert, &garbage, "cannot read the TLS private key"),
        (&key, &cert, "holds no PEM certificate"),
    ] {
        let mut args = vec!["up", manifest.to_str().expect("utf-8")];
        args.extend(tls_flags(cert, key));
        let (status, stdout, stderr) = run(&args, dir.path());
        assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        let named = cert.file_name().expect("name").to_str().expect("utf-8");
        let key_named = key.file_name().expect("name").to_str().expect("utf-8");
        assert!(
            stderr.contains(named) || stderr.contains(key_named),
            "{stderr}"
        );
    }
    // One without the other is a usage error.
    let (status, _, stderr) = run(
        &[
            "up",
            manifest.to_str().expect("utf-8"),
            "--tls-cert",
            cert.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

/// Reads until the server closes `stream`; true if it did within `within`.
fn closed_within(mut stream: TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => return error.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

#[tokio::test]
async fn connections_that_send_no_request_are_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, pem) = certificate(dir.path());
    let flags = |tls: bool| {
        let mut flags = vec!["--header-read-timeout", "1"];
        if tls {
            flags.extend(tls_flags(&cert, &key));
        } else {
            flags.extend(["--listen", "127.0.0.1:0"]);
        }
        flags
    };
    // Plain: connect, say nothing (not even enough to tell HTTP/1 from HTTP/2).
    let plain = Gateway::start_with_args(&standard_manifest(), &flags(false));
    let silent = TcpStream::connect(plain.addr).expect("connect");
    assert!(closed_within(silent, Duration::from_secs(5)));
    let preface_only = {
        let mut stream = TcpStream::connect(plain.addr).expect("connect");
        stream.write_all(b"PRI * HTTP/2.0\r\n").expect("write");
        stream
    };
    assert!(closed_within(preface_only, Duration::from_secs(5)));

    // TLS: a handshake never started, and one completed with nothing after it.
    let tls = Gateway::start_with_args(&standard_manifest(), &flags(true));
    let silent = TcpStream::connect(tls.addr).expect("connect");
    assert!(closed_within(silent, Duration::from_secs(5)));
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(certificate.expect("pem")).expect("root");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(tls.addr)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut handshaken = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut handshaken, &mut buf),
    )
    .await
    .expect("closed within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn guests_see_the_https_scheme() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, pem) = certificate(dir.path());
    let manifest = format!(
        "[[modules]]\nname = \"probe\"\npath = \"{}\"\nexecutor = \"wagi\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/wagi/{{action}}\"\nmodule = \"probe\"\n",
        crate::support::guests::WAGI_PROBE
    );
    let gw = Gateway::start_with_args(&manifest, &tls_flags(&cert, &key));
    let port = gw.addr.port();
    let body = https_client(&pem, true)
        .get(format!("https://localhost:{port}/wagi/env"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    for line in [
        "HTTPS=on".to_owned(),
        "REQUEST_SCHEME=https".to_owned(),
        format!("X_FULL_URL=https://localhost:{port}/wagi/env"),
        format!("SERVER_PORT={port}"),
    ] {
        assert!(body.lines().any(|l| l == line), "{line} in {body}");
    }
}

#[test]
fn an_admin_api_off_loopback_is_warned_about() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("wasmgate.toml");
    std::fs::write(&manifest, "").expect("manifest");
    let mut child = std::process::Command::new(crate::support::binary())
        .arg("up")
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("the admin API is plain HTTP") {
                let _ = tx.send(line);
                break;
            }
        }
    });
    let warned = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned.is_ok_and(|line| line.contains("0.0.0.0")));
}
