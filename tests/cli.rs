//! The `rendition` command line: keygen, sign (paths and srcsets), render, and key errors.

mod common;

use std::process::Command;

use common::{jpeg, KEYS};

fn rendition(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(args)
        .env("RENDITION_KEYS", KEYS)
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn sign_prints_a_verifiable_canonical_path() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "--width",
        "320",
        "--height",
        "200",
        "--format",
        "webp",
        "--quality",
        "70",
    ]));
    assert!(out.starts_with("/r/photos/cat.jpg/t1."), "{out}");
    assert!(out.ends_with("/w320_h200_q70.webp"), "{out}");
    assert!(common::keys().verify(&out).is_ok());
    // dpr multiplies, defaults vanish, the format defaults to the source's.
    let out = stdout(&rendition(&[
        "sign",
        "a.png",
        "-w",
        "100",
        "--dpr",
        "2",
        "--fit",
        "cover",
        "--gravity",
        "centre",
    ]));
    assert!(out.starts_with("/r/a.png/t1."), "{out}");
    assert!(out.ends_with("/w200.png"), "{out}");
    let out = stdout(&rendition(&[
        "sign",
        "a.png",
        "-w",
        "10",
        "--base",
        "https://cdn.example.com",
    ]));
    assert!(
        out.starts_with("https://cdn.example.com/r/a.png/t1."),
        "{out}"
    );
    // Every flag is canonicalised: a turn of 360 is none, v-flip is a half turn plus flip,
    // quality 80 and white are a JPEG's defaults, `centre` is the default gravity.
    let out = stdout(&rendition(&[
        "sign",
        "a/b.jpg",
        "-w",
        "100",
        "--dpr",
        "2",
        "--flip",
        "v",
        "--quality",
        "80",
        "--background",
        "#FFFFFF",
        "--rotate",
        "360",
        "--gravity",
        "centre",
    ]));
    assert!(out.ends_with("/w200_r180_flip.jpg"), "{out}");
    let out = stdout(&rendition(&["sign", "a.png", "--flip", "hv"]));
    assert!(out.ends_with("/r180.png"), "{out}");
    assert!(!rendition(&["sign", "a.tiff"]).status.success());
}

#[test]
fn sign_and_render_avif() {
    // AVIF's default quality is dropped like the other lossy formats'; any other stays.
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "-w",
        "320",
        "--format",
        "avif",
        "--quality",
        "80",
    ]));
    assert!(out.ends_with("/w320.avif"), "{out}");
    assert!(common::keys().verify(&out).is_ok());
    let out = stdout(&rendition(&[
        "sign", "a.jpg", "-w", "320", "--format", "AVIF", "-q", "60",
    ]));
    assert!(out.ends_with("/w320_q60.avif"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.jpg");
    std::fs::write(&src, jpeg(400, 300)).unwrap();
    let out_dir = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "--width", "100", "--format", "avif", "--out-dir"])
        .arg(&out_dir)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(out_dir.join("a.avif")).unwrap();
    let av1 = avif_parse::read_avif(&mut &bytes[..])
        .unwrap()
        .primary_item_metadata()
        .unwrap();
    assert_eq!(
        (av1.max_frame_width.get(), av1.max_frame_height.get()),
        (100, 75)
    );
}

#[test]
fn sign_prints_srcsets() {
    let out = stdout(&rendition(&[
        "sign", "a.jpg", "-w", "400", "-H", "200", "--srcset", "320,640",
    ]));
    let items: Vec<&str> = out.split(", ").collect();
    assert_eq!(items.len(), 2, "{out}");
    assert!(items[0].ends_with("/w320_h160.jpg 320w"), "{out}");
    assert!(items[1].ends_with("/w640_h320.jpg 640w"), "{out}");
    let out = stdout(&rendition(&[
        "sign", "a.jpg", "-w", "300", "--srcset", "1x,2x",
    ]));
    assert!(
        out.contains("/w300.jpg 1x") && out.contains("/w600.jpg 2x"),
        "{out}"
    );
}

#[test]
fn sign_rejects_bad_input_clearly() {
    let o = rendition(&["sign", "../etc/passwd", "-w", "10", "--format", "jpg"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(".."));
    let o = rendition(&["sign", "a.jpg", "--fit", "contain", "-w", "10"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("fit: contain needs both width and height"));
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["sign", "a.jpg"])
        .env_remove("RENDITION_KEYS")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("RENDITION_KEYS"),
        "a missing key is a clear error"
    );
}

#[test]
fn serve_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["serve", "--addr", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .env_remove("RENDITION_KEYS")
        .output()
        .unwrap();
    assert!(!o.status.success(), "no default secret outside the demo");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no signing keys"));
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["serve", "--addr", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .env("RENDITION_KEYS", "k1:short")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("use at least 16"));
}

#[test]
fn keygen_makes_a_usable_key() {
    let key = stdout(&rendition(&["keygen", "--id", "k7"]));
    assert!(key.starts_with("k7:") && key.len() > 40, "{key}");
    assert!(rendition::KeyRing::from_spec(&key).is_ok());
}

#[test]
fn render_writes_one_output_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
    std::fs::write(&a, jpeg(400, 300)).unwrap();
    std::fs::write(&b, jpeg(300, 400)).unwrap();
    let out_dir = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "--width", "100", "--format", "webp", "--out-dir"])
        .arg(&out_dir)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = image::open(out_dir.join("a.webp")).unwrap();
    let b = image::open(out_dir.join("b.webp")).unwrap();
    assert_eq!((a.width(), a.height()), (100, 75));
    assert_eq!((b.width(), b.height()), (100, 133));

    // A bad input fails the command but the good ones are still written.
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"not an image").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "-w", "50", "--out-dir"])
        .arg(&out_dir)
        .arg(&bad)
        .arg(dir.path().join("a.jpg"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.jpg"));
    assert!(out_dir.join("a.jpg").exists());
}

#[test]
fn sign_refuses_what_the_server_would_refuse_or_does_the_intended_thing() {
    let refused = |args: &[&str], says: &str| {
        let o = rendition(args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(
            err.contains(says),
            "{args:?}: {err:?} does not say {says:?}"
        );
    };
    // A width beside srcset widths would be dropped silently.
    refused(
        &["sign", "a.jpg", "--width", "400", "--srcset", "320,640"],
        "the widths replace --width",
    );
    // Densities with nothing to multiply would print identical URLs.
    refused(
        &["sign", "a.jpg", "--srcset", "1x,2x"],
        "densities need a --width or --height",
    );
    // Mixed descriptors make an invalid srcset.
    refused(&["sign", "a.jpg", "--srcset", "1x,640"], "not both");
    // A rendition cannot be a source; the server would refuse it.
    refused(&["sign", "r/foo.jpg", "-w", "10"], "under r/");
    // The `..` is the problem, not the missing format.
    refused(&["sign", "../etc/passwd"], "..");
    // A trailing slash on the base is not doubled.
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "-w",
        "10",
        "--base",
        "https://cdn.example.com/",
    ]));
    assert!(out.starts_with("https://cdn.example.com/r/a.jpg/"), "{out}");
}

#[test]
fn help_names_the_environment_variables() {
    for sub in ["sign", "serve", "render", "purge"] {
        let help = stdout(&rendition(&[sub, "--help"]));
        for var in [
            "RENDITION_KEYS",
            "RENDITION_MAX_SOURCE_BYTES",
            "RENDITION_BUCKET",
        ] {
            assert!(
                help.contains(var),
                "`rendition {sub} --help` does not name {var}"
            );
        }
    }
}

#[test]
fn render_says_what_it_wrote_and_refuses_a_folder_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.jpg");
    std::fs::write(&input, jpeg(400, 300)).unwrap();
    let out_dir = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "-w", "100", "-f", "png", "--out-dir"])
        .arg(&out_dir)
        .arg(&input)
        .output()
        .unwrap();
    let out = stdout(&o);
    let written = std::fs::metadata(out_dir.join("a.png")).unwrap().len();
    assert_eq!(
        out,
        format!("{} 100x75 {written} bytes", out_dir.join("a.png").display())
    );
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "-w", "100", "--out-dir"])
        .arg(&out_dir)
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("is a folder"), "{err}");
    assert!(!err.contains("format"), "{err}");
}

#[test]
fn a_second_serve_on_a_taken_port_leaves_the_demo_folder_as_it_was() {
    let cwd = tempfile::tempdir().unwrap();
    let first = common::Server::start_demo(cwd.path());
    let demo = cwd.path().join("rendition-demo");
    let page = std::fs::read(demo.join("index.html")).unwrap();
    let key = std::fs::read(demo.join(".rendition-dev-key")).unwrap();
    let addr = first
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/');
    // Another key, the same folder and the same port: it must fail before writing anything.
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .current_dir(cwd.path())
        .args(["serve", "--addr", addr])
        .env(
            "RENDITION_KEYS",
            "other:an-entirely-different-secret-0123456789",
        )
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("listening on"));
    assert_eq!(std::fs::read(demo.join("index.html")).unwrap(), page);
    assert_eq!(std::fs::read(demo.join(".rendition-dev-key")).unwrap(), key);
    // And the running demo's images still verify.
    let html = String::from_utf8(page).unwrap();
    let src = html
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = reqwest::blocking::get(first.url(src)).unwrap();
    assert_eq!(r.status(), 200, "{src}");

    // A fresh folder whose start fails is not created at all.
    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .current_dir(empty.path())
        .args(["serve", "--addr", addr])
        .env_remove("RENDITION_KEYS")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(!empty.path().join("rendition-demo").exists());
}

#[test]
fn sign_writes_auto_paths_and_render_asks_for_one_format() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "-w",
        "640",
        "--format",
        "Auto",
    ]));
    assert!(out.ends_with("/w640.auto"), "{out}");
    let req = common::keys().verify(&out).unwrap();
    assert_eq!(req.format(), None);
    assert!(common::keys().verify(&format!("{out}.avif")).is_ok());
    // Options follow avif's rules: a white background is kept, q80 is the default.
    let out = stdout(&rendition(&[
        "sign",
        "logo.png",
        "-w",
        "64",
        "-f",
        "auto-alpha",
        "--background",
        "fff",
        "-q",
        "80",
    ]));
    assert!(out.ends_with("/w64_bg-ffffff.auto-alpha"), "{out}");
    let srcset = stdout(&rendition(&[
        "sign", "a.jpg", "-f", "auto", "--srcset", "320,640",
    ]));
    assert!(srcset.contains("/w320.auto 320w"), "{srcset}");
    assert!(srcset.contains("/w640.auto 640w"), "{srcset}");
    let o = rendition(&["sign", "a.jpg", "-f", "auto-a"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("format"));

    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jpg");
    std::fs::write(&a, jpeg(40, 30)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "-f", "auto", "--out-dir"])
        .arg(dir.path())
        .arg(&a)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--format auto") && err.contains("Accept"),
        "{err}"
    );
}
