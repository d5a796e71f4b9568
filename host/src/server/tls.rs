//! TLS for a server's listener (`wasmgate up --tls-cert FILE --tls-key FILE`): the
//! certificate chain and private key from PEM files, rustls with ring, TLS 1.2 and 1.3, and
//! ALPN offering `h2` and `http/1.1`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The certificate file cannot be read or is not PEM.
    #[error("cannot read the TLS certificate chain {}: {source}", path.display())]
    Certificates {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{} holds no PEM certificate", .0.display())]
    NoCertificate(PathBuf),
    /// The key file cannot be read, is not PEM or holds no private key.
    #[error("cannot read the TLS private key {}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The key file holds an encrypted key, which needs a passphrase.
    #[error("{}: the TLS private key is encrypted; give an unencrypted one (e.g. `openssl pkey -in KEY -out KEY.plain`)", .0.display())]
    EncryptedKey(PathBuf),
    /// rustls refused the pair (e.g. a key of an unsupported type, or not the
    /// certificate's).
    #[error("cannot use this TLS certificate and key: {0}")]
    Rejected(rustls::Error),
}

/// The server settings for the certificate chain in `certificate` and the key in `key`.
pub fn server_config(
    certificate: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsSetupError::Certificates {
            path: certificate.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsSetupError::NoCertificate(certificate.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| {
        let encrypted = std::fs::read(key)
            .is_ok_and(|pem| pem.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY"));
        if encrypted {
            TlsSetupError::EncryptedKey(key.to_owned())
        } else {
            TlsSetupError::Key {
                path: key.to_owned(),
                source,
            }
        }
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(TlsSetupError::Rejected)?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(TlsSetupError::Rejected)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
