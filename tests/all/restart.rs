//! Restarts without dropping a request: the listening socket is handed over by whoever
//! holds it (systemd's socket activation, here the test) through `LISTEN_FDS`. For a binary
//! upgrade a new process accepts on the same socket before the old one drains and exits;
//! for `systemctl restart` the old one exits first and connections wait in the socket's
//! backlog for the new one.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{Gateway, guests, module, route};

/// Steady load on `url` from `clients` loops, a new connection per request, until `stop`:
/// (answered 200, failed).
fn load(
    url: String,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(usize, usize)> {
    tokio::spawn(async move {
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let loops: Vec<_> = (0..clients)
            .map(|_| {
                let (url, stop, ok, failed) =
                    (url.clone(), stop.clone(), ok.clone(), failed.clone());
                tokio::spawn(async move {
                    crate::support::install_tls();
                    let http = reqwest::Client::builder()
                        .pool_max_idle_per_host(0)
                        .build()
                        .expect("client");
                    while !stop.load(Ordering::Relaxed) {
                        match http.get(&url).send().await {
                            Ok(response) if response.status() == 200 => {
                                ok.fetch_add(1, Ordering::Relaxed)
                            }
                            _ => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for task in loops {
            task.await.expect("load loop");
        }
        (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_upgrades_on_a_handed_over_socket_drop_no_request() {
    // The socket a service manager would hold, inherited by each gateway process.
    let socket = socket2::Socket::from(std::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
    // Not closed on exec: the gateway processes inherit it.
    socket.set_cloexec(false).expect("cloexec");
    let fd = socket.as_raw_fd().to_string();
    let env = [("LISTEN_FDS", "1"), ("LISTEN_FDS_FIRST_FD", fd.as_str())];
    let manifest = module("hello", guests::HELLO, "") + &route("GET", "/hello/{name}", "hello", "");

    let mut old = Gateway::start_with_env(&manifest, &env);
    let address = socket.local_addr().expect("address").as_socket();
    assert_eq!(Some(old.addr), address, "the socket handed over");
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(old.url("/hello/restart"), 4, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The new process accepts on the same socket, then the old one drains and exits.
    let new = tokio::task::block_in_place(|| Gateway::start_with_env(&manifest, &env));
    assert_eq!(new.addr, old.addr);
    old.terminate();
    let status = tokio::task::block_in_place(|| old.wait_exit(Duration::from_secs(30)))
        .expect("the old gateway exits");
    assert!(status.success(), "{status:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The new process served some of them.
    assert!(new.stderr().contains("/hello/restart"), "{}", new.stderr());

    // `systemctl restart`: the process stops first; connections made meanwhile wait in the
    // socket's backlog for the next one.
    let mut new = new;
    new.terminate();
    tokio::task::block_in_place(|| new.wait_exit(Duration::from_secs(30)))
        .expect("the gateway exits");
    let next = tokio::task::block_in_place(|| Gateway::start_with_env(&manifest, &env));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let (ok, failed) = running.await.expect("load");
    assert_eq!(failed, 0, "{ok} answered, {failed} failed");
    assert!(ok > 50, "only {ok} requests ran");
    assert!(
        next.stderr().contains("/hello/restart"),
        "{}",
        next.stderr()
    );
}
