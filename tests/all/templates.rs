//! `wasmgate new`, `wasmgate build` and `wasmgate dev`, as a newcomer uses them: a project
//! from each template, built by the build its manifest declares, served and called over
//! HTTP; a watched project rebuilt and redeployed on a save without a failed request.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Gateway, get, needs_examples, run};

/// `wasmgate new NAME --template TEMPLATE` in a fresh folder: the folder and the project.
fn new_project(name: &str, template: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tempdir");
    let (status, stdout, stderr) = run(&["new", name, "--template", template], root.path());
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("wasmgate build"), "{stdout}");
    let project = root.path().join(name);
    (root, project)
}

/// `wasmgate build` in `project`; its stderr.
fn build(project: &Path) -> String {
    let (status, _, stderr) = run(&["build"], project);
    assert!(status.success(), "the build failed:\n{stderr}");
    stderr
}

/// `wasmgate up` on `project`'s manifest, its data dir in `root`.
fn serve(root: tempfile::TempDir, project: &Path) -> Gateway {
    let manifest = project.join("wasmgate.toml");
    Gateway::start_command(root, "up", &manifest, &["--listen", "127.0.0.1:0"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_template_builds_and_serves() {
    let (root, project) = new_project("greet-app", "rust");
    let manifest = std::fs::read_to_string(project.join("wasmgate.toml")).expect("manifest");
    assert!(manifest.contains("greet_app.wasm"), "{manifest}");
    // Before the build, `up` says how to make the module.
    let (status, _, stderr) = run(&["up", "--listen", "127.0.0.1:0"], &project);
    assert!(!status.success());
    assert!(
        stderr.contains("build it with `wasmgate build`"),
        "{stderr}"
    );

    let said = tokio::task::block_in_place(|| build(&project));
    assert!(said.contains("building `greet-app`: cargo build"), "{said}");
    let gw = tokio::task::block_in_place(|| serve(root, &project));
    let (status, version, body) = get(&gw.url("/greet-app/ada")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("greet-app@1"), "Hello, ada!")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_template_guards_its_route() {
    let (root, project) = new_project("guard", "authorizer");
    tokio::task::block_in_place(|| build(&project));
    let gw = tokio::task::block_in_place(|| serve(root, &project));
    let client = crate::support::client();
    let url = gw.url("/guard/private");
    let denied = client.get(&url).send().await.expect("call");
    assert!(
        matches!(denied.status().as_u16(), 401 | 403),
        "{}",
        denied.status()
    );
    let wrong = client
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .expect("call");
    assert_eq!(wrong.status().as_u16(), 403);
    let allowed = client
        .get(&url)
        .bearer_auth("change-me")
        .send()
        .await
        .expect("call");
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(allowed.text().await.expect("body"), "allowed\n");
}

needs_examples! {
    [c_hello]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_c_template_builds_and_serves() {
        let (root, project) = new_project("cgreet", "c");
        tokio::task::block_in_place(|| build(&project));
        let gw = tokio::task::block_in_place(|| serve(root, &project));
        let (status, _, body) = get(&gw.url("/cgreet/ada")).await;
        assert_eq!((status, body.as_str()), (200, "Hello from C, ada!\n"));
    }
}

/// `wasmgate dev`: an edited source is rebuilt and served within seconds, with every
/// request during the swap answered; a broken edit keeps the last good build serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_rebuilds_and_redeploys_on_a_save_without_a_failed_request() {
    let (root, project) = new_project("hot", "rust-wagi");
    let manifest = project.join("wasmgate.toml");
    let gw = tokio::task::block_in_place(|| {
        Gateway::start_command(root, "dev", &manifest, &["--listen", "127.0.0.1:0"])
    });
    let (status, _, body) = get(&gw.url("/hot/ada")).await;
    assert_eq!((status, body.as_str()), (200, "Hello from WAGI, ada!\n"));
    gw.wait_for_log("watching for changes");

    // Requests all along the swap.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, failed, sent, url) = (
            stop.clone(),
            failed.clone(),
            sent.clone(),
            gw.url("/hot/ada"),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (status, _, _) = get(&url).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let source = project.join("src/main.rs");
    let text = std::fs::read_to_string(&source).expect("source");
    std::fs::write(&source, text.replace("Hello from WAGI", "Hot from WAGI")).expect("edit");
    let started = Instant::now();
    loop {
        let (_, _, body) = get(&gw.url("/hot/ada")).await;
        if body == "Hot from WAGI, ada!\n" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the edit was not served; log:\n{}",
            gw.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.await.expect("load");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "of {}",
        sent.load(Ordering::Relaxed)
    );
    assert!(sent.load(Ordering::Relaxed) > 0);
    assert!(gw.stderr().contains("redeployed: hot@2"), "{}", gw.stderr());

    // A broken edit: the build's errors are printed, the last good build serves.
    std::fs::write(&source, "fn main() { this is not rust }").expect("edit");
    gw.wait_for_log("still serving the last good build");
    assert!(gw.stderr().contains("error"), "{}", gw.stderr());
    let (status, _, body) = get(&gw.url("/hot/ada")).await;
    assert_eq!((status, body.as_str()), (200, "Hot from WAGI, ada!\n"));
}

#[test]
fn new_refuses_unknown_templates_existing_folders_and_bad_names() {
    let root = tempfile::tempdir().expect("tempdir");
    let (status, _, stderr) = run(&["new", "x", "--template", "cobol"], root.path());
    assert!(!status.success());
    assert!(
        stderr.contains("possible values: rust, rust-wagi, authorizer, c, python, js"),
        "{stderr}"
    );

    std::fs::create_dir(root.path().join("taken")).expect("mkdir");
    std::fs::write(root.path().join("taken/keep.txt"), "mine").expect("write");
    let (status, _, stderr) = run(&["new", "taken", "--template", "c"], root.path());
    assert!(!status.success());
    assert!(
        stderr.contains("never writes into an existing folder"),
        "{stderr}"
    );
    let kept: Vec<_> = std::fs::read_dir(root.path().join("taken"))
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(kept, ["keep.txt"]);

    for name in ["9lives", "has space", "a/b"] {
        let (status, _, stderr) = run(&["new", name, "--template", "c"], root.path());
        assert!(!status.success(), "{name}");
        assert!(stderr.contains("error:"), "{name}: {stderr}");
    }
    let (status, _, stderr) = run(
        &["new", "x", "--template", "rust", "--sdk", "/no/such/sdk"],
        root.path(),
    );
    assert!(!status.success());
    assert!(stderr.contains("no Cargo.toml there"), "{stderr}");
    // Nothing was left behind by the refusals.
    let left: Vec<_> = std::fs::read_dir(root.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["taken"]);
}

needs_examples! {
    [python_hello]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_python_template_builds_serves_and_logs_an_exception() {
        let (root, project) = new_project("pyapp", "python");
        // As a user would: a path that raises.
        let app = project.join("app.py");
        let text = std::fs::read_to_string(&app).expect("app");
        let raising = text.replace(
            "    name = req.param(\"name\") or \"world\"\n",
            "    name = req.param(\"name\") or \"world\"\n    if name == \"boom\":\n        \
             raise ValueError(\"the handler was asked to fail\")\n",
        );
        assert_ne!(raising, text);
        std::fs::write(&app, raising).expect("edit");
        tokio::task::block_in_place(|| build(&project));
        let gw = tokio::task::block_in_place(|| serve(root, &project));
        let (status, _, body) = get(&gw.url("/pyapp/ada")).await;
        assert_eq!((status, body.as_str()), (200, "Hello from Python, ada!"));

        // The client gets a 500 naming the request; the traceback is in the log, under it.
        let response = crate::support::client()
            .get(gw.url("/pyapp/boom"))
            .send()
            .await
            .expect("call");
        assert_eq!(response.status().as_u16(), 500);
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .expect("id")
            .to_owned();
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["request_id"], request_id.as_str(), "{body}");
        assert!(!body.to_string().contains("Traceback"), "{body}");
        let line = gw.log_line("ValueError: the handler was asked to fail");
        assert!(line.contains(&request_id), "{line}");
    }
}

needs_examples! {
    [js_hello]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_js_template_builds_serves_and_logs_an_exception() {
        let (root, project) = new_project("jsapp", "js");
        // As a user would: a path that throws.
        let app = project.join("app.js");
        let text = std::fs::read_to_string(&app).expect("app");
        let throwing = text.replace(
            "  const name = req.param(\"name\") ?? \"world\";\n",
            "  const name = req.param(\"name\") ?? \"world\";\n  if (name === \"boom\") {\n    \
             throw new TypeError(\"the handler was asked to fail\");\n  }\n",
        );
        assert_ne!(throwing, text);
        std::fs::write(&app, throwing).expect("edit");
        tokio::task::block_in_place(|| build(&project));
        let gw = tokio::task::block_in_place(|| serve(root, &project));
        let (status, _, body) = get(&gw.url("/jsapp/ada")).await;
        assert_eq!((status, body.as_str()), (200, "Hello from JavaScript, ada!"));

        let response = crate::support::client()
            .get(gw.url("/jsapp/boom"))
            .send()
            .await
            .expect("call");
        assert_eq!(response.status().as_u16(), 500);
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .expect("id")
            .to_owned();
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["request_id"], request_id.as_str(), "{body}");
        let line = gw.log_line("TypeError: the handler was asked to fail");
        assert!(line.contains(&request_id), "{line}");
    }
}
