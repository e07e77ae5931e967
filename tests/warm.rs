//! `rendition warm` end to end: the real binary over a folder and over a real S3-compatible
//! server (moto on loopback): lists, standard input, HTML pages and presets; what it renders,
//! skips and reports; and that a second run renders nothing.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{files_under, jpeg, keys, list_keys, Moto};
use rendition::auto::Auto;
use rendition::ops::{Format, Ops};

fn width(w: u32) -> Ops {
    Ops {
        width: Some(w),
        ..Ops::default()
    }
}

fn warm(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rendition"));
    cmd.arg("warm")
        .args(args)
        .env("RENDITION_KEYS", common::KEYS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("img")).unwrap();
    std::fs::write(dir.path().join("img/a.jpg"), jpeg(320, 240)).unwrap();
    std::fs::write(dir.path().join("img/b.jpg"), jpeg(200, 300)).unwrap();
    std::fs::write(dir.path().join("img/broken.jpg"), b"not an image").unwrap();
    dir
}

fn renditions(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = files_under(dir)
        .into_iter()
        .filter(|f| f.starts_with("r/"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_list_is_warmed_once_and_failures_are_listed_without_stopping_the_rest() {
    let dir = folder();
    let ring = keys();
    let a = ring
        .sign_new("img/a.jpg", width(100), Format::Webp)
        .unwrap();
    let b = ring.sign_new("img/b.jpg", width(50), Format::Png).unwrap();
    let auto = ring.sign_new("img/a.jpg", width(64), Auto::Auto).unwrap();
    let broken = ring
        .sign_new("img/broken.jpg", width(10), Format::Jpeg)
        .unwrap();
    let forged = a.replace("w100", "w101");
    let list = format!(
        "# warm me\n{a}\nhttps://cdn.example.com{b}?x=1\n{auto}\n{broken}\nthis is not a path\n{forged}\n"
    );
    let list_file = dir.path().join("list.txt");
    std::fs::write(&list_file, &list).unwrap();
    let d = dir.path().to_str().unwrap();

    let o = warm(
        &["--dir", d, "--jobs", "3", list_file.to_str().unwrap()],
        None,
        &[],
    );
    let (out, err) = text(&o);
    assert!(
        !o.status.success(),
        "failures make the exit status non-zero\n{out}\n{err}"
    );
    assert!(
        out.contains("5 rendered") && out.contains("0 already stored") && out.contains("3 failed"),
        "{out}"
    );
    assert!(
        out.contains("failed: line 6:"),
        "the malformed line, by number: {out}"
    );
    assert!(out.contains(&format!("failed: {broken}: 415")), "{out}");
    assert!(out.contains(&format!("failed: {forged}: 403")), "{out}");
    let mut want: Vec<String> = [a.clone(), b.clone()]
        .iter()
        .map(|p| p[1..].to_string())
        .chain(["avif", "webp", "jpg"].map(|c| format!("{}.{c}", &auto[1..])))
        .collect();
    want.sort();
    assert_eq!(
        renditions(dir.path()),
        want,
        "one file per path, nothing for failures"
    );
    let webp = image::open(dir.path().join(&a[1..])).unwrap();
    assert_eq!((webp.width(), webp.height()), (100, 75));

    // Resumable: the same list from standard input renders nothing again.
    let o = warm(&["--dir", d, "-"], Some(&list), &[]);
    let (out, _) = text(&o);
    assert!(
        out.contains("0 rendered") && out.contains("5 already stored"),
        "{out}"
    );
    assert_eq!(renditions(dir.path()), want);
}

#[test]
fn html_pages_and_presets_are_sources_of_paths() {
    let dir = folder();
    let ring = keys();
    let a = ring
        .sign_new("img/a.jpg", width(120), Format::Webp)
        .unwrap();
    let b = ring.sign_new("img/b.jpg", width(60), Format::Webp).unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(
        &page,
        format!(
            r#"<img src="{a}" srcset="{a} 120w, {b} 60w" alt=""><a href="/r/rust/">r/rust</a>"#
        ),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = warm(&["--dir", d, "--html", page.to_str().unwrap()], None, &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("2 rendered"), "{out}");

    let presets =
        r#"{"thumb": {"width": 32, "format": "webp"}, "hero": {"width": 80, "format": "auto"}}"#;
    let o = warm(
        &[
            "--dir",
            d,
            "--prefix",
            "img/",
            "--preset",
            "thumb,hero",
            "--presets",
            presets,
        ],
        None,
        &[],
    );
    let (out, err) = text(&o);
    // a.jpg and b.jpg: 1 + 3 each; broken.jpg: 4 failures, named with the source.
    assert!(
        out.contains("8 rendered") && out.contains("4 failed"),
        "{out}\n{err}"
    );
    assert!(out.contains("failed: /r/img/broken.jpg/"), "{out}");
    assert!(!o.status.success());
    let thumb = ring.sign_new("img/b.jpg", width(32), Format::Webp).unwrap();
    assert!(dir.path().join(&thumb[1..]).exists());

    let o = warm(&["--dir", d], None, &[]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("nothing to warm"), "{}", text(&o).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_is_warmed_over_s3() {
    let Some(moto) = Moto::start() else { return };
    let s3 = moto.bucket("renditions").await;
    s3.put_object()
        .bucket("renditions")
        .key("photos/sample.jpg")
        .body(jpeg(400, 300).into())
        .send()
        .await
        .unwrap();
    let path = keys()
        .sign_new("photos/sample.jpg", width(90), Format::Jpeg)
        .unwrap();
    let env = [
        ("AWS_ENDPOINT_URL_S3", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("RENDITION_S3_PATH_STYLE", "1"),
    ];
    // moto is another process: blocking this test's thread while the command runs is fine.
    let o = warm(&["--bucket", "renditions", "-"], Some(&path), &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("1 rendered"), "{out}");
    assert_eq!(
        list_keys(&s3, "renditions", "r/").await,
        [path[1..].to_string()]
    );
}
