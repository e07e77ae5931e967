//! One conformance suite, run against every store backend, so all of them behave alike.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use rendition::store::{FsStore, MemoryStore, Put, Store};
use rendition::Error;

/// The contract every backend honours (see `rendition::store`).
pub async fn contract(store: Arc<dyn Store>) {
    let name = store.describe();
    // Missing objects.
    assert!(
        matches!(
            store.get("nope/a.jpg", 1 << 20).await,
            Err(Error::NotFound(_))
        ),
        "{name}"
    );
    assert_eq!(store.head("nope/a.jpg").await.unwrap(), None, "{name}");

    // Create-only put; the first writer wins and the object is never overwritten.
    let key = "r/k.sig/w10/a.jpg.png";
    let first = Bytes::from_static(b"first bytes");
    match store
        .put_new(key, first.clone(), "image/png")
        .await
        .unwrap()
    {
        Put::Created(meta) => {
            assert_eq!(meta.size, first.len() as u64, "{name}");
            assert!(
                meta.etag.starts_with('"') && meta.etag.ends_with('"'),
                "{name}: quoted etag"
            );
        }
        Put::Exists => panic!("{name}: fresh key reported as existing"),
    }
    assert_eq!(
        store
            .put_new(key, Bytes::from_static(b"second"), "image/png")
            .await
            .unwrap(),
        Put::Exists,
        "{name}"
    );
    let obj = store.get(key, 1 << 20).await.unwrap();
    assert_eq!(obj.bytes, first, "{name}: never overwritten");
    assert_eq!(obj.meta.content_type, "image/png", "{name}");
    let head = store.head(key).await.unwrap().expect("exists");
    assert_eq!(head.size, first.len() as u64, "{name}");
    assert_eq!(
        head.etag, obj.meta.etag,
        "{name}: head and get agree on the etag"
    );

    // Byte limit: refused, not truncated; no limit at all works too.
    assert!(
        matches!(store.get(key, 4).await, Err(Error::TooLarge(_))),
        "{name}"
    );
    assert_eq!(
        store.get(key, u64::MAX).await.unwrap().bytes,
        first,
        "{name}"
    );
    assert_eq!(
        store.get(key, first.len() as u64).await.unwrap().bytes,
        first,
        "{name}: limit is inclusive"
    );

    // Concurrent create-only writers: exactly one wins, and readers see one whole object.
    let key = "r/k.sig/w20/race.jpg.webp";
    let writers: Vec<_> = (0..16u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put_new(key, Bytes::from(vec![i; 4096]), "image/webp")
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut created = 0;
    for w in writers {
        if matches!(w.await.unwrap(), Put::Created(_)) {
            created += 1;
        }
    }
    assert_eq!(created, 1, "{name}: one writer wins");
    let obj = store.get(key, u64::MAX).await.unwrap();
    assert_eq!(obj.bytes.len(), 4096, "{name}");
    assert!(
        obj.bytes.iter().all(|b| *b == obj.bytes[0]),
        "{name}: one writer's bytes, whole"
    );

    // Keys with spaces and non-ASCII characters are ordinary keys.
    let odd = "sources/my photo été.jpg";
    assert!(matches!(
        store
            .put_new(odd, Bytes::from_static(b"x"), "image/jpeg")
            .await
            .unwrap(),
        Put::Created(_)
    ));
    assert_eq!(
        store.get(odd, 10).await.unwrap().bytes,
        Bytes::from_static(b"x"),
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_honours_the_contract() {
    contract(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn folder_store_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(Arc::new(FsStore::new(dir.path()).unwrap())).await;
    // No temporary files are left behind.
    let leftovers: Vec<_> = common::files_under(dir.path())
        .into_iter()
        .filter(|f| f.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_honours_the_contract() {
    let Some(moto) = common::Moto::start() else {
        return;
    };
    let s3 = moto.bucket("contract").await;
    contract(Arc::new(rendition::store::S3Store::new(
        s3.clone(),
        "contract",
    )))
    .await;
    // Objects carry the cache policy CloudFront passes on to browsers.
    let head = s3
        .head_object()
        .bucket("contract")
        .key("r/k.sig/w10/a.jpg.png")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some(rendition::store::IMMUTABLE));
    assert_eq!(head.content_type(), Some("image/png"));
    // A bucket that does not exist is a storage error, not a missing object.
    let missing = rendition::store::S3Store::new(s3, "no-such-bucket");
    assert!(matches!(
        missing.get("a.jpg", 10).await,
        Err(Error::Storage(_))
    ));
}

#[tokio::test]
async fn folder_store_refuses_hidden_and_escaping_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".secret"), b"k").unwrap();
    let store = FsStore::new(dir.path()).unwrap();
    for key in [".secret", "../x", "a/../../x", "/etc/passwd", "a//b"] {
        assert!(
            matches!(store.get(key, 100).await, Err(Error::NotFound(_))),
            "{key}"
        );
        assert!(
            store
                .put_new(key, Bytes::from_static(b"x"), "x")
                .await
                .is_err(),
            "{key}"
        );
    }
}
