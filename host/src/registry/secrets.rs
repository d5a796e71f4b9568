//! A module's secrets: set and deleted through the admin API, stored sealed in the
//! registry (see `crate::secrets`), listed by name only, and opened only to build the
//! sandbox its instances read them from (`wasi:config/store`).

use std::sync::Arc;

use super::{Invalid, Missing, ModuleRecord, Registry, RegistryError};
use crate::config::{MAX_VARIABLE_BYTES, MAX_VARIABLES, ModuleName, check_variable_name};
use crate::secrets::SecretsKey;

impl Registry {
    /// Seals secrets with `key` from now on (the first key given stays).
    pub fn use_secrets_key(&self, key: SecretsKey) {
        let _ = self.secrets_key.set(Arc::new(key));
    }

    fn secrets_key(&self) -> Result<&Arc<SecretsKey>, RegistryError> {
        self.secrets_key.get().ok_or_else(|| {
            RegistryError::Storage("this gateway was started without a secrets key".into())
        })
    }

    /// Sets the secret `secret` of module `name` to `value` (sealed before it is stored).
    pub fn set_secret(
        &self,
        name: &ModuleName,
        secret: &str,
        value: &str,
    ) -> Result<(), RegistryError> {
        check_variable_name(secret).map_err(Invalid::ModuleConfig)?;
        if value.len() > MAX_VARIABLE_BYTES {
            return Err(Invalid::ModuleConfig(format!(
                "a secret is {MAX_VARIABLE_BYTES} bytes at most, not {}",
                value.len()
            ))
            .into());
        }
        let sealed = self
            .secrets_key()?
            .seal(name.as_str(), secret, value)
            .map_err(|e| RegistryError::Storage(e.to_string()))?;
        self.change(|next| {
            let module = next.module_mut(name)?;
            if !module.secrets.contains_key(secret) && module.secrets.len() >= MAX_VARIABLES {
                return Err(Invalid::ModuleConfig(format!(
                    "a module has {MAX_VARIABLES} secrets at most"
                ))
                .into());
            }
            module.secrets.insert(secret.to_owned(), sealed);
            Ok(())
        })
    }

    /// Deletes the secret `secret` of module `name`.
    pub fn delete_secret(&self, name: &ModuleName, secret: &str) -> Result<(), RegistryError> {
        self.change(|next| {
            let module = next.module_mut(name)?;
            match module.secrets.remove(secret) {
                Some(_) => Ok(()),
                None => Err(Missing::Secret {
                    module: name.clone(),
                    secret: secret.to_owned(),
                }
                .into()),
            }
        })
    }

    /// The variables and opened secrets of `module` (a secret shadows a variable of the
    /// same name), as its instances read them; an error if a secret does not open.
    pub fn module_settings(
        &self,
        name: &str,
        module: &ModuleRecord,
    ) -> Result<Vec<(String, String)>, String> {
        let mut settings = module.config.variables.clone();
        if !module.secrets.is_empty() {
            let key = self.secrets_key().map_err(|e| e.to_string())?;
            for (secret, sealed) in &module.secrets {
                let value = key
                    .open(name, secret, sealed)
                    .map_err(|e| format!("secret `{secret}`: {e}"))?;
                settings.insert(secret.clone(), value);
            }
        }
        Ok(settings.into_iter().collect())
    }
}
