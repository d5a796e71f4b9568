//! The API as an OpenAPI 3.1 document, both ways: `GET /apis` writes the live routes and
//! authorizers as one (`export.rs`), `POST /apis` creates them from one (`import.rs`), all
//! or nothing, every problem named by its JSON pointer. Documents are read and written with
//! the `oas3` crate; the gateway's settings ride in extensions, in the spirit of API
//! Gateway's `x-amazon-apigateway-integration`:
//!
//! | where | extension | what |
//! |---|---|---|
//! | operation | `x-wasmgate-integration` | `module` (`name@alias`), `proxy` or `mock`, and the route's limits (`timeout_ms`, `memory_mb`, …) |
//! | operation | `x-wasmgate-throttle`, `x-wasmgate-client-throttle` | the route's rate limits |
//! | operation | `x-wasmgate-cors`, `x-wasmgate-cache` | its CORS policy and response cache |
//! | operation | `x-wasmgate-validate` | request validation: `true` (the operation's parameters and JSON body), or the schemas |
//! | path item | `x-wasmgate-any-method` | an operation for every method (`ANY`) |
//! | document | `x-wasmgate-authorizers` | the authorizers by name, as `PUT /authorizers` takes them |
//!
//! An operation's `security` names its authorizer (with the scopes a JWT must carry) and,
//! through an `apiKey` scheme in the `x-api-key` header, that it needs an API key.

mod export;
mod import;

pub use export::export;
pub use import::{field_pointer, read_document};

/// The header of API keys, as the `apiKey` security scheme names it.
const API_KEY_HEADER: &str = "x-api-key";
/// The name of that scheme in exported documents.
const API_KEY_SCHEME: &str = "api_key";
/// Route fields that have an extension of their own (the others go into
/// `x-wasmgate-integration`), with it.
const ROUTE_EXTENSIONS: [(&str, &str); 5] = [
    ("throttle", "wasmgate-throttle"),
    ("client_throttle", "wasmgate-client-throttle"),
    ("cors", "wasmgate-cors"),
    ("cache", "wasmgate-cache"),
    ("validate", VALIDATE),
];
/// The operation extension of request validation: the schemas as an object (as `validate`
/// in the manifest), or `true` for the operation's own parameters and JSON request body.
const VALIDATE: &str = "wasmgate-validate";
/// The path item extension of an `ANY` route's operation (without `x-`, as `oas3` keeps
/// extension names).
const ANY_METHOD: &str = "wasmgate-any-method";
/// The operation extension of the integration.
const INTEGRATION: &str = "wasmgate-integration";
/// The document extension of the authorizers.
const AUTHORIZERS: &str = "wasmgate-authorizers";

/// `segment` escaped for a JSON pointer (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
