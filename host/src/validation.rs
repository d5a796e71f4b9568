//! Request validation: a route's `validate` schemas (`config/validation.rs`) compiled once,
//! when the route enters the registry, into a [`RequestValidator`] that checks a request's
//! path, query and header parameters and its JSON body before any guest runs, naming each
//! violation by a JSON pointer (`/query/page`, `/body/items/0/id`). Schemas are JSON Schema
//! (draft 2020-12 unless they say otherwise), checked by the `jsonschema` crate.

use serde_json::Value;

use crate::config::{ParameterRule, Problem, ValidationConfig};

/// Most violations reported for one request.
const MAX_VIOLATIONS: usize = 20;

/// One way a request does not match its route's schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `/path/id`, `/query/page`, `/headers/x-tenant`, `/body/…`.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// A route's compiled schemas.
pub struct RequestValidator {
    path: Vec<(String, jsonschema::Validator)>,
    query: Vec<(String, bool, Option<jsonschema::Validator>)>,
    headers: Vec<(http::HeaderName, bool, Option<jsonschema::Validator>)>,
    body: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestValidator").finish_non_exhaustive()
    }
}

impl RequestValidator {
    /// Compiles `config`; each problem's key is `validate.{place}.{name}` (or
    /// `validate.body`).
    pub fn compile(config: &ValidationConfig) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut compile = |key: String, schema: &Value| match jsonschema::validator_for(schema) {
            Ok(validator) => Some(validator),
            Err(error) => {
                problems.push(Problem::new(
                    key,
                    format!("not a valid JSON Schema: {error}"),
                ));
                None
            }
        };
        let max = crate::config::MAX_VALIDATED_PARAMETERS;
        let mut too_many = Vec::new();
        for (place, count) in [
            ("path", config.path.len()),
            ("query", config.query.len()),
            ("headers", config.headers.len()),
        ] {
            if count > max {
                too_many.push(Problem::new(
                    format!("validate.{place}"),
                    format!("at most {max} parameters"),
                ));
            }
        }
        let path = (config.path.iter())
            .filter_map(|(name, schema)| {
                Some((
                    name.clone(),
                    compile(format!("validate.path.{name}"), schema)?,
                ))
            })
            .collect();
        let mut rule = |place: &str, name: &str, rule: &ParameterRule| {
            let schema = match &rule.schema {
                Some(schema) => Some(compile(format!("validate.{place}.{name}"), schema)?),
                None => None,
            };
            Some((rule.required, schema))
        };
        let query = (config.query.iter())
            .filter_map(|(name, r)| {
                let (required, schema) = rule("query", name, r)?;
                Some((name.clone(), required, schema))
            })
            .collect();
        let mut headers = Vec::new();
        let mut bad_headers = Vec::new();
        for (name, r) in &config.headers {
            let Ok(header) = http::HeaderName::from_bytes(name.as_bytes()) else {
                bad_headers.push(Problem::new(
                    format!("validate.headers.{name}"),
                    "not a header name",
                ));
                continue;
            };
            if let Some((required, schema)) = rule("headers", name, r) {
                headers.push((header, required, schema));
            }
        }
        let body = config
            .body
            .as_ref()
            .and_then(|schema| compile("validate.body".into(), schema));
        problems.extend(too_many);
        problems.extend(bad_headers);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RequestValidator {
            path,
            query,
            headers,
            body,
        })
    }

    /// Whether the body must be read (and be JSON) to be checked.
    pub fn checks_body(&self) -> bool {
        self.body.is_some()
    }

    /// The violations of a request's parameters: `path` (decoded), its raw `query`, its
    /// headers.
    pub fn check_parameters(
        &self,
        path: &[(String, String)],
        query: Option<&str>,
        headers: &http::HeaderMap,
    ) -> Vec<Violation> {
        let mut violations = Vec::new();
        for (name, validator) in &self.path {
            if let Some((_, value)) = path.iter().find(|(param, _)| param == name) {
                check_text(validator, value, &format!("/path/{name}"), &mut violations);
            }
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        for (name, required, validator) in &self.query {
            let pointer = format!("/query/{name}");
            let values: Vec<&str> = (pairs.iter())
                .filter(|(param, _)| param == name)
                .map(|(_, value)| value.as_str())
                .collect();
            if values.is_empty() && *required {
                violations.push(missing(pointer.clone()));
            }
            for value in values {
                if let Some(validator) = validator {
                    check_text(validator, value, &pointer, &mut violations);
                }
            }
        }
        for (name, required, validator) in &self.headers {
            let pointer = format!("/headers/{name}");
            let values = headers.get_all(name);
            if values.iter().next().is_none() && *required {
                violations.push(missing(pointer.clone()));
            }
            for value in values {
                match (validator, value.to_str()) {
                    (Some(validator), Ok(text)) => {
                        check_text(validator, text, &pointer, &mut violations)
                    }
                    (Some(_), Err(_)) => violations.push(Violation {
                        pointer: pointer.clone(),
                        message: "not visible ASCII".into(),
                    }),
                    (None, _) => {}
                }
            }
        }
        violations.truncate(MAX_VIOLATIONS);
        violations
    }

    /// The violations of a JSON body (`body`: its bytes).
    pub fn check_body(&self, body: &[u8]) -> Vec<Violation> {
        let Some(validator) = &self.body else {
            return Vec::new();
        };
        let instance: Value = match serde_json::from_slice(body) {
            Ok(instance) => instance,
            Err(error) => {
                return vec![Violation {
                    pointer: "/body".into(),
                    message: format!("not JSON: {error}"),
                }];
            }
        };
        validator
            .iter_errors(&instance)
            .take(MAX_VIOLATIONS)
            .map(|error| Violation {
                pointer: format!("/body{}", error.instance_path().as_str()),
                message: error.to_string(),
            })
            .collect()
    }
}

fn missing(pointer: String) -> Violation {
    Violation {
        pointer,
        message: "required, and missing".into(),
    }
}

/// Checks a parameter's text: valid if the text matches as a string, or as the number,
/// boolean or null it spells (`?page=2` against `{"type": "integer"}`).
fn check_text(
    validator: &jsonschema::Validator,
    text: &str,
    pointer: &str,
    violations: &mut Vec<Violation>,
) {
    let as_string = Value::String(text.to_owned());
    if validator.is_valid(&as_string) {
        return;
    }
    if let Ok(spelled @ (Value::Number(_) | Value::Bool(_) | Value::Null)) =
        serde_json::from_str::<Value>(text)
        && validator.is_valid(&spelled)
    {
        return;
    }
    let message = validator.iter_errors(&as_string).next().map_or_else(
        || "does not match its schema".to_owned(),
        |error| error.to_string(),
    );
    violations.push(Violation {
        pointer: pointer.to_owned(),
        message,
    });
}
