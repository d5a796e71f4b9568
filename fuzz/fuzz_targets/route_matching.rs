//! Fuzzes the router (`host/src/routing/`): route templates and request paths from
//! arbitrary bytes must never panic, and a match must decode exactly the template's
//! parameters.

#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../host/src/routing/mod.rs"]
mod routing;

use http::Method;
use libfuzzer_sys::fuzz_target;
use routing::{Lookup, MethodFilter, RouteTable, RouteTemplate};

const METHODS: [&str; 4] = ["GET", "POST", "ANY", "DELETE"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Lines before an empty line are routes; the rest are request paths.
    let (routes, paths) = text.split_once("\n\n").unwrap_or((text, "/"));
    let mut table = RouteTable::new();
    for (i, line) in routes.lines().enumerate() {
        let Ok(template) = line.parse::<RouteTemplate>() else {
            continue;
        };
        let method = MethodFilter::parse(METHODS[i % METHODS.len()]).expect("known method");
        let names = template.param_names().to_vec();
        let _ = table.insert(method, template, names);
    }
    for (i, path) in paths.lines().enumerate() {
        let method = [Method::GET, Method::POST, Method::PUT][i % 3].clone();
        match table.lookup(&method, path) {
            Lookup::Found { route, params } => {
                let got: Vec<&String> = params.iter().map(|(name, _)| name).collect();
                let expected: Vec<&String> = route.iter().collect();
                assert_eq!(got, expected, "params of a match follow its template");
            }
            Lookup::MethodNotAllowed { allow } => assert!(!allow.is_empty()),
            Lookup::InvalidParam { .. } | Lookup::NotFound => {}
        }
    }
});
