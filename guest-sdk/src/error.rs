//! [`Error`]: what a handler returns when it cannot answer normally.

use crate::response::{IntoResponse, Response};

/// An error a handler returns: an HTTP status and a message, answered as
/// `{"message": "..."}` JSON.
///
/// Any `std::error::Error` converts into a 500, so `?` works on I/O, parsing and serde
/// errors; the constructors pick another status.
///
/// ```
/// use wasmgate_sdk::{Error, Request, Response};
///
/// fn handle(req: Request) -> Result<Response, Error> {
///     let id: u32 = req
///         .param("id")
///         .ok_or_else(|| Error::bad_request("missing id"))?
///         .parse()?; // a ParseIntError becomes a 500
///     Ok(Response::text(format!("item {id}")))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: u16,
    message: String,
}

impl Error {
    /// An error with any status.
    ///
    /// ```
    /// let e = wasmgate_sdk::Error::new(409, "already exists");
    /// assert_eq!(e.status(), 409);
    /// ```
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Error::bad_request("no name").status(), 400);
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 Not Found.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Error::not_found("no such user").status(), 404);
    /// ```
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 500 Internal Server Error.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Error::internal("database down").status(), 500);
    /// ```
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }

    /// The HTTP status.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Error::new(418, "teapot").status(), 418);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Error::new(418, "teapot").message(), "teapot");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error::internal(error.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Response::json(&serde_json::json!({ "message": self.message })).with_status(self.status)
    }
}
