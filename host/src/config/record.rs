//! A route's recording setting as written (`record = { sample_percent = 10, max = 1000,
//! redact_headers = ["x-session"] }`) and validated: which share of its invocations are
//! recorded for `wasmgate replay`, how many recordings are kept, and which headers are
//! stored redacted.

use http::HeaderName;
use serde::{Deserialize, Serialize};

use super::Setting;

/// Percent of a route's invocations that are recorded.
pub const RECORD_PERCENT: Setting<u32> = Setting::new(10, 1, 100, "%");
/// Recordings a route keeps (the oldest go first).
pub const RECORD_MAX: Setting<u32> = Setting::new(100, 1, 10_000, "recordings");
/// Most recordings a route makes a second: what its sample takes beyond this is not
/// recorded, so a busy route's recordings cost its requests (and the disk) little.
pub const RECORDINGS_PER_SECOND: std::num::NonZeroU32 = std::num::NonZeroU32::new(100).unwrap();
/// Most header names a route may add to the redacted ones.
const MAX_REDACTED: usize = 64;

/// Headers whose values are always stored redacted: credentials.
pub const ALWAYS_REDACTED: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
];

/// The recording setting as written.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// Percent of invocations recorded (1 to 100, default 10).
    pub sample_percent: Option<u32>,
    /// Recordings kept (1 to 10,000, default 100).
    pub max: Option<u32>,
    /// Headers stored redacted, besides [`ALWAYS_REDACTED`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_headers: Vec<String>,
}

/// A validated recording setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    /// Percent of invocations recorded.
    pub sample_percent: u32,
    /// Recordings kept.
    pub max: u32,
    /// Headers stored redacted (the credentials and the route's own), sorted.
    pub redacted: Vec<HeaderName>,
}

impl RecordSpec {
    /// Whether `name`'s values are stored redacted.
    pub fn redacts(&self, name: &HeaderName) -> bool {
        self.redacted.contains(name)
    }
}

impl RecordConfig {
    /// Checks the values; each problem's key is `record.{field}`.
    pub fn validate(&self, problem: &mut impl FnMut(&str, String)) -> Option<RecordSpec> {
        let sample_percent =
            RECORD_PERCENT.resolve_at("record.sample_percent", self.sample_percent, problem);
        let max = RECORD_MAX.resolve_at("record.max", self.max, problem);
        let mut ok = true;
        if self.redact_headers.len() > MAX_REDACTED {
            problem(
                "record.redact_headers",
                format!("at most {MAX_REDACTED} header names"),
            );
            ok = false;
        }
        let mut redacted: Vec<HeaderName> = ALWAYS_REDACTED
            .iter()
            .map(|name| HeaderName::from_static(name))
            .collect();
        for name in &self.redact_headers {
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) => redacted.push(name),
                Err(_) => {
                    problem(
                        "record.redact_headers",
                        format!("`{name}` is not a header name"),
                    );
                    ok = false;
                }
            }
        }
        redacted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        redacted.dedup();
        ok.then_some(RecordSpec {
            sample_percent,
            max,
            redacted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(config: RecordConfig) -> Result<RecordSpec, Vec<String>> {
        let mut problems = Vec::new();
        let spec = config.validate(&mut |key, message| problems.push(format!("{key}: {message}")));
        spec.filter(|_| problems.is_empty()).ok_or(problems)
    }

    #[test]
    fn defaults_redact_credentials_and_the_routes_own_headers() {
        let spec = validate(RecordConfig {
            sample_percent: None,
            max: None,
            redact_headers: vec!["X-Session".into()],
        })
        .expect("valid");
        assert_eq!((spec.sample_percent, spec.max), (10, 100));
        assert!(spec.redacts(&HeaderName::from_static("x-session")));
        assert!(spec.redacts(&HeaderName::from_static("authorization")));
        assert!(!spec.redacts(&HeaderName::from_static("accept")));
    }

    #[test]
    fn out_of_range_values_and_bad_names_are_named() {
        let problems = validate(RecordConfig {
            sample_percent: Some(0),
            max: Some(20_000),
            redact_headers: vec!["bad header".into()],
        })
        .expect_err("invalid");
        let text = problems.join("\n");
        assert!(text.contains("record.sample_percent"), "{text}");
        assert!(text.contains("record.max"), "{text}");
        assert!(text.contains("`bad header` is not a header name"), "{text}");
    }
}
