//! The command line's client of a running gateway's admin API.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// How to reach the admin API (shared by every client command).
#[derive(Debug, Args)]
pub(super) struct AdminArgs {
    /// URL of the gateway's admin API.
    #[arg(
        long,
        env = "WASMGATE_ADMIN_URL",
        default_value = "http://127.0.0.1:9080"
    )]
    admin_url: String,

    /// The admin token; without it, the token file is read.
    #[arg(long, env = "WASMGATE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// File holding the admin token (the gateway generates `DATA_DIR/admin-token`).
    #[arg(long, value_name = "FILE", default_value = ".wasmgate/admin-token")]
    admin_token_file: PathBuf,

    /// Print the admin API's JSON instead of tables, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// An authenticated connection to the admin API.
pub(super) struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl AdminClient {
    pub fn new(args: &AdminArgs) -> anyhow::Result<Self> {
        let token = match &args.admin_token {
            Some(token) => token.clone(),
            None => std::fs::read_to_string(&args.admin_token_file)
                .with_context(|| {
                    format!(
                        "cannot read the admin token from {} (set --admin-token, WASMGATE_ADMIN_TOKEN or --admin-token-file)",
                        args.admin_token_file.display()
                    )
                })?
                // A file of several tokens (`NAME TOKEN` lines): the first one's.
                .lines()
                .find_map(|line| line.split_whitespace().last())
                .unwrap_or_default()
                .to_owned(),
        };
        Ok(AdminClient {
            base: args.admin_url.trim_end_matches('/').to_owned(),
            token,
            // The admin token goes to the admin API only, never through a proxy from the
            // environment that the command was not told to use.
            http: reqwest::Client::builder().no_proxy().build()?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    /// A request to `path`, with the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends `request`; an error names the admin API it could not reach.
    /// An answer from something that is not an admin API (the gateway's own listener, say)
    /// is an error saying so, not its 404.
    async fn reach(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        if !response
            .headers()
            .contains_key(crate::admin::ADMIN_API_HEADER)
        {
            bail!(
                "{} is not a wasmgate admin API (it answered {}); is it the gateway's own \
                 listener? The admin API listens on `wasmgate up --admin-listen` (default \
                 127.0.0.1:9080): pass its URL with --admin-url or WASMGATE_ADMIN_URL",
                self.base,
                response.status()
            );
        }
        Ok(response)
    }

    /// Sends a request; a non-2xx answer becomes an error carrying the API's message.
    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<reqwest::Body>,
    ) -> anyhow::Result<Value> {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.body(body);
        }
        self.runtime.block_on(async {
            let response = self.reach(request).await?;
            let status = response.status();
            let body: Value = response
                .json()
                .await
                .with_context(|| format!("{method} {path}: the admin API did not answer JSON"))?;
            if !status.is_success() {
                let message = body["message"].as_str().unwrap_or("(no message)");
                bail!("{method} {path}: {status}: {message}");
            }
            Ok(body)
        })
    }

    /// Follows the server-sent events at `path`, calling `on_event` with each event's JSON
    /// until the server ends the stream (or `on_event` fails).
    pub fn follow(
        &self,
        path: &str,
        mut on_event: impl FnMut(Value) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let request = self.request(reqwest::Method::GET, path);
        self.runtime.block_on(async {
            let mut response = self.reach(request).await?;
            if !response.status().is_success() {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or_default();
                let message = body["message"].as_str().unwrap_or("(no message)");
                bail!("GET {path}: {status}: {message}");
            }
            // Events are `data: {json}` lines; comments (`: …`) and blank lines are skipped.
            let mut pending = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .context("the event stream broke off")?
            {
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    if let Some(data) = line.strip_prefix(b"data: ") {
                        on_event(serde_json::from_slice(data).context("an event is not JSON")?)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// The text at `path` (the metrics, say); a non-2xx answer is an error.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let request = self.request(reqwest::Method::GET, path);
        self.runtime.block_on(async {
            let response = self.reach(request).await?;
            let status = response.status();
            let text = response.text().await.context("the answer broke off")?;
            if !status.is_success() {
                bail!("GET {path}: {status}");
            }
            Ok(text)
        })
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None)
    }

    pub fn put_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body.to_string().into()))
    }

    pub fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body.into()))
    }
}
