//! Variables and secrets through `wasi:config/store`: a secret set through the admin API or
//! the CLI reaches the module's instances, is listed by name only, never appears in the
//! data dir in clear, and opens only with its key, which is kept outside the data dir.

use serde_json::json;

use crate::support::{AdminClient, Gateway, guests, run, write_manifest};

fn manifest() -> String {
    format!(
        "[[modules]]\nname = \"probe\"\npath = \"{}\"\nvariables = {{ GREETING = \"hi\" }}\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/probe/{{action}}\"\nmodule = \"probe\"\n",
        guests::PROBE
    )
}

/// Every file under `dir`, as bytes.
fn every_file(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(every_file(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, bytes));
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_the_module_sealed_and_never_shown() {
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("secrets.key");
    let key_arg = key.to_str().expect("utf-8").to_owned();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--secrets-key-file",
        key_arg.as_str(),
    ];
    let gw = Gateway::start_with_args(&manifest(), &args);
    let admin = AdminClient::new(&gw);
    let text = |path: &str| {
        let url = gw.url(path);
        async move { crate::support::get(&url).await.2 }
    };
    assert_eq!(text("/probe/config?name=GREETING").await, "hi");
    assert_eq!(text("/probe/config?name=API_TOKEN").await, "(unset)");

    let (status, answer) = admin
        .put_raw("/modules/probe/secrets/API_TOKEN", "tok-4f9a-very-secret")
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"name": "probe", "secret": "API_TOKEN", "stored": true})
    );
    assert_eq!(
        text("/probe/config?name=API_TOKEN").await,
        "tok-4f9a-very-secret"
    );
    let (_, module) = admin.get("/modules/probe").await;
    assert_eq!(module["secrets"], json!(["API_TOKEN"]));
    assert!(!module.to_string().contains("very-secret"), "{module}");
    for (path, bytes) in every_file(&gw.data_dir()) {
        let clear = bytes.windows(11).any(|w| w == b"very-secret");
        assert!(!clear, "{} holds the secret in clear", path.display());
    }
    let (status, answer) = admin
        .put_raw("/modules/probe/secrets/not%20a%20name", "x")
        .await;
    assert_eq!(status, 400, "{answer}");

    // Through the CLI: the value from stdin; deleted.
    let token = gw.data_dir().join("admin-token");
    let output = std::process::Command::new(crate::support::binary())
        .args(["modules", "secret", "probe", "DB_PASSWORD", "--admin-url"])
        .arg(gw.admin_url(""))
        .arg("--admin-token-file")
        .arg(&token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"pa55word\n")?;
            child.wait_with_output()
        })
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(text("/probe/config?name=DB_PASSWORD").await, "pa55word");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = gw.admin_url("");
    let token = token.to_str().expect("utf-8").to_owned();
    let cli = |args: &[&str]| {
        let all = [
            args,
            &[
                "--admin-url",
                url.as_str(),
                "--admin-token-file",
                token.as_str(),
            ],
        ]
        .concat();
        run(&all, dir.path())
    };
    let (status, stdout, stderr) = cli(&["modules", "secret", "probe", "DB_PASSWORD", "--delete"]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "deleted secret DB_PASSWORD of probe");
    let (status, _, stderr) = cli(&["modules", "vars", "probe", "GREETING=hello", "MODE=test"]);
    assert!(status.success(), "{stderr}");
    assert_eq!(text("/probe/config?name=MODE").await, "test");
    let (_, stdout, _) = cli(&["modules", "probe"]);
    assert!(
        stdout.contains("secrets: API_TOKEN (values never shown)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("variables: GREETING=hello, MODE=test"),
        "{stdout}"
    );

    // Restarted with the same key: the secret still opens.
    let data = gw.stop_keeping_data();
    let gw = Gateway::start_in(data, &args);
    assert_eq!(
        crate::support::get(&gw.url("/probe/config?name=API_TOKEN"))
            .await
            .2,
        "tok-4f9a-very-secret"
    );
}

#[test]
fn the_key_must_not_be_in_the_data_dir() {
    let (dir, path) = write_manifest(&manifest());
    let inside = dir.path().join("data").join("secrets.key");
    let (status, _, stderr) = run(
        &[
            "up",
            path.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
            "--secrets-key-file",
            inside.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert!(!status.success());
    assert!(stderr.contains("is inside the data dir"), "{stderr}");
}
