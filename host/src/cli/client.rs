//! The command line's client of a running gateway's admin API.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// The admin API's URL when neither a flag, the environment nor a profile names one.
const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9080";

/// The token file read when neither a flag nor a profile names one (the gateway generates
/// `DATA_DIR/admin-token`).
const DEFAULT_TOKEN_FILE: &str = ".wasmgate/admin-token";

/// How to reach the admin API (shared by every client command).
#[derive(Debug, Args)]
pub(super) struct AdminArgs {
    /// URL of the gateway's admin API [default: the profile's, else http://127.0.0.1:9080].
    #[arg(long, env = "WASMGATE_ADMIN_URL")]
    admin_url: Option<String>,

    /// The admin token; without it, the token file is read.
    #[arg(long, env = "WASMGATE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// File holding the admin token [default: the profile's, else .wasmgate/admin-token].
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,

    /// A profile of ~/.config/wasmgate/config.toml: an admin URL, a token file and a proxy
    /// under a name [default: the `default` profile, if there is one].
    #[arg(long, env = "WASMGATE_PROFILE")]
    profile: Option<String>,

    /// Reach the admin API through this HTTP proxy (the token never goes through a proxy
    /// from the environment, such as HTTP_PROXY).
    #[arg(long, value_name = "URL")]
    admin_proxy: Option<String>,

    /// Print the admin API's JSON instead of tables, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// A command on one thing the admin API keeps under a name (an authorizer, a plan).
#[derive(Debug, Args)]
pub(super) struct ByName {
    /// Its name (the list command shows them).
    pub(super) name: String,
    #[command(flatten)]
    pub(super) admin: AdminArgs,
}

/// A command on one thing the admin API keeps under an id (a route, an API key).
#[derive(Debug, Args)]
pub(super) struct ById {
    /// Its id (the list command shows them).
    pub(super) id: String,
    #[command(flatten)]
    pub(super) admin: AdminArgs,
}

/// `answer`, or, for a status other than 2xx, an error carrying the API's message.
fn success(
    method: &reqwest::Method,
    path: &str,
    status: reqwest::StatusCode,
    answer: Value,
) -> anyhow::Result<Value> {
    if !status.is_success() {
        let message = answer["message"].as_str().unwrap_or("(no message)");
        bail!("{method} {path}: {status}: {message}");
    }
    Ok(answer)
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
        let profile = super::profile::load(args.profile.as_deref())?;
        let token = match &args.admin_token {
            Some(token) => token.clone(),
            None => {
                let file = args
                    .admin_token_file
                    .clone()
                    .or(profile.admin_token_file)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE));
                std::fs::read_to_string(&file)
                    .with_context(|| {
                        format!(
                            "cannot read the admin token from {} (set --admin-token, WASMGATE_ADMIN_TOKEN, --admin-token-file or a --profile)",
                            file.display()
                        )
                    })?
                    // A file of several tokens (`NAME TOKEN` lines): the first one's.
                    .lines()
                    .find_map(|line| line.split_whitespace().last())
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        let base = args
            .admin_url
            .clone()
            .or(profile.admin_url)
            .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned());
        // The admin token goes to the admin API only, never through a proxy from the
        // environment that the command was not told to use.
        let http = match args.admin_proxy.as_ref().or(profile.proxy.as_ref()) {
            Some(proxy) => reqwest::Client::builder().proxy(
                reqwest::Proxy::all(proxy).with_context(|| format!("invalid proxy `{proxy}`"))?,
            ),
            None => reqwest::Client::builder().no_proxy(),
        };
        Ok(AdminClient {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: http.build()?,
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
        let (status, answer) = self.answer(method.clone(), path, body)?;
        success(&method, path, status, answer)
    }

    /// Sends a request: the answer's status and JSON, whatever the status.
    fn answer(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<reqwest::Body>,
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
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
            Ok((status, body))
        })
    }

    /// [`AdminClient::get`], with `None` for a 404 (something gone since it was listed).
    pub fn get_if_found(&self, path: &str) -> anyhow::Result<Option<Value>> {
        match self.answer(reqwest::Method::GET, path, None)? {
            (reqwest::StatusCode::NOT_FOUND, _) => Ok(None),
            (status, answer) => success(&reqwest::Method::GET, path, status, answer).map(Some),
        }
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

    pub fn patch_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PATCH, path, Some(body.to_string().into()))
    }

    pub fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::DELETE, path, None)
    }

    pub fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body.into()))
    }
}
