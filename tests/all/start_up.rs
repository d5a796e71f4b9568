//! Start-up does not wait for compilers: the routes whose modules are ready serve while the
//! others' modules compile; those answer 503 with `Retry-After`, and `/readyz` says what
//! still compiles, until their module is in.

use std::time::{Duration, Instant};

use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, ImportSection, Instruction, MemorySection, MemoryType, Module, TypeSection,
    ValType,
};

use crate::support::{AdminClient, Gateway, guests, header, module, read_json, route};

/// A WAGI module answering `big` whose code takes seconds to compile: `functions`
/// functions of `instructions` arithmetic steps each, besides `_start`.
fn slow_to_compile_module(functions: u32, steps: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    // 0: fd_write(fd, iovs, iovs_len, nwritten) -> errno; 1: _start; 2: the filler.
    types.ty().function([ValType::I32; 4], [ValType::I32]);
    types.ty().function([], []);
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut imports = ImportSection::new();
    imports.import(
        "wasi_snapshot_preview1",
        "fd_write",
        EntityType::Function(0),
    );
    let mut funcs = FunctionSection::new();
    funcs.function(1);
    for _ in 0..functions {
        funcs.function(2);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: Some(1),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 1);
    exports.export("memory", ExportKind::Memory, 0);

    let output = b"Content-Type: text/plain\n\nbig\n";
    let mut code = CodeSection::new();
    let mut start = Function::new([]);
    for instruction in [
        // The iovec at 0: the output at 64, its length.
        Instruction::I32Const(0),
        Instruction::I32Const(64),
        Instruction::I32Store(wasm_encoder::MemArg {
            offset: 0,
            align: 2,
            memory_index: 0,
        }),
        Instruction::I32Const(4),
        Instruction::I32Const(output.len() as i32),
        Instruction::I32Store(wasm_encoder::MemArg {
            offset: 0,
            align: 2,
            memory_index: 0,
        }),
        Instruction::I32Const(1),
        Instruction::I32Const(0),
        Instruction::I32Const(1),
        Instruction::I32Const(16),
        Instruction::Call(0),
        Instruction::Drop,
        Instruction::End,
    ] {
        start.instruction(&instruction);
    }
    code.function(&start);
    let mut filler = Function::new([]);
    for step in 0..steps {
        filler.instruction(&Instruction::LocalGet(0));
        filler.instruction(&Instruction::I32Const(step as i32 | 1));
        filler.instruction(&Instruction::I32Mul);
        filler.instruction(&Instruction::I32Const(step as i32));
        filler.instruction(&Instruction::I32Xor);
        filler.instruction(&Instruction::LocalSet(0));
    }
    filler.instruction(&Instruction::LocalGet(0));
    filler.instruction(&Instruction::End);
    for _ in 0..functions {
        code.function(&filler);
    }
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(64), output.iter().copied());

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    module.finish()
}

/// The first answer to `GET path` that is not a 503, asked every 20 ms until `deadline`.
async fn first_answer_but_503(gw: &Gateway, path: &str, deadline: Instant) -> reqwest::Response {
    loop {
        let response = gw.get(path).await;
        if response.status() != 503 {
            return response;
        }
        assert!(Instant::now() < deadline, "{path} was never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_serve_while_another_module_compiles_and_theirs_wait_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.wasm");
    std::fs::write(&big, slow_to_compile_module(1_000, 1_000)).expect("write big.wasm");
    let manifest = [
        module("hello", guests::HELLO, ""),
        module("big", &big.display().to_string(), "executor = \"wagi\""),
        route("GET", "/hello/{name}", "hello", ""),
        route("GET", "/big", "big", ""),
    ]
    .concat();
    let gw = Gateway::start_listening(&manifest);
    let started = Instant::now();

    // The small module is in first (most likely before the gateway listens); until then its
    // route waits like the other.
    let hello = first_answer_but_503(&gw, "/hello/ada", started + Duration::from_secs(60)).await;
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.text().await.expect("body"), "Hello, ada!");

    // `big` still compiles: its route answers 503 with Retry-After, and the gateway is not
    // ready yet.
    let waiting = gw.get("/big").await;
    assert_eq!(waiting.status(), 503, "big compiled too soon to test");
    assert_eq!(header(&waiting, "retry-after"), "1");
    let (_, body) = read_json(waiting).await;
    assert_eq!(body["error"], "module_compiling", "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("`big`")),
        "{body}"
    );
    let readyz = reqwest::get(gw.admin_url("/readyz")).await.expect("readyz");
    let (status, body) = read_json(readyz).await;
    assert_eq!(
        (status, &body["compiling"]),
        (503, &serde_json::json!(["big"]))
    );
    // A path that is no route stays 404.
    assert_eq!(gw.get("/nothing").await.status(), 404);

    let served = first_answer_but_503(&gw, "/big", started + Duration::from_secs(120)).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.text().await.expect("body"), "big\n");
    let readyz = reqwest::get(gw.admin_url("/readyz")).await.expect("readyz");
    assert_eq!(readyz.status(), 200);
    eprintln!("big served after {:?}", started.elapsed());
}

/// The soft and hard `Max open files` of process `pid` (from `/proc/PID/limits`).
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = (limits.lines())
        .find_map(|line| line.strip_prefix("Max open files"))
        .expect("Max open files");
    let mut values = line.split_whitespace();
    let soft = values.next().expect("soft").to_owned();
    (soft, values.next().expect("hard").to_owned())
}

#[tokio::test]
async fn start_up_raises_the_open_file_limit_to_the_hard_limit() {
    let (_, hard) = open_file_limits(std::process::id());
    // Started with a soft limit under the hard one (256, or half the hard limit where that
    // is lower), the gateway raises it to the hard limit.
    let soft = hard.parse::<u64>().map_or(256, |hard| (hard / 2).min(256));
    let nofile = format!("--nofile={soft}:");
    let manifest = format!(
        "{}{}",
        module("hello", guests::HELLO, ""),
        route("GET", "/hello/{name}", "hello", "")
    );
    let gw = Gateway::start_launched_by(&manifest, &["prlimit", &nofile]);
    let response = gw.get("/hello/ada").await;
    assert_eq!(response.status(), 200);
    assert_eq!(open_file_limits(gw.pid()), (hard.clone(), hard));
}

#[tokio::test]
async fn a_restart_compiles_none_of_the_modules_the_first_start_compiled_at_once() {
    // Start-up compiles these on several threads, each module committing on its own while
    // the others still compile; every one's compiled code must be recorded all the same.
    let components = [
        ("hello", guests::HELLO),
        ("echo", guests::ECHO),
        ("probe", guests::PROBE),
        ("plain-stream", guests::PLAIN_STREAM),
        ("counter", guests::COUNTER),
    ];
    // Each served by a route, so that each is loaded at the next start.
    let manifest: String = (components.iter())
        .map(|(name, path)| {
            let path_template = format!("/{name}/{{rest}}");
            module(name, path, "") + &route("GET", &path_template, name, "")
        })
        .collect();
    let gw = Gateway::start(&manifest);
    let compiles = "wasmgate_compile_duration_seconds_count";
    let first = AdminClient::new(&gw).metric(compiles).await;
    assert_eq!(first, Some(components.len() as f64));

    let dir = gw.stop_keeping_data();
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let admin = AdminClient::new(&gw);
    assert_eq!(admin.metric(compiles).await, Some(0.0), "{}", gw.stderr());
    let loads = admin.metric("wasmgate_compiled_code_loads_total").await;
    assert_eq!(loads, Some(components.len() as f64));
}
