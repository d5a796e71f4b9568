//! One invocation of `examples/hello` as the gateway runs it: a fresh instance from the
//! production engine configuration (pooling allocator, dirty-page reset), `handle`, the
//! whole response body read, the instance dropped. On one thread, and on two threads at
//! once (each with its own current-thread runtime, as the gateway's workers): with two
//! cores, the second should come close to halving the time per invocation.
//!
//!   cargo bench -p wasmgate --bench instantiate

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Empty};
use wasmgate::config::InvocationLimits;
use wasmgate::runtime::{
    CompiledModule, EngineOptions, Handler, Invocation, InvocationFacts, PhaseTimes, Runtime,
    Sandbox,
};

/// What every invocation shares.
struct Setup {
    handler: Handler,
    sandbox: std::sync::Arc<Sandbox>,
    limits: InvocationLimits,
}

fn setup() -> Arc<Setup> {
    let runtime = Runtime::new(&EngineOptions::default()).expect("runtime");
    let path = std::path::Path::new(wasmgate_test_artifacts::HELLO);
    let Ok(CompiledModule::Handler(handler)) = runtime.load_module(path, None) else {
        panic!("examples/hello is a handler");
    };
    Arc::new(Setup {
        handler,
        sandbox: std::sync::Arc::default(),
        limits: InvocationLimits::default(),
    })
}

/// One request through a fresh instance, its body read to the end.
async fn invoke(setup: &Setup) {
    let request = hyper::Request::builder()
        .uri("http://bench.local/hello/ada")
        .header("host", "bench.local")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let invocation = Invocation {
        facts: InvocationFacts {
            request_id: "bench".into(),
            route: Arc::from("/hello/{name}"),
            path_params: vec![("name".into(), "ada".into())],
            principal: None,
            authorizer_context: Vec::new(),
            ..InvocationFacts::default()
        },
        deadline: std::time::Instant::now() + setup.limits.timeout,
        limits: &setup.limits,
        sandbox: &setup.sandbox,
        observation: None,
        times: Arc::new(PhaseTimes::default()),
        admission: Box::new(()),
        reuse: None,
        tape: None,
    };
    let response = setup
        .handler
        .invoke(request, invocation)
        .await
        .expect("invoked");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"Hello, ada!");
}

/// Runs `count` invocations on each of `threads` threads at once; the wall time.
fn run(setup: &Arc<Setup>, threads: u64, count: u64) -> Duration {
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let setup = setup.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio");
                runtime.block_on(async {
                    for _ in 0..count {
                        invoke(&setup).await;
                    }
                });
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    start.elapsed()
}

fn instantiate_and_handle(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("instantiate + handle hello");
    // Elements per second: invocations completed by all threads together.
    group.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        group.bench_function(format!("{threads} thread(s)"), |b| {
            // `iters` invocations in all, split over the threads.
            b.iter_custom(|iters| run(&setup, threads, iters.div_ceil(threads)))
        });
    }
    group.finish();
}

criterion_group!(benches, instantiate_and_handle);
criterion_main!(benches);
