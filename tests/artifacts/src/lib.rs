//! The guests the integration tests serve, built from source by this crate's `build.rs`:
//! every crate under `tests/guests/` and the Rust examples under `examples/`, components for
//! `wasm32-wasip2` and WAGI commands (binaries) for `wasm32-wasip1`.
//!
//! Each guest is a constant named after its package (`examples/token-authorizer` →
//! [`TOKEN_AUTHORIZER`]) holding the absolute path of its `.wasm` file. The files are
//! copies in this crate's `OUT_DIR`, so that another checkout building into the same
//! target folder never replaces one while a test reads it.
//!
//! The examples in other languages (`C_HELLO`, `JS_HELLO`, `PYTHON_HELLO`) are built by
//! their own `build.sh` and are `None` where the toolchain is missing; a test that needs
//! them is wrapped in [`needs_examples!`], which compiles it as `#[ignore]`d (with the
//! reason) in that case, so `cargo test` counts it as ignored.
//!
//! Only the integration tests depend on this crate (`host/Cargo.toml`'s
//! `[dev-dependencies]`): building the `wasmgate` binary never builds the guests.
//!
//! ```no_run
//! let hello = std::fs::read(wasmgate_test_artifacts::HELLO).expect("hello.wasm");
//! assert!(hello.starts_with(b"\0asm"));
//! ```

#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
