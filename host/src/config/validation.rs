//! A route's request validation as written (`validate = { query = { page = { schema =
//! { type = "integer" } } }, body = { type = "object", required = ["id"] } }`): JSON
//! Schemas for its path, query and header parameters and its JSON body, checked before any
//! guest runs. The schemas are compiled by `crate::validation`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most parameters one route validates, per place.
pub const MAX_VALIDATED_PARAMETERS: usize = 50;

/// Request validation as written.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Path parameters' schemas (their values are always there).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub path: BTreeMap<String, Value>,
    /// Query parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, ParameterRule>,
    /// Request headers (names case-insensitive).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, ParameterRule>,
    /// The schema of a JSON body, which is then required.
    pub body: Option<Value>,
}

/// One query parameter or header.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterRule {
    /// Whether a request must carry it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The schema its value must match (as a string, or as the number or boolean it spells).
    pub schema: Option<Value>,
}
