//! `rendition serve --bucket`: the local server over a real S3-compatible server (moto, over
//! HTTP on loopback), as a developer points it at a bucket.

mod common;

use common::{jpeg, list_keys, Moto};
use rendition::ops::{Format, Ops};

const BUCKET: &str = "renditions";

fn sign(source: &str, ops: Ops, format: Format) -> String {
    common::keys().sign_new(source, ops, format).unwrap()
}

async fn setup(moto: &Moto) -> aws_sdk_s3::Client {
    let s3 = moto.bucket(BUCKET).await;
    s3.put_object()
        .bucket(BUCKET)
        .key("photos/sample.jpg")
        .body(jpeg(1200, 800).into())
        .send()
        .await
        .unwrap();
    s3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_a_bucket() {
    let Some(moto) = Moto::start() else { return };
    let s3 = setup(&moto).await;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rendition"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--bucket", BUCKET])
        .env("RENDITION_KEYS", common::KEYS)
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("RENDITION_S3_PATH_STYLE", "1");
    let server = common::Server::spawn_command(cmd);
    let path = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(120),
            ..Ops::default()
        },
        Format::Png,
    );
    let client = reqwest::Client::new();
    let r = client.get(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-rendition"], "rendered");
    let first = r.bytes().await.unwrap();
    assert_eq!(
        list_keys(&s3, BUCKET, "r/").await,
        vec![path[1..].to_string()]
    );
    let r = client.get(server.url(&path)).send().await.unwrap();
    assert_eq!(r.headers()["x-rendition"], "hit");
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap(), first);
    let r = client
        .get(server.url("/photos/sample.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "sources are served as files, like the folder store"
    );
}
