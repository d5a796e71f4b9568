//! Test guest for the integration tests: `ANY /probe/{action}` where the action picks a
//! behaviour the tests observe from outside.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

use wasmgate_sdk::{Error, Request, Response, handler};

/// Incremented on every call: a fresh instance per request always answers 1.
static CALLS: AtomicU32 = AtomicU32::new(0);

#[handler]
fn probe(req: Request) -> Result<Response, Error> {
    let action = req.param("action").unwrap_or_default();
    match action.as_str() {
        "count" => Ok(Response::text(
            (CALLS.fetch_add(1, Ordering::SeqCst) + 1).to_string(),
        )),
        "trap" => panic!("the probe was asked to trap"),
        "chatter" => {
            // Floods stdout and stderr, for the guest log's limit.
            let lines: u32 = req.query("lines").unwrap_or_default().parse()?;
            for n in 0..lines {
                println!("probe: chatter {n} on stdout");
                eprintln!("probe: chatter {n} on stderr");
            }
            Ok(Response::text(format!("chattered {lines} lines")))
        }
        "sleep" => {
            let ms: u64 = req.query("ms").unwrap_or_default().parse()?;
            // Tests wait for this line in the gateway's log to know the call is in flight.
            // One write for the whole line, so lines from concurrent calls never interleave.
            let line = format!("probe: sleeping {ms} ms\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            let started = now_ns();
            std::thread::sleep(Duration::from_millis(ms));
            // When it ran, for tests that measure how many ran at once.
            Ok(Response::text(format!("slept {ms} ms"))
                .with_header("x-started-ns", started.to_string())
                .with_header("x-ended-ns", now_ns().to_string()))
        }
        "burn" => {
            // Keeps the CPU busy for `ms` milliseconds, then answers.
            let ms: u64 = req.query("ms").unwrap_or_default().parse()?;
            let started = std::time::Instant::now();
            let mut x: u64 = 0;
            while started.elapsed() < Duration::from_millis(ms) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            Ok(Response::text(format!("burned {ms} ms")))
        }
        "spin" => {
            // Burns CPU forever (until the gateway's timeout interrupts it).
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "grow" => {
            let mb: usize = req.query("mb").unwrap_or_default().parse()?;
            let block = vec![1u8; mb << 20];
            Ok(Response::text(format!(
                "allocated {} MiB",
                std::hint::black_box(block).len() >> 20
            )))
        }
        "headers" => {
            // Sends every `x-*` request header back as a response header.
            let mut response = Response::text("headers");
            for (name, value) in req.headers() {
                if name.starts_with("x-") {
                    response = response.with_header(name.clone(), value.clone());
                }
            }
            Ok(response)
        }
        "cors" => Ok(Response::text("wide open")
            // What a guest might say; a route's CORS policy replaces it.
            .with_header("access-control-allow-origin", "*")
            .with_header("access-control-allow-credentials", "true")),
        "cache-control" => Ok(Response::text("told")
            .with_header("cache-control", req.query("value").unwrap_or_default())),
        "cookie" => Ok(Response::text("cookie").with_header("set-cookie", "session=1")),
        "stage" => Ok(Response::text(
            req.stage_variable(&req.query("name").unwrap_or_default())
                .unwrap_or_else(|| "(none)".into()),
        )),
        "fail" => Err(Error::new(418, "the probe was asked to fail")),
        "reply" => {
            // Answers with the status in `status` and, with `header`, a header of that name:
            // what the SDK does when a handler sets ones the host refuses.
            let status = req.query("status").map_or(Ok(200), |s| s.parse())?;
            let response = Response::text("replied").with_status(status);
            Ok(match req.query("header") {
                Some(name) => response.with_header(name, "set"),
                None => response,
            })
        }
        "env" => {
            let name = req.query("name").unwrap_or_default();
            Ok(Response::text(
                std::env::var(&name).unwrap_or_else(|_| "(unset)".into()),
            ))
        }
        "config" => Ok(Response::text(
            wasmgate_sdk::config::get(&req.query("name").unwrap_or_default())
                .unwrap_or_else(|| "(unset)".into()),
        )),
        "fetch" => Ok(Response::text(fetch(&req.query("url").unwrap_or_default()))),
        "snapshot" => {
            // Every input a replay plays back: both clocks, random bytes, an outbound
            // response and the gateway context. `FLAVOUR` tells builds apart (the replay
            // test makes a changed version by rewriting it in the binary).
            let now = now_ns();
            let started = std::time::Instant::now();
            let random = wasi::random::random::get_random_bytes(8);
            let upstream = fetch_body(&req.query("url").unwrap_or_default());
            let body = String::from_utf8_lossy(req.body()).into_owned();
            Ok(Response::json(&serde_json::json!({
                "flavour": FLAVOUR,
                "now_ns": now.to_string(),
                "elapsed_ns": started.elapsed().as_nanos().to_string(),
                "random": random.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "upstream": upstream,
                "request_id": req.request_id(),
                "body": body,
            })))
        }
        "recurse" => Ok(Response::text(recurse(1_000_000_000).to_string())),
        "kv-set" => {
            // `bytes` bytes under `key` in the `default` store, for the store's bounds.
            let key = req.query("key").unwrap_or_default();
            let bytes: usize = req.query("bytes").unwrap_or_default().parse()?;
            wasmgate_sdk::kv::Store::open("default")?.set(&key, vec![b'x'; bytes])?;
            Ok(Response::text(format!("{key}: {bytes} bytes")))
        }
        "kv-increment" => {
            let key = req.query("key").unwrap_or_default();
            let sum = wasmgate_sdk::kv::Store::open("default")?.increment(&key, 1)?;
            Ok(Response::text(format!("{key}: {sum}")))
        }
        other => Err(Error::not_found(format!("no probe action `{other}`"))),
    }
}

/// Recurses until the wasm call stack is exhausted (small frames: no locals in linear
/// memory, so the engine's stack limit is what stops it).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        0
    } else {
        recurse(std::hint::black_box(depth - 1)).wrapping_add(std::hint::black_box(1))
    }
}

/// What the `snapshot` action says it is; the replay test rewrites these bytes.
const FLAVOUR: &str = "replay-flavour-1";

/// GETs `url` and reads its body as text: the body, or `error: …`.
fn fetch_body(url: &str) -> String {
    let response = match send(url) {
        Ok(response) => response,
        Err(error) => return error,
    };
    let Ok(body) = response.consume() else {
        return "error: no body".into();
    };
    let Ok(stream) = body.stream() else {
        return "error: no body stream".into();
    };
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(64 * 1024) {
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// GETs `url` with `wasi:http/outgoing-handler`: `status N` or `error: …`.
fn fetch(url: &str) -> String {
    match send(url) {
        Ok(response) => format!("status {}", response.status()),
        Err(error) => error,
    }
}

/// Sends `GET url`: its response, or `error: …`.
fn send(url: &str) -> Result<wasi::http::types::IncomingResponse, String> {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, OutgoingRequest, Scheme};

    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("error: bad url {url}"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    let future = match outgoing_handler::handle(request, None) {
        Ok(future) => future,
        Err(code) => return Err(format!("error: {code:?}")),
    };
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(format!("error: {code:?}")),
        other => Err(format!("error: {other:?}")),
    }
}
