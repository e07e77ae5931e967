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
    // Descriptors are printed as HTML numbers, whatever way they were typed.
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "-w",
        "300",
        "--srcset",
        "1.x, 2.0x,1.50x",
    ]));
    let items: Vec<&str> = out.split(", ").collect();
    assert!(items[0].ends_with("/w300.jpg 1x"), "{out}");
    assert!(items[1].ends_with("/w600.jpg 2x"), "{out}");
    assert!(items[2].ends_with("/w450.jpg 1.5x"), "{out}");
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

// ---- --picture: <picture> markup, as the JavaScript client's picture() writes it ----

const BASE: &str = "https://cdn.example.com";

/// The tags of `markup` in order: name and attributes (values unescaped). Panics on text
/// between tags or on an attribute not written as `name="value"`, so the markup is exactly
/// tags with quoted attributes.
fn tags(markup: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = markup;
    while !rest.is_empty() {
        assert!(rest.starts_with('<'), "text between tags: {rest:?}");
        let end = rest.find('>').expect("a closed tag");
        let inner = &rest[1..end];
        rest = &rest[end + 1..];
        let (name, mut attrs) = inner.split_once(' ').unwrap_or((inner, ""));
        let mut list = Vec::new();
        while !attrs.is_empty() {
            let (attr, after) = attrs.split_once("=\"").expect("name=\"value\"");
            let (value, after) = after.split_once('"').expect("a closing quote");
            assert!(!value.contains(['<', '>', '\'']), "unescaped: {value:?}");
            let value = value
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            list.push((attr.to_string(), value));
            attrs = after.strip_prefix(' ').unwrap_or(after);
        }
        out.push((name.to_string(), list));
    }
    out
}

fn names(attrs: &[(String, String)]) -> Vec<&str> {
    attrs.iter().map(|(n, _)| n.as_str()).collect()
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> &'a str {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {attrs:?}"))
}

/// A srcset's (URL, descriptor) pairs; every URL starts with `base` and verifies.
fn srcset_items(srcset: &str, base: &str) -> Vec<(String, String)> {
    srcset
        .split(", ")
        .map(|item| {
            let (url, descriptor) = item.rsplit_once(' ').unwrap();
            let path = url.strip_prefix(base).unwrap_or_else(|| panic!("{url}"));
            assert!(common::keys().verify(path).is_ok(), "{url} does not verify");
            (url.to_string(), descriptor.to_string())
        })
        .collect()
}

fn refused_saying(args: &[&str], says: &str) {
    let o = rendition(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "{args:?} was accepted");
    assert!(
        err.contains(says),
        "{args:?}: {err:?} does not say {says:?}"
    );
}

#[test]
fn sign_picture_writes_sources_and_an_img_for_a_jpeg() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "--srcset",
        "320,640,1280,1920",
        "--picture",
        "--sizes",
        "(min-width: 60em) 50vw, 100vw",
        "--alt",
        "A cat",
        "--source-size",
        "1600x1200",
        "-q",
        "60",
        "--base",
        BASE,
    ]));
    let tags = tags(&out);
    let order: Vec<&str> = tags.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        order,
        ["picture", "source", "source", "img", "/picture"],
        "{out}"
    );
    // 1920 is more than the source gives: signed as 1600, the source's width, and described so.
    let descriptors = ["320w", "640w", "1280w", "1600w"];
    for ((_, attrs), (mime, ext)) in tags[1..3]
        .iter()
        .zip([("image/avif", "avif"), ("image/webp", "webp")])
    {
        assert_eq!(names(attrs), ["type", "srcset", "sizes"], "{out}");
        assert_eq!(attr(attrs, "type"), mime);
        assert_eq!(attr(attrs, "sizes"), "(min-width: 60em) 50vw, 100vw");
        let items = srcset_items(attr(attrs, "srcset"), BASE);
        assert_eq!(
            items.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(),
            descriptors
        );
        for ((url, _), w) in items.iter().zip([320, 640, 1280, 1600]) {
            assert!(url.ends_with(&format!("/w{w}_q60.{ext}")), "{url}");
        }
    }
    let img = &tags[3].1;
    assert_eq!(
        names(img),
        ["src", "srcset", "sizes", "width", "height", "alt", "loading", "decoding"],
        "{out}"
    );
    let items = srcset_items(attr(img, "srcset"), BASE);
    assert_eq!(
        items.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(),
        descriptors
    );
    assert!(items[3].0.ends_with("/w1600_q60.jpg"), "{out}");
    assert_eq!(attr(img, "src"), items[3].0, "src is the largest candidate");
    srcset_items(&format!("{} 1x", attr(img, "src")), BASE);
    assert_eq!(attr(img, "sizes"), "(min-width: 60em) 50vw, 100vw");
    assert_eq!((attr(img, "width"), attr(img, "height")), ("1600", "1200"));
    assert_eq!(attr(img, "alt"), "A cat");
    assert_eq!(attr(img, "loading"), "lazy");
    assert_eq!(attr(img, "decoding"), "async");
    assert!(tags[4].1.is_empty());

    // Without the source's size, width and height come from a box alone.
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "--srcset",
        "320,640",
        "--picture",
        "--sizes",
        "100vw",
        "--alt",
        "a",
    ]));
    assert!(!out.contains("width=") && !out.contains("height="), "{out}");
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "-w",
        "400",
        "-H",
        "300",
        "--srcset",
        "320,640",
        "--picture",
        "--sizes",
        "100vw",
        "--alt",
        "a",
    ]));
    assert!(
        out.contains(r#"/w640_h480.jpg" srcset="#) && out.contains(r#"width="640" height="480""#),
        "{out}"
    );
}

#[test]
fn sign_picture_with_densities_writes_the_1x_size_and_no_sizes() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "-w",
        "300",
        "--srcset",
        "1x,2x,3x",
        "--picture",
        "--alt",
        "",
        "--source-size",
        "500x400",
        "--formats",
        "webp",
        "--fallback",
        "png",
        "-q",
        "70",
    ]));
    let tags = tags(&out);
    let order: Vec<&str> = tags.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order, ["picture", "source", "img", "/picture"], "{out}");
    let source = &tags[1].1;
    assert_eq!(names(source), ["type", "srcset"], "{out}");
    // 3x would repeat 2x's pixels (both are the whole 500x400 source): left out.
    let items = srcset_items(attr(source, "srcset"), "");
    assert_eq!(items.len(), 2, "{out}");
    assert!(
        items[0].0.ends_with("/w300_q70.webp") && items[0].1 == "1x",
        "{out}"
    );
    assert!(
        items[1].0.ends_with("/w600_q70.webp") && items[1].1 == "2x",
        "{out}"
    );
    let img = &tags[2].1;
    assert_eq!(
        names(img),
        ["src", "srcset", "width", "height", "alt", "loading", "decoding"],
        "{out}"
    );
    // Quality applies to the lossy formats only: the PNG fallback has none.
    let items = srcset_items(attr(img, "srcset"), "");
    assert!(
        items[0].0.ends_with("/w300.png") && items[1].0.ends_with("/w600.png"),
        "{out}"
    );
    assert_eq!(attr(img, "src"), items[1].0);
    assert_eq!((attr(img, "width"), attr(img, "height")), ("300", "240"));
    assert_eq!(
        attr(img, "alt"),
        "",
        "an empty alt is written: a decorative image"
    );
    refused_saying(
        &[
            "sign",
            "a.jpg",
            "-w",
            "300",
            "--srcset",
            "1x,2x",
            "--picture",
            "--alt",
            "a",
            "--sizes",
            "100vw",
        ],
        "--sizes: applies to widths only",
    );
}

#[test]
fn sign_picture_with_format_auto_writes_one_img() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "-f",
        "auto",
        "--srcset",
        "320,640",
        "--picture",
        "--sizes",
        "100vw",
        "--alt",
        "A cat",
        "--source-size",
        "500x300",
    ]));
    let tags = tags(&out);
    assert_eq!(tags.len(), 1, "one <img>, no <picture> or <source>: {out}");
    let (name, img) = &tags[0];
    assert_eq!(name, "img");
    assert_eq!(
        names(img),
        ["src", "srcset", "sizes", "width", "height", "alt", "loading", "decoding"]
    );
    let items = srcset_items(attr(img, "srcset"), "");
    assert!(
        items[0].0.ends_with("/w320.auto") && items[0].1 == "320w",
        "{out}"
    );
    assert!(
        items[1].0.ends_with("/w500.auto") && items[1].1 == "500w",
        "{out}"
    );
    assert_eq!(attr(img, "src"), items[1].0);
    assert_eq!((attr(img, "width"), attr(img, "height")), ("500", "300"));
    for flag in [["--formats", "webp"], ["--fallback", "png"]] {
        let mut args = vec![
            "sign",
            "a.jpg",
            "-f",
            "AUTO",
            "--srcset",
            "320",
            "--picture",
            "--sizes",
            "1px",
            "--alt",
            "a",
        ];
        args.extend(flag);
        refused_saying(
            &args,
            &format!(
                "{}: --format auto writes one <img>, which the CDN negotiates",
                flag[0]
            ),
        );
    }
}

#[test]
fn sign_picture_with_format_auto_alpha_writes_one_img() {
    let out = stdout(&rendition(&[
        "sign",
        "icons/logo.png",
        "-w",
        "64",
        "-H",
        "64",
        "--fit",
        "contain",
        "-f",
        "auto-alpha",
        "--srcset",
        "1x,2x",
        "--picture",
        "--alt",
        "Logo",
    ]));
    let tags = tags(&out);
    assert_eq!(tags.len(), 1, "{out}");
    let img = &tags[0].1;
    assert_eq!(
        names(img),
        ["src", "srcset", "width", "height", "alt", "loading", "decoding"]
    );
    let items = srcset_items(attr(img, "srcset"), "");
    assert!(
        items[0].0.ends_with("/w64_h64_fit-contain.auto-alpha"),
        "{out}"
    );
    assert!(
        items[1].0.ends_with("/w128_h128_fit-contain.auto-alpha"),
        "{out}"
    );
    assert_eq!(attr(img, "src"), items[1].0);
    assert_eq!((attr(img, "width"), attr(img, "height")), ("64", "64"));
    assert!(common::keys()
        .verify(&format!("{}.png", items[1].0))
        .is_ok());
}

#[test]
fn sign_picture_escapes_attribute_values() {
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "--srcset",
        "320",
        "--picture",
        "--sizes",
        "(width > 600px) 50vw, 100vw",
        "--alt",
        r#"Tom & "Jerry" <3 it's"#,
    ]));
    assert!(
        out.contains(r#" alt="Tom &amp; &quot;Jerry&quot; &lt;3 it&#39;s" "#),
        "{out}"
    );
    assert!(
        out.contains(r#" sizes="(width &gt; 600px) 50vw, 100vw""#),
        "{out}"
    );
    let tags = tags(&out);
    assert_eq!(attr(&tags[3].1, "alt"), r#"Tom & "Jerry" <3 it's"#);
}

#[test]
fn sign_srcset_with_the_source_size_follows_the_source() {
    let out = stdout(&rendition(&[
        "sign",
        "photos/cat.jpg",
        "-f",
        "webp",
        "--srcset",
        "320,640,1920,2560",
        "--source-size",
        "1280x853",
    ]));
    let items = srcset_items(&out, "");
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|(u, d)| (u.rsplit('/').next().unwrap(), d.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("w320.webp", "320w"),
            ("w640.webp", "640w"),
            ("w1280.webp", "1280w")
        ]
    );
    // A quarter turn swaps the sides: 640 of a 1200x800 photo turned is 640 of 800.
    let out = stdout(&rendition(&[
        "sign",
        "a.jpg",
        "--rotate",
        "90",
        "--srcset",
        "640,1000",
        "--source-size",
        "1200x800",
    ]));
    assert!(
        out.contains("/w640_r90.jpg 640w, ") && out.ends_with("/w800_r90.jpg 800w"),
        "{out}"
    );
}

#[test]
fn sign_picture_refuses_invalid_combinations_naming_the_flag() {
    let picture = |extra: &[&'static str]| {
        let mut args = vec!["sign", "a.jpg", "--srcset", "320,640", "--picture"];
        args.extend(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["sign", "a.jpg", "--picture", "--alt", "a"],
            "--picture: needs --srcset",
        ),
        (
            vec!["sign", "a.jpg", "--srcset", "320", "--sizes", "1px"],
            "--sizes: is for --picture",
        ),
        (
            vec!["sign", "a.jpg", "--srcset", "320", "--alt", "a"],
            "--alt: is for --picture",
        ),
        (
            vec!["sign", "a.jpg", "--srcset", "320", "--formats", "webp"],
            "--formats: is for --picture",
        ),
        (
            vec!["sign", "a.jpg", "--srcset", "320", "--fallback", "png"],
            "--fallback: is for --picture",
        ),
        (
            vec!["sign", "a.jpg", "-w", "10", "--source-size", "10x10"],
            "--source-size: applies to --srcset",
        ),
        (
            vec!["sign", "a.jpg", "--srcset", "320", "--source-size", "0x10"],
            "--source-size: \"0x10\" is not WIDTHxHEIGHT",
        ),
        (picture(&["--alt", "a"]), "--sizes: is needed with widths"),
        (
            picture(&["--alt", "a", "--sizes", " "]),
            "--sizes: is needed with widths",
        ),
        (
            picture(&["--sizes", "1px"]),
            "--alt: is needed with --picture",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--formats", "avif,AVIF"]),
            "--formats: avif is listed twice",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--formats", "avif,jpeg"]),
            "--formats: jpg is the fallback <img> already",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--formats", "auto"]),
            "--formats: \"auto\" is not a <source> or fallback format",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--formats", "tiff"]),
            "--formats: \"tiff\" is not jpg, png, webp, gif or avif",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--fallback", "auto-alpha"]),
            "--fallback: \"auto-alpha\" is not a <source> or fallback format",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "-f", "webp"]),
            "--format: --picture makes one rendition per format",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "-f", "auto-a"]),
            "--format: \"auto-a\" is not auto or auto-alpha",
        ),
        (
            vec![
                "sign",
                "a.jpg",
                "--srcset",
                "1x,640",
                "--picture",
                "--alt",
                "a",
            ],
            "--srcset: use widths (320,640) or densities (1x,2x), not both",
        ),
        (
            vec![
                "sign",
                "a.jpg",
                "--srcset",
                "1x,2x",
                "--picture",
                "--alt",
                "a",
            ],
            "--srcset: densities need a --width or --height",
        ),
        (
            picture(&["--sizes", "1px", "--alt", "a", "--dpr", "2"]),
            "--srcset: widths are in device pixels already",
        ),
    ];
    for (args, says) in cases {
        refused_saying(&args, says);
    }
}

/// Info answers as the info request writes them (`rendition render --format json`), with a
/// placeholder, with alpha, and without a placeholder but with a member no reader knows.
const INFO_OPAQUE: &str = r#"{"alpha":false,"format":"jpeg","frames":1,"height":1200,"placeholder":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAGCAIAAABxZ0dEAAAAGklEQVR4nGP4z8CAFTGMSlBNAi7OpAGI/AIA/eYT7Td+dQAAAAAASUVORK5CYII=","thumbhash":"HAkOFZpwh4eAeYiXh3iHiNAwDPh4","width":1600}"#;
const INFO_ALPHA: &str = r#"{"alpha":true,"format":"png","frames":1,"height":50,"placeholder":"data:image/png;base64,iVBORw0KGgo=","thumbhash":"AAAA","width":100}"#;
const INFO_BARE: &str =
    r#"{"width":3000,"height":2000,"alpha":false,"placeholder":null,"future":{"x":1}}"#;
const PLACEHOLDER_WEBP: &str =
    "data:image/webp;base64,UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA";

/// The style attribute that paints `placeholder`, as the clients write it.
fn placeholder_style(placeholder: &str) -> String {
    format!(
        " style=\"background-position:center;background-size:cover;background-image:url({placeholder})\""
    )
}

/// `rendition sign` and the JavaScript client's picture() and srcset() print the same text.
#[test]
fn sign_picture_prints_what_the_javascript_client_prints() {
    let node = Command::new("node").arg("--version").output();
    if !common::available(node.is_ok_and(|o| o.status.success()), "node") {
        return;
    }
    // Info answers, written to files for the command (`@name` in its flags is the file's path)
    // and declared as constants of the same names for the JavaScript.
    let dir = tempfile::tempdir().unwrap();
    let infos = [
        ("opaque", INFO_OPAQUE),
        ("alpha", INFO_ALPHA),
        ("bare", INFO_BARE),
    ];
    for (name, json) in infos {
        std::fs::write(dir.path().join(format!("{name}.json")), json).unwrap();
    }
    // (the command's flags, the same call to the JavaScript signer)
    let cases: Vec<(&[&str], &str)> = vec![
        (
            &[
                "photos/cat.jpg",
                "--srcset",
                "320,640,1280,1920",
                "--picture",
                "--sizes",
                "(min-width: 60em) 50vw, 100vw",
                "--alt",
                r#"Tom & "Jerry" <3 it's"#,
                "--source-size",
                "1600x1200",
                "-q",
                "60",
            ],
            r#"s.picture('photos/cat.jpg', { widths: [320, 640, 1280, 1920],
               sizes: '(min-width: 60em) 50vw, 100vw', alt: 'Tom & "Jerry" <3 it\'s',
               sourceWidth: 1600, sourceHeight: 1200, quality: 60 })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "400",
                "-H",
                "300",
                "--fit",
                "contain",
                "--background",
                "f80",
                "--srcset",
                "320,640,1280",
                "--picture",
                "--sizes",
                "50vw",
                "--alt",
                "A cat",
                "--source-size",
                "800x600",
                "--formats",
                "webp",
                "--fallback",
                "png",
                "-q",
                "60",
            ],
            r#"s.picture('photos/cat.jpg', { width: 400, height: 300, fit: 'contain',
               background: 'f80', widths: [320, 640, 1280], sizes: '50vw', alt: 'A cat',
               sourceWidth: 800, sourceHeight: 600, formats: ['webp'], fallback: 'png', quality: 60 })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "300",
                "--dpr",
                "1.5",
                "--srcset",
                "1x,1.50x,2x,3x",
                "--picture",
                "--alt",
                "",
                "--source-size",
                "1000x800",
            ],
            r#"s.picture('photos/cat.jpg', { width: 300, dpr: '1.5',
               densities: ['1x', '1.50x', '2x', '3x'], alt: '', sourceWidth: 1000, sourceHeight: 800 })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "--rotate",
                "90",
                "--srcset",
                "320,640,1280",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "Turned",
                "--source-size",
                "1200x800",
            ],
            r#"s.picture('photos/cat.jpg', { rotate: 90, widths: [320, 640, 1280], sizes: '100vw',
               alt: 'Turned', sourceWidth: 1200, sourceHeight: 800 })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "400",
                "-H",
                "300",
                "-f",
                "auto",
                "--srcset",
                "320,640",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "A cat",
            ],
            r#"s.picture('photos/cat.jpg', { width: 400, height: 300, format: 'auto',
               widths: [320, 640], sizes: '100vw', alt: 'A cat' })"#,
        ),
        (
            &[
                "icons/logo.png",
                "-w",
                "64",
                "-f",
                "auto-alpha",
                "--srcset",
                "1x,2x",
                "--picture",
                "--alt",
                "Logo",
                "-q",
                "70",
                "--source-size",
                "100x50",
            ],
            r#"s.picture('icons/logo.png', { width: 64, format: 'auto-alpha', densities: ['1x', '2x'],
               alt: 'Logo', quality: 70, sourceWidth: 100, sourceHeight: 50 })"#,
        ),
        (
            &[
                "anim/dance.gif",
                "--srcset",
                "200,400",
                "--picture",
                "--sizes",
                "200px",
                "--alt",
                "Dancing",
            ],
            r#"s.picture('anim/dance.gif', { widths: [200, 400], sizes: '200px', alt: 'Dancing' })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "500",
                "-H",
                "500",
                "--fit",
                "inside",
                "--enlarge",
                "--srcset",
                "250,500,1000",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "x",
                "--source-size",
                "640x480",
            ],
            r#"s.picture('photos/cat.jpg', { width: 500, height: 500, fit: 'inside', enlarge: true,
               widths: [250, 500, 1000], sizes: '100vw', alt: 'x', sourceWidth: 640, sourceHeight: 480 })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "300",
                "-H",
                "300",
                "--fit",
                "outside",
                "--srcset",
                "300,600",
                "--picture",
                "--sizes",
                "300px",
                "--alt",
                "o",
            ],
            r#"s.picture('photos/cat.jpg', { width: 300, height: 300, fit: 'outside',
               widths: [300, 600], sizes: '300px', alt: 'o' })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-f",
                "webp",
                "--srcset",
                "320,640,1920",
                "--source-size",
                "1280x853",
            ],
            r#"s.srcset('photos/cat.jpg', [320, 640, 1920],
               { format: 'webp', sourceWidth: 1280, sourceHeight: 853 })"#,
        ),
        (
            &["a.jpg", "-w", "100", "--srcset", "1x,1.50x,2x"],
            r#"s.srcset('a.jpg', ['1x', '1.50x', '2x'], { width: 100 })"#,
        ),
        // The info request's answer: its size and its placeholder.
        (
            &[
                "photos/cat.jpg",
                "--srcset",
                "320,640,1280,1920",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "A cat",
                "--info",
                "@opaque",
            ],
            r#"s.picture('photos/cat.jpg', { widths: [320, 640, 1280, 1920], sizes: '100vw',
               alt: 'A cat', info: opaque })"#,
        ),
        // With alpha, no placeholder: it would show through the transparent pixels.
        (
            &[
                "icons/logo.png",
                "-w",
                "64",
                "--srcset",
                "1x,2x",
                "--picture",
                "--alt",
                "Logo",
                "--info",
                "@alpha",
            ],
            r#"s.picture('icons/logo.png', { width: 64, densities: ['1x', '2x'], alt: 'Logo',
               info: alpha })"#,
        ),
        // --placeholder replaces info's, and gives one to a source with alpha.
        (
            &[
                "photos/cat.jpg",
                "--srcset",
                "320,640",
                "--picture",
                "--sizes",
                "50vw",
                "--alt",
                "",
                "--info",
                "@opaque",
                "--placeholder",
                PLACEHOLDER_WEBP,
            ],
            r#"s.picture('photos/cat.jpg', { widths: [320, 640], sizes: '50vw', alt: '',
               info: opaque, placeholder: PLACEHOLDER_WEBP })"#,
        ),
        (
            &[
                "icons/logo.png",
                "-w",
                "64",
                "-f",
                "auto-alpha",
                "--srcset",
                "1x,2x",
                "--picture",
                "--alt",
                "Logo",
                "--info",
                "@alpha",
                "--placeholder",
                PLACEHOLDER_WEBP,
            ],
            r#"s.picture('icons/logo.png', { width: 64, format: 'auto-alpha',
               densities: ['1x', '2x'], alt: 'Logo', info: alpha, placeholder: PLACEHOLDER_WEBP })"#,
        ),
        // --source-size wins over info's size; info's placeholder stays.
        (
            &[
                "photos/cat.jpg",
                "-w",
                "400",
                "-H",
                "300",
                "--rotate",
                "90",
                "--srcset",
                "200,400,800",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "A cat",
                "--info",
                "@opaque",
                "--source-size",
                "500x700",
            ],
            r#"s.picture('photos/cat.jpg', { width: 400, height: 300, rotate: 90,
               widths: [200, 400, 800], sizes: '100vw', alt: 'A cat', info: opaque,
               sourceWidth: 500, sourceHeight: 700 })"#,
        ),
        // An answer without a placeholder (and members no reader knows): the size alone; and
        // a placeholder with no info, on format auto's one <img>.
        (
            &[
                "photos/cat.jpg",
                "-f",
                "auto",
                "--srcset",
                "320,640,1280",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "A cat",
                "--info",
                "@bare",
            ],
            r#"s.picture('photos/cat.jpg', { format: 'auto', widths: [320, 640, 1280],
               sizes: '100vw', alt: 'A cat', info: bare })"#,
        ),
        (
            &[
                "photos/cat.jpg",
                "-w",
                "300",
                "-f",
                "auto",
                "--srcset",
                "1x,2x",
                "--picture",
                "--alt",
                "A cat",
                "--placeholder",
                PLACEHOLDER_WEBP,
            ],
            r#"s.picture('photos/cat.jpg', { width: 300, format: 'auto', densities: ['1x', '2x'],
               alt: 'A cat', placeholder: PLACEHOLDER_WEBP })"#,
        ),
    ];
    let index = format!(
        "file://{}/clients/js/src/index.js",
        env!("CARGO_MANIFEST_DIR")
    );
    let calls: Vec<String> = cases
        .iter()
        .map(|(_, js)| format!("console.log({js});"))
        .collect();
    let constants: Vec<String> = infos
        .iter()
        .map(|(name, json)| format!("const {name} = {json};"))
        .chain([format!("const PLACEHOLDER_WEBP = '{PLACEHOLDER_WEBP}';")])
        .collect();
    let script = format!(
        "import {{ createSigner }} from '{index}';\n\
         const s = createSigner({{ keys: process.env.RENDITION_KEYS, base: '{BASE}' }});\n{}\n{}",
        constants.join("\n"),
        calls.join("\n")
    );
    let o = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .env("RENDITION_KEYS", KEYS)
        .output()
        .unwrap();
    let js = stdout(&o);
    let js: Vec<&str> = js.lines().collect();
    assert_eq!(js.len(), cases.len(), "{js:?}");
    for ((flags, call), js) in cases.iter().zip(js) {
        let mut args = vec!["sign".to_string()];
        args.extend(flags.iter().map(|f| {
            match f.strip_prefix('@') {
                Some(name) => dir
                    .path()
                    .join(format!("{name}.json"))
                    .display()
                    .to_string(),
                None => f.to_string(),
            }
        }));
        args.extend(["--base".to_string(), BASE.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = stdout(&rendition(&args));
        assert_eq!(ours, js, "rendition {args:?} and {call}");
    }
}

/// `--info` and `--placeholder`: the placeholder painted behind the `<img>`, the size taken
/// from the answer, and the rules of precedence, without node.
#[test]
fn sign_picture_paints_the_info_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let opaque = dir.path().join("opaque.json");
    let alpha = dir.path().join("alpha.json");
    std::fs::write(&opaque, INFO_OPAQUE).unwrap();
    std::fs::write(&alpha, INFO_ALPHA).unwrap();
    let (opaque, alpha) = (opaque.to_str().unwrap(), alpha.to_str().unwrap());
    let picture = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            "photos/cat.jpg",
            "--srcset",
            "320,640,3200",
            "--picture",
            "--sizes",
            "100vw",
            "--alt",
            "A cat",
        ];
        args.extend(extra);
        stdout(&rendition(&args))
    };
    let info: serde_json::Value = serde_json::from_str(INFO_OPAQUE).unwrap();
    let style = placeholder_style(info["placeholder"].as_str().unwrap());
    // The answer is the source's size, and its placeholder is the <img>'s last attribute.
    let plain = picture(&["--source-size", "1600x1200"]);
    let with_info = picture(&["--info", opaque]);
    assert!(plain.contains("width=\"1600\" height=\"1200\""), "{plain}");
    assert!(!plain.contains("style="), "{plain}");
    assert_eq!(
        with_info,
        plain.replace(
            "decoding=\"async\">",
            &format!("decoding=\"async\"{style}>")
        ),
    );
    let img = tags(&with_info)
        .into_iter()
        .find(|(name, _)| name == "img")
        .unwrap();
    assert_eq!(names(&img.1).last(), Some(&"style"));
    assert_eq!(format!(" style=\"{}\"", attr(&img.1, "style")), style);
    // --source-size wins over the answer's size; the placeholder stays.
    let both = picture(&["--info", opaque, "--source-size", "800x600"]);
    assert!(both.contains("width=\"800\" height=\"600\""), "{both}");
    assert!(both.contains(&style), "{both}");
    // --placeholder replaces the answer's, and alone needs no answer.
    let replaced = picture(&["--info", opaque, "--placeholder", PLACEHOLDER_WEBP]);
    assert!(
        replaced.contains(&placeholder_style(PLACEHOLDER_WEBP)),
        "{replaced}"
    );
    assert!(!replaced.contains("data:image/png"), "{replaced}");
    let alone = picture(&["--placeholder", PLACEHOLDER_WEBP]);
    assert!(
        alone.contains(&placeholder_style(PLACEHOLDER_WEBP)),
        "{alone}"
    );
    assert!(!alone.contains("width="), "{alone}");
    // With alpha, the answer gives its size but no placeholder; --placeholder still gives one.
    let transparent = picture(&["--info", alpha]);
    assert!(
        transparent.contains("width=\"100\" height=\"50\""),
        "{transparent}"
    );
    assert!(!transparent.contains("style="), "{transparent}");
    let given = picture(&["--info", alpha, "--placeholder", PLACEHOLDER_WEBP]);
    assert!(
        given.contains(&placeholder_style(PLACEHOLDER_WEBP)),
        "{given}"
    );
    // Standard input, for a pipe from curl.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args([
            "sign",
            "photos/cat.jpg",
            "--srcset",
            "320,640,3200",
            "--picture",
            "--sizes",
            "100vw",
            "--alt",
            "A cat",
            "--info",
            "-",
        ])
        .env("RENDITION_KEYS", KEYS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(INFO_OPAQUE.as_bytes())
        .unwrap();
    assert_eq!(stdout(&child.wait_with_output().unwrap()), with_info);
}

#[test]
fn sign_picture_refuses_a_bad_placeholder_or_info_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, json: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, json).unwrap();
        path.to_str().unwrap().to_string()
    };
    let picture = |extra: &[&str], says: &str| {
        let mut args = vec![
            "sign",
            "a.jpg",
            "--srcset",
            "320,640",
            "--picture",
            "--sizes",
            "100vw",
            "--alt",
            "a",
        ];
        args.extend(extra);
        refused_saying(&args, says);
    };
    // Only image data URLs in base64: nothing that could leave url() or the attribute.
    let not_a_placeholder = "is not an image data URL in base64";
    for bad in [
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:image/png;base64,AAAA);background:url(https://evil.example/x.png",
        "data:image/png;base64,AAAA\" onerror=\"alert(1)",
        "data:image/png;base64,AAAA\"><script>alert(1)</script>",
        "data:image/png,AAAA",
        "data:image/png;base64,",
        "data:image/png;base64,AAAA===",
        "data:image/png;base64,AAAA\n",
        "DATA:image/png;base64,AAAA",
        "https://example.com/placeholder.png",
        "",
    ] {
        picture(&["--placeholder", bad], "--placeholder: ");
        picture(&["--placeholder", bad], not_a_placeholder);
    }
    // Both flags belong to --picture.
    refused_saying(
        &[
            "sign",
            "a.jpg",
            "--srcset",
            "320",
            "--placeholder",
            PLACEHOLDER_WEBP,
        ],
        "--placeholder: is for --picture",
    );
    let opaque = file("opaque.json", INFO_OPAQUE);
    refused_saying(
        &["sign", "a.jpg", "--srcset", "320", "--info", &opaque],
        "--info: is for --picture",
    );
    refused_saying(
        &["sign", "a.jpg", "-w", "320", "--info", &opaque],
        "--info: is for --picture",
    );
    // A file that is not an info answer.
    let bad_files = [
        ("not JSON", "{\"width\": 10,", "is not JSON"),
        ("an array", "[1, 2]", "is not the info request's answer"),
        ("no width", r#"{"height": 10}"#, "its width (missing)"),
        (
            "zero height",
            r#"{"width": 10, "height": 0}"#,
            "its height (0)",
        ),
        (
            "a fraction",
            r#"{"width": 10.5, "height": 10}"#,
            "its width (10.5)",
        ),
        (
            "text",
            r#"{"width": "10", "height": 10}"#,
            "its width (\"10\")",
        ),
        (
            "too wide",
            r#"{"width": 4294967296, "height": 10}"#,
            "its width",
        ),
        (
            "alpha as text",
            r#"{"width": 10, "height": 10, "alpha": "yes"}"#,
            "its alpha (\"yes\") is not true or false",
        ),
        (
            "alpha null",
            r#"{"width": 10, "height": 10, "alpha": null}"#,
            "its alpha (null)",
        ),
        (
            "a bad placeholder, alpha or not",
            r#"{"width": 10, "height": 10, "alpha": true, "placeholder": "data:text/html;base64,AAAA"}"#,
            not_a_placeholder,
        ),
        (
            "a placeholder that is not text",
            r#"{"width": 10, "height": 10, "placeholder": 1}"#,
            "its placeholder (1)",
        ),
    ];
    for (i, (what, json, says)) in bad_files.iter().enumerate() {
        let path = file(&format!("bad{i}.json"), json);
        let o = {
            let mut args = vec![
                "sign",
                "a.jpg",
                "--srcset",
                "320,640",
                "--picture",
                "--sizes",
                "100vw",
                "--alt",
                "a",
                "--info",
                &path,
            ];
            // A good --placeholder doesn't excuse a bad answer.
            if i % 2 == 0 {
                args.extend(["--placeholder", PLACEHOLDER_WEBP]);
            }
            rendition(&args)
        };
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: accepted");
        assert!(
            err.contains(&format!("--info: {path}")) && err.contains(says),
            "{what}: {err:?} does not say --info: {path} … {says:?}"
        );
        assert!(o.stdout.is_empty(), "{what}");
    }
    picture(
        &[
            "--info",
            &dir.path().join("missing.json").display().to_string(),
        ],
        "--info: reading",
    );
}

/// What `rendition render --format json` writes is what `sign --picture --info` reads: the
/// displayed size becomes width and height, the placeholder the background, and a transparent
/// source gets none.
#[test]
fn sign_picture_reads_the_info_that_render_writes() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        ),
        &photo,
    )
    .unwrap();
    let logo = dir.path().join("logo.png");
    image::RgbaImage::from_fn(60, 40, |x, _| {
        image::Rgba([200, 40, 40, if x < 30 { 0 } else { 255 }])
    })
    .save(&logo)
    .unwrap();
    let out_dir = dir.path().join("info");
    let o = Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["render", "--format", "json", "--out-dir"])
        .arg(&out_dir)
        .arg(&photo)
        .arg(&logo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |name: &str| {
        let path = out_dir.join(name);
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        (path.to_str().unwrap().to_string(), info)
    };

    let (path, info) = read("photo.json");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(400), Some(300))
    );
    assert_eq!(info["alpha"], serde_json::Value::Bool(false));
    let placeholder = info["placeholder"].as_str().unwrap();
    // A real PNG, the one the page paints.
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(placeholder.strip_prefix("data:image/png;base64,").unwrap())
        .unwrap();
    assert!(image::load_from_memory(&png).is_ok());
    let markup = |source: &str, extra: &[&str]| {
        let mut args = vec![
            "sign",
            source,
            "--srcset",
            "200,400,800",
            "--picture",
            "--sizes",
            "100vw",
            "--alt",
            "x",
        ];
        args.extend(extra);
        stdout(&rendition(&args))
    };
    let with_info = markup("photos/photo.jpg", &["--info", &path]);
    let sized = markup("photos/photo.jpg", &["--source-size", "400x300"]);
    assert!(sized.contains("width=\"400\" height=\"300\""), "{sized}");
    assert!(!sized.contains("800w"), "the 800 is the 400 again: {sized}");
    assert_eq!(
        with_info,
        sized.replace(
            "decoding=\"async\">",
            &format!("decoding=\"async\"{}>", placeholder_style(placeholder))
        )
    );

    let (path, info) = read("logo.json");
    assert_eq!(info["alpha"], serde_json::Value::Bool(true));
    assert!(info["placeholder"].as_str().is_some());
    let with_info = markup("icons/logo.png", &["--info", &path]);
    assert_eq!(
        with_info,
        markup("icons/logo.png", &["--source-size", "60x40"])
    );
    assert!(
        with_info.contains("width=\"60\" height=\"40\""),
        "{with_info}"
    );
    assert!(!with_info.contains("style="), "{with_info}");
}
