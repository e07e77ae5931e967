//! Where sources are read and renditions are written: a small trait and its backends.
//!
//! Every backend honours the same contract, checked by one conformance suite
//! (`tests/store_contract.rs`) run against each of them:
//! - `get` of a missing key is [`Error::NotFound`]; an object over `max_bytes` is
//!   [`Error::TooLarge`] and is not read past the limit;
//! - `put_new` never overwrites: a second writer of the same key gets [`Put::Exists`], and no
//!   reader ever sees a partly written object;
//! - any other backend failure is [`Error::Storage`], whose message names no path or secret.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

mod fs;
mod memory;
pub mod s3;

pub use fs::FsStore;
pub use memory::MemoryStore;
pub use s3::S3Store;

/// What a store knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// A quoted entity tag, as sent in the `ETag` header.
    pub etag: String,
    pub content_type: String,
}

/// An object read whole.
#[derive(Debug, Clone)]
pub struct Object {
    pub meta: ObjectMeta,
    pub bytes: Bytes,
}

/// The outcome of a create-only write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// This call created the object.
    Created(ObjectMeta),
    /// The key already held an object, which was left as it was.
    Exists,
}

/// A flat key-value object store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads a whole object, refusing objects larger than `max_bytes`.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object>;
    /// Metadata of an object, or `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>>;
    /// Writes an object only if the key is free.
    async fn put_new(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<Put>;
    /// Refuses, before any work is done, a key this store could never hold (400).
    fn check_key(&self, key: &str) -> Result<()> {
        let _ = key;
        Ok(())
    }
    /// A short description for logs ("folder ./demo", "s3://bucket").
    fn describe(&self) -> String;
}

/// The cache policy of every stored rendition: its key names its content, so it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Content type from a key's extension, for stores that keep no metadata of their own.
pub fn content_type_for(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) fn too_large(size: u64, max: u64) -> Error {
    Error::TooLarge(format!("source is {size} bytes, over the {max}-byte limit"))
}
