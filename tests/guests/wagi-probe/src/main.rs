//! A WAGI test command: the route's `{action}` parameter (`X_PARAM_ACTION`) picks what it
//! does, from a well-formed response to each way a command can fail.

use std::io::{Read, Write};

fn main() {
    let action = std::env::var("X_PARAM_ACTION").unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match action.as_str() {
        // Every variable and argument, one per line, sorted.
        "env" => {
            let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            vars.sort();
            write!(out, "content-type: text/plain\n\n").unwrap();
            for var in vars {
                writeln!(out, "{var}").unwrap();
            }
            for (i, arg) in std::env::args().enumerate() {
                writeln!(out, "arg{i}={arg}").unwrap();
            }
        }
        // The body back, with its length as the command saw it.
        "echo" => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).unwrap();
            write!(
                out,
                "content-type: application/octet-stream\r\nx-body-length: {}\r\n\r\n",
                body.len()
            )
            .unwrap();
            out.write_all(&body).unwrap();
        }
        "status" => {
            write!(out, "Status: 418 I'm a teapot\nContent-Type: text/plain\nX-Custom: yes\nSet-Cookie: a=1\nSet-Cookie: b=2\n\nshort and stout").unwrap();
        }
        "redirect" => write!(out, "Location: /elsewhere\n\n").unwrap(),
        "malformed" => write!(out, "this is not a CGI response").unwrap(),
        "nothing" => {}
        "exit" => {
            write!(out, "content-type: text/plain\n\nabout to fail").unwrap();
            out.flush().unwrap();
            std::process::exit(3);
        }
        "panic" => panic!("the wagi probe panicked on purpose"),
        "spin" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "grow" => {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                blocks.push(vec![1u8; 1 << 20]);
            }
        }
        // More than the gateway's 16 MiB output limit.
        "huge" => {
            write!(out, "content-type: application/octet-stream\n\n").unwrap();
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..17 {
                out.write_all(&chunk).unwrap();
            }
        }
        // Something on stderr (the gateway's log), a response on stdout.
        "stderr" => {
            eprintln!("wagi probe: a line on stderr");
            write!(out, "content-type: text/plain\n\nsee the log").unwrap();
        }
        other => {
            write!(
                out,
                "status: 404\ncontent-type: text/plain\n\nno action `{other}`"
            )
            .unwrap();
        }
    }
}
