//! Sign and verify rendition URLs: what a site needs to hand out `/r/...` paths that a
//! rendition server (the Lambda, or `rendition serve`) will render, and nothing else.
//!
//! ```
//! use rendition_sign::{KeyRing, Options};
//!
//! let keys = KeyRing::from_spec("k1:a-secret-of-sixteen-bytes-or-more").unwrap();
//! let options = Options { width: Some(640), format: Some("webp".into()), ..Options::default() };
//! let (ops, format) = options.resolve("photos/cat.jpg").unwrap();
//! let path = keys.sign_new("photos/cat.jpg", ops, format).unwrap();
//! assert!(path.starts_with("/r/photos/cat.jpg/k1."));
//! assert!(path.ends_with("/w640.webp"));
//! ```
//!
//! # Layout
//!
//! - [`request`]: the signed render request: parse, canonical form, sign, verify.
//! - [`auto`]: format auto, chosen per request from `Accept`: auto paths, negotiated keys.
//! - [`ops`]: operations and output formats as data, with their one canonical text form.
//! - [`options`]: signer input: options as people write them, folded into canonical ops;
//!   presets (from JSON with the `json` feature).
//! - [`error`]: the two ways a path is refused (400 and 403).
//!
//! The URL format is specified in `docs/url-format.md` of the rendition repository, with test
//! vectors in `tests/vectors.json` and `tests/signer-vectors.json`. Dependencies are HMAC-SHA256,
//! base64 and an error derive; `json` adds serde.
#![forbid(unsafe_code)]

pub mod auto;
pub mod error;
#[cfg(feature = "json")]
mod json;
pub mod ops;
pub mod options;
pub mod request;

pub use auto::{auto_path_of, negotiate_path, Auto, Output};
pub use error::{Error, Result};
pub use ops::{Fit, Format, Gravity, Ops};
pub use options::Options;
pub use request::{KeyRing, RenderRequest, SigningKey};
