//! Integration tests: the real `wasmgate` binary on an ephemeral loopback port, driven over
//! HTTP. One test binary (topics are modules) so it links once.

mod support;

mod access_log;
mod admin;
mod api_keys;
mod authorizers;
mod bodies;
mod caching;
mod cli;
mod cli_client;
mod client_state;
mod cluster;
mod cors;
mod dashboard;
mod data_dir;
mod default_manifest;
mod deploy;
mod early_refusal;
mod failures;
mod handlers;
mod http_proxy;
mod isolation;
mod jwt;
mod languages;
mod limits;
mod live_logs;
mod log_injection;
mod metrics;
mod mocks;
mod proxies;
mod reserved;
mod restart;
mod reuse;
mod routing;
mod sandbox;
mod scale;
mod shared_limits;
mod shutdown;
mod smuggling;
mod start_up;
mod stored_files;
mod throttling;
mod tls;
mod traces;
mod wagi;
