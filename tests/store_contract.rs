//! One conformance suite, run against every store backend, so all of them behave alike.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::SdkBody;
use bytes::Bytes;
use rendition::store::{FsStore, MemoryStore, NewObject, Put, S3Store, Store};
use rendition::Error;

/// What a backend under the contract can do.
#[derive(Debug, Clone, Copy)]
pub struct Backend {
    /// False for the folder store, which keeps no source ETag.
    keeps_source_etag: bool,
    /// Whether concurrent create-only writes of one key let exactly one through, whose object
    /// is then read whole. True of every store over a backend that honours it (S3, moto, a
    /// folder, memory); false over s3s-fs, whose writes are not atomic
    /// ([`common::S3Impl::atomic_puts`]).
    one_creator_wins: bool,
    /// Whether a key may start with `/`, as in S3. s3s-fs maps keys to paths under its folder
    /// and answers 500 for one that leads out of it.
    leading_slash_keys: bool,
}

const FULL: Backend = Backend {
    keeps_source_etag: true,
    one_creator_wins: true,
    leading_slash_keys: true,
};

/// The contract every backend honours (see `rendition::store`).
pub async fn contract(store: Arc<dyn Store>, backend: Backend) {
    basics(store.clone(), backend).await;
    list_and_delete(&store, backend).await;
    source_etags(&store, backend.keeps_source_etag).await;
}

async fn basics(store: Arc<dyn Store>, backend: Backend) {
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
        .put_new(key, first.clone(), NewObject::new("image/png"))
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
            .put_new(
                key,
                Bytes::from_static(b"second"),
                NewObject::new("image/png")
            )
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
                    .put_new(
                        key,
                        Bytes::from(vec![i; 4096]),
                        NewObject::new("image/webp"),
                    )
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
    if backend.one_creator_wins {
        assert_eq!(created, 1, "{name}: one writer wins");
        let obj = store.get(key, u64::MAX).await.unwrap();
        assert_eq!(obj.bytes.len(), 4096, "{name}");
        assert!(
            obj.bytes.iter().all(|b| *b == obj.bytes[0]),
            "{name}: one writer's bytes, whole"
        );
    } else {
        // Every writer was answered (none failed); what they left may be torn.
        assert!(created >= 1, "{name}: some writer wins");
    }

    // Keys with spaces and non-ASCII characters are ordinary keys.
    let odd = "sources/my photo été.jpg";
    assert!(matches!(
        store
            .put_new(odd, Bytes::from_static(b"x"), NewObject::new("image/jpeg"))
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

/// Writes `len` bytes at each key, a few at a time.
async fn put_all(store: &Arc<dyn Store>, keys: &[(String, usize)]) {
    for chunk in keys.chunks(16) {
        let writes: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(key, len)| {
                let store = store.clone();
                tokio::spawn(async move {
                    let bytes = Bytes::from(vec![b'x'; len]);
                    store
                        .put_new(&key, bytes, NewObject::new("image/webp"))
                        .await
                })
            })
            .collect();
        for w in writes {
            assert!(matches!(w.await.unwrap(), Ok(Put::Created(_))));
        }
    }
}

async fn listed_keys(store: &Arc<dyn Store>, prefix: &str) -> Vec<String> {
    let listed = store.list(prefix).await.unwrap();
    listed.into_iter().map(|l| l.key).collect()
}

fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// Listing and deletion, which a purge of a source's renditions is made of.
async fn list_and_delete(store: &Arc<dyn Store>, backend: Backend) {
    let name = store.describe();
    // Renditions of `a.jpg`, of `a.jpg/b.png` (a source in a folder named like a file) and of
    // `a.jpgx`. The prefix `r/a.jpg/` finds the first two, never the third.
    let sized = [
        ("r/a.jpg/k1.sig/w10.webp", 1),
        ("r/a.jpg/k1.sig/w20.webp", 2),
        ("r/a.jpg/b.png/k1.sig/w10.webp", 3),
        ("r/a.jpgx/k1.sig/w10.webp", 4),
    ];
    let owned: Vec<_> = sized.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    put_all(store, &owned).await;
    let listed = store.list("r/a.jpg/").await.unwrap();
    let got: Vec<(&str, u64)> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    assert_eq!(
        got,
        [
            ("r/a.jpg/b.png/k1.sig/w10.webp", 3),
            ("r/a.jpg/k1.sig/w10.webp", 1),
            ("r/a.jpg/k1.sig/w20.webp", 2),
        ],
        "{name}: a string prefix, in key order, with sizes"
    );
    let now = std::time::SystemTime::now();
    for l in &listed {
        let when = l.last_modified.expect("every backend dates its objects");
        let age = now.duration_since(when).unwrap_or_default();
        assert!(age.as_secs() < 600, "{name}: {l:?} written just now");
    }
    // A prefix that ends inside a segment matches inside it.
    assert_eq!(
        listed_keys(store, "r/a.jpg").await,
        strings(&[
            "r/a.jpg/b.png/k1.sig/w10.webp",
            "r/a.jpg/k1.sig/w10.webp",
            "r/a.jpg/k1.sig/w20.webp",
            "r/a.jpgx/k1.sig/w10.webp",
        ]),
        "{name}"
    );
    assert_eq!(
        listed_keys(store, "r/a.jpg/k1.sig/w10.webp").await,
        strings(&["r/a.jpg/k1.sig/w10.webp"]),
        "{name}: a whole key lists that key"
    );
    // Nothing under a prefix is an empty list, not an error.
    for prefix in [
        "r/none.jpg/",
        "r/a.jpg/k2",
        "r/a.jpg/k1.sig/w10.webp/",
        "nothing",
        "r/a.jpg//",
        "../",
        "/etc/",
    ] {
        assert_eq!(
            store.list(prefix).await.unwrap(),
            [],
            "{name}: {prefix:?} lists nothing"
        );
    }

    // More objects than one listing page (the S3 store in this suite reads 7 a page).
    let many: Vec<(String, usize)> = (0..23)
        .map(|i| (format!("r/many.jpg/k1.sig/w{i:02}.webp"), 1))
        .collect();
    put_all(store, &many).await;
    let many: Vec<String> = many.into_iter().map(|(k, _)| k).collect();
    assert_eq!(listed_keys(store, "r/many.jpg/").await, many, "{name}");

    // Deleting existing and missing keys together; again changes nothing; no keys at all,
    // and keys that could hold nothing, are no error either.
    let gone = strings(&[
        "r/a.jpg/k1.sig/w10.webp",
        "r/a.jpg/missing.webp",
        "r/a.jpg/b.png/k1.sig/w10.webp",
        "r/never/x.webp",
    ]);
    store.delete(&gone).await.unwrap();
    store.delete(&gone).await.unwrap();
    store.delete(&[]).await.unwrap();
    let mut odd = vec!["", "../x", "a//b", ".secret"];
    if backend.leading_slash_keys {
        odd.push("/etc/passwd");
    }
    store.delete(&strings(&odd)).await.unwrap();
    for key in &gone {
        assert_eq!(store.head(key).await.unwrap(), None, "{name}: {key}");
        assert!(
            matches!(store.get(key, 100).await, Err(Error::NotFound(_))),
            "{name}: {key}"
        );
    }
    assert_eq!(
        listed_keys(store, "r/a.jpg").await,
        strings(&["r/a.jpg/k1.sig/w20.webp", "r/a.jpgx/k1.sig/w10.webp"]),
        "{name}: only the deleted keys are gone"
    );

    // A purge: list a source's renditions, delete them all.
    store.delete(&many).await.unwrap();
    assert_eq!(store.list("r/many.jpg/").await.unwrap(), [], "{name}");
}

/// The ETag of the source a rendition was made from goes in with `put_new` and comes back out,
/// bare, from `head` and `get` (on stores that keep it).
async fn source_etags(store: &Arc<dyn Store>, kept: bool) {
    let name = store.describe();
    let bytes = Bytes::from_static(b"rendition");
    let plain = "r/e.jpg/k1.sig/w10.webp";
    let Put::Created(meta) = store
        .put_new(plain, bytes.clone(), NewObject::new("image/webp"))
        .await
        .unwrap()
    else {
        panic!("{name}: fresh key");
    };
    assert_eq!(meta.source_etag, None, "{name}");
    let head = store.head(plain).await.unwrap().unwrap();
    assert_eq!(head.source_etag, None, "{name}");
    let obj = store.get(plain, 100).await.unwrap();
    assert_eq!(obj.meta.source_etag, None, "{name}");

    for (key, given, bare) in [
        (
            "r/e.jpg/k1.sig/w20.webp",
            "\"9b2cf535f27731c974343645a3985328\"",
            "9b2cf535f27731c974343645a3985328",
        ),
        (
            "r/e.jpg/k1.sig/w30.webp",
            "d41d8cd98f00b204e9800998ecf8427e-2",
            "d41d8cd98f00b204e9800998ecf8427e-2",
        ),
    ] {
        let expected = kept.then(|| bare.to_string());
        let new = NewObject::new("image/webp").rendered_from(given);
        let Put::Created(meta) = store.put_new(key, bytes.clone(), new).await.unwrap() else {
            panic!("{name}: fresh key");
        };
        assert_eq!(meta.source_etag, expected, "{name}: {given}");
        let head = store.head(key).await.unwrap().unwrap();
        assert_eq!(head.source_etag, expected, "{name}: {given}");
        let obj = store.get(key, 100).await.unwrap();
        assert_eq!(obj.meta.source_etag, expected, "{name}: {given}");
        assert_eq!(obj.bytes, bytes, "{name}");
    }

    // An ETag that cannot be sent as a header is dropped; the rendition is still written.
    let odd = "r/e.jpg/k1.sig/w40.webp";
    let new = NewObject::new("image/webp").rendered_from("not\na token");
    assert!(matches!(
        store.put_new(odd, bytes.clone(), new).await.unwrap(),
        Put::Created(_)
    ));
    assert_eq!(store.head(odd).await.unwrap().unwrap().source_etag, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_honours_the_contract() {
    contract(Arc::new(MemoryStore::new()), FULL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn folder_store_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend {
        keeps_source_etag: false,
        ..FULL
    };
    contract(Arc::new(FsStore::new(dir.path()).unwrap()), backend).await;
    // Deleting every rendition of a source took its emptied directories with it, not `r/`.
    let r = dir.path().join("r");
    assert!(!r.join("many.jpg").exists());
    assert!(!r.join("a.jpg/b.png").exists());
    assert!(r.join("a.jpg/k1.sig/w20.webp").is_file());
    assert!(r.is_dir());
    // No temporary files are left behind.
    let leftovers: Vec<_> = common::files_under(dir.path())
        .into_iter()
        .filter(|f| f.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// The S3 store's tests, each against moto and against s3s-fs (`moto::NAME`, `s3s_fs::NAME`).
crate::each_s3_server! {
    (flavor = "multi_thread", worker_threads = 4) s3_store_honours_the_contract,
    (flavor = "multi_thread", worker_threads = 4) s3_store_lists_and_deletes_past_a_thousand_keys,
    (flavor = "multi_thread", worker_threads = 4) s3_store_retries_failed_deletes_a_bounded_number_of_times,
}

async fn s3_store_honours_the_contract(server: &common::S3Server) {
    let s3 = server.bucket("contract").await;
    let store = rendition::store::S3Store::new(s3.clone(), "contract").with_list_page_size(7);
    let backend = Backend {
        one_creator_wins: server.kind.atomic_puts(),
        leading_slash_keys: server.kind.leading_slash_keys(),
        ..FULL
    };
    contract(Arc::new(store), backend).await;
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
    // A bucket that does not exist is a storage error, not a missing object (s3s-fs answers a
    // read there with NoSuchKey, as if the bucket held no such object; its listing says
    // NoSuchBucket).
    let missing = rendition::store::S3Store::new(s3, "no-such-bucket");
    if server.kind.reports_missing_buckets() {
        assert!(matches!(
            missing.get("a.jpg", 10).await,
            Err(Error::Storage(_))
        ));
    }
    assert!(matches!(missing.list("r/").await, Err(Error::Storage(_))));
    // A refused request (a wrong secret key: 403) is a storage error too, never a missing
    // object, on a server that checks signatures (moto takes any).
    if let Some(refused) = server.s3_with_wrong_secret() {
        let refused = rendition::store::S3Store::new(refused, "contract");
        let key = "r/k.sig/w10/a.jpg.png";
        assert!(matches!(
            refused.get(key, 100).await,
            Err(Error::Storage(_))
        ));
        assert!(matches!(refused.head(key).await, Err(Error::Storage(_))));
        assert!(matches!(
            refused
                .put_new(
                    "r/refused.webp",
                    Bytes::from_static(b"x"),
                    NewObject::new("image/webp")
                )
                .await,
            Err(Error::Storage(_))
        ));
        assert!(matches!(refused.list("r/").await, Err(Error::Storage(_))));
        assert!(matches!(
            refused.delete(&strings(&[key])).await,
            Err(Error::Storage(_))
        ));
    }
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
                .put_new(key, Bytes::from_static(b"x"), NewObject::new("x"))
                .await
                .is_err(),
            "{key}"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn folder_store_lists_and_deletes_only_inside_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, outside) = (tmp.path().join("root"), tmp.path().join("outside"));
    std::fs::create_dir_all(root.join("r/s.jpg/k1.sig")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.webp"), b"outside").unwrap();
    std::fs::write(tmp.path().join("x"), b"beside the root").unwrap();
    // Hidden names (temporary files, the demo's key) are not objects.
    std::fs::write(root.join("r/s.jpg/k1.sig/.tmp-1-2"), b"t").unwrap();
    std::fs::write(root.join("r/s.jpg/k1.sig/w10.webp"), b"real").unwrap();
    std::fs::create_dir_all(root.join("r/s.jpg/.hidden")).unwrap();
    std::fs::write(root.join("r/s.jpg/.hidden/w10.webp"), b"h").unwrap();
    // Symbolic links lead out of the root: a linked folder and a linked file.
    std::os::unix::fs::symlink(&outside, root.join("r/link.jpg")).unwrap();
    std::os::unix::fs::symlink(outside.join("x.webp"), root.join("r/s.jpg/k1.sig/w20.webp"))
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(FsStore::new(&root).unwrap());

    assert_eq!(
        listed_keys(&store, "r/").await,
        strings(&["r/s.jpg/k1.sig/w10.webp"]),
        "no hidden name, no link"
    );
    assert_eq!(store.list("r/link.jpg/").await.unwrap(), []);
    assert_eq!(store.list("").await.unwrap().len(), 1, "the whole root");

    store
        .delete(&strings(&[
            "r/link.jpg/x.webp",
            "../x",
            "r/s.jpg/k1.sig/.tmp-1-2",
            "r/s.jpg/.hidden/w10.webp",
            "r/s.jpg/k1.sig/w20.webp",
        ]))
        .await
        .unwrap();
    assert!(
        outside.join("x.webp").is_file(),
        "not through a linked folder"
    );
    assert!(tmp.path().join("x").is_file(), "not beside the root");
    assert!(root.join("r/s.jpg/k1.sig/.tmp-1-2").is_file(), "not hidden");
    assert!(
        root.join("r/s.jpg/.hidden/w10.webp").is_file(),
        "not hidden"
    );
    // A linked file is an object at its key: the link goes, its target stays.
    assert!(!root.join("r/s.jpg/k1.sig/w20.webp").exists());

    // The directory holding a temporary file (a write in flight) is never pruned.
    store
        .delete(&strings(&["r/s.jpg/k1.sig/w10.webp"]))
        .await
        .unwrap();
    assert!(root.join("r/s.jpg/k1.sig").is_dir());
    std::fs::remove_file(root.join("r/s.jpg/k1.sig/.tmp-1-2")).unwrap();
    std::fs::remove_dir_all(root.join("r/s.jpg/.hidden")).unwrap();
    // Deleting again prunes what is empty now.
    store
        .delete(&strings(&["r/s.jpg/k1.sig/w10.webp"]))
        .await
        .unwrap();
    assert!(!root.join("r/s.jpg").exists());

    // Pruning climbs while directories are empty and stops below the first level.
    let keys = strings(&[
        "r/p.jpg/k1.sig/w1.webp",
        "r/p.jpg/k1.sig/w2.webp",
        "r/p.jpg/k2.sig/w1.webp",
        "solo/x.webp",
        "top.webp",
    ]);
    let sized: Vec<_> = keys.iter().map(|k| (k.clone(), 1)).collect();
    put_all(&store, &sized).await;
    store.delete(&keys[..1]).await.unwrap();
    assert!(root.join("r/p.jpg/k1.sig").is_dir(), "still holds w2");
    store.delete(&keys[1..2]).await.unwrap();
    assert!(!root.join("r/p.jpg/k1.sig").exists());
    assert!(root.join("r/p.jpg/k2.sig").is_dir());
    store.delete(&keys[2..]).await.unwrap();
    assert!(!root.join("r/p.jpg").exists());
    assert!(root.join("r").is_dir(), "the first level stays");
    assert!(root.join("solo").is_dir(), "the first level stays");
    assert!(root.is_dir());
    assert_eq!(store.list("").await.unwrap(), []);
}

/// Watches the `DeleteObjects` requests of an S3 client: how many keys each carried, and,
/// scripted, a failure to answer in place of what the server said.
#[derive(Debug, Default)]
struct DeleteSpy {
    /// Keys per request, in order.
    requests: Mutex<Vec<usize>>,
    /// Answers that replace the server's, one per request, while any are left.
    faults: Mutex<VecDeque<Fault>>,
}

#[derive(Debug, Clone)]
enum Fault {
    /// The whole request fails with this status and S3 error code.
    Request(u16, &'static str),
    /// The request succeeds but reports this key as not deleted, with this code.
    Key(&'static str, &'static str),
}

#[derive(Debug, Clone)]
struct Spy(Arc<DeleteSpy>);

impl Intercept for Spy {
    fn name(&self) -> &'static str {
        "delete spy"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        if request.method() == "POST" && request.uri().contains("delete") {
            let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())?;
            let keys = body.matches("<Object>").count();
            self.0.requests.lock().unwrap().push(keys);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(fault) = self.0.faults.lock().unwrap().pop_front() else {
            return Ok(());
        };
        let (status, body) = match fault {
            Fault::Request(status, code) => (
                status,
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>"),
            ),
            Fault::Key(key, code) => (
                200,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Error><Key>{key}</Key><Code>{code}</Code><Message>injected</Message></Error></DeleteResult>"
                ),
            ),
        };
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        response
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *response.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

/// An S3 store over `server` whose deletes `spy` watches, with the SDK's own retries off so
/// that every retry seen is the store's.
fn spied_store(server: &common::S3Server, bucket: &str, spy: &Arc<DeleteSpy>) -> S3Store {
    let conf = aws_sdk_s3::config::Builder::from(&server.sdk_config())
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .interceptor(Spy(spy.clone()))
        .build();
    S3Store::new(aws_sdk_s3::Client::from_conf(conf), bucket)
}

async fn s3_store_lists_and_deletes_past_a_thousand_keys(server: &common::S3Server) {
    let s3 = server.bucket("many").await;
    let store: Arc<dyn Store> = Arc::new(S3Store::new(s3.clone(), "many"));
    // More than one page of S3's default 1,000 keys.
    let started = std::time::Instant::now();
    let keys: Vec<(String, usize)> = (0..1001)
        .map(|i| (format!("r/big.jpg/k1.sig/w{i:04}.webp"), 1))
        .collect();
    put_all(&store, &keys).await;
    eprintln!("wrote {} objects in {:?}", keys.len(), started.elapsed());
    let keys: Vec<String> = keys.into_iter().map(|(k, _)| k).collect();
    assert_eq!(listed_keys(&store, "r/big.jpg/").await, keys);

    // One call, three requests of at most 1,000 keys; the missing keys cost nothing.
    let spy = Arc::new(DeleteSpy::default());
    let mut doomed = keys.clone();
    doomed.extend((0..1200).map(|i| format!("r/big.jpg/missing/{i}.webp")));
    spied_store(server, "many", &spy)
        .delete(&doomed)
        .await
        .unwrap();
    assert_eq!(*spy.requests.lock().unwrap(), [1000, 1000, 201]);
    assert_eq!(
        common::list_keys(&s3, "many", "r/").await,
        Vec::<String>::new()
    );
}

async fn s3_store_retries_failed_deletes_a_bounded_number_of_times(server: &common::S3Server) {
    let s3 = server.bucket("flaky").await;
    let writer: Arc<dyn Store> = Arc::new(S3Store::new(s3.clone(), "flaky"));
    let keys = strings(&["r/f.jpg/k1.sig/w1.webp", "r/f.jpg/k1.sig/w2.webp"]);
    let rewrite = || async {
        let sized: Vec<_> = keys.iter().map(|k| (k.clone(), 1)).collect();
        put_all(&writer, &sized).await;
    };

    // (faults, outcome, requests sent, keys in each)
    type Outcome = fn(&rendition::Result<()>) -> bool;
    let cases: [(Vec<Fault>, Outcome, Vec<usize>); 5] = [
        // Throttled once, then through.
        (
            vec![Fault::Request(503, "SlowDown")],
            |r| r.is_ok(),
            vec![2, 2],
        ),
        // One key failed for a passing reason: only it is sent again.
        (
            vec![Fault::Key("r/f.jpg/k1.sig/w2.webp", "InternalError")],
            |r| r.is_ok(),
            vec![2, 1],
        ),
        // Throttled every time: busy after four tries.
        (
            vec![Fault::Request(503, "SlowDown"); 4],
            |r| matches!(r, Err(Error::Busy(_))),
            vec![2, 2, 2, 2],
        ),
        // Failing every time: a storage error after four tries.
        (
            vec![Fault::Request(500, "InternalError"); 4],
            |r| matches!(r, Err(Error::Storage(_))),
            vec![2, 2, 2, 2],
        ),
        // A key that will not go for a lasting reason: no retry.
        (
            vec![Fault::Key("r/f.jpg/k1.sig/w1.webp", "AccessDenied")],
            |r| matches!(r, Err(Error::Storage(_))),
            vec![2],
        ),
    ];
    for (faults, outcome, requests) in cases {
        rewrite().await;
        let spy = Arc::new(DeleteSpy::default());
        spy.faults.lock().unwrap().extend(faults.iter().cloned());
        let result = spied_store(server, "flaky", &spy).delete(&keys).await;
        assert!(outcome(&result), "{faults:?}: {result:?}");
        assert_eq!(*spy.requests.lock().unwrap(), requests, "{faults:?}");
        if result.is_ok() {
            assert_eq!(
                common::list_keys(&s3, "flaky", "r/").await,
                Vec::<String>::new()
            );
        }
        // Whatever the answers said, the server deleted the keys: start the next case afresh.
        writer.delete(&keys).await.unwrap();
    }
}
