//! `wasmgate up`: serve a manifest and the registry, with the admin API beside it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::up_args::UpArgs;
use super::{background_compile, store};
use crate::admin::{self, Admin};
use crate::gateway::{Gateway, GatewayOptions};
use crate::manifest::{Manifest, ManifestError};
use crate::registry::{ApplyError, RedisKeyValue};
use crate::runtime::{EngineOptions, KeyValueBackend, LocalKeyValue, Runtime};
use crate::server::{Server, ServerOptions, ShutdownSignal, tls_server_config};

/// How long start-up waits for the manifest's modules to compile before it listens anyway
/// (the routes of those still compiling answer 503 until they are in).
const START_UP_GRACE: Duration = Duration::from_secs(1);

/// wasmtime formats an error, with a captured backtrace when these are on, every time an
/// instance is dropped: 10-15% of throughput (`shared/PERF-NOTES.md`).
fn warn_about_backtraces() {
    for var in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"] {
        if std::env::var(var).is_ok_and(|value| value != "0") {
            tracing::warn!(
                "{var} is set: every request pays for a backtrace capture; unset it in production"
            );
        }
    }
}

/// What `wasmgate dev` starts once the gateway serves: its watcher.
pub(super) type OnServing = Box<dyn FnOnce(Arc<Gateway>) + Send>;

pub(super) fn up(args: UpArgs) -> anyhow::Result<()> {
    run(args, None)
}

/// Serves as `wasmgate up` does; `on_serving` is called once the gateway listens.
pub(super) fn run(args: UpArgs, on_serving: Option<OnServing>) -> anyhow::Result<()> {
    // First, while this is the only thread that reads the environment: the listening
    // sockets a service manager handed over (`LISTEN_FDS`), in order gateway, admin API,
    // metrics; they take the place of the addresses given.
    let mut inherited = listenfd::ListenFd::from_env();
    let mut take_inherited = |index: usize, what: &str| {
        inherited
            .take_tcp_listener(index)
            .with_context(|| format!("the {what} socket handed over (LISTEN_FDS) is not TCP"))
    };
    let inherited_gateway = take_inherited(0, "gateway")?;
    let inherited_admin = take_inherited(1, "admin API")?;
    let inherited_metrics = take_inherited(2, "metrics")?;
    // Checked first: a bad certificate fails before any module compiles.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(certificate), Some(key)) => Some(tls_server_config(certificate, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    warn_about_backtraces();
    super::open_files::raise_open_file_limit();
    // A manifest with problems of its own is still checked against the registry below,
    // so that one run names every problem.
    let (manifest, manifest_problems) = match Manifest::load(&args.manifest) {
        Ok(manifest) => (manifest, None),
        Err(ManifestError::Invalid {
            path,
            problems,
            partial: Some(partial),
        }) => (*partial, Some((path, problems))),
        Err(error) => return Err(error.into()),
    };
    // Flushed (and stopped) when `up` returns.
    let _traces = match &args.otlp_endpoint {
        Some(endpoint) => {
            Some(crate::telemetry::trace::start(endpoint).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let runtime = Arc::new(Runtime::new(&EngineOptions {
        max_instances: args.max_instances,
        fuel_metering: args.fuel_metering,
        spare_instances: args.spare_instances,
        reuse_idle_timeout: Duration::from_secs(args.reuse_idle_timeout),
    })?);
    let store_url = args.store.as_deref().or(manifest.store.url.as_deref());
    let opened = store::open_registry(
        runtime,
        store_url,
        &args.data_dir,
        Duration::from_millis(args.compile_timeout_ms),
    );
    if let Some((path, mut problems)) = manifest_problems {
        if let Ok(registry) = &opened {
            problems.extend(registry.check_manifest(&manifest));
        }
        crate::manifest::sort_problems(&mut problems);
        let partial = None;
        return Err(ManifestError::Invalid {
            path,
            problems,
            partial,
        }
        .into());
    }
    let registry = opened?;
    // Guests' key-value stores: in the Redis the nodes share, else in the data dir the
    // registry opened (and locked).
    let store_bytes = args.key_value_store_mb << 20;
    let key_value: Arc<dyn KeyValueBackend> = match store_url {
        Some(url) => Arc::new(RedisKeyValue::open(url, store_bytes)?),
        None => Arc::new(LocalKeyValue::open(
            &args.data_dir.join("keyvalue.redb"),
            store_bytes,
        )?),
    };
    registry.runtime().set_key_value(key_value);
    if let Some(path) = args.secrets_key_file.clone().or_else(default_secrets_key) {
        let key = std::path::absolute(&path)?;
        if key.starts_with(std::path::absolute(&args.data_dir)?) {
            anyhow::bail!(
                "--secrets-key-file {} is inside the data dir: keep the key apart from the secrets it seals",
                key.display()
            );
        }
        registry.use_secrets_key(crate::secrets::SecretsKey::at(key));
    }
    // The modules that need compiling compile once the gateway serves the others.
    let (to_compile, waiting) = background_compile::apply_ready_part(&registry, &manifest)
        .map_err(|error| {
            match error {
                // Already names the manifest.
                ApplyError::Manifest(error) => anyhow::Error::from(error),
                other => anyhow::Error::from(other)
                    .context(format!("cannot serve {}", manifest.source.display())),
            }
        })?;
    let shared_throttle = match store_url {
        Some(url) => Some(store::shared_throttle(url, manifest.store.on_failure)?),
        None => None,
    };
    let gateway = Gateway::new(
        registry,
        GatewayOptions {
            body_idle_timeout: Duration::from_secs(args.body_idle_timeout),
            body_timeout: Duration::from_secs(args.body_timeout),
            trusted_proxies: manifest.trusted_proxies.clone(),
            access_log: args.access_log,
            metrics: args.metrics,
            shared_throttle,
        },
    )?;

    let options = ServerOptions {
        listen: args.listen.unwrap_or(manifest.listen),
        workers: args.workers,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        max_connections: args.max_connections.max(1),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        max_connections_per_client: args.max_connections_per_client,
        trusted_proxies: manifest.trusted_proxies.clone(),
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        tls,
        name: "gateway",
        busy_poll: Duration::from_micros(args.busy_poll_us),
        // Spare instances are made only after a worker has been idle.
        on_idle: Some(crate::runtime::worker_idle),
    };
    gateway.set_compiling(&waiting);
    let server = Server::bind_or_inherit(gateway.clone(), inherited_gateway, &options)
        .with_context(|| format!("cannot listen on {}", options.listen))?;

    let (tokens, token_source) =
        admin::load_or_generate(args.admin_token_file.as_deref(), &args.data_dir)
            .context("cannot set up the admin token")?;
    let admin_options = ServerOptions {
        listen: args.admin_listen,
        workers: 1,
        tls: None,
        name: "admin",
        busy_poll: Duration::ZERO,
        on_idle: None,
        ..options.clone()
    };
    // A generated token is printed once, below.
    let generated = tokens
        .first()
        .map(|token| token.secret.clone())
        .unwrap_or_default();
    let admin = Arc::new(Admin::new(
        gateway.clone(),
        tokens,
        args.max_upload_mb << 20,
    ));
    let readiness = admin.readiness();
    let mut compiling = background_compile::compile_in_background(
        gateway.registry().clone(),
        gateway.clone(),
        readiness.clone(),
        manifest.clone(),
        to_compile,
    )?;
    // Small modules are in within this; one that fails at once fails start-up.
    if let Some(error) = compiling.wait_briefly(START_UP_GRACE) {
        return Err(error);
    }
    let admin_server = Server::bind_or_inherit(admin, inherited_admin, &admin_options)
        .with_context(|| format!("cannot listen on {} (admin API)", args.admin_listen))?;
    let metrics_server = match (args.metrics_listen, inherited_metrics) {
        (None, None) => None,
        (listen, inherited) => {
            let options = ServerOptions {
                // An inherited socket has its own address.
                listen: listen.unwrap_or(args.admin_listen),
                name: "metrics",
                ..admin_options.clone()
            };
            Some(
                Server::bind_or_inherit(Arc::new(admin::MetricsOnly), inherited, &options)
                    .with_context(|| format!("cannot listen on {} (metrics)", options.listen))?,
            )
        }
    };
    if !admin_server.local_addr().ip().is_loopback() {
        tracing::warn!(
            admin_listen = %admin_server.local_addr(),
            "the admin API is plain HTTP: its bearer token crosses the network in clear; \
             keep it on loopback or put it behind a TLS proxy"
        );
    }

    // Signals are caught from here on, before anyone can know the address.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut shutdown = signals.block_on(async { ShutdownSignal::install() })?;
    let running = server.start()?;
    let admin_running = admin_server.start()?;
    let metrics_running = metrics_server.map(Server::start).transpose()?;

    // The listening line is the last thing printed on stdout at start-up: scripts and tests
    // wait for it.
    let mut stdout = std::io::stdout().lock();
    if let admin::TokenSource::Generated = token_source {
        writeln!(
            stdout,
            "admin token (saved in {}; shown only this once): {generated}",
            args.data_dir.join("admin-token").display()
        )?;
    }
    for line in gateway.route_lines() {
        writeln!(stdout, "{line}")?;
    }
    writeln!(
        stdout,
        "wasmgate admin API on http://{}",
        admin_running.local_addr()
    )?;
    if let Some(metrics) = &metrics_running {
        writeln!(
            stdout,
            "wasmgate metrics on http://{}/metrics",
            metrics.local_addr()
        )?;
    }
    writeln!(
        stdout,
        "wasmgate listening on {scheme}://{}",
        running.local_addr()
    )?;
    stdout.flush()?;
    drop(stdout);
    if let Some(on_serving) = on_serving {
        on_serving(gateway.clone());
    }

    let failed = signals.block_on(async {
        tokio::select! {
            _ = shutdown.recv() => None,
            Some(error) = compiling.failures.recv() => Some(error),
        }
    });
    if failed.is_some() {
        tracing::error!("a module of the manifest cannot be served; stopping");
    }
    // Not ready from here on: load balancers stop sending while requests in flight finish.
    readiness.drain();
    // Drain on a blocking thread; a second signal stops waiting for it. The admin API
    // (and its `/readyz`) answers until the gateway has drained.
    let forced = signals.block_on(async {
        let drain = tokio::task::spawn_blocking(move || {
            let drained = running.stop();
            if let Some(metrics) = metrics_running {
                metrics.stop()?;
            }
            admin_running.stop()?;
            drained
        });
        tokio::select! {
            drained = drain => Some(drained),
            _ = shutdown.recv() => None,
        }
    });
    // Whatever happened to the drain, the quota counts so far are kept.
    gateway.save_quota_usage();
    match forced {
        Some(drained) => drained??,
        None => {
            // Dropping the runtime would wait for the drain; leave it behind instead.
            signals.shutdown_background();
            anyhow::bail!("second signal: stopped without waiting for requests in flight")
        }
    }
    if let Some(error) = failed {
        return Err(error);
    }
    tracing::info!("stopped");
    Ok(())
}

/// `$XDG_CONFIG_HOME/wasmgate/secrets.key`, else `~/.config/wasmgate/secrets.key`.
fn default_secrets_key() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(std::env::var_os("HOME")?).join(".config")))?;
    Some(config.join("wasmgate").join("secrets.key"))
}
