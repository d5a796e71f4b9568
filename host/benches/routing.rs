//! Route lookup at 10 and at 10,000 routes (`GET /r{i}/items/{id}`, the shape of the
//! scale tests): the lookup is a radix-tree walk, so its cost should barely depend on the
//! table's size.
//!
//!   cargo bench -p wasmgate --bench routing

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use wasmgate::routing::{Lookup, MethodFilter, RouteTable};

fn table(routes: usize) -> RouteTable<usize> {
    let mut table = RouteTable::new();
    for i in 0..routes {
        let template = format!("/r{i}/items/{{id}}").parse().expect("template");
        let method = MethodFilter::parse("GET").expect("method");
        table.insert(method, template, i).expect("no conflict");
    }
    table
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("route lookup");
    for routes in [10, 10_000] {
        let table = table(routes);
        let path = format!("/r{}/items/42", routes - 1);
        group.bench_function(format!("{routes} routes"), |b| {
            b.iter(|| {
                let found = table.lookup(&Method::GET, std::hint::black_box(&path));
                assert!(matches!(found, Lookup::Found { .. }));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
