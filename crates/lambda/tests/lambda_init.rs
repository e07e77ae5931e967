//! The Lambda's init from its environment: configuration, S3 through AWS_ENDPOINT_URL, and the
//! signing keys fetched once from SSM Parameter Store or Secrets Manager (moto serves both).
//! One test per binary, because it sets process environment variables.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{jpeg, Moto, KEYS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_keys_from_ssm_or_secrets_manager() {
    let Some(moto) = Moto::start() else { return };
    let s3 = moto.bucket("stack-renditions").await;
    s3.create_bucket()
        .bucket("user-originals")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("user-originals")
        .key("photos/sample.jpg")
        .body(jpeg(800, 600).into())
        .send()
        .await
        .unwrap();
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config());
    ssm.put_parameter()
        .name("/rendition/keys")
        .value(KEYS)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    sm.create_secret()
        .name("rendition-keys")
        .secret_string(KEYS)
        .send()
        .await
        .unwrap();

    for (name, value) in [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("RENDITION_S3_PATH_STYLE", "1"),
        ("RENDITION_BUCKET", "stack-renditions"),
        ("RENDITION_SOURCE_BUCKET", "user-originals"),
        ("RENDITION_SOURCE_PREFIXES", "photos/"),
    ] {
        std::env::set_var(name, value);
    }
    std::env::remove_var("RENDITION_KEYS");
    let path = common::keys()
        .sign_new(
            "photos/sample.jpg",
            rendition::Ops {
                width: Some(100),
                ..Default::default()
            },
            rendition::Format::Webp,
        )
        .unwrap();
    let event = |path: &str| {
        let json = std::fs::read_to_string(event_file("function-url-miss")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["rawPath"] = path.into();
        lambda_http::request::from_str(&v.to_string()).unwrap()
    };

    // No key source at all: a clear init error, not a default secret.
    let err = rendition_lambda::from_env()
        .await
        .err()
        .expect("init fails without keys");
    assert!(format!("{err:#}").contains("no signing keys"), "{err:#}");

    // Keys from SSM; sources from the user's bucket, renditions into the stack's.
    std::env::set_var("RENDITION_KEYS_PARAMETER", "/rendition/keys");
    let svc = rendition_lambda::from_env()
        .await
        .expect("init with SSM keys");
    let r = rendition_lambda::handle(&svc, event(&path)).await;
    assert_eq!(r.status(), 302);
    let keys = common::list_keys(&s3, "stack-renditions", "r/").await;
    assert_eq!(keys, vec![path[1..].to_string()]);
    assert!(common::list_keys(&s3, "user-originals", "r/")
        .await
        .is_empty());

    // Keys from Secrets Manager.
    std::env::remove_var("RENDITION_KEYS_PARAMETER");
    std::env::set_var("RENDITION_KEYS_SECRET", "rendition-keys");
    let svc = rendition_lambda::from_env()
        .await
        .expect("init with Secrets Manager keys");
    assert_eq!(
        rendition_lambda::handle(&svc, event(&path)).await.status(),
        200,
        "stored object: bytes"
    );

    // A bad answer mode is an init error.
    std::env::set_var("RENDITION_ANSWER", "sideways");
    assert!(rendition_lambda::from_env().await.is_err());
}

/// A sample event of the repository's `events/` folder (shared with `sam local invoke`).
fn event_file(name: &str) -> String {
    format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"))
}
