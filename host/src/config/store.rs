//! `[store]`: where the registry lives when several gateway nodes share it, and what the
//! shared rate limits do while that store cannot be reached.

use serde::{Deserialize, Serialize};

/// The `[store]` section of the manifest (`--store` takes the place of `url`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS,
    /// `redis+unix:///path`): the registry shared by every node that names the same one.
    /// None: the data dir, for this node alone.
    #[serde(default)]
    pub url: Option<String>,
    /// What rate limits do while the store cannot be reached.
    #[serde(default)]
    pub on_failure: FailurePolicy,
}

/// What a shared rate limit does while its store cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Requests go on unthrottled: the API's availability first.
    #[default]
    FailOpen,
    /// Requests are refused with 503: the backends' protection first.
    FailClosed,
}

impl StoreConfig {
    /// Checks the URL names a Redis server.
    pub fn validate(&self) -> Result<(), String> {
        match &self.url {
            Some(url)
                if !["redis://", "rediss://", "redis+unix://", "unix://"]
                    .iter()
                    .any(|scheme| url.starts_with(scheme)) =>
            {
                Err("must be a redis://, rediss:// or redis+unix:// URL".into())
            }
            _ => Ok(()),
        }
    }
}
