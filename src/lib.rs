//! rendition renders an image the first time a browser asks for it, stores the result under
//! the very key that was requested, and lets the CDN serve it as a plain file from then on.
//!
//! # Layout
//!
//! The core is pure (no network, disk, clock or environment); the edges are thin. The
//! workspace has three packages: `rendition-sign` (`crates/sign`, the signer a site links),
//! this library with the `rendition` command (`src/bin/rendition`), and `rendition-lambda`
//! (`crates/lambda`, the two Lambda functions).
//!
//! The signer, re-exported from `rendition-sign`:
//! - [`request`]: the signed render request: parse, canonical form, sign, verify.
//! - [`ops`]: operations and output formats as data, with their one canonical text form.
//! - [`options`]: signer input: options as people write them, folded into canonical ops;
//!   presets.
//!
//! The core:
//! - [`limits`]: the security limits, checked before the work they protect.
//! - [`plan`]: geometry of a render (output size, crop, padding, EXIF orientation algebra).
//! - [`render`]: decode → orient → resize/crop → encode, bytes in and bytes out. `render/mod.rs`
//!   holds the types and the pipeline, [`render::render`], with a [`render::Deadline`]; one
//!   file per stage: `probe` (format, header, limits, ICC profile, frame counting), `decode`,
//!   `resize` (planar Lanczos3), `pixels` (orient, pad, flatten, blur, sharpen), `smart`
//!   (smart crop) and `encode` (every format's encoder call, and the formats' side limits).
//! - `render::jpeg`: the renderer's own JPEG decoder (DCT-domain downscaling), which depends on
//!   nothing else in the crate: `markers` (the segment loop, frame and scan headers), `tables`,
//!   `huffman` (entropy decoding, the bit reader, restart markers), `idct`, `canvas` (output
//!   grids, strips and planes), `color`, and the three paths `baseline`, `progressive` and `dc`.
//!   What it does not handle it declines with a reason ([`render::Declined`]: unsupported,
//!   cut short or corrupt); `jpeg-decoder` takes over, and the rendition reports it
//!   (`Rendered::jpeg_fallback`, counted in the service's stats). `render::jpeg::encode` is
//!   its baseline encoder (`fdct`, `entropy`: tokens, optimal Huffman tables, the bit writer),
//!   from RGB or straight from luma and chroma planes.
//! - [`error`]: the one error type, split by whose fault it is, each kind one HTTP status.
//! - `fuzzing` (with the `fuzzing` feature, and in tests): what the fuzz targets in `fuzz/`
//!   check, also replayed over their seeds and past findings by `cargo test`
//!   (`docs/fuzzing.md`).
//!
//! The edges:
//! - [`store`]: the `Store` trait and its backends (folder, memory, S3).
//! - [`service`]: the miss path shared by every edge: verify, read, render once, store, answer.
//! - [`lifecycle`]: renditions follow their source: purge on change and deletion, pre-render.
//! - [`cdn`]: CloudFront invalidations for purges.
//! - [`server`]: `rendition serve`, an HTTP server that plays CDN, bucket and function over a store.
//! - [`warm`]: `rendition warm`: pre-render lists of paths, HTML pages' URLs or presets.
//! - [`watch`]: `rendition serve --dir` purges a source's renditions when its file changes.
//! - [`settings`]: every environment variable, read in one place; the S3 stores built from them.
//!
//! The URL format is specified in `docs/url-format.md`, with test vectors in `tests/vectors.json`.
#![forbid(unsafe_code)]

pub mod cdn;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod lifecycle;
pub mod limits;
pub mod plan;
pub mod render;
pub mod server;
pub mod service;
pub mod settings;
pub mod store;
pub mod warm;
pub mod watch;

pub use rendition_sign::{auto, ops, options, request};

pub use error::{Error, Result};
pub use limits::Limits;
pub use ops::{Fit, Format, Gravity, Ops};
pub use request::{KeyRing, RenderRequest};
pub use service::{Answer, Service};
