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

/// Connects the shared rate limits to Redis, on a thread of their own whose runtime drives
/// the connection (requests on every worker use it).
pub(super) fn start_shared_throttle(
    url: &str,
    policy: FailurePolicy,
) -> anyhow::Result<Arc<SharedThrottle>> {
    let (connected, outcome) = std::sync::mpsc::channel();
    let url = url.to_owned();
    std::thread::Builder::new()
        .name("redis-io".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = connected.send(Err(anyhow::Error::from(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                let throttle = SharedThrottle::connect(&url, policy).await;
                let _ = connected.send(throttle.map(Arc::new).map_err(anyhow::Error::from));
                // Drives the connection for as long as the process lives.
                std::future::pending::<()>().await;
            });
        })?;
    outcome
        .recv()
        .context("the shared rate limits' thread ended")?
        .context("cannot connect the shared rate limits to the store (--store)")
}
