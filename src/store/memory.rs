//! An in-memory store for unit tests and for trying the service without a disk.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{content_type_for, too_large, Object, ObjectMeta, Put, Store};
use crate::error::{Error, Result};

/// Objects in a map behind a mutex; writes are create-only like every other backend.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<String, Object>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores an object, replacing any (test setup only: the `Store` API never overwrites).
    pub fn insert(&self, key: &str, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        let meta = meta_for(key, &bytes, content_type_for(key));
        self.lock().insert(key.to_string(), Object { meta, bytes });
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Object>> {
        // A panic while holding the lock cannot leave the map half-updated: recover it.
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn meta_for(key: &str, bytes: &[u8], content_type: &str) -> ObjectMeta {
    let _ = key;
    let digest = Sha256::digest(bytes);
    let etag = digest[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    ObjectMeta {
        size: bytes.len() as u64,
        etag: format!("\"{etag}\""),
        content_type: content_type.to_string(),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
        let obj = self
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no object {key:?}")))?;
        if obj.meta.size > max_bytes {
            return Err(too_large(obj.meta.size, max_bytes));
        }
        Ok(obj)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        Ok(self.lock().get(key).map(|o| o.meta.clone()))
    }

    async fn put_new(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<Put> {
        let mut map = self.lock();
        if map.contains_key(key) {
            return Ok(Put::Exists);
        }
        let meta = meta_for(key, &bytes, content_type);
        map.insert(
            key.to_string(),
            Object {
                meta: meta.clone(),
                bytes,
            },
        );
        Ok(Put::Created(meta))
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
