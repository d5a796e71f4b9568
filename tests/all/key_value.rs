//! Guest state: `wasi:keyvalue` stores, kept in the data dir's database — they survive a
//! restart and a `kill -9`, concurrent increments lose nothing, and a module sees only the
//! stores its configuration names, each holding its own data. Nodes sharing a Redis share
//! the stores too.

use crate::support::{Gateway, RedisServer, guests, needs_redis};

/// The counter example three times: two modules with a `default` store each, and one
/// that names none.
fn manifest() -> String {
    let counter = guests::COUNTER;
    let mut text = String::new();
    for (name, stores) in [
        ("counter", "[\"default\"]"),
        ("twin", "[\"default\"]"),
        ("nostore", "[]"),
    ] {
        text.push_str(&format!(
            "[[modules]]\nname = \"{name}\"\npath = \"{counter}\"\nkey_value_stores = {stores}\n\n\
             [[routes]]\nmethod = \"ANY\"\npath = \"/{name}/{{name}}\"\nmodule = \"{name}\"\n\n"
        ));
    }
    text.push_str("[[routes]]\nmethod = \"GET\"\npath = \"/counters\"\nmodule = \"counter\"\n");
    text
}

async fn call(gw: &Gateway, method: &str, path: &str) -> (u16, String) {
    call_url(method, gw.url(path)).await
}

async fn call_url(method: &str, url: String) -> (u16, String) {
    let request = crate::support::client().request(method.parse().expect("method"), url);
    let response = request.send().await.expect("call");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_survive_a_restart_and_a_kill_and_each_module_has_its_own() {
    let gw = Gateway::start(&manifest());
    for expected in ["a: 1", "a: 2", "a: 3"] {
        assert_eq!(
            call(&gw, "POST", "/counter/a").await,
            (200, expected.to_owned())
        );
    }
    assert_eq!(call(&gw, "POST", "/counter/a?by=10").await.1, "a: 13");
    // The same bytes under another name: a store of its own.
    assert_eq!(call(&gw, "GET", "/twin/a").await.0, 404);
    assert_eq!(call(&gw, "POST", "/twin/a").await.1, "a: 1");
    // A module that names no store cannot open one.
    let (status, body) = call(&gw, "POST", "/nostore/a").await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("key_value_stores"), "{body}");

    let dir = gw.stop_keeping_data();
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    assert_eq!(
        call(&gw, "GET", "/counter/a").await,
        (200, "a: 13".to_owned())
    );
    assert_eq!(call(&gw, "POST", "/counter/a").await.1, "a: 14");

    let dir = gw.kill_keeping_data();
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    assert_eq!(
        call(&gw, "GET", "/counter/a").await,
        (200, "a: 14".to_owned())
    );
    assert_eq!(call(&gw, "GET", "/twin/a").await.1, "a: 1");
    let (status, body) = call(&gw, "GET", "/counters").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON"),
        serde_json::json!({"a": 14})
    );
    assert_eq!(call(&gw, "DELETE", "/counter/a").await.1, "a: forgotten");
    assert_eq!(call(&gw, "GET", "/counter/a").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_lose_nothing() {
    let gw = Gateway::start(&manifest());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = gw.url("/counter/hits");
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                assert_eq!(call_url("POST", url.clone()).await.0, 200);
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(call(&gw, "GET", "/counter/hits").await.1, "hits: 100");
}

/// The probe with a `default` store, on a gateway whose stores hold 1 MiB each: writes
/// past a bound fail with the store's message and change nothing.
async fn check_bounds(extra_args: &[&str]) {
    let manifest = format!(
        "[[modules]]\nname = \"probe\"\npath = \"{}\"\nkey_value_stores = [\"default\"]\n\n\
         [[routes]]\nmethod = \"ANY\"\npath = \"/probe/{{action}}\"\nmodule = \"probe\"\n",
        guests::PROBE
    );
    let mut args = vec!["--listen", "127.0.0.1:0", "--key-value-store-mb", "1"];
    args.extend_from_slice(extra_args);
    let gw = Gateway::start_with_args(&manifest, &args);
    let set = |key: &str, bytes: usize| format!("/probe/kv-set?key={key}&bytes={bytes}");
    assert_eq!(call(&gw, "POST", &set("a", 600_000)).await.0, 200);
    let (status, body) = call(&gw, "POST", &set("b", 600_000)).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("is full: 1048576 bytes at most"), "{body}");
    // Replacing a value counts only the difference; the refused `b` took nothing.
    assert_eq!(call(&gw, "POST", &set("a", 1_000_000)).await.0, 200);
    assert_eq!(call(&gw, "POST", &set("b", 40_000)).await.0, 200);
    let (status, body) = call(&gw, "POST", "/probe/kv-increment?key=a").await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("`increment`"), "{body}");
    let (status, body) = call(&gw, "POST", &set("huge", 2 << 20)).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("1048576"), "{body}");
    assert_eq!(
        call(&gw, "POST", "/probe/kv-increment?key=n").await,
        (200, "n: 1".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_holds_its_size_limit_and_increments_only_numbers() {
    check_bounds(&[]).await;
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_on_redis_holds_its_size_limit_and_increments_only_numbers() {
        let redis = RedisServer::start();
        let url = redis.url();
        check_bounds(&["--store", url.as_str()]).await;
    }
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_on_one_redis_share_the_stores() {
        let redis = RedisServer::start();
        let url = redis.url();
        let args = ["--listen", "127.0.0.1:0", "--store", url.as_str()];
        let a = Gateway::start_with_args(&manifest(), &args);
        let b = Gateway::start_with_args(&manifest(), &args);
        assert_eq!(call(&a, "POST", "/counter/shared").await.1, "shared: 1");
        assert_eq!(call(&b, "POST", "/counter/shared").await.1, "shared: 2");
        assert_eq!(call(&a, "GET", "/counter/shared").await, (200, "shared: 2".to_owned()));
        // Still one store per module.
        assert_eq!(call(&b, "GET", "/twin/shared").await.0, 404);

        // Increments from both nodes at once: none lost.
        let mut tasks = Vec::new();
        for url in [a.url("/counter/shared"), b.url("/counter/shared")] {
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    assert_eq!(call_url("POST", url.clone()).await.0, 200);
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(call(&b, "GET", "/counter/shared").await.1, "shared: 42");
        let (_, body) = call(&a, "GET", "/counters").await;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("JSON"),
            serde_json::json!({"shared": 42})
        );
        assert_eq!(call(&a, "DELETE", "/counter/shared").await.1, "shared: forgotten");
        assert_eq!(call(&b, "GET", "/counter/shared").await.0, 404);
    }
}
