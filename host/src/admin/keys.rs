//! Admin endpoints of usage plans and API keys. A key's secret is returned once, when it
//! is created or rotated; listings never show it (only its hash is stored).

use http::StatusCode;
use serde_json::{Value, json};

use super::endpoints::{Api, found, listed, parse_json};
use super::{ApiError, ApiResult};
use crate::config::PlanConfig;
use crate::gateway::PlanLimits;
use crate::registry::{ApiKeyRecord, Missing, NewKey, RegistryState};

fn key_json(id: &str, key: &ApiKeyRecord) -> Value {
    json!({ "id": id, "name": key.name, "plan": key.plan, "enabled": key.enabled, "created": key.created })
}

fn secret_json(new: &NewKey) -> Value {
    json!({
        "id": new.id,
        "key": new.secret,
        "note": "the key is shown only now: store it; the gateway keeps only its hash",
    })
}

impl Api<'_> {
    pub fn list_plans(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        Ok((StatusCode::OK, json!({ "plans": state.plans })))
    }

    pub async fn put_plan(&self, name: &str, body: &[u8]) -> ApiResult {
        let plan: PlanConfig = parse_json(body)?;
        let (name, plan) = self
            .change_on(name.to_owned(), |registry, name| {
                registry.put_plan(name, plan)
            })
            .await?;
        Ok((StatusCode::OK, json!({ "name": name, "plan": plan })))
    }

    pub async fn delete_plan(&self, name: &str) -> ApiResult {
        let (name, ()) = self
            .change_on(name.to_owned(), |registry, name| registry.delete_plan(name))
            .await?;
        Ok((StatusCode::OK, json!({ "deleted_plan": name })))
    }

    pub async fn list_keys(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        let keys = self.with_quota_use(&state, state.keys.iter()).await;
        listed("keys", keys.into_iter())
    }

    pub async fn get_key(&self, id: &str) -> ApiResult {
        let state = self.gateway.registry().state();
        let key = state.keys.get_key_value(id).into_iter();
        let key = self.with_quota_use(&state, key).await.pop();
        found(key, || Missing::Key(id.to_owned()))
    }

    /// `keys` as JSON, each whose plan has a quota with its use in the current period:
    /// `"quota": {"used", "limit", "period", "resets_at"}`, and a compute quota:
    /// `"compute": {"cpu_ms", "cpu_ms_limit", "memory_gb_s", "memory_gb_s_limit", "period",
    /// "resets_at"}` (`null` while the store the nodes share does not answer).
    async fn with_quota_use<'a>(
        &self,
        state: &RegistryState,
        keys: impl Iterator<Item = (&'a String, &'a ApiKeyRecord)>,
    ) -> Vec<Value> {
        let mut listed: Vec<Value> = Vec::new();
        let mut asked = Vec::new();
        for (id, key) in keys {
            let plan = key.plan.as_ref().and_then(|plan| state.plans.get(plan));
            asked.push(PlanLimits {
                key: id,
                quota: plan.and_then(|plan| plan.quota),
                compute: plan.and_then(|plan| plan.compute),
            });
            listed.push(key_json(id, key));
        }
        let used = self.gateway.plan_use(&asked).await;
        for (n, (json, limits)) in listed.iter_mut().zip(&asked).enumerate() {
            let used = used.as_ref().map(|used| used[n]);
            if limits.quota.is_some() {
                json["quota"] = used.map_or(Value::Null, |used| json!(used.quota));
            }
            if limits.compute.is_some() {
                json["compute"] = used.map_or(Value::Null, |used| json!(used.compute));
            }
        }
        listed
    }

    pub async fn create_key(&self, body: &[u8]) -> ApiResult {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Create {
            name: String,
            plan: Option<String>,
        }
        let new = self
            .change_with(body, |registry, create: Create| {
                registry.create_key(&create.name, create.plan)
            })
            .await?;
        Ok((StatusCode::CREATED, secret_json(&new)))
    }

    pub async fn update_key(&self, id: &str, body: &[u8]) -> ApiResult {
        let update: Value = parse_json(body)?;
        let Value::Object(fields) = update else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the body is a JSON object",
            ));
        };
        let mut plan = None;
        let mut enabled = None;
        for (field, value) in fields {
            match (field.as_str(), value) {
                ("plan", Value::Null) => plan = Some(None),
                ("plan", Value::String(name)) => plan = Some(Some(name)),
                ("enabled", Value::Bool(on)) => enabled = Some(on),
                (other, _) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "`{other}`: a key update sets `plan` (a name or null) and/or `enabled` (a boolean)"
                        ),
                    ));
                }
            }
        }
        let (id, key) = self
            .change_on(id.to_owned(), move |registry, id| {
                registry.update_key(id, plan, enabled)
            })
            .await?;
        Ok((StatusCode::OK, key_json(&id, &key)))
    }

    pub async fn rotate_key(&self, id: &str) -> ApiResult {
        let id = id.to_owned();
        let new = self
            .change(move |registry| registry.rotate_key(&id))
            .await?;
        Ok((StatusCode::OK, secret_json(&new)))
    }

    pub async fn delete_key(&self, id: &str) -> ApiResult {
        let (id, ()) = self
            .change_on(id.to_owned(), |registry, id| registry.delete_key(id))
            .await?;
        Ok((StatusCode::OK, json!({ "deleted_key": id })))
    }
}
