//! rendition renders an image the first time a browser asks for it, stores the result under
//! the very key that was requested, and lets the CDN serve it as a plain file from then on.
//!
//! # Layout
//!
//! The core is pure (no network, disk, clock or environment); the edges are thin.
//!
//! - [`request`]: the signed render request: parse, canonical form, sign, verify.
//! - [`ops`]: operations, output formats and limits as data, validated once.
//! - [`options`]: signer input: options as people write them, folded into canonical ops;
//!   presets.
//! - [`plan`]: geometry of a render (output size, crop, padding, EXIF orientation algebra).
//! - [`render`]: decode -> orient -> resize/crop -> encode, bytes in and bytes out.
//! - [`store`]: the `Store` trait and its backends (folder, memory, S3).
//! - [`lifecycle`]: renditions follow their source: purge on change and deletion, pre-render.
//! - [`service`]: the miss path shared by every edge: verify, read, render once, store, answer.
//! - [`cdn`]: CloudFront invalidations for purges.
//! - [`lambda`]: the Lambda edge: configuration and keys at init, event path to storage key.
//! - [`server`]: `rendition serve`, an HTTP server that plays CDN, bucket and function over a store.
//! - [`watch`]: `rendition serve --dir` purges a source's renditions when its file changes.
//! - [`demo`]: the demo folder with sample images and a gallery page.
//! - [`config`]: settings shared by the CLI and the Lambda, read once from flags and environment.
//!
//! The URL format is specified in `docs/url-format.md`, with test vectors in `tests/vectors.json`.
#![forbid(unsafe_code)]

pub mod cdn;
pub mod config;
pub mod demo;
pub mod error;
pub mod lambda;
pub mod lifecycle;
pub mod ops;
pub mod options;
pub mod plan;
pub mod render;
pub mod request;
pub mod server;
pub mod service;
pub mod store;
pub mod watch;

pub use error::{Error, Result};
pub use ops::{Fit, Format, Gravity, Limits, Ops};
pub use request::{KeyRing, RenderRequest};
pub use service::{Answer, Service};
