//! The folder store: keys are relative paths under a root directory.
//!
//! Writes are create-only and atomic: the bytes go to a hidden temporary file in the target
//! directory, are flushed to disk, and are then *hard-linked* to the final name. Unlike a
//! rename, a link fails when the name exists, so an existing object is never overwritten and
//! a reader sees either nothing or the whole object. Names starting with `.` are never read or
//! written through this store, which keeps temporary files and the demo's key out of reach.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bytes::Bytes;

use super::{content_type_for, too_large, Object, ObjectMeta, Put, Store};
use crate::error::{Error, Result};

/// Longest file name most file systems accept.
const MAX_SEGMENT_BYTES: usize = 255;

#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// A store over `root`, which must exist.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::Storage(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(FsStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind `key`, or `None` for keys this store refuses: absolute, `..`, hidden
    /// (a segment starting with `.`), a segment a file system can't name (over 255 bytes),
    /// or anything that is not a plain relative path on this platform (a Windows `C:` prefix).
    pub fn path_for(&self, key: &str) -> Option<PathBuf> {
        let segments_ok = !key.is_empty()
            && key.split('/').all(|s| {
                !s.is_empty()
                    && s.len() <= MAX_SEGMENT_BYTES
                    && !s.starts_with('.')
                    && !s.contains(['\\', '\0'])
            });
        let plain = Path::new(key)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        (segments_ok && plain).then(|| self.root.join(key))
    }

    fn path_or_not_found(&self, key: &str) -> Result<PathBuf> {
        self.path_for(key)
            .ok_or_else(|| Error::NotFound(format!("no object {key:?}")))
    }
}

fn storage_error(op: &str, e: std::io::Error) -> Error {
    tracing::error!(error = %e, op, "folder store failed");
    Error::Storage(format!("folder store could not {op}"))
}

/// Largest object read without leaving the runtime thread.
const INLINE_READ_MAX: u64 = 256 * 1024;

/// Opens an object's file and checks it against the byte limit.
fn open_object(
    path: &Path,
    key: &str,
    max_bytes: u64,
) -> Result<(std::fs::File, std::fs::Metadata)> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Err(Error::NotFound(format!("no object {key:?}")))
        }
        Err(e) => return Err(storage_error("open a file", e)),
    };
    let md = file
        .metadata()
        .map_err(|e| storage_error("stat a file", e))?;
    if !md.is_file() {
        return Err(Error::NotFound(format!("no object {key:?}")));
    }
    if md.len() > max_bytes {
        return Err(too_large(md.len(), max_bytes));
    }
    Ok((file, md))
}

/// Reads an opened object whole, never past the limit (the file may grow after the stat).
fn read_object(
    file: &mut std::fs::File,
    md: &std::fs::Metadata,
    key: &str,
    max_bytes: u64,
) -> Result<Object> {
    let mut buf = Vec::with_capacity(md.len() as usize);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| storage_error("read a file", e))?;
    if buf.len() as u64 > max_bytes {
        return Err(too_large(buf.len() as u64, max_bytes));
    }
    Ok(Object {
        meta: meta_of(key, md),
        bytes: Bytes::from(buf),
    })
}

fn meta_of(key: &str, md: &std::fs::Metadata) -> ObjectMeta {
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    ObjectMeta {
        size: md.len(),
        etag: format!("\"{mtime:x}-{:x}\"", md.len()),
        content_type: content_type_for(key).to_string(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("store task: {e}")))?
}

#[async_trait]
impl Store for FsStore {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
        let path = self.path_or_not_found(key)?;
        // Open and stat on the runtime thread: for the small, page-cached files a CDN-like
        // server mostly serves, these calls take microseconds, less than a hand-off to the
        // blocking pool (nginx reads inline in its event loop for the same reason). Files
        // larger than INLINE_READ_MAX are read on the blocking pool.
        let (mut file, md) = open_object(&path, key, max_bytes)?;
        if md.len() <= INLINE_READ_MAX {
            return read_object(&mut file, &md, key, max_bytes);
        }
        let key = key.to_string();
        blocking(move || read_object(&mut file, &md, &key, max_bytes)).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let Some(path) = self.path_for(key) else {
            return Ok(None);
        };
        let key = key.to_string();
        blocking(move || match std::fs::metadata(&path) {
            Ok(md) if md.is_file() => Ok(Some(meta_of(&key, &md))),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) => Err(storage_error("stat a file", e)),
        })
        .await
    }

    async fn put_new(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<Put> {
        let _ = content_type; // derived from the extension on read
        let path = self.path_for(key).ok_or_else(|| {
            Error::BadRequest(format!("key {key:?} cannot be stored in a folder"))
        })?;
        let key = key.to_string();
        blocking(move || {
            let dir = path.parent().expect("joined under root");
            std::fs::create_dir_all(dir).map_err(|e| storage_error("create a directory", e))?;
            let tmp = dir.join(format!(".tmp-{}-{:016x}", std::process::id(), random_u64()));
            let result = (|| {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
                    .map_err(|e| storage_error("create a temporary file", e))?;
                f.write_all(&bytes)
                    .map_err(|e| storage_error("write a file", e))?;
                f.sync_data()
                    .map_err(|e| storage_error("flush a file", e))?;
                match std::fs::hard_link(&tmp, &path) {
                    Ok(()) => {
                        let md = std::fs::metadata(&path)
                            .map_err(|e| storage_error("stat a file", e))?;
                        Ok(Put::Created(meta_of(&key, &md)))
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Put::Exists),
                    Err(e) => Err(storage_error("link a file into place", e)),
                }
            })();
            let _ = std::fs::remove_file(&tmp);
            result
        })
        .await
    }

    fn check_key(&self, key: &str) -> Result<()> {
        match self.path_for(key) {
            Some(_) => Ok(()),
            None => Err(Error::BadRequest(
                "this key cannot be stored in a folder (hidden segment, or a name over 255 bytes)"
                    .into(),
            )),
        }
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // If the OS has no randomness to give, a clash only costs a failed create_new.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}
