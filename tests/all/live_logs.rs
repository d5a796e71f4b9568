//! `wasmgate logs`: the latest access records (filtered by route and status), and with
//! `--follow` the admin API's event stream of access records and guest output, which ends
//! when the gateway drains.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, binary, client, run, standard_gateway};

/// The admin flags of a client command against `gw`.
fn admin_flags(gw: &Gateway) -> Vec<String> {
    vec![
        "--admin-url".into(),
        gw.admin_url(""),
        "--admin-token".into(),
        gw.admin_token(),
    ]
}

/// `wasmgate logs --json ARGS…`: one JSON event per line.
fn logs(gw: &Gateway, args: &[&str]) -> Vec<Value> {
    let mut all: Vec<String> = vec!["logs".into(), "--json".into()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.extend(admin_flags(gw));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, stdout, stderr) = run(&all, dir.path());
    assert!(status.success(), "{stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON event"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_records_are_listed_and_filtered() {
    let gw = standard_gateway();
    let http = client();
    for path in ["/hello/ada", "/hello/bo", "/nowhere"] {
        // Read whole: a request's record is written when its response ends, so the next
        // one starts after it.
        let response = http.get(gw.url(path)).send().await.expect("send");
        response.bytes().await.expect("body");
    }
    let (all, failed, hello) = tokio::task::block_in_place(|| {
        (
            logs(&gw, &[]),
            logs(&gw, &["--status", "4xx"]),
            logs(&gw, &["--route", "/hello/{name}"]),
        )
    });
    let paths = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["path"].as_str().expect("path").to_owned())
            .collect()
    };
    assert_eq!(paths(&all), ["/hello/ada", "/hello/bo", "/nowhere"]);
    assert_eq!(paths(&failed), ["/nowhere"]);
    assert_eq!(failed[0]["status"], 404);
    assert_eq!(paths(&hello), ["/hello/ada", "/hello/bo"]);
    assert_eq!(hello[0]["version"], "hello@1");

    let bad = http
        .get(gw.admin_url("/logs?status=abc"))
        .bearer_auth(gw.admin_token())
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    let unauthenticated = http
        .get(gw.admin_url("/logs/stream"))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthenticated.status(), 401);
}

/// An access record in `seen` whose request's guest output line is in `seen` too.
fn followed_whole(seen: &[Value]) -> Option<&Value> {
    seen.iter()
        .filter(|e| e["type"] == "access")
        .find(|access| {
            seen.iter().any(|e| {
                e["type"] == "guest"
                    && e["request_id"] == access["request_id"]
                    && e["stream"] == "stdout"
                    && e["line"] == "probe: chatter 0 on stdout"
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_streams_records_and_guest_output_until_the_gateway_drains() {
    let gw = standard_gateway();
    let mut follower = Command::new(binary())
        .args(["logs", "--follow", "--json", "--route", "/probe/{action}"])
        .args(admin_flags(&gw))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wasmgate logs --follow");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = follower.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(serde_json::from_str(&line).expect("a JSON event"));
        }
    });

    // Requests until the follower, once connected, has seen one with its guest's output;
    // another route's requests never show.
    let http = client();
    let mut seen = Vec::new();
    for _ in 0..100 {
        http.get(gw.url("/hello/other")).send().await.expect("send");
        let response = http
            .get(gw.url("/probe/chatter?lines=1"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        while let Ok(event) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(event);
        }
        if followed_whole(&seen).is_some() {
            break;
        }
    }
    let access = followed_whole(&seen).unwrap_or_else(|| panic!("no whole request in {seen:?}"));
    assert_eq!(access["route"], "/probe/{action}");
    assert_eq!(access["status"], 200);
    assert!(
        seen.iter().all(|e| e["route"] == "/probe/{action}"),
        "{seen:?}"
    );

    // The gateway drains: the stream ends, and the follower with it.
    gw.terminate();
    let exited = tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = follower.try_wait().expect("wait") {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = follower.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    assert!(exited.expect("the follower exits").success());
}
