//! The signer's error: whose fault it is and what to say about it.
//!
//! Two kinds only, each answered with one HTTP status by a server: a path or option that is
//! malformed or not canonical (400), and a signature that does not verify (403). Messages are
//! short, lowercase and safe to show a client; they never carry a secret.

/// Why a path, an option or a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path or its options are malformed or not in canonical form (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Missing or wrong signature, or an unknown key id (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
}

impl Error {
    /// The HTTP status a server answers this error with.
    pub fn status_code(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Forbidden(_) => 403,
        }
    }

    /// The message without the kind prefix.
    pub fn message(&self) -> String {
        match self {
            Error::BadRequest(m) | Error::Forbidden(m) => m.clone(),
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn bad(msg: impl Into<String>) -> Error {
    Error::BadRequest(msg.into())
}
