//! Renditions follow their source, against a real S3-compatible server and CloudFront API
//! (moto's server over HTTP on loopback): the event fixtures in `events/` go through
//! [`Lifecycle::handle`], the renderer writes through the service, and the bucket and the
//! distribution's invalidations are checked afterwards.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::{jpeg, keys, list_keys, Moto};
use http::{Method, StatusCode};
use rendition::cdn::CloudFront;
use rendition::lifecycle::{Cdn, Lifecycle};
use rendition::options::Options;
use rendition::service::{Answer, Config};
use rendition::store::{Listed, NewObject, Object, ObjectMeta, Put, S3Store, Store};
use rendition::{Format, Ops, Result, Service};
use serde_json::Value;
use tokio::sync::Notify;

/// The bucket the event fixtures name.
const BUCKET: &str = "rendition-test";
const CAT: &str = "photos/cat.jpg";

struct Setup {
    _moto: Moto,
    s3: aws_sdk_s3::Client,
    cloudfront: aws_sdk_cloudfront::Client,
    distribution: String,
    store: Arc<dyn Store>,
}

async fn setup() -> Option<Setup> {
    let moto = Moto::start()?;
    let s3 = moto.bucket(BUCKET).await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&moto.sdk_config());
    let distribution = create_distribution(&cloudfront).await;
    let store: Arc<dyn Store> = Arc::new(S3Store::new(s3.clone(), BUCKET));
    Some(Setup {
        _moto: moto,
        s3,
        cloudfront,
        distribution,
        store,
    })
}

async fn create_distribution(cf: &aws_sdk_cloudfront::Client) -> String {
    use aws_sdk_cloudfront::types::*;
    let origin = Origin::builder()
        .id("bucket")
        .domain_name(format!("{BUCKET}.s3.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference("rendition-test")
        .comment("test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("bucket")
                .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .expect("moto creates a distribution");
    out.distribution().unwrap().id().to_string()
}

impl Setup {
    fn service(&self) -> Arc<Service> {
        let config = Config {
            answer: Answer::Redirect,
            ..Config::default()
        };
        Arc::new(Service::new(self.store.clone(), keys(), config))
    }

    fn lifecycle(
        &self,
        service: Option<Arc<Service>>,
        prerender: Vec<(String, Options)>,
    ) -> Lifecycle {
        let cdn = CloudFront::new(self.cloudfront.clone(), &self.distribution);
        Lifecycle {
            sources: self.store.clone(),
            source_bucket: BUCKET.into(),
            renditions: self.store.clone(),
            cdn: Some(Arc::new(cdn) as Arc<dyn Cdn>),
            source_prefixes: Vec::new(),
            prerender,
            service,
            settle: Duration::ZERO,
        }
    }

    async fn put_source(&self, key: &str, bytes: Vec<u8>) -> String {
        let out = self
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        out.e_tag().unwrap().trim_matches('"').to_string()
    }

    async fn delete_source(&self, key: &str) {
        self.s3
            .delete_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
    }

    /// Every invalidation path created on the distribution so far.
    async fn invalidated_paths(&self) -> Vec<String> {
        let list = self
            .cloudfront
            .list_invalidations()
            .distribution_id(&self.distribution)
            .send()
            .await
            .unwrap();
        let mut paths = Vec::new();
        for summary in list
            .invalidation_list()
            .map(|l| l.items())
            .unwrap_or_default()
        {
            let inv = self
                .cloudfront
                .get_invalidation()
                .distribution_id(&self.distribution)
                .id(summary.id())
                .send()
                .await
                .unwrap();
            let batch = inv.invalidation().unwrap().invalidation_batch().unwrap();
            paths.extend(batch.paths().unwrap().items().iter().cloned());
        }
        paths.sort();
        paths
    }

    async fn renditions(&self) -> Vec<String> {
        list_keys(&self.s3, BUCKET, "r/").await
    }
}

/// An event fixture from `events/`, with the object's key and ETag replaced.
fn fixture(name: &str, key: &str, etag: Option<&str>) -> Value {
    let text = std::fs::read_to_string(format!("events/{name}.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(records) = v.get_mut("Records").and_then(Value::as_array_mut) {
        let object = &mut records[0]["s3"]["object"];
        object["key"] = form_encode(key).into();
        if let Some(e) = etag {
            object["eTag"] = e.into();
        }
    } else {
        let object = &mut v["detail"]["object"];
        object["key"] = key.into();
        if let Some(e) = etag {
            object["etag"] = e.into();
        }
    }
    v
}

/// The key as S3 notifications carry it (form-encoded: space as `+`).
fn form_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b if b.is_ascii_alphanumeric() || b"-_./".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn path(source: &str, width: u32, format: Format) -> String {
    let ops = Ops {
        width: Some(width),
        ..Ops::default()
    };
    keys().sign_new(source, ops, format).unwrap()
}

async fn render(service: &Service, path: &str) -> StatusCode {
    service.miss(&Method::GET, path).await.status()
}

#[tokio::test]
async fn a_replaced_or_deleted_source_loses_its_renditions_and_nothing_else() {
    let Some(t) = setup().await else { return };
    let service = t.service();
    let lifecycle = t.lifecycle(None, Vec::new());
    t.put_source(CAT, jpeg(400, 300)).await;
    // A source whose key continues the first one: its renditions lie under r/photos/cat.jpg/.
    let sibling = "photos/cat.jpg/b.png";
    t.put_source(sibling, jpeg(200, 100)).await;
    let cat_paths = [path(CAT, 100, Format::Webp), path(CAT, 200, Format::Jpeg)];
    let sibling_path = path(sibling, 50, Format::Png);
    for p in cat_paths.iter().chain([&sibling_path]) {
        assert_eq!(render(&service, p).await, StatusCode::FOUND, "{p}");
    }
    assert_eq!(t.renditions().await.len(), 3);

    // A redelivered created event for the object that is there: nothing to purge.
    let etag = t.store.head(CAT).await.unwrap().unwrap().etag;
    let summary = lifecycle
        .handle(&fixture("s3-created", CAT, Some(etag.trim_matches('"'))))
        .await
        .unwrap();
    assert_eq!((summary.deleted, summary.kept), (0, 2), "{summary:?}");
    assert!(t.invalidated_paths().await.is_empty());

    // Overwritten: both renditions of the cat go, the sibling's stays, one invalidation.
    let new_etag = t.put_source(CAT, jpeg(300, 300)).await;
    let summary = lifecycle
        .handle(&fixture("eventbridge-created", CAT, Some(&new_etag)))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 2, "{summary:?}");
    let left = t.renditions().await;
    assert_eq!(left, [sibling_path[1..].to_string()]);
    assert_eq!(t.invalidated_paths().await, ["/r/photos/cat.jpg/*"]);
    // The same URL now renders the new original (square, so 100x100).
    assert_eq!(render(&service, &cat_paths[0]).await, StatusCode::FOUND);
    let obj = t.store.get(&cat_paths[0][1..], u64::MAX).await.unwrap();
    let img = image::load_from_memory(&obj.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (100, 100));
    assert_eq!(obj.meta.source_etag.as_deref(), Some(new_etag.as_str()));

    // A late event for the older object (out of order) keeps the new object's rendition.
    let summary = lifecycle
        .handle(&fixture("s3-created", CAT, Some(etag.trim_matches('"'))))
        .await
        .unwrap();
    assert_eq!((summary.deleted, summary.kept), (0, 1), "{summary:?}");
    // So does a late delete event while the object exists again.
    let summary = lifecycle
        .handle(&fixture("s3-removed", CAT, None))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 0, "{summary:?}");

    // Deleted: every rendition of the cat goes; the URL then answers 404.
    t.delete_source(CAT).await;
    let summary = lifecycle
        .handle(&fixture("eventbridge-deleted", CAT, None))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 1, "{summary:?}");
    assert_eq!(t.renditions().await, [sibling_path[1..].to_string()]);
    assert_eq!(render(&service, &cat_paths[0]).await, StatusCode::NOT_FOUND);
    assert_eq!(t.renditions().await.len(), 1, "a 404 stores nothing");
    // A purge of a source with no renditions is a no-op, and creates no invalidation.
    let before = t.invalidated_paths().await.len();
    let summary = lifecycle
        .handle(&fixture("eventbridge-deleted", CAT, None))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 0);
    assert_eq!(t.invalidated_paths().await.len(), before);
}

#[tokio::test]
async fn keys_with_spaces_and_accents_are_decoded_from_s3_notifications() {
    let Some(t) = setup().await else { return };
    let service = t.service();
    let lifecycle = t.lifecycle(None, Vec::new());
    let key = "my photos/été+1.jpg";
    t.put_source(key, jpeg(64, 64)).await;
    let p = path(key, 32, Format::Jpeg);
    assert_eq!(render(&service, &p).await, StatusCode::FOUND);
    t.delete_source(key).await;
    let summary = lifecycle
        .handle(&fixture("s3-removed", key, None))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 1, "{summary:?}");
    assert!(t.renditions().await.is_empty());
    let prefix = rendition::request::rendition_prefix(key);
    assert_eq!(t.invalidated_paths().await, [format!("/{prefix}*")]);
}

#[tokio::test]
async fn malformed_and_foreign_events_are_acknowledged_and_change_nothing() {
    let Some(t) = setup().await else { return };
    let service = t.service();
    let lifecycle = t.lifecycle(None, Vec::new());
    t.put_source(CAT, jpeg(64, 64)).await;
    let p = path(CAT, 32, Format::Jpeg);
    assert_eq!(render(&service, &p).await, StatusCode::FOUND);
    let mut other_bucket = fixture("eventbridge-deleted", CAT, None);
    other_bucket["detail"]["bucket"]["name"] = "someone-else".into();
    let rendition_key = fixture("eventbridge-deleted", &p[1..], None);
    for payload in [
        serde_json::json!({"hello": "world"}),
        serde_json::json!({"Records": [{"eventName": "ObjectRemoved:Delete"}]}),
        other_bucket,
        rendition_key,
    ] {
        let summary = lifecycle.handle(&payload).await.expect("acknowledged");
        assert_eq!(summary.deleted, 0, "{payload}");
    }
    assert_eq!(t.renditions().await, [p[1..].to_string()]);
}

#[tokio::test]
async fn presets_are_rendered_when_a_source_is_uploaded() {
    let Some(t) = setup().await else { return };
    let service = t.service();
    let thumb: Options = serde_json::from_str(r#"{"width": 64, "format": "webp"}"#).unwrap();
    let card: Options = serde_json::from_str(r#"{"width": 128, "height": 64}"#).unwrap();
    // An auto preset is pre-rendered as each of its negotiated keys.
    let hero: Options = serde_json::from_str(r#"{"width": 96, "format": "AUTO"}"#).unwrap();
    let lifecycle = t.lifecycle(
        Some(service.clone()),
        vec![
            ("thumb".into(), thumb.clone()),
            ("card".into(), card.clone()),
            ("hero".into(), hero.clone()),
        ],
    );
    let etag = t.put_source(CAT, jpeg(400, 300)).await;
    let summary = lifecycle
        .handle(&fixture("eventbridge-created", CAT, Some(&etag)))
        .await
        .unwrap();
    assert_eq!(summary.prerendered, 5, "{summary:?}");
    for o in [thumb, card] {
        let (ops, format) = o.resolve(CAT).unwrap();
        let key = keys().sign_new(CAT, ops, format).unwrap()[1..].to_string();
        assert!(t.store.head(&key).await.unwrap().is_some(), "{key}");
    }
    let (ops, output) = hero.resolve(CAT).unwrap();
    let auto = keys().sign_new(CAT, ops, output).unwrap()[1..].to_string();
    assert!(auto.ends_with("/w96.auto"), "{auto}");
    assert!(
        t.store.head(&auto).await.unwrap().is_none(),
        "never stored: {auto}"
    );
    for choice in ["avif", "webp", "jpg"] {
        let key = format!("{auto}.{choice}");
        assert!(t.store.head(&key).await.unwrap().is_some(), "{key}");
    }
    // A late created event for an older object renders nothing.
    let summary = lifecycle
        .handle(&fixture(
            "eventbridge-created",
            CAT,
            Some("0123456789abcdef"),
        ))
        .await
        .unwrap();
    assert_eq!(summary.prerendered, 0, "{summary:?}");
}

/// A store that holds every write until the test lets it through.
struct Gate {
    inner: Arc<dyn Store>,
    reached: Notify,
    open: Notify,
}

#[async_trait]
impl Store for Gate {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
        self.inner.get(key, max_bytes).await
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        self.inner.head(key).await
    }
    async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put> {
        self.reached.notify_one();
        self.open.notified().await;
        self.inner.put_new(key, bytes, new).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        self.inner.list(prefix).await
    }
    async fn delete(&self, keys: &[String]) -> Result<()> {
        self.inner.delete(keys).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[tokio::test]
async fn a_render_in_flight_during_a_purge_leaves_no_stale_rendition() {
    let Some(t) = setup().await else { return };
    let gate = Arc::new(Gate {
        inner: t.store.clone(),
        reached: Notify::new(),
        open: Notify::new(),
    });
    let config = Config {
        answer: Answer::Redirect,
        ..Config::default()
    };
    let service = Arc::new(Service::new(gate.clone(), keys(), config));
    let lifecycle = t.lifecycle(None, Vec::new());
    t.put_source(CAT, jpeg(400, 300)).await;
    let p = path(CAT, 100, Format::Jpeg);

    // The render reads the 400x300 original and then waits to store its result...
    let in_flight = tokio::spawn({
        let (service, p) = (service.clone(), p.clone());
        async move { service.miss(&Method::GET, &p).await.status() }
    });
    tokio::time::timeout(Duration::from_secs(20), gate.reached.notified())
        .await
        .expect("the render reached its write");
    // ...while the original is replaced and the purge runs (and finds nothing yet).
    let new_etag = t.put_source(CAT, jpeg(300, 300)).await;
    let summary = lifecycle
        .handle(&fixture("eventbridge-created", CAT, Some(&new_etag)))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 0);
    gate.open.notify_one();
    let status = tokio::time::timeout(Duration::from_secs(20), in_flight)
        .await
        .expect("the render finishes")
        .unwrap();
    assert!(
        status == StatusCode::FOUND || status == StatusCode::OK,
        "{status}"
    );
    // The render saw that its source changed while it ran and took its result back.
    assert!(
        t.renditions().await.is_empty(),
        "{:?}",
        t.renditions().await
    );
    assert_eq!(
        service
            .stats
            .stale
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The next request renders the new original.
    let service = t.service();
    assert_eq!(render(&service, &p).await, StatusCode::FOUND);
    let obj = t.store.get(&p[1..], u64::MAX).await.unwrap();
    let img = image::load_from_memory(&obj.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (100, 100));
}

#[tokio::test]
async fn the_second_pass_invalidates_again_after_renders_in_flight_are_done() {
    let Some(t) = setup().await else { return };
    let service = t.service();
    let mut lifecycle = t.lifecycle(None, Vec::new());
    lifecycle.settle = Duration::from_millis(200);
    t.put_source(CAT, jpeg(400, 300)).await;
    assert_eq!(
        render(&service, &path(CAT, 100, Format::Jpeg)).await,
        StatusCode::FOUND
    );
    t.delete_source(CAT).await;
    let summary = lifecycle
        .handle(&fixture("s3-removed", CAT, None))
        .await
        .unwrap();
    assert_eq!(
        (summary.deleted, summary.invalidations),
        (1, 2),
        "{summary:?}"
    );
    assert_eq!(t.invalidated_paths().await.len(), 2);
}
