//! The one library error type, split by whose fault it is.
//!
//! Each variant maps onto one HTTP status (see `../shared/DESIGN.md`, "Errors and limits") and
//! a stable machine-readable code. The message is short, lowercase and safe to show a client:
//! it never carries a secret, a file system path or a backend's internal error text. Details
//! for operators go to the logs at the point where the error is made.

use http::StatusCode;

/// Everything that can go wrong between a request path and a stored rendition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path or its options are malformed or not in canonical form (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The method is not GET, HEAD or OPTIONS (405).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// Missing or wrong signature, unknown key id, or a source outside the allowed prefixes (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The source object does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// Source bytes, source pixels, output dimensions or frames over a limit (413).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The source is not an image of an allowed format (415).
    #[error("unsupported media type: {0}")]
    Unsupported(String),
    /// The source claims an allowed format but cannot be decoded (422).
    #[error("undecodable image: {0}")]
    Undecodable(String),
    /// The store failed or could not be reached (502).
    #[error("storage error: {0}")]
    Storage(String),
    /// Try again shortly (503): the store is throttling requests, the service is shutting
    /// down, or (Lambda) a stored rendition is too large to relay and the CDN will serve it.
    #[error("busy: {0}")]
    Busy(String),
    /// The render ran over its time budget (504).
    #[error("render timed out after {0} ms")]
    Timeout(u64),
    /// A bug or an encoder failure that is nobody's input's fault (500).
    #[error("internal error: {0}")]
    Internal(String),
    /// A setting is missing or malformed (500: the operator's to fix, at start-up).
    #[error("configuration error: {0}")]
    Config(String),
}

impl From<rendition_sign::Error> for Error {
    fn from(e: rendition_sign::Error) -> Self {
        match e {
            rendition_sign::Error::BadRequest(m) => Error::BadRequest(m),
            rendition_sign::Error::Forbidden(m) => Error::Forbidden(m),
        }
    }
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Undecodable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Storage(_) => StatusCode::BAD_GATEWAY,
            Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::Internal(_) | Error::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for logs, metrics and the `x-rendition-error` response header.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::TooLarge(_) => "too_large",
            Error::Unsupported(_) => "unsupported",
            Error::Undecodable(_) => "undecodable",
            Error::Storage(_) => "storage",
            Error::Busy(_) => "busy",
            Error::Timeout(_) => "timeout",
            Error::Internal(_) => "internal",
            Error::Config(_) => "config",
        }
    }

    /// The message without the kind prefix, for contexts where the kind is obvious (the CLI).
    pub fn message(&self) -> String {
        match self {
            Error::Timeout(ms) => format!("render timed out after {ms} ms"),
            Error::BadRequest(m)
            | Error::MethodNotAllowed(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::TooLarge(m)
            | Error::Unsupported(m)
            | Error::Undecodable(m)
            | Error::Storage(m)
            | Error::Busy(m)
            | Error::Internal(m)
            | Error::Config(m) => m.clone(),
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn bad(msg: impl Into<String>) -> Error {
    Error::BadRequest(msg.into())
}
