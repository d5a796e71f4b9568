//! The live routes and authorizers as an OpenAPI 3.1 document. The same registry always
//! gives the same document (paths and methods sorted, JSON objects sorted), so
//! export → import → export is byte-identical.

use serde_json::{Map, Value, json};

use super::{
    ANY_METHOD, API_KEY_HEADER, API_KEY_SCHEME, AUTHORIZERS, INTEGRATION, ROUTE_EXTENSIONS,
};
use crate::config::AuthorizerType;
use crate::registry::{RegistryState, RouteRecord};
use crate::routing::MethodFilter;

/// The document of `state`'s routes and authorizers.
pub fn export(state: &RegistryState) -> Result<oas3::Spec, serde_json::Error> {
    let mut paths = Map::new();
    let mut uses_api_keys = false;
    for route in &state.routes {
        let spec = route.spec();
        let item = paths
            .entry(spec.template.as_str().to_owned())
            .or_insert_with(|| json!({}));
        let method = match &spec.method {
            MethodFilter::Any => format!("x-{ANY_METHOD}"),
            MethodFilter::One(method) => method.as_str().to_ascii_lowercase(),
        };
        uses_api_keys |= route.config.api_key_required == Some(true);
        item[method] = operation(route);
    }
    let mut schemes = Map::new();
    if uses_api_keys {
        schemes.insert(
            API_KEY_SCHEME.into(),
            json!({ "type": "apiKey", "in": "header", "name": API_KEY_HEADER }),
        );
    }
    let mut authorizers = Map::new();
    for (name, authorizer) in &state.authorizers {
        let config = &authorizer.config;
        let scheme = match config.kind {
            AuthorizerType::Jwt => {
                json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" })
            }
            _ => {
                let header = config.header.as_deref().unwrap_or("Authorization");
                json!({ "type": "apiKey", "in": "header", "name": header })
            }
        };
        schemes.insert(name.clone(), scheme);
        // Secrets stay in the registry: an import where the authorizer exists keeps its own.
        authorizers.insert(name.clone(), serde_json::to_value(config.redacted())?);
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": { "title": "wasmgate", "version": "1" },
        "paths": paths,
    });
    if !schemes.is_empty() {
        document["components"] = json!({ "securitySchemes": schemes });
    }
    if !authorizers.is_empty() {
        document[format!("x-{AUTHORIZERS}")] = Value::Object(authorizers);
    }
    serde_json::from_value(document)
}

/// One route as an operation.
fn operation(route: &RouteRecord) -> Value {
    let mut config = match serde_json::to_value(&route.config) {
        Ok(Value::Object(config)) => config,
        _ => Map::new(),
    };
    for field in ["method", "path"] {
        config.remove(field);
    }
    let authorizer = config.remove("authorizer");
    let scopes = config.remove("scopes").unwrap_or_else(|| json!([]));
    let api_key = config.remove("api_key_required") == Some(Value::Bool(true));
    let parameters: Vec<Value> = (route.spec().template.param_names().iter())
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let mut operation = json!({
        "operationId": route.id(),
        "responses": { "default": { "description": "what the integration answers" } },
    });
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    let mut requirement = Map::new();
    if let Some(Value::String(name)) = authorizer {
        requirement.insert(name, scopes);
    }
    if api_key {
        requirement.insert(API_KEY_SCHEME.into(), json!([]));
    }
    if !requirement.is_empty() {
        operation["security"] = json!([requirement]);
    }
    for (field, extension) in ROUTE_EXTENSIONS {
        if let Some(value) = config.remove(field) {
            operation[format!("x-{extension}")] = value;
        }
    }
    operation[format!("x-{INTEGRATION}")] = Value::Object(config);
    operation
}
