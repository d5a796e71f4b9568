//! Stored files are checked before they are used: module bytes against their name, compiled
//! code against the hash the registry document records; a file that fails is quarantined.

use crate::support::{AdminClient, Gateway, empty_gateway, get, guests};

/// The only file in `dir` with extension `ext`.
fn only_file(dir: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn flip_a_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(path, bytes).expect("write");
}

/// Uploads hello as module `hi`, served at `GET /hi/{name}`.
async fn hello_at_hi(gw: &Gateway) -> AdminClient {
    let admin = AdminClient::new(gw);
    admin
        .upload("hi", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    admin.put_route("GET", "/hi/{name}", "hi").await;
    admin
}

/// Whether process `pid` maps `file` (from `/proc/PID/maps`).
fn maps_file(pid: u32, file: &std::path::Path) -> bool {
    let file = std::fs::canonicalize(file).expect("canonical path");
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    maps.lines()
        .any(|line| line.ends_with(file.to_str().expect("utf-8 path")))
}

#[tokio::test]
async fn compiled_code_is_mapped_from_its_file_in_the_data_dir() {
    // Compiled at upload: the copy in memory gives way to the stored file.
    let gw = empty_gateway();
    hello_at_hi(&gw).await;
    let (status, _, body) = get(&gw.url("/hi/ada")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, ada!"));
    let native = only_file(&gw.data_dir().join("native"), "cwasm");
    assert!(maps_file(gw.pid(), &native), "{native:?} is not mapped");

    // Loaded from the data dir after a restart: mapped as well.
    let dir = gw.stop_keeping_data();
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let (status, _, body) = get(&gw.url("/hi/again")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, again!"));
    let admin = AdminClient::new(&gw);
    let loads = admin.metric("wasmgate_compiled_code_loads_total").await;
    assert_eq!(
        loads,
        Some(1.0),
        "loaded from the data dir, not compiled again"
    );
    assert!(maps_file(gw.pid(), &native), "{native:?} is not mapped");
}

#[tokio::test]
async fn stored_files_that_fail_their_hash_are_quarantined_never_loaded() {
    let gw = empty_gateway();
    hello_at_hi(&gw).await;
    let dir = gw.stop_keeping_data();
    let data = dir.path().join("data");

    // Damaged native code: quarantined, and the module is compiled again from its bytes.
    let native = only_file(&data.join("native"), "cwasm");
    flip_a_byte(&native);
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let (status, _, body) = get(&gw.url("/hi/again")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, again!"));
    gw.wait_for_log("does not match its sha256");
    let quarantined = data
        .join("quarantine")
        .join(native.file_name().expect("name"));
    assert!(quarantined.exists());

    // Damaged module bytes, and no native code to fall back on: the route answers 503.
    let dir = gw.stop_keeping_data();
    let module = only_file(&data.join("modules"), "wasm");
    flip_a_byte(&module);
    std::fs::remove_dir_all(data.join("native")).expect("remove native");
    std::fs::create_dir(data.join("native")).expect("create native");
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let response = gw.get("/hi/x").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "module_unavailable");
    // Clients learn that it cannot run, not where the gateway keeps its files.
    let data_text = data.to_str().expect("utf-8");
    assert!(!body.to_string().contains(data_text), "{body}");
    assert!(
        data.join("quarantine")
            .join(module.file_name().expect("name"))
            .exists()
    );
    assert!(!module.exists());
}

/// Compiled code of the version of `module` (uploaded once), and its recorded hash.
async fn native_code_of(
    admin: &AdminClient,
    data: &std::path::Path,
    module: &str,
) -> std::path::PathBuf {
    let (_, listing) = admin.get(&format!("/modules/{module}")).await;
    let sha256 = listing["versions"][0]["sha256"]
        .as_str()
        .expect("sha256")
        .to_owned();
    let files: Vec<_> = std::fs::read_dir(data.join("native"))
        .expect("native dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&sha256) && name.ends_with(".cwasm")
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[tokio::test]
async fn compiled_code_must_match_the_hash_recorded_in_the_registry() {
    let gw = empty_gateway();
    let admin = hello_at_hi(&gw).await;
    admin
        .upload("other", std::fs::read(guests::ECHO).expect("echo"))
        .await;
    let data = gw.data_dir();
    let hello_code = native_code_of(&admin, &data, "hi").await;
    let other_code = native_code_of(&admin, &data, "other").await;
    let dir = gw.stop_keeping_data();

    // The registry document holds the code's hash, nothing beside the code does.
    let registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("registry.json")).expect("registry"))
            .expect("json");
    let recorded = &registry["modules"]["hi"]["versions"]["1"]["native"]["sha256"];
    let code = std::fs::read(&hello_code).expect("code");
    assert_eq!(
        recorded.as_str(),
        Some(sha256_hex(&code).as_str()),
        "{registry}"
    );

    // Valid code of another module put in its place, with a hash file that vouches for it:
    // not loaded; the route still runs its own module, compiled again from its bytes.
    let swapped = std::fs::read(&other_code).expect("other code");
    std::fs::write(&hello_code, &swapped).expect("swap");
    std::fs::write(hello_code.with_extension("sha256"), sha256_hex(&swapped)).expect("hash");
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let (status, version, body) = get(&gw.url("/hi/ada")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("hi@1"), "Hello, ada!")
    );
    gw.wait_for_log("does not match its sha256");
    let quarantined = data
        .join("quarantine")
        .join(hello_code.file_name().expect("name"));
    assert_eq!(std::fs::read(quarantined).expect("quarantined"), swapped);

    // The code compiled again is recorded, and loaded at the next start without a complaint.
    let dir = gw.stop_keeping_data();
    let registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("registry.json")).expect("registry"))
            .expect("json");
    let code = std::fs::read(&hello_code).expect("code compiled again");
    let recorded = &registry["modules"]["hi"]["versions"]["1"]["native"]["sha256"];
    assert_eq!(
        recorded.as_str(),
        Some(sha256_hex(&code).as_str()),
        "{registry}"
    );
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let (status, _, body) = get(&gw.url("/hi/bo")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, bo!"));
    assert!(!gw.stderr().contains("does not match"), "{}", gw.stderr());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
