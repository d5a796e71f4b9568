//! Manifest parsing: the normalised form of valid manifests and the exact text of errors.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{InvocationLimits, RouteSpec};

/// A folder holding `hello.wasm` and `echo.wasm`: the preamble of a component, all that
/// parsing reads of them.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["hello.wasm", "echo.wasm"] {
        std::fs::write(dir.path().join(name), b"\0asm\x0d\0\x01\0").expect("write");
    }
    dir
}

fn parse(dir: &Path, text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, Path::new("wasmgate.toml"), dir)
}

fn error_text(text: &str) -> String {
    let dir = folder();
    parse(dir.path(), text)
        .expect_err("manifest should be rejected")
        .to_string()
}

const MODULES: &str = r#"
[[modules]]
name = "hello"
path = "hello.wasm"

[[modules]]
name = "echo"
path = "echo.wasm"
"#;

#[test]
fn valid_manifest_is_normalised() {
    let dir = folder();
    let text = format!(
        r#"
[gateway]
listen = "0.0.0.0:9000"
{MODULES}
[[routes]]
method = "get"
path = "/hello/{{name}}"
module = "hello"

[[routes]]
method = "ANY"
path = "/echo/{{proxy+}}"
module = "echo"
timeout_ms = 1500
memory_mb = 64
"#
    );
    let m = parse(dir.path(), &text).expect("valid");
    assert_eq!(
        m.listen,
        "0.0.0.0:9000".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(m.modules.len(), 2);
    assert_eq!(m.modules[0].name.as_str(), "hello");
    assert_eq!(m.modules[0].path, dir.path().join("hello.wasm"));
    let routes: Vec<RouteSpec> = m
        .routes
        .iter()
        .map(|r| r.validate().expect("valid"))
        .collect();
    assert_eq!(routes[0].to_string(), "GET /hello/{name}");
    assert_eq!(routes[0].integration.to_string(), "hello");
    assert_eq!(routes[0].limits, InvocationLimits::default());
    assert_eq!(routes[1].to_string(), "ANY /echo/{proxy+}");
    assert_eq!(routes[1].limits.timeout, Duration::from_millis(1500));
    assert_eq!(routes[1].limits.memory_bytes, 64 << 20);
}

#[test]
fn empty_manifest_uses_defaults() {
    let dir = folder();
    let m = parse(dir.path(), "").expect("valid");
    assert_eq!(m.listen, DEFAULT_LISTEN);
    assert!(m.modules.is_empty() && m.routes.is_empty());
}

#[test]
fn unknown_keys_are_rejected_with_their_line() {
    let text = error_text("[gateway]\nlisten = \"127.0.0.1:1\"\nthreads = 4\n");
    assert_eq!(
        text,
        "invalid manifest wasmgate.toml:\n  gateway: unknown field `threads`, expected one of \
         `listen`, `throttle`, `trusted_proxies`, `cors` (line 3, column 1)"
    );

    let text = error_text(&format!(
        "{MODULES}\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmodule = \"hello\"\nthrotle = 5\n"
    ));
    assert!(text.contains("unknown field `throtle`"), "{text}");
    // A known key with the wrong shape names the problem too.
    let text = error_text(&format!(
        "{MODULES}\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmodule = \"hello\"\nthrottle = 5\n"
    ));
    assert!(
        text.contains("invalid type: integer `5`, expected struct ThrottleConfig"),
        "{text}"
    );
}

#[test]
fn every_entry_without_the_manifests_shape_is_reported_in_one_run() {
    let dir = folder();
    let text = format!(
        "colour = 1\n[gateway]\nthreads = 4\n{MODULES}\n[[modules]]\nname = \"x\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/a\"\nmodule = \"x\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/b\"\nmodule = \"hello\"\nthrotle = 5\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/c\"\nmodule = \"echo\"\n"
    );
    let Err(ManifestError::Invalid {
        problems, partial, ..
    }) = parse(dir.path(), &text)
    else {
        panic!("accepted");
    };
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    // How each problem starts and ends.
    let expected = [
        ("gateway: unknown field `threads`", "(line 3, column 1)"),
        ("modules[2]: missing field `path` (line 13, column 1)", ""),
        ("routes[1]: unknown field `throtle`", "(line 25, column 1)"),
        (
            "colour: unknown field `colour`, expected one of `gateway`",
            "",
        ),
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (problem, (start, end)) in problems.iter().zip(expected) {
        assert!(
            problem.starts_with(start) && problem.ends_with(end),
            "{problems:#?}"
        );
    }
    // The valid entries, where they stand in the file, for the registry to check.
    let partial = partial.expect("the file could be read");
    let paths: Vec<&str> = partial.routes.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/a", "/c"]);
    assert_eq!(partial.positions.routes, [0, 2]);
    assert_eq!(
        partial.positions.unreadable_modules,
        [ModuleName::new("x").expect("a name")]
    );
}

#[test]
fn key_value_store_names_are_checked() {
    let text = error_text(
        "[[modules]]\nname = \"hello\"\npath = \"hello.wasm\"\nkey_value_stores = [\"Bad Name\"]\n",
    );
    assert!(
        text.contains("modules[0]: key_value_stores: `Bad Name` is not a store name"),
        "{text}"
    );
}

#[test]
fn wrong_types_and_missing_keys_are_rejected() {
    let text = error_text("[[modules]]\nname = \"hello\"\n");
    assert!(text.contains("missing field `path`"), "{text}");
    let text = error_text("[gateway]\nlisten = \"localhost\"\n");
    assert!(text.contains("invalid socket address syntax"), "{text}");
}

#[test]
fn every_invalid_value_is_reported_with_its_key() {
    let text = error_text(&format!(
        r#"{MODULES}
[[modules]]
name = "hello"
path = "other.wasm"

[[modules]]
name = "bad name"
path = "missing.wasm"

[[modules]]
name = "ghost"
path = "missing.wasm"

[[routes]]
method = "FETCH"
path = "/a"
module = "hello"

[[routes]]
method = "GET"
path = "b"
module = "nope@"

[[routes]]
method = "GET"
path = "/hello/{{name}}"
module = "hello"
timeout_ms = 10
memory_mb = 0

[[routes]]
method = "GET"
path = "/hello/{{name}}"
module = "hello"

[[routes]]
method = "GET"
path = "/hello/{{name}}"
module = "echo"

[[routes]]
method = "ANY"
path = "/hello/{{who}}"
module = "echo"
"#
    ));
    let expected = "invalid manifest wasmgate.toml:
  modules[2].name: the module `hello` is declared twice
  modules[3].name: `bad name` is not a valid module name: use ASCII letters, digits, `-` and `_`
  modules[4].path: `DIR/missing.wasm` (module `ghost`) does not exist or is not a file; paths are relative to the manifest's folder
  routes[0].method: `FETCH` is not a method wasmgate routes; use one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or ANY
  routes[1].path: invalid path template `b`: it must start with `/`
  routes[1].module: `` is not a valid alias: a letter, then letters, digits, `-` and `_` (at most 64)
  routes[2].timeout_ms: 10 is out of range: 50 to 29000 ms
  routes[2].memory_mb: 0 is out of range: 1 to 4096 MiB
  routes[4].path: `GET /hello/{name}` is declared twice
  routes[5].path: `/hello/{who}` conflicts with `/hello/{name}`: both match the same paths";
    let text = text.replace(&folder_of(&text), "DIR");
    assert_eq!(text, expected);
}

/// The temp folder's path as it appears in an error text (before `/missing.wasm`).
fn folder_of(text: &str) -> String {
    let end = text.find("/missing.wasm").expect("path in text");
    let start = text[..end].rfind('`').expect("quote") + 1;
    text[start..end].to_owned()
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Manifest::load(Path::new("/definitely/not/here.toml")).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "cannot read manifest /definitely/not/here.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn the_store_section_names_a_redis_url() {
    let dir = folder();
    let manifest =
        parse(dir.path(), "[store]\nurl = \"redis://10.0.0.5:6379/2\"\n").expect("valid");
    assert_eq!(
        manifest.store.url.as_deref(),
        Some("redis://10.0.0.5:6379/2")
    );
    let error = error_text("[store]\nurl = \"http://10.0.0.5\"\n");
    assert!(
        error.contains("store.url") && error.contains("redis://"),
        "{error}"
    );
    let error = error_text("[store]\nhost = \"x\"\n");
    assert!(error.contains("unknown field `host`"), "{error}");
}
