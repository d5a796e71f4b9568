//! API keys and usage plans, as API Gateway has them: a key (its secret shown once, kept
//! only as a sha256) belongs to at most one plan; a plan sets a rate limit and a quota per
//! day, week or month for each of its keys.

use super::model::ApiKeyRecord;
use super::{
    Conflict, Invalid, Missing, Registry, RegistryError, RegistryState, Stored, field, sha256_hex,
};
use crate::config::{ModuleName, PlanConfig};

/// A new key: its id and its secret (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The key's id.
    pub id: String,
    /// The secret, to give to the client; only its hash is kept.
    pub secret: String,
}

pub(super) fn random_hex(bytes: usize) -> Result<String, RegistryError> {
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
        ModuleName::new(name).map_err(|m| Invalid::Name(m.replace("module name", "plan name")))?;
        if let Some(throttle) = &plan.throttle {
            throttle.validate().map_err(|m| field("throttle", m))?;
        }
        if plan.quota.is_some_and(|q| q.limit == 0) {
            return Err(field("quota", "limit must be at least 1".into()));
        }
        if let Some(compute) = &plan.compute {
            compute.validate().map_err(|m| field("compute", m))?;
        }
        self.change(|next| {
            next.plans.insert(name.to_owned(), plan.clone());
            Ok(plan)
        })
    }

    /// Deletes a plan no key uses.
    pub fn delete_plan(&self, name: &str) -> Result<(), RegistryError> {
        self.change(|next| {
            let in_use = next
                .keys
                .iter()
                .find(|(_, k)| k.plan.as_deref() == Some(name));
            if let Some((id, _)) = in_use {
                let (thing, user) = (Stored::Plan(name.to_owned()), Stored::Key(id.clone()));
                return Err(Conflict::InUse { thing, user }.into());
            }
            match next.plans.remove(name) {
                Some(_) => Ok(()),
                None => Err(Missing::Plan(name.to_owned()).into()),
            }
        })
    }

    /// Creates a key in `plan`; the secret is returned once.
    pub fn create_key(&self, name: &str, plan: Option<String>) -> Result<NewKey, RegistryError> {
        let id = format!("k_{}", random_hex(8)?);
        let secret = format!("wg_{}", random_hex(24)?);
        self.change(|next| {
            check_plan(next, plan.as_deref())?;
            let key = ApiKeyRecord {
                name: name.to_owned(),
                hash: sha256_hex(secret.as_bytes()),
                plan,
                enabled: true,
                created: now(),
            };
            next.keys.insert(id.clone(), key);
            Ok(NewKey { id, secret })
        })
    }

    /// Changes a key's plan or enables/disables it.
    pub fn update_key(
        &self,
        id: &str,
        plan: Option<Option<String>>,
        enabled: Option<bool>,
    ) -> Result<ApiKeyRecord, RegistryError> {
        self.change(|next| {
            check_plan(next, plan.clone().flatten().as_deref())?;
            let key = key_mut(next, id)?;
            if let Some(plan) = plan {
                key.plan = plan;
            }
            if let Some(enabled) = enabled {
                key.enabled = enabled;
            }
            Ok(key.clone())
        })
    }

    /// Gives a key a new secret; the old one stops working at once.
    pub fn rotate_key(&self, id: &str) -> Result<NewKey, RegistryError> {
        let secret = format!("wg_{}", random_hex(24)?);
        self.change(|next| {
            key_mut(next, id)?.hash = sha256_hex(secret.as_bytes());
            let id = id.to_owned();
            Ok(NewKey { id, secret })
        })
    }

    /// Deletes a key.
    pub fn delete_key(&self, id: &str) -> Result<(), RegistryError> {
        self.change(|next| match next.keys.remove(id) {
            Some(_) => Ok(()),
            None => Err(Missing::Key(id.to_owned()).into()),
        })
    }
}

/// Fails if `plan` is named and does not exist.
fn check_plan(state: &RegistryState, plan: Option<&str>) -> Result<(), RegistryError> {
    match plan {
        Some(plan) if !state.plans.contains_key(plan) => {
            Err(Invalid::UnknownPlan(plan.to_owned()).into())
        }
        _ => Ok(()),
    }
}

/// The key `id`, to change.
fn key_mut<'a>(
    state: &'a mut RegistryState,
    id: &str,
) -> Result<&'a mut ApiKeyRecord, RegistryError> {
    state
        .keys
        .get_mut(id)
        .ok_or_else(|| Missing::Key(id.to_owned()).into())
}
