//! A WAGI handler: an ordinary Rust program, built for `wasm32-wasip1`, that reads the
//! request from CGI environment variables and stdin and writes a CGI response to stdout.
//! No SDK, no WIT: `std` is all it needs.

use std::io::Read;

fn main() {
    let name = std::env::var("X_PARAM_NAME").unwrap_or_else(|_| "world".into());
    let method = std::env::var("REQUEST_METHOD").unwrap_or_default();
    let principal = std::env::var("X_PRINCIPAL").ok();

    let mut body = String::new();
    // The request body arrives on stdin (empty for a GET).
    std::io::stdin()
        .read_to_string(&mut body)
        .unwrap_or_default();

    // Headers, a blank line, then the body.
    println!("content-type: text/plain; charset=utf-8");
    println!("x-handler: rust-wagi");
    println!();
    println!("Hello from Rust on WAGI, {name}! ({method})");
    if let Some(principal) = principal {
        println!("You are {principal}.");
    }
    if !body.is_empty() {
        println!("You sent {} bytes: {body}", body.len());
    }
}
