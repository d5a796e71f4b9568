//! The command line: `--help`, `--listen`, and start-up errors for bad manifests and bad
//! modules, each naming the file, the key and the problem.

use crate::support::{Gateway, guests, run, write_manifest};

#[test]
fn help_documents_every_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, stdout, _) = run(&["up", "--help"], dir.path());
    assert!(status.success());
    for flag in [
        "[MANIFEST]",
        "--listen <ADDR>",
        "--workers <N>",
        "--max-instances <N>",
        "--shutdown-timeout <SECONDS>",
    ] {
        assert!(stdout.contains(flag), "`{flag}` missing from:\n{stdout}");
    }
}

fn hello_manifest(listen: &str) -> String {
    format!(
        "[gateway]\nlisten = \"{listen}\"\n\n[[modules]]\nname = \"hello\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/hello/{{name}}\"\nmodule = \"hello\"\n",
        guests::HELLO
    )
}

#[tokio::test]
async fn listen_flag_overrides_the_manifest() {
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine: binding it fails.
    let manifest = hello_manifest("192.0.2.1:80");
    let gw = Gateway::start_with_args(&manifest, &["--listen", "127.0.0.1:0"]);
    assert!(gw.addr.ip().is_loopback());
    let response = gw.get("/hello/cli").await;
    assert_eq!(response.text().await.expect("body"), "Hello, cli!");

    let (dir, path) = write_manifest(&manifest);
    let (status, _, stderr) = run(&["up", path.to_str().expect("utf-8")], dir.path());
    assert!(!status.success());
    assert!(
        stderr.contains("error: cannot listen on 192.0.2.1:80"),
        "{stderr}"
    );
}

#[tokio::test]
async fn manifest_listen_address_is_used_without_the_flag() {
    let gw = Gateway::start_with_args(&hello_manifest("127.0.0.1:0"), &[]);
    let response = gw.get("/hello/manifest").await;
    assert_eq!(response.text().await.expect("body"), "Hello, manifest!");
}

/// Runs `wasmgate up` on a manifest that must be rejected; returns its stderr.
fn rejected(manifest: &str) -> (String, String) {
    let (dir, path) = write_manifest(manifest);
    let path = path.to_str().expect("utf-8").to_owned();
    let (status, stdout, stderr) = run(&["up", &path, "--listen", "127.0.0.1:0"], dir.path());
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    (path, stderr)
}

#[test]
fn bad_manifest_fails_with_the_documented_message() {
    let manifest = format!(
        "{}\n[[routes]]\nmethod = \"GET\"\npath = \"/other\"\nmodule = \"nope\"\n",
        hello_manifest("127.0.0.1:0")
    );
    let (path, stderr) = rejected(&manifest);
    assert!(
        stderr.trim_end().ends_with(&format!(
            "error: invalid manifest {path}:\n  routes[1].module: no module `nope` has been deployed (nor is it in [[modules]])"
        )),
        "{stderr}"
    );
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    let manifest = format!("{}concurrency_typo = 3\n", hello_manifest("127.0.0.1:0"));
    let (path, stderr) = rejected(&manifest);
    assert!(
        stderr.contains(&format!(
            "error: invalid manifest {path}:\n  routes[0]: unknown field `concurrency_typo`"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("(line 12, column 1)"), "{stderr}");
}

/// One run names every problem: the file's shape, its values, and what the registry would
/// refuse, as a newcomer's first manifest has them all.
#[test]
fn every_problem_of_a_manifest_is_named_in_one_run() {
    let hello = guests::HELLO;
    let program = guests::RUST_WAGI;
    let manifest = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\nthreads = 4\n\n\
         [[modules]]\nname = \"hello\"\npath = \"{hello}\"\n\n\
         [[modules]]\nname = \"cgi\"\npath = \"{program}\"\n\n\
         [[modules]]\nname = \"gone\"\npath = \"missing.wasm\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/a/{{x}}\"\nmodule = \"hello\"\ncolour = 1\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/b/{{x}}\"\nmodule = \"hello\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/b/{{y}}\"\nmodule = \"hello\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/c\"\nmodule = \"nope\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/d\"\nmodule = \"hello\"\nauthorizer = \"who\"\n"
    );
    let (path, stderr) = rejected(&manifest);
    let expected = [
        "gateway: unknown field `threads`",
        "modules[1].path: ",
        "(module `cgi`) is a core WebAssembly module",
        "modules[2].path: ",
        "(module `gone`) does not exist",
        "routes[0]: unknown field `colour`",
        "routes[2].path: `/b/{y}` conflicts with `/b/{x}`",
        "routes[3].module: no module `nope` has been deployed",
        "routes[4].authorizer: ",
    ];
    assert!(
        stderr.contains(&format!("error: invalid manifest {path}:\n  gateway:")),
        "{stderr}"
    );
    let mut from = 0;
    for text in expected {
        let at = stderr[from..]
            .find(text)
            .unwrap_or_else(|| panic!("`{text}` is not named (in this order):\n{stderr}"));
        from += at;
    }
}

#[test]
fn module_that_is_not_a_component_is_rejected_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An empty core module: valid WebAssembly, but not a component.
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(dir.path().join("text.wasm"), b"hello").expect("write");
    for (file, expected) in [
        ("core.wasm", "`executor = \"wagi\"`"),
        ("text.wasm", "is not a WebAssembly file"),
    ] {
        let module = dir.path().join(file);
        let manifest = format!(
            "[[modules]]\nname = \"bad\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmodule = \"bad\"\n",
            module.display()
        );
        let (path, stderr) = rejected(&manifest);
        assert!(
            stderr.contains(&format!(
                "error: invalid manifest {path}:\n  modules[0].path: `{}` (module `bad`)",
                module.display()
            )),
            "{stderr}"
        );
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn component_that_is_not_an_http_handler_is_rejected() {
    // A component exporting nothing: `(component)`, in binary form.
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("empty.wasm");
    std::fs::write(&module, b"\0asm\x0d\0\x01\0").expect("write");
    let manifest = format!(
        "[[modules]]\nname = \"empty\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmodule = \"empty\"\n",
        module.display()
    );
    let (_, stderr) = rejected(&manifest);
    assert!(
        stderr.contains("does not export `wasi:http/incoming-handler@0.2.x`"),
        "{stderr}"
    );
}

#[test]
fn a_port_in_use_is_refused_even_with_reuseport() {
    let first = Gateway::start(&hello_manifest("127.0.0.1:0"));
    let (dir, path) = write_manifest(&hello_manifest("127.0.0.1:0"));
    let addr = first.addr.to_string();
    let (status, _, stderr) = run(
        &["up", path.to_str().expect("utf-8"), "--listen", &addr],
        dir.path(),
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot listen on {addr}: Address already in use"
        )),
        "{stderr}"
    );
}
