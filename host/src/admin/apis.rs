//! Admin endpoints of whole APIs as OpenAPI documents: `GET /apis` (the live routes and
//! authorizers) and `POST /apis` (create or replace those a document declares, all or
//! nothing). See `openapi/`.

use http::StatusCode;
use serde_json::json;

use super::endpoints::Api;
use super::openapi;
use super::{ApiError, ApiResult};
use crate::registry::{Invalid, RegistryError};

impl Api<'_> {
    pub fn get_apis(&self) -> ApiResult {
        let state = self.gateway.registry().state();
        let document = openapi::export(&state)
            .and_then(|spec| serde_json::to_value(&spec))
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok((StatusCode::OK, document))
    }

    pub async fn post_apis(&self, body: &[u8]) -> ApiResult {
        let text = std::str::from_utf8(body).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "the document is not UTF-8 text")
        })?;
        let (declared, found) = openapi::read_document(text)
            .map_err(|problems| RegistryError::from(Invalid::Fields(problems)))?;
        let imported = self
            .change(move |registry| {
                registry.import_api(
                    declared.authorizers,
                    declared.routes,
                    &openapi::field_pointer,
                    found,
                )
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "authorizers": imported.authorizers, "routes": imported.routes }),
        ))
    }
}
