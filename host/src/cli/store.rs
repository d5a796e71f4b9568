//! Where `wasmgate up` keeps its registry: the data dir, or a Redis several nodes share
//! (`--store`, `[store] url`), then followed for the other nodes' changes; and the rate
//! limits those nodes share.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::FailurePolicy;
use crate::gateway::shared_throttle::SharedThrottle;
use crate::registry::{FileStore, RedisStore, Registry, RegistryStore};
use crate::runtime::Runtime;

/// Opens the registry in the data dir, or in the Redis at `url` (following the changes
/// other nodes make from then on).
pub(super) fn open_registry(
    runtime: Arc<Runtime>,
    url: Option<&str>,
    data_dir: &Path,
    compile_timeout: Duration,
) -> anyhow::Result<Arc<Registry>> {
    let (store, feed): (Box<dyn RegistryStore>, _) = match url {
        Some(url) => {
            let store =
                RedisStore::open(url, data_dir).context("cannot use the shared store (--store)")?;
            tracing::info!(server = store.server(), "registry shared through Redis");
            let feed = store.feed();
            (Box::new(store), Some(feed))
        }
        None => {
            let store = FileStore::open(data_dir)
                .with_context(|| format!("cannot use the data dir {}", data_dir.display()))?;
            (Box::new(store), None)
        }
    };
    let registry = Arc::new(Registry::open(runtime, store, compile_timeout)?);
    if let Some(feed) = feed {
        crate::registry::follow(&registry, feed)
            .context("cannot start following the shared registry")?;
    }
    Ok(registry)
}

/// The rate limits shared through the Redis at `url` (it answered the registry already).
pub(super) fn shared_throttle(
    url: &str,
    policy: FailurePolicy,
) -> anyhow::Result<Arc<SharedThrottle>> {
    let throttle = SharedThrottle::new(url, policy)
        .context("cannot use the shared store (--store) for rate limits")?;
    Ok(Arc::new(throttle))
}
