//! Where sources are read and renditions are written: a small trait and its backends.
//!
//! Every backend honours the same contract, checked by one conformance suite
//! (`tests/store_contract.rs`) run against each of them:
//! - `get` of a missing key is [`Error::NotFound`]; an object over `max_bytes` is
//!   [`Error::TooLarge`] and is not read past the limit;
//! - `put_new` never overwrites: a second writer of the same key gets [`Put::Exists`], and no
//!   reader ever sees a partly written object;
//! - `list` is a plain string prefix match (`r/a.jpg/` also finds `r/a.jpg/b.png/...`, which
//!   are renditions of the source `a.jpg/b.png`), in key order, and finding nothing is an empty
//!   list; every rendition of a source lies under `r/<source>/`, so this is how a purge finds
//!   them;
//! - `delete` of a key that holds nothing is a no-op, so a retried purge is harmless; the store
//!   deletes whatever it is asked to, and the caller (the purge) keeps to `r/`;
//! - a rendition may record the ETag of the source it was rendered from
//!   ([`ObjectMeta::source_etag`]), so a purge can keep renditions of the current source and
//!   delete stale ones; the folder store does not keep it;
//! - any other backend failure is [`Error::Storage`], whose message names no path or secret.

use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

mod fs;
mod memory;
pub mod s3;

pub use fs::FsStore;
pub use memory::MemoryStore;
pub use s3::{S3Store, Timeouts};

/// What a store knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// A quoted entity tag, as sent in the `ETag` header.
    pub etag: String,
    pub content_type: String,
    /// The ETag of the source this object was rendered from, bare (no quotes, see
    /// [`bare_etag`]); `None` when it was written without one or the store keeps none.
    pub source_etag: Option<String>,
}

/// What `put_new` writes beside the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewObject<'a> {
    /// The `Content-Type` readers get (the folder store derives it from the key instead).
    pub content_type: &'a str,
    /// The ETag of the source the object was rendered from, quoted or bare; kept bare.
    pub source_etag: Option<&'a str>,
}

impl<'a> NewObject<'a> {
    /// An object of this content type, with no source ETag.
    pub fn new(content_type: &'a str) -> Self {
        NewObject {
            content_type,
            source_etag: None,
        }
    }

    /// Records the ETag of the source the object was rendered from.
    pub fn rendered_from(self, source_etag: &'a str) -> Self {
        NewObject {
            source_etag: Some(source_etag),
            ..self
        }
    }
}

/// One object found by [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// When the object was written, if the backend says (all of ours do).
    pub last_modified: Option<SystemTime>,
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
    async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put>;
    /// Every object whose key starts with `prefix` (a string prefix, not a directory), sorted
    /// by key; an empty list when there is none.
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>>;
    /// Deletes the objects at `keys`, skipping keys that hold none. It says nothing of how many
    /// existed, because S3 does not tell; a purge counts what it listed. Any key is deleted:
    /// restricting deletion to renditions (`r/`) is the caller's job.
    async fn delete(&self, keys: &[String]) -> Result<()>;
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

/// An entity tag without its quotes or weak marker (`"abc"` and `W/"abc"` are `abc`): the form
/// S3 event notifications and listings use, and the form [`ObjectMeta::source_etag`] is kept in.
pub fn bare_etag(etag: &str) -> &str {
    let etag = etag.trim();
    etag.strip_prefix("W/").unwrap_or(etag).trim_matches('"')
}

/// Longest source ETag a store keeps (S3's are 32 to 40 characters).
const MAX_SOURCE_ETAG: usize = 256;

/// The source ETag to store for `new`: bare, or `None` when there is none or it could not be
/// sent as an HTTP header (S3 keeps it in one). Such an ETag is dropped rather than failing the
/// write: the rendition is still good, a purge just cannot tell which source it came from.
pub(crate) fn source_etag_of(new: &NewObject<'_>) -> Option<String> {
    let etag = bare_etag(new.source_etag?);
    let printable = etag.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
    if etag.is_empty() || etag.len() > MAX_SOURCE_ETAG || !printable {
        if !etag.is_empty() {
            tracing::warn!(etag, "source etag not stored: not a short, printable token");
        }
        return None;
    }
    Some(etag.to_string())
}

pub(crate) fn too_large(size: u64, max: u64) -> Error {
    Error::TooLarge(format!("source is {size} bytes, over the {max}-byte limit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_etags_lose_quotes_and_the_weak_marker() {
        for (etag, bare) in [
            ("\"abc\"", "abc"),
            ("abc", "abc"),
            ("W/\"abc\"", "abc"),
            (
                " \"d41d8cd98f00b204e9800998ecf8427e-2\" ",
                "d41d8cd98f00b204e9800998ecf8427e-2",
            ),
            ("\"\"", ""),
            ("", ""),
        ] {
            assert_eq!(bare_etag(etag), bare, "{etag:?}");
        }
    }

    #[test]
    fn only_short_printable_source_etags_are_kept() {
        let long = "a".repeat(MAX_SOURCE_ETAG + 1);
        for (given, kept) in [
            (None, None),
            (Some("\"abc\""), Some("abc")),
            (Some("abc-3"), Some("abc-3")),
            (Some("\"\""), None),
            (Some("a b"), None),
            (Some("a\nb"), None),
            (Some("\"a\"b\""), None),
            (Some("été"), None),
            (Some(long.as_str()), None),
        ] {
            let new = NewObject {
                content_type: "image/webp",
                source_etag: given,
            };
            assert_eq!(source_etag_of(&new).as_deref(), kept, "{given:?}");
        }
        let new = NewObject::new("image/png").rendered_from("\"x\"");
        assert_eq!(new.source_etag, Some("\"x\""));
        assert_eq!(new.content_type, "image/png");
    }
}
