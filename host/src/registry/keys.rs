//! API keys and usage plans, as API Gateway has them: a key (its secret shown once, kept
//! only as a sha256) belongs to at most one plan; a plan sets a rate limit and a quota per
//! day, week or month for each of its keys.

use super::model::ApiKeyRecord;
use super::{Registry, RegistryError, sha256_hex};
use crate::config::{ModuleName, PlanConfig};

/// A new key: its id and its secret (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The key's id.
    pub id: String,
    /// The secret, to give to the client; only its hash is kept.
    pub secret: String,
}

fn random_hex(bytes: usize) -> Result<String, RegistryError> {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).map_err(|e| RegistryError::Storage(e.to_string()))?;
    Ok(hex::encode(random))
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Registry {
    /// Creates or replaces a usage plan.
    pub fn put_plan(&self, name: &str, plan: PlanConfig) -> Result<PlanConfig, RegistryError> {
        ModuleName::new(name)
            .map_err(|m| RegistryError::Invalid(m.replace("module name", "plan name")))?;
        if let Some(throttle) = &plan.throttle {
            throttle
                .validate()
                .map_err(|m| RegistryError::Invalid(format!("throttle: {m}")))?;
        }
        if plan.quota.is_some_and(|q| q.limit == 0) {
            return Err(RegistryError::Invalid(
                "quota: limit must be at least 1".into(),
            ));
        }
        let mut state = self.lock();
        let mut next = state.clone();
        next.plans.insert(name.to_owned(), plan.clone());
        self.commit(&mut state, next)?;
        Ok(plan)
    }

    /// Deletes a plan no key uses.
    pub fn delete_plan(&self, name: &str) -> Result<(), RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        if let Some((id, _)) = next
            .keys
            .iter()
            .find(|(_, k)| k.plan.as_deref() == Some(name))
        {
            return Err(RegistryError::Conflict(format!(
                "plan `{name}` is used by key `{id}`"
            )));
        }
        if next.plans.remove(name).is_none() {
            return Err(RegistryError::NotFound(format!("no plan `{name}`")));
        }
        self.commit(&mut state, next)
    }

    /// Creates a key in `plan`; the secret is returned once.
    pub fn create_key(&self, name: &str, plan: Option<String>) -> Result<NewKey, RegistryError> {
        let id = format!("k_{}", random_hex(8)?);
        let secret = format!("wg_{}", random_hex(24)?);
        let mut state = self.lock();
        let mut next = state.clone();
        if let Some(plan) = &plan
            && !next.plans.contains_key(plan)
        {
            return Err(RegistryError::Invalid(format!("no plan `{plan}`")));
        }
        next.keys.insert(
            id.clone(),
            ApiKeyRecord {
                name: name.to_owned(),
                hash: sha256_hex(secret.as_bytes()),
                plan,
                enabled: true,
                created: now(),
            },
        );
        self.commit(&mut state, next)?;
        Ok(NewKey { id, secret })
    }

    /// Changes a key's plan or enables/disables it.
    pub fn update_key(
        &self,
        id: &str,
        plan: Option<Option<String>>,
        enabled: Option<bool>,
    ) -> Result<ApiKeyRecord, RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        if let Some(Some(plan)) = &plan
            && !next.plans.contains_key(plan)
        {
            return Err(RegistryError::Invalid(format!("no plan `{plan}`")));
        }
        let key = next
            .keys
            .get_mut(id)
            .ok_or_else(|| RegistryError::NotFound(format!("no key `{id}`")))?;
        if let Some(plan) = plan {
            key.plan = plan;
        }
        if let Some(enabled) = enabled {
            key.enabled = enabled;
        }
        let key = key.clone();
        self.commit(&mut state, next)?;
        Ok(key)
    }

    /// Gives a key a new secret; the old one stops working at once.
    pub fn rotate_key(&self, id: &str) -> Result<NewKey, RegistryError> {
        let secret = format!("wg_{}", random_hex(24)?);
        let mut state = self.lock();
        let mut next = state.clone();
        let key = next
            .keys
            .get_mut(id)
            .ok_or_else(|| RegistryError::NotFound(format!("no key `{id}`")))?;
        key.hash = sha256_hex(secret.as_bytes());
        self.commit(&mut state, next)?;
        Ok(NewKey {
            id: id.to_owned(),
            secret,
        })
    }

    /// Deletes a key.
    pub fn delete_key(&self, id: &str) -> Result<(), RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        if next.keys.remove(id).is_none() {
            return Err(RegistryError::NotFound(format!("no key `{id}`")));
        }
        self.commit(&mut state, next)
    }
}
