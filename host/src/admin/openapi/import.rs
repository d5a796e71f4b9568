//! Reading an OpenAPI 3.0 or 3.1 document (JSON or YAML) into the authorizers and routes it
//! declares, every problem named by its JSON pointer. Whether they fit the registry (the
//! modules exist, no route is ambiguous) is `Registry::import_api`'s to say.

use http::Method;
use oas3::spec::{ObjectOrReference, Operation, ParameterIn, SecurityScheme};
use serde_json::{Map, Value};

use super::{
    ANY_METHOD, API_KEY_HEADER, AUTHORIZERS, INTEGRATION, ROUTE_EXTENSIONS, VALIDATE, escape,
};
use crate::config::{AuthorizerConfig, Problem, RouteConfig};

/// What a document declares, each with its JSON pointer.
#[derive(Debug, Default)]
pub struct Declared {
    /// `x-wasmgate-authorizers`.
    pub authorizers: Vec<(String, AuthorizerConfig)>,
    /// The operations, as routes.
    pub routes: Vec<(String, RouteConfig)>,
}

/// Reads `text`: what it declares, and the problems of what could not be read, by JSON
/// pointer; an error if it is not an OpenAPI 3 document at all.
pub fn read_document(text: &str) -> Result<(Declared, Vec<Problem>), Vec<Problem>> {
    let parsed = if text.trim_start().starts_with('{') {
        oas3::from_json(text).map_err(|e| e.to_string())
    } else {
        oas3::from_yaml(text).map_err(|e| e.to_string())
    };
    let spec = parsed.map_err(|e| {
        vec![Problem::new(
            "",
            format!("not an OpenAPI 3 document (JSON or YAML): {e}"),
        )]
    })?;
    if !(spec.openapi.starts_with("3.0.") || spec.openapi.starts_with("3.1.")) {
        return Err(vec![Problem::new(
            "/openapi",
            format!(
                "version `{}`: wasmgate reads OpenAPI 3.0 and 3.1",
                spec.openapi
            ),
        )]);
    }
    let mut problems = Vec::new();
    let mut declared = Declared::default();
    if let Some(authorizers) = spec.extensions.get(AUTHORIZERS) {
        let Value::Object(authorizers) = authorizers else {
            return Err(vec![Problem::new(
                format!("/x-{AUTHORIZERS}"),
                "an object of authorizers by name",
            )]);
        };
        for (name, value) in authorizers {
            let pointer = format!("/x-{AUTHORIZERS}/{}", escape(name));
            match serde_json::from_value::<AuthorizerConfig>(value.clone()) {
                Ok(config) if config.name == *name => declared.authorizers.push((pointer, config)),
                Ok(config) => problems.push(Problem::new(
                    format!("{pointer}/name"),
                    format!(
                        "`{}` under the name `{name}`: they must be the same",
                        config.name
                    ),
                )),
                Err(error) => problems.push(Problem::new(pointer, error.to_string())),
            }
        }
    }
    let api_key_schemes: Vec<String> = spec
        .components
        .iter()
        .flat_map(|components| &components.security_schemes)
        .filter(|(name, _)| !declared.authorizers.iter().any(|(_, a)| &a.name == *name))
        .filter_map(|(name, scheme)| match scheme {
            ObjectOrReference::Object(SecurityScheme::ApiKey {
                name: header,
                location,
                ..
            }) if location == "header" && header.eq_ignore_ascii_case(API_KEY_HEADER) => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect();
    for (path, item) in spec.paths.iter().flatten() {
        let mut operations: Vec<(String, String, Operation)> = item
            .methods()
            .into_iter()
            .map(|(method, operation)| {
                let key = method.as_str().to_ascii_lowercase();
                (key, method.to_string(), operation.clone())
            })
            .collect();
        if let Some(any) = item.extensions.get(ANY_METHOD) {
            match serde_json::from_value::<Operation>(any.clone()) {
                Ok(operation) => {
                    operations.push((format!("x-{ANY_METHOD}"), "ANY".into(), operation))
                }
                Err(error) => problems.push(Problem::new(
                    format!("/paths/{}/x-{ANY_METHOD}", escape(path)),
                    error.to_string(),
                )),
            }
        }
        for (key, method, operation) in operations {
            let pointer = format!("/paths/{}/{key}", escape(path));
            match route(path, &method, &operation, &api_key_schemes) {
                Ok(config) => declared.routes.push((pointer, config)),
                Err((at, message)) => {
                    problems.push(Problem::new(format!("{pointer}{at}"), message))
                }
            }
        }
    }
    Ok((declared, problems))
}

/// One operation as a route; an error's pointer is relative to the operation.
fn route(
    path: &str,
    method: &str,
    operation: &Operation,
    api_key_schemes: &[String],
) -> Result<RouteConfig, (String, String)> {
    if method == Method::TRACE.as_str() {
        return Err((String::new(), "wasmgate does not route TRACE".into()));
    }
    let mut config = match operation.extensions.get(INTEGRATION) {
        Some(Value::Object(integration)) => integration.clone(),
        Some(_) => return Err((format!("/x-{INTEGRATION}"), "an object".into())),
        None => {
            return Err((
                format!("/x-{INTEGRATION}"),
                "missing: say what the route runs (`module`, `proxy` or `mock`)".into(),
            ));
        }
    };
    config.insert("method".into(), Value::String(method.into()));
    config.insert("path".into(), Value::String(path.into()));
    for (field, extension) in ROUTE_EXTENSIONS {
        match operation.extensions.get(extension) {
            Some(Value::Bool(true)) if extension == VALIDATE => {
                config.insert(field.into(), schemas(operation)?);
            }
            Some(Value::Bool(false)) if extension == VALIDATE => {}
            Some(value) => {
                config.insert(field.into(), value.clone());
            }
            None => {}
        }
    }
    security(operation, api_key_schemes, &mut config)?;
    serde_json::from_value(Value::Object(config)).map_err(|e| (String::new(), e.to_string()))
}

/// The operation's parameters and JSON request body as the route's `validate` schemas.
fn schemas(operation: &Operation) -> Result<Value, (String, String)> {
    let mut path = Map::new();
    let mut query = Map::new();
    let mut headers = Map::new();
    for (i, parameter) in operation.parameters.iter().enumerate() {
        let ObjectOrReference::Object(parameter) = parameter else {
            return Err((
                format!("/parameters/{i}"),
                "a $ref parameter: write it inline to have it validated".into(),
            ));
        };
        let schema = parameter
            .schema
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| (format!("/parameters/{i}/schema"), e.to_string()))?;
        let rule = || {
            let mut rule = Map::new();
            if parameter.required == Some(true) {
                rule.insert("required".into(), Value::Bool(true));
            }
            if let Some(schema) = &schema {
                rule.insert("schema".into(), schema.clone());
            }
            Value::Object(rule)
        };
        match parameter.location {
            ParameterIn::Path => {
                path.insert(
                    parameter.name.clone(),
                    schema.clone().unwrap_or(Value::Bool(true)),
                );
            }
            ParameterIn::Query => {
                query.insert(parameter.name.clone(), rule());
            }
            ParameterIn::Header => {
                headers.insert(parameter.name.to_ascii_lowercase(), rule());
            }
            ParameterIn::Cookie => {}
        }
    }
    let mut validate = Map::new();
    for (place, parameters) in [("path", path), ("query", query), ("headers", headers)] {
        if !parameters.is_empty() {
            validate.insert(place.into(), Value::Object(parameters));
        }
    }
    match &operation.request_body {
        Some(ObjectOrReference::Object(body)) => {
            let schema =
                (body.content.get("application/json")).and_then(|media| media.schema.as_ref());
            if let Some(schema) = schema {
                let schema = serde_json::to_value(schema)
                    .map_err(|e| ("/requestBody".to_owned(), e.to_string()))?;
                validate.insert("body".into(), schema);
            }
        }
        Some(ObjectOrReference::Ref { .. }) => {
            return Err((
                "/requestBody".into(),
                "a $ref request body: write it inline to have it validated".into(),
            ));
        }
        None => {}
    }
    Ok(Value::Object(validate))
}

/// The operation's `security` as the route's authorizer, scopes and API key.
fn security(
    operation: &Operation,
    api_key_schemes: &[String],
    config: &mut Map<String, Value>,
) -> Result<(), (String, String)> {
    let requirement = match operation.security.as_slice() {
        [] => return Ok(()),
        [requirement] => requirement,
        _ => {
            return Err((
                "/security".into(),
                "alternative requirements are not supported: list the authorizer and the API key in one object".into(),
            ));
        }
    };
    for (name, scopes) in &requirement.0 {
        if api_key_schemes.contains(name) {
            config.insert("api_key_required".into(), Value::Bool(true));
        } else if config.contains_key("authorizer") {
            return Err((
                "/security/0".into(),
                "a route has one authorizer; this requirement names two".into(),
            ));
        } else {
            config.insert("authorizer".into(), Value::String(name.clone()));
            if !scopes.is_empty() {
                config.insert(
                    "scopes".into(),
                    serde_json::to_value(scopes).unwrap_or_default(),
                );
            }
        }
    }
    Ok(())
}

/// The pointer of a route's `field` (as its validation names it) under the operation at
/// `pointer`.
pub fn field_pointer(pointer: &str, field: &str) -> String {
    let (head, rest) = field.split_once('.').unwrap_or((field, ""));
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!("/{}", rest.replace('.', "/"))
    };
    match head {
        "method" | "path" => pointer.to_owned(),
        "authorizer" | "scopes" => format!("{pointer}/security"),
        "api_key_required" => format!("{pointer}/security"),
        _ => match ROUTE_EXTENSIONS.iter().find(|(name, _)| *name == head) {
            Some((_, extension)) => format!("{pointer}/x-{extension}{rest}"),
            None => format!("{pointer}/x-{INTEGRATION}/{head}{rest}"),
        },
    }
}
