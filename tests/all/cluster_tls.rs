//! Gateway nodes sharing a Redis over TLS (`rediss://`), logged in as an ACL user that may
//! touch only wasmgate's keys and channel.

use std::time::Duration;

use crate::cluster::served_by_all;
use crate::support::{AdminClient, Gateway, RedisServer, get, guests, needs_redis};

/// A CA, and a certificate for `localhost` it signed: (CA PEM, certificate PEM, key PEM).
fn tls_files() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_share_a_redis_over_tls_as_an_acl_user_limited_to_wasmgate_keys() {
        let files = tempfile::tempdir().expect("tempdir");
        let (ca, cert, key) = tls_files();
        let path = |name: &str| files.path().join(name).display().to_string();
        for (name, pem) in [("ca.pem", &ca), ("cert.pem", &cert), ("key.pem", &key)] {
            std::fs::write(files.path().join(name), pem).expect("write");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut args: Vec<String> = vec![
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path("cert.pem"),
            "--tls-key-file".into(),
            path("key.pem"),
            "--tls-ca-cert-file".into(),
            path("ca.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
            // The gateway's user may touch its own keys and channel, and nothing else (the
            // words of one `user` directive are separate arguments).
            "--user".into(),
            "default".into(),
            "off".into(),
            "--user".into(),
        ];
        args.extend(
            "wasmgate on >s3cret ~wasmgate:* &wasmgate:* +@all -flushall -flushdb -config -keys"
                .split(' ')
                .map(str::to_owned),
        );
        let redis = RedisServer::start_with(args);
        let url = format!("rediss://wasmgate:s3cret@localhost:{port}");
        let ca_file = path("ca.pem");
        let manifest = crate::support::module("hello", guests::HELLO, "")
            + &crate::support::route(
                "GET",
                "/limited/{name}",
                "hello",
                "throttle = { rate = 0.01, burst = 2 }",
            );
        let start = || {
            let (dir, _) = crate::support::write_manifest(&manifest);
            Gateway::start_in_with_env(
                dir,
                &["--listen", "127.0.0.1:0", "--store", &url],
                &[("SSL_CERT_FILE", ca_file.as_str())],
            )
        };
        let nodes = [start(), start()];
        // The registry: a deploy through one node, served by the other.
        let admin = AdminClient::new(&nodes[0]);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        assert_eq!(admin.upload("greet", hello).await.0, 201);
        admin.put_route("GET", "/greet/{name}", "greet").await;
        served_by_all(&nodes, "/greet/ada", 200, Duration::from_secs(1)).await;
        // The rate limits: burst 2 across both nodes.
        let statuses = [
            get(&nodes[0].url("/limited/a")).await.0,
            get(&nodes[1].url("/limited/a")).await.0,
            get(&nodes[0].url("/limited/a")).await.0,
        ];
        assert_eq!(statuses, [200, 200, 429]);
        // The password is never logged.
        let stderr = nodes[0].stderr();
        assert!(!stderr.contains("s3cret"), "the password was logged:\n{stderr}");
        drop(redis);
    }
}
