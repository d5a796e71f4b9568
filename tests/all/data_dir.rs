//! The data dir is the gateway's alone (issue 13): one gateway per data dir, refused when
//! other users can write it or the admin token, and what it stores is not shown back in
//! clear.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::{AdminClient, Gateway, binary, guests, module, route, write_manifest};

/// Runs `wasmgate up` on an empty manifest with `args`, expecting it to fail: its stderr.
fn refused_start(args: &[&str]) -> String {
    let (dir, manifest) = write_manifest("");
    let output = Command::new(binary())
        .arg("up")
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("run wasmgate");
    drop(dir);
    assert!(!output.status.success(), "it started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_second_gateway_on_the_same_data_dir_is_refused_naming_the_first() {
    let first = Gateway::start("");
    let data = first.data_dir();
    let stderr = refused_start(&["--data-dir", data.to_str().expect("utf-8")]);
    assert!(
        stderr.contains(&format!("in use by another wasmgate (pid {})", first.pid())),
        "{stderr}"
    );
    // Once the first is gone, the data dir is free again.
    let dir = first.stop_keeping_data();
    let second = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    assert!(second.pid() > 0);
}

#[test]
fn a_data_dir_other_users_can_write_is_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let stderr = refused_start(&["--data-dir", data.path().to_str().expect("utf-8")]);
    assert!(
        stderr.contains("can be written by other users (mode 777)"),
        "{stderr}"
    );
}

#[test]
fn an_admin_token_file_other_users_can_write_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "a-token-of-thirty-two-characters").expect("write");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let data = dir.path().join("data");
    let stderr = refused_start(&[
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--admin-token-file",
        token.to_str().expect("utf-8"),
    ]);
    assert!(stderr.contains("the admin token file"), "{stderr}");
    assert!(stderr.contains("chmod go-w"), "{stderr}");
}

#[tokio::test]
async fn module_environments_are_listed_without_their_values() {
    let manifest = [
        module(
            "hello",
            guests::HELLO,
            "env = { API_SECRET = \"s3cr3t-value\" }",
        ),
        route("GET", "/hello/{name}", "hello", ""),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    let admin = AdminClient::new(&gw);
    let (status, listed) = admin.get("/modules").await;
    assert_eq!(status, 200);
    let (_, one) = admin.get("/modules/hello").await;
    let (_, put) = admin
        .put(
            "/modules/hello/config",
            json!({ "env": { "API_SECRET": "an0ther-secret" } }),
        )
        .await;
    for body in [&listed, &one, &put] {
        let text = body.to_string();
        assert!(
            !text.contains("s3cr3t-value") && !text.contains("an0ther-secret"),
            "{text}"
        );
        assert!(text.contains("API_SECRET"), "the names stay: {text}");
    }
}
