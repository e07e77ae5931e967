//! An in-memory store for unit tests and for trying the service without a disk.
//!
//! Objects live in a sorted map, so a listing is a range of it; deletion removes entries.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{
    content_type_for, source_etag_of, too_large, Listed, NewObject, Object, ObjectMeta, Put, Store,
};
use crate::error::{Error, Result};

/// Objects in a map behind a mutex; writes are create-only like every other backend.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Stored>>,
}

#[derive(Debug, Clone)]
struct Stored {
    object: Object,
    written: SystemTime,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores an object, replacing any (test setup only: the `Store` API never overwrites).
    pub fn insert(&self, key: &str, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        let meta = meta_for(&bytes, content_type_for(key), None);
        self.lock().insert(key.to_string(), stored(meta, bytes));
    }

    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stored>> {
        // A panic while holding the lock cannot leave the map half-updated: recover it.
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn stored(meta: ObjectMeta, bytes: Bytes) -> Stored {
    Stored {
        object: Object { meta, bytes },
        written: SystemTime::now(),
    }
}

fn meta_for(bytes: &[u8], content_type: &str, source_etag: Option<String>) -> ObjectMeta {
    let digest = Sha256::digest(bytes);
    let etag = digest[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    ObjectMeta {
        size: bytes.len() as u64,
        etag: format!("\"{etag}\""),
        content_type: content_type.to_string(),
        source_etag,
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
        let obj = self
            .lock()
            .get(key)
            .map(|s| s.object.clone())
            .ok_or_else(|| Error::NotFound(format!("no object {key:?}")))?;
        if obj.meta.size > max_bytes {
            return Err(too_large(obj.meta.size, max_bytes));
        }
        Ok(obj)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        Ok(self.lock().get(key).map(|s| s.object.meta.clone()))
    }

    async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put> {
        let mut map = self.lock();
        if map.contains_key(key) {
            return Ok(Put::Exists);
        }
        let meta = meta_for(&bytes, new.content_type, source_etag_of(&new));
        map.insert(key.to_string(), stored(meta.clone(), bytes));
        Ok(Put::Created(meta))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let map = self.lock();
        Ok(map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, s)| Listed {
                key: k.clone(),
                size: s.object.meta.size,
                last_modified: Some(s.written),
            })
            .collect())
    }

    async fn delete(&self, keys: &[String]) -> Result<()> {
        let mut map = self.lock();
        for key in keys {
            map.remove(key);
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
