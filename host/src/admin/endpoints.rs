//! The admin endpoints: registry operations and their JSON. Every change is followed by a
//! swap of the gateway's routes.

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiError, ApiResult};
use crate::config::{ModuleConfig, ModuleName};
use crate::gateway::Gateway;
use crate::registry::{AliasRecord, Missing, ModuleRecord, Registry, RegistryError, RouteRecord};

pub(super) struct Api<'a> {
    pub gateway: &'a std::sync::Arc<Gateway>,
    /// The admin token's name, recorded in the history as who made a change.
    pub actor: Option<std::sync::Arc<str>>,
}

/// The 404 for something that does not exist.
pub(super) fn missing(what: Missing) -> ApiError {
    RegistryError::from(what).into()
}

/// `{"<field>": [items]}`.
pub(super) fn listed(field: &str, items: impl Iterator<Item = Value>) -> ApiResult {
    let items: Vec<Value> = items.collect();
    Ok((StatusCode::OK, json!({ field: items })))
}

/// The item, or 404 naming what is missing.
pub(super) fn found(item: Option<Value>, what: impl FnOnce() -> Missing) -> ApiResult {
    item.map(|item| (StatusCode::OK, item))
        .ok_or_else(|| missing(what()))
}

pub(super) fn module_name(name: &str) -> Result<ModuleName, ApiError> {
    ModuleName::new(name).map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, message))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn module_json(name: &str, module: &ModuleRecord) -> Value {
    let versions: Vec<Value> = module
        .versions
        .iter()
        .map(|(number, v)| {
            json!({
                "version": number,
                "sha256": v.sha256,
                "size": v.size,
                "created": v.created,
                "executor": v.executor,
                "imports": v.interface.as_ref().map(|i| &i.imports),
                "exports": v.interface.as_ref().map(|i| &i.exports),
            })
        })
        .collect();
    json!({
        "name": name,
        "latest": module.latest(),
        "versions": versions,
        "aliases": module.aliases,
        "config": module.config.redacted(),
        "secrets": module.secrets.keys().collect::<Vec<_>>(),
    })
}

pub(super) fn route_json(record: &RouteRecord) -> Value {
    let mut value = json!({ "id": record.id(), "source": record.source });
    if let (Value::Object(map), Ok(Value::Object(fields))) =
        (&mut value, serde_json::to_value(&record.config))
    {
        map.extend(fields);
    }
    value
}

impl Api<'_> {
    /// Runs a blocking registry change off the async thread. When it returns, the gateway
    /// serves the new routes (it rebuilds them on the registry's change notification).
    pub(super) async fn change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&Registry) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let gateway = self.gateway.clone();
        let actor = self.actor.clone();
        tokio::task::spawn_blocking(move || {
            let registry = gateway.registry();
            Ok(match actor {
                Some(actor) => crate::registry::acting_as(&actor, || change(registry))?,
                None => change(registry)?,
            })
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    }

    /// [`Api::change`] with the request's JSON body, parsed first (400 when it is not a
    /// `Body`).
    pub(super) async fn change_with<Body, T>(
        &self,
        body: &[u8],
        change: impl FnOnce(&Registry, Body) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        Body: serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let parsed: Body = parse_json(body)?;
        self.change(move |registry| change(registry, parsed)).await
    }

    /// [`Api::change`] of what `key` names (a module, a plan, a key), which comes back with
    /// the outcome.
    pub(super) async fn change_on<K: Send + 'static, T: Send + 'static>(
        &self,
        key: K,
        change: impl FnOnce(&Registry, &K) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<(K, T), ApiError> {
        self.change(move |registry| Ok((change(registry, &key)?, key)))
            .await
            .map(|(outcome, key)| (key, outcome))
    }

    pub fn list_modules(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        listed(
            "modules",
            state.modules.iter().map(|(n, m)| module_json(n, m)),
        )
    }

    pub fn get_module(&self, name: &str) -> ApiResult {
        let state = self.gateway.registry().state();
        let module = state.modules.get(name).map(|m| module_json(name, m));
        found(module, || Missing::Module(name.to_owned()))
    }

    /// `PUT /modules/{name}/config`: the whole configuration is replaced.
    pub async fn put_module_config(&self, name: &str, body: &[u8]) -> ApiResult {
        self.change_module_config(name, body, Registry::set_module_config)
            .await
    }

    /// `PATCH /modules/{name}/config`: the parts given replace theirs, the rest is kept.
    pub async fn patch_module_config(&self, name: &str, body: &[u8]) -> ApiResult {
        self.change_module_config(name, body, Registry::update_module_config)
            .await
    }

    /// Applies the JSON `body` (a configuration or a patch) to module `name`'s configuration
    /// with `change`; answers the configuration it then has, secrets redacted.
    async fn change_module_config<Change: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        body: &[u8],
        change: fn(&Registry, &ModuleName, Change) -> Result<ModuleConfig, RegistryError>,
    ) -> ApiResult {
        let name = module_name(name)?;
        let given: Change = parse_json(body)?;
        let (name, config) = self
            .change_on(name, move |registry, name| change(registry, name, given))
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "config": config.redacted() }),
        ))
    }

    /// `PUT /modules/{name}/secrets/{secret}`: the raw body is the value (never shown back).
    pub async fn put_secret(&self, name: &str, secret: &str, body: &[u8]) -> ApiResult {
        let name = module_name(name)?;
        let value = std::str::from_utf8(body)
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "a secret's value is UTF-8 text"))?
            .to_owned();
        let secret = secret.to_owned();
        let (name, secret) = self
            .change_on(name, move |registry, name| {
                registry.set_secret(name, &secret, &value).map(|()| secret)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "secret": secret, "stored": true }),
        ))
    }

    /// `DELETE /modules/{name}/secrets/{secret}`.
    pub async fn delete_secret(&self, name: &str, secret: &str) -> ApiResult {
        let name = module_name(name)?;
        let secret = secret.to_owned();
        let (name, secret) = self
            .change_on(name, move |registry, name| {
                registry.delete_secret(name, &secret).map(|()| secret)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "deleted_secret": secret }),
        ))
    }

    pub async fn delete_version(&self, name: &str, version: &str) -> ApiResult {
        let name = module_name(name)?;
        let number: u32 = version.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{version}` is not a version number"),
            )
        })?;
        let (name, ()) = self
            .change_on(name, move |registry, name| {
                registry.delete_version(name, number)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "deleted_version": number }),
        ))
    }

    pub async fn put_alias(&self, name: &str, alias: &str, body: &[u8]) -> ApiResult {
        let name = module_name(name)?;
        let mut body: Value = parse_json(body)?;
        let approve = match body
            .as_object_mut()
            .and_then(|o| o.remove("approve_capabilities"))
        {
            None => false,
            Some(Value::Bool(approve)) => approve,
            Some(_) => {
                let message = "`approve_capabilities` is true or false";
                return Err(ApiError::new(StatusCode::BAD_REQUEST, message));
            }
        };
        let record: AliasRecord = serde_json::from_value(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
        })?;
        let ((name, alias), record) = self
            .change_on((name, alias.to_owned()), move |registry, (name, alias)| {
                registry.set_alias(name, alias, record, approve)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "alias": alias, "version": record.version, "canary": record.canary, "variables": record.variables }),
        ))
    }

    pub async fn delete_alias(&self, name: &str, alias: &str) -> ApiResult {
        let name = module_name(name)?;
        let ((name, alias), ()) = self
            .change_on((name, alias.to_owned()), |registry, (name, alias)| {
                registry.delete_alias(name, alias)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "deleted_alias": alias }),
        ))
    }

    pub fn list_routes(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        listed("routes", state.routes.iter().map(route_json))
    }

    pub fn get_route(&self, id: &str) -> ApiResult {
        let state = self.gateway.registry().state();
        let route = state.routes.iter().find(|r| r.id() == id).map(route_json);
        found(route, || Missing::Route(id.to_owned()))
    }

    pub async fn put_route(&self, body: &[u8]) -> ApiResult {
        let record = self.change_with(body, Registry::put_route).await?;
        Ok((StatusCode::OK, route_json(&record)))
    }

    pub fn route_stats(&self, id: &str) -> ApiResult {
        let state = self.gateway.registry().state();
        if !state.routes.iter().any(|r| r.id() == id) {
            return Err(missing(Missing::Route(id.to_owned())));
        }
        let stats = self.gateway.route_stats(id).unwrap_or_else(
            || json!({ "in_flight": 0, "queued": 0, "throttled": 0, "rejected": 0 }),
        );
        Ok((StatusCode::OK, json!({ "id": id, "stats": stats })))
    }

    /// Forgets the responses route `id` keeps: all, or those for `?path=…`.
    pub fn invalidate_cache(&self, id: &str, query: Option<&str>) -> ApiResult {
        let state = self.gateway.registry().state();
        if !state.routes.iter().any(|r| r.id() == id) {
            return Err(missing(Missing::Route(id.to_owned())));
        }
        let path = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(name, _)| name == "path")
            .map(|(_, path)| path.into_owned());
        self.gateway
            .response_cache()
            .invalidate(id, path.as_deref());
        Ok((
            StatusCode::OK,
            json!({ "id": id, "path": path, "invalidated": true }),
        ))
    }

    pub fn get_gateway(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        Ok((
            StatusCode::OK,
            json!({ "throttle": state.gateway.throttle, "cors": state.gateway.cors }),
        ))
    }

    pub async fn put_gateway(&self, body: &[u8]) -> ApiResult {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Settings {
            throttle: Option<crate::config::ThrottleConfig>,
            cors: Option<crate::config::CorsConfig>,
        }
        let settings = self
            .change_with(body, |registry, settings: Settings| {
                registry.set_gateway_settings(settings.throttle, settings.cors)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "throttle": settings.throttle, "cors": settings.cors }),
        ))
    }

    pub fn list_authorizers(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        listed(
            "authorizers",
            state
                .authorizers
                .values()
                .map(|a| json!(a.config.redacted())),
        )
    }

    pub fn get_authorizer(&self, name: &str) -> ApiResult {
        let state = self.gateway.registry().state();
        let authorizer = state
            .authorizers
            .get(name)
            .map(|a| json!(a.config.redacted()));
        found(authorizer, || Missing::Authorizer(name.to_owned()))
    }

    /// Makes an authorizer's shadow live.
    pub async fn promote_shadow(&self, name: &str) -> ApiResult {
        let name = name.to_owned();
        let record = self
            .change(move |registry| registry.promote_shadow(&name))
            .await?;
        Ok((StatusCode::OK, json!(record.config.redacted())))
    }

    pub async fn put_authorizer(&self, body: &[u8]) -> ApiResult {
        let record = self.change_with(body, Registry::put_authorizer).await?;
        Ok((StatusCode::OK, json!(record.config.redacted())))
    }

    pub async fn delete_authorizer(&self, name: &str) -> ApiResult {
        let name = name.to_owned();
        let removed = self
            .change(move |registry| registry.delete_authorizer(&name))
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "deleted": removed.config.redacted() }),
        ))
    }

    pub async fn delete_route(&self, id: &str) -> ApiResult {
        let id = id.to_owned();
        let removed = self
            .change(move |registry| registry.delete_route(&id))
            .await?;
        Ok((StatusCode::OK, json!({ "deleted": route_json(&removed) })))
    }
}
