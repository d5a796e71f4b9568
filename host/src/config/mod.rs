//! The configuration types shared by the manifest, the registry and the admin API: module
//! settings, routes, authorizers, rate limits and usage plans, as written (serde) and as
//! validated (`…Spec`), with the per-invocation limits and their defaults.
//!
//! This is the lowest layer above the pure libraries ([`crate::routing`],
//! [`crate::allowlist`]): everything here is plain data and its validation, with no I/O.
//! A value is validated once, where it enters the host (a manifest, an admin API body, the
//! stored document), and the validated form travels on.

mod authorizer;
mod cache;
mod cors;
mod integration;
mod jwt;
pub mod limits;
mod module;
mod names;
mod plan;
mod problem;
mod protection;
mod proxies;
mod proxy;
mod record;
mod route;
mod setting;
mod store;
mod throttle;
mod validation;

pub use authorizer::{
    AUTHORIZER_CONCURRENCY, AUTHORIZER_TIMEOUT_MS, AuthorizerConfig, AuthorizerKindSpec,
    AuthorizerSpec, AuthorizerType, IdentitySource, JwtSpec, KeySource, REDACTED, SHADOW_PERCENT,
    ShadowSpec, TTL_SECONDS,
};
pub use cache::{CACHE_TTL_SECONDS, CacheConfig, CacheSpec};
pub use cors::{CorsConfig, CorsPolicy};
pub use integration::{Integration, MAX_MOCK_BODY, MockConfig, MockSpec};
pub use jwt::decoding_key_from_pem;
pub use limits::InvocationLimits;
pub use module::{
    Executor, MAX_VARIABLE_BYTES, MAX_VARIABLES, ModuleConfig, ModuleConfigPatch, PREAMBLE_BYTES,
    WrongBytes, check_variable_name,
};
pub use names::{ModuleName, Qualifier, Target, check_alias_name, check_stage_variables};
pub use plan::{ComputeConfig, PlanConfig, QuotaConfig, QuotaPeriod};
pub use problem::Problem;
pub use protection::{ClientKey, ConcurrencySpec, IPV6_PREFIX, Protection};
pub use proxies::TrustedProxies;
pub use proxy::{HOP_BY_HOP, PathPiece, ProxyConfig, ProxySpec, RewriteSpec};
pub use record::{
    ALWAYS_REDACTED, RECORD_MAX, RECORD_PERCENT, RECORDINGS_PER_SECOND, RecordConfig, RecordSpec,
};
pub use route::{ClientThrottleConfig, Isolation, MAX_REUSE, RouteConfig, RouteSpec};
pub use setting::Setting;
pub use store::{FailurePolicy, StoreConfig};
pub use throttle::ThrottleConfig;
pub use validation::{MAX_VALIDATED_PARAMETERS, ParameterRule, ValidationConfig};

/// The address the gateway listens on when neither the manifest nor `--listen` says.
pub const DEFAULT_LISTEN: std::net::SocketAddr = std::net::SocketAddr::V4(
    std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8080),
);
