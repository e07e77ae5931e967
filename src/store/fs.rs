//! The folder store: keys are relative paths under a root directory.
//!
//! Writes are create-only and atomic: the bytes go to a hidden temporary file in the target
//! directory, are flushed to disk, and are then *hard-linked* to the final name. Unlike a
//! rename, a link fails when the name exists, so an existing object is never overwritten and
//! a reader sees either nothing or the whole object. Names starting with `.` are never read,
//! written, listed or deleted through this store, which keeps temporary files and the demo's
//! key out of reach.
//!
//! Listing walks only the directory the prefix names in full, and follows no symbolic link:
//! the store never writes one, and one could lead out of the root. Deletion removes the files,
//! then the directories it left empty, up to but not including the first level below the root
//! (so deleting every rendition of a source leaves `r/` in place). A file system has no room
//! for a source ETag beside a file without sidecar files or extended attributes, neither of
//! which is portable, so this store drops it: `source_etag` is always `None` here.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bytes::Bytes;

use super::{content_type_for, too_large, Listed, NewObject, Object, ObjectMeta, Put, Store};
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

    /// The directory behind `dir_key` (a key's directory part), or `None` when it is not there
    /// or when any of its segments is a symbolic link or not a directory. List and delete go
    /// only through real directories, so neither can reach outside the root.
    fn real_dir(&self, dir_key: &str) -> Result<Option<PathBuf>> {
        if dir_key.is_empty() {
            return Ok(Some(self.root.clone()));
        }
        if self.path_for(dir_key).is_none() {
            return Ok(None);
        }
        let mut dir = self.root.clone();
        for segment in dir_key.split('/') {
            dir.push(segment);
            match std::fs::symlink_metadata(&dir) {
                Ok(md) if md.is_dir() => {}
                Ok(_) => return Ok(None),
                Err(e) if is_missing(&e) => return Ok(None),
                Err(e) => return Err(storage_error("stat a directory", e)),
            }
        }
        Ok(Some(dir))
    }

    fn list_sync(&self, prefix: &str) -> Result<Vec<Listed>> {
        // Only the directory the prefix names in full can hold matching keys.
        let start_key = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let Some(start) = self.real_dir(start_key)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let mut pending = vec![(start, start_key.to_string())];
        while let Some((dir, dir_key)) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if is_missing(&e) => continue, // removed while we walked
                Err(e) => return Err(storage_error("list a directory", e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| storage_error("list a directory", e))?;
                // A name that is not UTF-8 is no key; a hidden name is never one.
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let key = if dir_key.is_empty() {
                    name
                } else {
                    format!("{dir_key}/{name}")
                };
                // The entry's own type: a symbolic link is neither a file nor a directory here.
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    // Descend only where keys can still match (below the start, only the
                    // prefix's last, partial segment narrows the walk).
                    let as_dir = format!("{key}/");
                    if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                        pending.push((entry.path(), key));
                    }
                } else if kind.is_file() && key.starts_with(prefix) && self.path_for(&key).is_some()
                {
                    let Ok(md) = entry.metadata() else {
                        continue; // removed while we walked
                    };
                    found.push(Listed {
                        key,
                        size: md.len(),
                        last_modified: md.modified().ok(),
                    });
                }
            }
        }
        found.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn delete_sync(&self, keys: &[String]) -> Result<()> {
        let mut emptied = BTreeSet::new();
        for key in keys {
            // A key this store refuses can hold no object here.
            let Some(path) = self.path_for(key) else {
                continue;
            };
            let dir_key = key.rsplit_once('/').map_or("", |(dir, _)| dir);
            if self.real_dir(dir_key)?.is_none() {
                continue;
            }
            // Pruned even when the key is already gone, so a retried purge tidies up too.
            if dir_key.contains('/') {
                emptied.insert(dir_key.to_string());
            }
            match std::fs::symlink_metadata(&path) {
                // A directory is no object; a link is removed itself, never its target.
                Ok(md) if md.is_dir() => continue,
                Ok(_) => {}
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(storage_error("stat a file", e)),
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => continue, // another delete got there first
                Err(e) => return Err(storage_error("remove a file", e)),
            }
        }
        // Deepest first, so a directory's emptied subdirectories are gone when it is tried.
        for dir_key in emptied.iter().rev() {
            self.prune(dir_key);
        }
        Ok(())
    }

    /// Removes `dir_key` and its ancestors while they are empty, stopping at the first segment
    /// below the root: with `r/a.jpg/k1`, `r/a.jpg/k1` and `r/a.jpg` may go, `r` never does.
    fn prune(&self, dir_key: &str) {
        let mut dir_key = dir_key;
        while let Some((parent, _)) = dir_key.rsplit_once('/') {
            // Fails, and stops the climb, when the directory holds anything (even a temporary
            // file of a write in flight) or is already gone.
            if let Err(e) = std::fs::remove_dir(self.root.join(dir_key)) {
                if !matches!(e.kind(), ErrorKind::DirectoryNotEmpty) && !is_missing(&e) {
                    tracing::debug!(error = %e, "folder store left a directory in place");
                }
                return;
            }
            dir_key = parent;
        }
    }
}

fn is_missing(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
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
        Err(e) if is_missing(&e) => return Err(Error::NotFound(format!("no object {key:?}"))),
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
        source_etag: None,
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
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(storage_error("stat a file", e)),
        })
        .await
    }

    async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put> {
        // The content type is derived from the extension on read; the source ETag is dropped
        // (see the module doc).
        let _ = new;
        let path = self.path_for(key).ok_or_else(|| {
            Error::BadRequest(format!("key {key:?} cannot be stored in a folder"))
        })?;
        let key = key.to_string();
        blocking(move || {
            let dir = path.parent().expect("joined under root");
            let tmp = dir.join(format!(".tmp-{}-{:016x}", std::process::id(), random_u64()));
            let result = (|| {
                let mut f = create_temporary(dir, &tmp)?;
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

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let (store, prefix) = (self.clone(), prefix.to_string());
        blocking(move || store.list_sync(&prefix)).await
    }

    async fn delete(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let (store, keys) = (self.clone(), keys.to_vec());
        blocking(move || store.delete_sync(&keys)).await
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

/// Creates the temporary file of a write in `dir`, creating `dir` first. A delete may prune the
/// new, still empty `dir` before the file is in it: then the directory is made again (a few
/// times; a directory holding the file is never pruned).
fn create_temporary(dir: &Path, tmp: &Path) -> Result<std::fs::File> {
    let mut attempts = 0;
    loop {
        std::fs::create_dir_all(dir).map_err(|e| storage_error("create a directory", e))?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
        {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 3 => attempts += 1,
            Err(e) => return Err(storage_error("create a temporary file", e)),
        }
    }
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // If the OS has no randomness to give, a clash only costs a failed create_new.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}
