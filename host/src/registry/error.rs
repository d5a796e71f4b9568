//! Registry errors, each with the HTTP status the admin API answers it with.

use http::StatusCode;

use crate::runtime::LoadError;

/// Why a registry operation failed. Nothing stored changes when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The uploaded bytes are not a usable handler.
    #[error(transparent)]
    InvalidModule(#[from] LoadError),
    /// Compiling took longer than allowed.
    #[error("compiling the module took longer than {0} s")]
    CompileTimeout(u64),
    /// A name, route or value in the request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The module, version, alias or route does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with what is stored (e.g. deleting a version still in use).
    #[error("{0}")]
    Conflict(String),
    /// The data dir could not be read or written.
    #[error("storage: {0}")]
    Storage(String),
}

impl RegistryError {
    /// The admin API's status for it.
    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::InvalidModule(_) | RegistryError::Invalid(_) => StatusCode::BAD_REQUEST,
            RegistryError::CompileTimeout(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::Conflict(_) => StatusCode::CONFLICT,
            RegistryError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(error: std::io::Error) -> Self {
        RegistryError::Storage(error.to_string())
    }
}
