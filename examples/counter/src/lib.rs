//! Counters kept in the module's key-value store (`key_value_stores = ["default"]`): they
//! survive restarts of the gateway, and every instance (each request gets a fresh one)
//! sees the same counts.
//!
//! - `POST /counter/{name}` adds one (or `?by=N`) and answers the new count;
//! - `GET /counter/{name}` answers the count (404 before the first);
//! - `DELETE /counter/{name}` forgets it;
//! - `GET /counters` lists every counter as JSON.

use wasmgate_sdk::{Error, Request, Response, handler, kv};

#[handler]
fn counter(req: Request) -> Result<Response, Error> {
    let store = kv::Store::open("default")?;
    let Some(name) = req.param("name") else {
        let mut counts = serde_json::Map::new();
        for key in store.keys()? {
            let count = store.get_string(&key)?.unwrap_or_default();
            counts.insert(key, count.parse::<u64>().unwrap_or(0).into());
        }
        return Ok(Response::json(&serde_json::Value::Object(counts)));
    };
    match req.method() {
        "POST" => {
            let by = match req.query("by") {
                Some(by) => by
                    .parse()
                    .map_err(|_| Error::bad_request("`by` is a whole number"))?,
                None => 1,
            };
            let count = store.increment(&name, by)?;
            Ok(Response::text(format!("{name}: {count}")))
        }
        "DELETE" => {
            store.delete(&name)?;
            Ok(Response::text(format!("{name}: forgotten")))
        }
        _ => match store.get_string(&name)? {
            Some(count) => Ok(Response::text(format!("{name}: {count}"))),
            None => Err(Error::not_found(format!("no counter `{name}`"))),
        },
    }
}
