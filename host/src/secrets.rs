//! Secrets at rest: a module's secrets are stored sealed (ChaCha20-Poly1305, a fresh
//! random nonce each, bound to the module and the secret's name as associated data, so a
//! sealed value cannot be moved to another secret), under a key kept outside the data dir.
//! Whoever reads the data dir (or the Redis store) without the key learns the secrets'
//! names only.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};

/// A sealed secret, as stored: its nonce and ciphertext (with the tag), in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The 12-byte nonce.
    pub nonce: String,
    /// The ciphertext and its 16-byte tag.
    pub ciphertext: String,
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The key file could not be read, made or trusted.
    #[error("the secrets key {}: {message}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A sealed value did not open: another key, or tampered with.
    #[error("a sealed secret does not open with this key (another key, or changed on disk)")]
    Open,
}

/// The key file's contents: 32 random bytes, in hex.
const KEY_BYTES: usize = 32;

/// The sealing key, read from its file (or made there, mode 0600) the first time a secret
/// is sealed or opened.
pub struct SecretsKey {
    path: PathBuf,
    cipher: Mutex<Option<ChaCha20Poly1305>>,
}

impl SecretsKey {
    /// The key at `path` (not read yet).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        SecretsKey {
            path: path.into(),
            cipher: Mutex::new(None),
        }
    }

    /// Where the key is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn key_error(&self, message: impl std::fmt::Display) -> SecretsError {
        SecretsError::Key {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    /// `msg` sealed (with `seal`) or opened with the key, loaded or made first, and bound to
    /// the secret `name` of `module`.
    fn crypt(
        &self,
        seal: bool,
        nonce: [u8; 12],
        msg: &[u8],
        (module, name): (&str, &str),
    ) -> Result<Vec<u8>, SecretsError> {
        let mut cipher = self.cipher.lock().unwrap_or_else(|p| p.into_inner());
        if cipher.is_none() {
            *cipher = Some(self.load_or_make()?);
        }
        let Some(cipher) = cipher.as_ref() else {
            return Err(self.key_error("not loaded"));
        };
        let aad = associated(module, name);
        let (nonce, payload) = (Nonce::from(nonce), Payload { msg, aad: &aad });
        let done = match seal {
            true => cipher.encrypt(&nonce, payload),
            false => cipher.decrypt(&nonce, payload),
        };
        done.map_err(|_| SecretsError::Open)
    }

    fn load_or_make(&self) -> Result<ChaCha20Poly1305, SecretsError> {
        let hex_key = match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().to_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_BYTES];
                getrandom::fill(&mut key).map_err(|e| self.key_error(e))?;
                let text = hex::encode(key);
                if let Some(folder) = self.path.parent() {
                    std::fs::create_dir_all(folder).map_err(|e| self.key_error(e))?;
                }
                write_private(&self.path, &text).map_err(|e| self.key_error(e))?;
                tracing::info!(path = %self.path.display(), "secrets key generated");
                text
            }
            Err(error) => return Err(self.key_error(error)),
        };
        let key = hex::decode(&hex_key)
            .ok()
            .filter(|key| key.len() == KEY_BYTES)
            .ok_or_else(|| self.key_error(format!("not {KEY_BYTES} bytes in hex")))?;
        ChaCha20Poly1305::new_from_slice(&key).map_err(|e| self.key_error(e))
    }

    /// Seals `plaintext` as the secret `name` of `module`.
    pub fn seal(&self, module: &str, name: &str, plaintext: &str) -> Result<Sealed, SecretsError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| self.key_error(e))?;
        let ciphertext = self.crypt(true, nonce, plaintext.as_bytes(), (module, name))?;
        Ok(Sealed {
            nonce: BASE64.encode(nonce),
            ciphertext: BASE64.encode(ciphertext),
        })
    }

    /// The plaintext of the secret `name` of `module`.
    pub fn open(&self, module: &str, name: &str, sealed: &Sealed) -> Result<String, SecretsError> {
        let nonce: [u8; 12] = (BASE64.decode(&sealed.nonce).ok())
            .and_then(|nonce| nonce.try_into().ok())
            .ok_or(SecretsError::Open)?;
        let ciphertext = (BASE64.decode(&sealed.ciphertext)).map_err(|_| SecretsError::Open)?;
        let plaintext = self.crypt(false, nonce, &ciphertext, (module, name))?;
        String::from_utf8(plaintext).map_err(|_| SecretsError::Open)
    }
}

/// The associated data binding a sealed value to its place: `module \0 name`.
fn associated(module: &str, name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(module.len() + name.len() + 1);
    aad.extend_from_slice(module.as_bytes());
    aad.push(0);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Writes `text` to a new file at `path` readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_place_and_with_their_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SecretsKey::at(dir.path().join("keys/secrets.key"));
        let sealed = key.seal("m", "TOKEN", "s3cret").expect("seal");
        assert!(!sealed.ciphertext.contains("s3cret"));
        assert_eq!(key.open("m", "TOKEN", &sealed).expect("open"), "s3cret");
        // Moved to another secret or module, it does not open.
        assert!(key.open("m", "OTHER", &sealed).is_err());
        assert!(key.open("n", "TOKEN", &sealed).is_err());
        // The key was made private, and is read back by a new instance.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key.path())
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = SecretsKey::at(key.path());
        assert_eq!(again.open("m", "TOKEN", &sealed).expect("open"), "s3cret");
        // Another key does not open it.
        let other = SecretsKey::at(dir.path().join("other.key"));
        assert!(other.open("m", "TOKEN", &sealed).is_err());
    }
}
