//! A small client of the admin API, authenticated with the gateway's generated token.

use serde_json::Value;

use super::Gateway;

/// Talks to one gateway's admin API.
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(gateway: &Gateway) -> Self {
        AdminClient {
            base: gateway.admin_url(""),
            token: gateway.admin_token(),
            http: super::client(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("admin request");
        let status = response.status().as_u16();
        let body = response.json().await.expect("admin JSON body");
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// The value of the sample `name` (no labels) in `GET /metrics`, if it is there.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let response = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("admin request");
        assert_eq!(response.status(), 200, "GET /metrics");
        let text = response.text().await.expect("metrics text");
        text.lines()
            .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .find_map(|value| value.trim().parse().ok())
    }

    /// Waits until the sample `name` reads `value` (gauges move just after a response),
    /// failing the test after 10 s.
    pub async fn wait_for_metric(&self, name: &str, value: f64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = self.metric(name).await;
            if now == Some(value) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} is {now:?}, not {value}, after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/modules/{name}", self.base))
                .body(bytes),
        )
        .await
    }

    /// Uploads with `?executor=…`.
    pub async fn upload_as(&self, name: &str, executor: &str, bytes: Vec<u8>) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/modules/{name}?executor={executor}", self.base))
                .body(bytes),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// `PUT path` with a raw text body.
    pub async fn put_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let request = self.http.put(format!("{}{path}", self.base));
        self.send(request.body(body.to_owned())).await
    }

    /// Adds the route `method path` → `module` (a target: `name`, `name@3`, `name@alias`),
    /// asserting the admin API took it.
    pub async fn put_route(&self, method: &str, path: &str, module: &str) {
        let route = serde_json::json!({ "method": method, "path": path, "module": module });
        let (status, body) = self.put("/routes", route).await;
        assert_eq!(status, 200, "{body}");
    }

    /// POST `text` as the body.
    pub async fn post_text(&self, path: &str, text: &str) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .body(text.to_owned()),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// PUTs `body` to `path`, which must refuse it with 400 and a message containing
    /// `expected`.
    pub async fn put_refused(&self, path: &str, body: Value, expected: &str) {
        let (status, answer) = self.put(path, body).await;
        assert_eq!(status, 400, "{answer}");
        super::assert_message(&answer, expected);
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }
}
