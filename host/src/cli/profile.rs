//! CLI profiles: `~/.config/wasmgate/config.toml` names admin APIs, so `--profile prod`
//! stands for a URL and a token file (and, if one is needed to reach it, a proxy).
//!
//! ```toml
//! [profiles.default]            # used when no --profile is given
//! admin_url = "http://127.0.0.1:9080"
//!
//! [profiles.prod]
//! admin_url = "https://gateway-admin.internal:9443"
//! admin_token_file = "prod-token"   # relative to this file's folder
//! proxy = "http://proxy.internal:3128"
//! ```
//!
//! Flags and environment variables win over a profile's values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile: how to reach one admin API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Profile {
    /// The admin API's URL.
    pub admin_url: Option<String>,
    /// The file holding its token (relative to the configuration file's folder).
    pub admin_token_file: Option<PathBuf>,
    /// An HTTP proxy to reach it through.
    pub proxy: Option<String>,
}

/// Where the configuration file is: `$WASMGATE_CONFIG`, else
/// `$XDG_CONFIG_HOME/wasmgate/config.toml`, else `~/.config/wasmgate/config.toml`.
fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WASMGATE_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(std::env::var_os("HOME")?).join(".config")))?;
    Some(base.join("wasmgate").join("config.toml"))
}

/// The profile `name` (an error if there is none of that name), or without a name the
/// `default` profile when there is one.
pub(super) fn load(name: Option<&str>) -> anyhow::Result<Profile> {
    let Some(path) = config_path() else {
        return match name {
            Some(name) => {
                bail!("no profile `{name}`: HOME is not set, so there is no configuration file")
            }
            None => Ok(Profile::default()),
        };
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && name.is_none() => {
            return Ok(Profile::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let file: ConfigFile =
        toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
    let wanted = name.unwrap_or("default");
    let Some(mut profile) = file.profiles.get(wanted).cloned() else {
        if name.is_none() {
            return Ok(Profile::default());
        }
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        bail!(
            "no profile `{wanted}` in {} (it has: {})",
            path.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    profile.admin_token_file = profile.admin_token_file.map(|file| folder.join(file));
    Ok(profile)
}
