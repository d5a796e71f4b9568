//! Echoes the request back as JSON: method, path, route parameters, query, headers, body,
//! and — behind an authorizer — the principal and authorizer context. Handy to see what a
//! handler receives.

use serde_json::{Map, Value, json};
use wasmgate_sdk::{Request, Response, handler};

#[handler]
fn echo(req: Request) -> Response {
    let params: Map<String, Value> = req
        .params()
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    let mut query = Map::new();
    for (name, value) in req.query_pairs() {
        query.entry(name).or_insert(Value::from(value));
    }
    let headers: Map<String, Value> = req
        .headers()
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(String::from_utf8_lossy(value))))
        .collect();
    Response::json(&json!({
        "method": req.method(),
        "path": req.path(),
        "route": req.route(),
        "request_id": req.request_id(),
        "params": params,
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(req.body()),
        "principal": req.principal(),
        "authorizer_context": req
            .authorizer_context()
            .into_iter()
            .map(|(key, value)| (key, Value::from(value)))
            .collect::<Map<String, Value>>(),
    }))
}
