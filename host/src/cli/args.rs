//! Parsing what the client commands take beyond clap's types: `METHOD /path`, `NAME=VALUE`
//! pairs, `KEY=JSON` settings and `-d @file` bodies. Every one is checked before anything is
//! sent, and a malformed one says what form it takes.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// `METHOD /path` → (method, path); a bare `/path` is a GET.
pub(super) fn split_route(route: &str) -> anyhow::Result<(String, String)> {
    match route.trim().split_once(' ') {
        Some((method, path)) => Ok((method.to_owned(), path.trim().to_owned())),
        None if route.starts_with('/') => Ok(("GET".into(), route.to_owned())),
        None => bail!("`{route}` is not `METHOD /path`"),
    }
}

/// `NAME=VALUE` pairs (`what` names them in errors: `--var`, `an environment variable`).
pub(super) fn name_values(pairs: &[String], what: &str) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("{what} takes NAME=VALUE, not `{pair}`"))?;
        map.insert(name.to_owned(), value.into());
    }
    Ok(map)
}

/// `KEY=JSON` settings (`--set`): the value is JSON (`{"rate": 10}`, `5`, `true`) or else
/// taken as a string (`--set header=X-Token`); then each of the command's own `options`
/// that was given (they win over `--set`).
pub(super) fn settings(
    pairs: &[String],
    options: impl IntoIterator<Item = (&'static str, Option<Value>)>,
) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in pairs {
        let (key, raw) = pair
            .split_once('=')
            .with_context(|| format!("--set takes KEY=JSON, not `{pair}`"))?;
        if key.is_empty() {
            bail!("--set `{pair}` has no key");
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        map.insert(key.to_owned(), value);
    }
    for (key, value) in options {
        if let Some(value) = value {
            map.insert(key.to_owned(), value);
        }
    }
    Ok(map)
}

/// A body given as `-d TEXT`, `-d @FILE` or `-d @-` (stdin), as bytes.
pub(super) fn body(data: &str) -> anyhow::Result<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("cannot read the body from stdin")?;
            Ok(bytes)
        }
        Some(file) => std::fs::read(Path::new(file))
            .with_context(|| format!("cannot read the body from {file}")),
        None => Ok(data.as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_are_json_or_else_strings() {
        let pairs = [
            r#"throttle={"rate": 10, "burst": 20}"#.into(),
            "timeout_ms=500".into(),
            "header=X-Token".into(),
        ];
        // A command's own options win over `--set`; those not given leave it be.
        let options = [("timeout_ms", Some(json!(700))), ("header", None)];
        let parsed = settings(&pairs, options).expect("valid");
        assert_eq!(
            Value::Object(parsed),
            json!({"throttle": {"rate": 10, "burst": 20}, "timeout_ms": 700, "header": "X-Token"})
        );
        assert!(settings(&["no-equals".into()], []).is_err());
    }

    #[test]
    fn routes_are_method_and_path() {
        assert_eq!(
            split_route("POST /a").expect("ok"),
            ("POST".into(), "/a".into())
        );
        assert_eq!(split_route("/a").expect("ok"), ("GET".into(), "/a".into()));
        assert!(split_route("a").is_err());
    }
}
