//! Requests to a gateway under test, and reading their answers.

use reqwest::Response;
use serde_json::Value;

use super::{Gateway, client};

impl Gateway {
    /// GET `path`, from a client of its own.
    pub async fn get(&self, path: &str) -> Response {
        client().get(self.url(path)).send().await.expect("send")
    }

    /// GET `path`, which must answer 200: its body.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.expect("body")
    }

    /// GET `path` with the header `name: value`.
    pub async fn get_with(&self, path: &str, name: &str, value: &str) -> Response {
        client()
            .get(self.url(path))
            .header(name, value)
            .send()
            .await
            .expect("send")
    }

    /// POST `body` to `path`.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        client()
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .expect("send")
    }

    /// GET `path`, whose answer must be JSON (`content-type: application/json`): its
    /// status and body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        assert_eq!(response.headers()["content-type"], "application/json");
        read_json(response).await
    }
}

/// The status and JSON body of `response`.
pub async fn read_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Sends `request` to the echo handler: what it saw, as JSON.
pub async fn echoed(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("send");
    response.json().await.expect("the echo handler's JSON")
}

/// The text of header `name` (which must be there).
pub fn header(response: &Response, name: &str) -> String {
    response.headers()[name].to_str().expect("ascii").to_owned()
}

/// Asserts that `body` is the gateway's error of `kind`, its `detail` containing `text`.
pub fn assert_error_detail(body: &Value, kind: &str, text: &str) {
    assert_eq!(body["error"], kind, "{body}");
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains(text), "{body}");
}

/// Asserts that `body`'s `message` contains `text`.
pub fn assert_message(body: &Value, text: &str) {
    let message = body["message"].as_str().expect("message");
    assert!(message.contains(text), "{body}");
}

/// Reads what the server sends on `stream` until `done` says the bytes so far are enough,
/// the server closes, or the stream's read timeout passes.
pub fn read_until(stream: &mut std::net::TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    use std::io::Read;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if done(&answer) {
            break;
        }
    }
    answer
}
