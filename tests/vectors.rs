//! Test vectors for signers in other languages: `tests/vectors.json`, checked against the library.
//!
//! `RENDITION_WRITE_VECTORS=1 cargo test --test vectors` regenerates the file from the library
//! API; every run (CI included) then loads the file and checks each vector: a valid one must
//! rebuild from its fields, sign to exactly its path and verify; an invalid one must be refused
//! by [`KeyRing::verify`] with its status. The format is specified in `docs/url-format.md`.
//!
//! Invalid paths that are malformed rather than forged carry a correct HMAC over their own
//! (non-canonical) text, so the only thing wrong with them is what their name says.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use rendition::ops::{Fit, Format, Gravity, Ops, Rgb, Rotation, Tenths};
use rendition::request::{RenderRequest, MAX_KEY_BYTES, SIGNATURE_BYTES, SIGNING_TAG};
use rendition::KeyRing;

/// The secret of `k1`, the signing key of the vectors.
const K1_SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The secret of `k0`, an older key that still verifies.
const K0_SECRET: &str = "fedcba9876543210fedcba9876543210";
/// Set to 1 to rewrite `tests/vectors.json` from the library before checking it.
const WRITE_ENV: &str = "RENDITION_WRITE_VECTORS";

#[derive(Debug, Serialize, Deserialize)]
struct Vectors {
    description: String,
    /// Key id to secret (the raw UTF-8 bytes of the string are the HMAC key).
    keys: BTreeMap<String, String>,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Valid {
    name: String,
    key_id: String,
    /// The source key, decoded (as stored in the bucket).
    source: String,
    /// The canonical ops segment.
    ops: String,
    format: String,
    /// The exact signed message, for debugging a signer (not needed to check one).
    message: String,
    path: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Invalid {
    name: String,
    path: String,
    status: u16,
    reason: String,
}

fn vectors_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors.json")
}

fn ring_of(keys: &BTreeMap<String, String>) -> KeyRing {
    // k1 first: it signs; k0 only verifies.
    let spec = format!("k1:{},k0:{}", keys["k1"], keys["k0"]);
    KeyRing::from_spec(&spec).expect("vector keys are valid")
}

/// An independent signer: HMAC-SHA256 over the message, first 16 bytes, base64url.
fn mac(secret: &str, message: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(message.as_bytes());
    B64.encode(&m.finalize().into_bytes()[..SIGNATURE_BYTES])
}

/// A path with a correct HMAC over `tail` (`<ops>/<source>.<ext>`), canonical or not.
fn forge(key_id: &str, secret: &str, tail: &str) -> String {
    let sig = mac(secret, &format!("{SIGNING_TAG}\n{key_id}\n{tail}"));
    format!("/r/{key_id}.{sig}/{tail}")
}

/// Splits a path into its signature segment and its tail.
fn split(path: &str) -> (&str, &str) {
    path.strip_prefix("/r/")
        .and_then(|rest| rest.split_once('/'))
        .expect("a render path")
}

/// Replaces the signature segment of `path` (keeps the tail).
fn with_sig_segment(path: &str, segment: &str) -> String {
    format!("/r/{segment}/{}", split(path).1)
}

fn sized(w: u32, h: u32) -> Ops {
    Ops {
        width: Some(w),
        height: Some(h),
        ..Ops::default()
    }
}

/// The valid vectors: (name, key id, source, ops, format).
fn valid_cases() -> Vec<(&'static str, &'static str, String, Ops, Format)> {
    let cat = || "photos/cat.jpg".to_string();
    let boxed = |fit: Fit| Ops {
        fit,
        ..sized(640, 360)
    };
    let mut cases = vec![
        ("no-ops", "k1", cat(), Ops::default(), Format::Jpeg),
        (
            "format-only",
            "k1",
            "logos/brand.png".into(),
            Ops::default(),
            Format::Webp,
        ),
        (
            "width-only",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "height-only",
            "k1",
            cat(),
            Ops {
                height: Some(480),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        ("box-cover", "k1", cat(), sized(640, 360), Format::Jpeg),
        (
            "avif",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                ..Ops::default()
            },
            Format::Avif,
        ),
        (
            "avif-quality-transparent",
            "k1",
            "icons/logo.png".into(),
            Ops {
                quality: Some(60),
                ..sized(256, 256)
            },
            Format::Avif,
        ),
        ("fit-contain", "k1", cat(), boxed(Fit::Contain), Format::Png),
        ("fit-fill", "k1", cat(), boxed(Fit::Fill), Format::Jpeg),
        ("fit-inside", "k1", cat(), boxed(Fit::Inside), Format::Gif),
        (
            "fit-outside",
            "k1",
            cat(),
            boxed(Fit::Outside),
            Format::Webp,
        ),
        (
            "gravity-named",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::NorthEast,
                ..sized(640, 360)
            },
            Format::Jpeg,
        ),
        (
            "gravity-focal",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Focal { x: 30, y: 70 },
                ..sized(640, 360)
            },
            Format::Jpeg,
        ),
        (
            "gravity-focal-edge",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Focal { x: 0, y: 85 },
                ..sized(300, 300)
            },
            Format::Webp,
        ),
        (
            "gravity-smart-quality",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Smart,
                quality: Some(70),
                ..sized(400, 400)
            },
            Format::Webp,
        ),
        (
            "contain-gravity-background",
            "k1",
            cat(),
            Ops {
                fit: Fit::Contain,
                gravity: Gravity::SouthWest,
                background: Some(Rgb([0xff, 0x88, 0x00])),
                ..sized(640, 360)
            },
            Format::Png,
        ),
        (
            "quality",
            "k1",
            cat(),
            Ops {
                quality: Some(90),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "quality-extremes",
            "k1",
            cat(),
            Ops {
                width: Some(1),
                quality: Some(1),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "background-jpg",
            "k1",
            "icons/logo.png".into(),
            Ops {
                background: Some(Rgb([0, 0, 0])),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "background-white-png",
            "k1",
            "icons/logo.png".into(),
            Ops {
                background: Some(Rgb::WHITE),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "rotate-90",
            "k1",
            cat(),
            Ops {
                rotate: Rotation::R90,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "flip",
            "k1",
            cat(),
            Ops {
                flip: true,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            // `rendition sign --flip v` folds a vertical flip into a half turn plus a mirror.
            "vertical-flip-folded",
            "k1",
            cat(),
            Ops {
                width: Some(200),
                rotate: Rotation::R180,
                flip: true,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "blur-decimal",
            "k1",
            cat(),
            Ops {
                blur: Some(Tenths(5)),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "blur-max",
            "k1",
            cat(),
            Ops {
                blur: Some(Tenths(1000)),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "sharpen-decimal",
            "k1",
            cat(),
            Ops {
                width: Some(320),
                sharpen: Some(Tenths(15)),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "version",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                version: Some("3f9a1cE0".into()),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "everything",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                height: Some(360),
                fit: Fit::Contain,
                gravity: Gravity::NorthWest,
                quality: Some(65),
                background: Some(Rgb([0x12, 0x34, 0x56])),
                rotate: Rotation::R270,
                flip: true,
                blur: Some(Tenths(12)),
                sharpen: Some(Tenths(3)),
                version: Some("v2".into()),
            },
            Format::Webp,
        ),
        (
            "encoded-space",
            "k1",
            "my photos/cat 1.jpg".into(),
            Ops {
                width: Some(300),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "encoded-non-ascii",
            "k1",
            "my photos/été.jpg".into(),
            Ops::default(),
            Format::Webp,
        ),
        (
            "encoded-cjk-emoji",
            "k1",
            "猫/写真🐈.png".into(),
            Ops {
                height: Some(100),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "encoded-punctuation",
            "k1",
            "a+b=c&d(1)!.jpg".into(),
            Ops::default(),
            Format::Jpeg,
        ),
        (
            "literal-punctuation",
            "k1",
            "Photos_2024/IMG-0001.final.JPG".into(),
            Ops {
                width: Some(1200),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "deep-key",
            "k1",
            "a/b/c/d/e/f/g/h/i/j/photo.jpeg".into(),
            Ops {
                width: Some(64),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "source-without-extension",
            "k1",
            "avatars/12345".into(),
            sized(96, 96),
            Format::Png,
        ),
        ("older-key-k0", "k0", cat(), sized(640, 360), Format::Jpeg),
        (
            "older-key-k0-encoded",
            "k0",
            "my photos/été.jpg".into(),
            Ops {
                quality: Some(50),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
    ];
    // The longest accepted path: its storage key is exactly MAX_KEY_BYTES.
    let longest = (1..MAX_KEY_BYTES)
        .rev()
        .map(|n| format!("long/{}", "a".repeat(n)))
        .find(|s| RenderRequest::new("k1", s, Ops::default(), Format::Jpeg).is_ok())
        .expect("some length fits");
    cases.push(("longest-path", "k1", longest, Ops::default(), Format::Jpeg));
    cases
}

fn build_valid(ring: &KeyRing) -> Vec<Valid> {
    valid_cases()
        .into_iter()
        .map(|(name, key_id, source, ops, format)| {
            let req = RenderRequest::new(key_id, &source, ops, format)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let path = ring.sign(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
            Valid {
                name: name.into(),
                key_id: key_id.into(),
                source,
                ops: req.ops.segment(),
                format: format.extension().into(),
                message: req.signing_message(),
                path,
            }
        })
        .collect()
}

fn build_invalid(valid: &[Valid]) -> Vec<Invalid> {
    let by_name = |n: &str| {
        valid
            .iter()
            .find(|v| v.name == n)
            .unwrap_or_else(|| panic!("no valid vector {n}"))
    };
    let good = by_name("box-cover"); // /r/k1.<sig>/w640_h360/photos/cat.jpg.jpg
    let (good_sig_seg, good_tail) = split(&good.path);
    let good_sig = good_sig_seg.strip_prefix("k1.").expect("k1");
    // A correctly signed path whose only fault is its (non-canonical) tail.
    let k1 = |tail: &str| forge("k1", K1_SECRET, tail);

    let mut out: Vec<(&str, String, u16, &str)> = Vec::new();

    // Forged or tampered: well formed, but the signature does not match (403).
    let first = good_sig.as_bytes()[0];
    let swapped = if first == b'A' { 'B' } else { 'A' };
    out.push((
        "tampered-signature",
        with_sig_segment(&good.path, &format!("k1.{swapped}{}", &good_sig[1..])),
        403,
        "first signature character changed",
    ));
    out.push((
        "tampered-ops",
        good.path.replace("/w640_h360/", "/w641_h360/"),
        403,
        "w640 changed to w641, signature kept",
    ));
    out.push((
        "tampered-source",
        good.path
            .replace("/photos/cat.jpg.jpg", "/photos/dog.jpg.jpg"),
        403,
        "source changed, signature kept",
    ));
    out.push((
        "tampered-format",
        good.path.replace("cat.jpg.jpg", "cat.jpg.png"),
        403,
        "output extension changed, signature kept",
    ));
    out.push((
        "unknown-key-id",
        forge("k9", K1_SECRET, good_tail),
        403,
        "key id k9 is not in the key ring (signed with k1's secret)",
    ));
    out.push((
        "wrong-secret",
        forge("k1", "not-the-k1-secret-at-all", good_tail),
        403,
        "signed under key id k1 with another secret",
    ));
    out.push((
        "key-id-swapped",
        with_sig_segment(&good.path, &format!("k0.{good_sig}")),
        403,
        "a k1 signature presented under key id k0",
    ));

    // Malformed or non-canonical: 400, even with a correct HMAC over the text.
    let bad = [
        (
            "leading-zero",
            "w0640_h360/photos/cat.jpg.jpg",
            "w0640: leading zero",
        ),
        (
            "zero-width",
            "w0/photos/cat.jpg.jpg",
            "width must be 1 to 65535",
        ),
        (
            "width-over-max",
            "w65536/photos/cat.jpg.jpg",
            "width must be 1 to 65535",
        ),
        (
            "out-of-order",
            "h360_w640/photos/cat.jpg.jpg",
            "tokens out of order",
        ),
        (
            "repeated-token",
            "w640_w640/photos/cat.jpg.jpg",
            "token repeated",
        ),
        (
            "empty-token",
            "w640__h360/photos/cat.jpg.jpg",
            "empty token between two _",
        ),
        (
            "empty-ops",
            "/photos/cat.jpg.jpg",
            "empty ops segment (no operations is -)",
        ),
        (
            "dash-with-tokens",
            "-_w640/photos/cat.jpg.jpg",
            "- stands alone",
        ),
        (
            "unknown-token",
            "w640_x1/photos/cat.jpg.jpg",
            "unknown operation",
        ),
        (
            "upper-case-token",
            "W640/photos/cat.jpg.jpg",
            "tokens are lower case",
        ),
        (
            "plus-sign",
            "w+640/photos/cat.jpg.jpg",
            "numbers have no sign",
        ),
        (
            "default-quality-jpg",
            "q80/photos/cat.jpg.jpg",
            "q80 is jpg's default",
        ),
        (
            "default-quality-webp",
            "q80/photos/cat.jpg.webp",
            "q80 is webp's default",
        ),
        (
            "default-quality-avif",
            "q80/photos/cat.jpg.avif",
            "q80 is avif's default",
        ),
        (
            "quality-on-png",
            "q70/photos/cat.jpg.png",
            "quality means nothing to png",
        ),
        (
            "quality-on-gif",
            "q70/photos/cat.jpg.gif",
            "quality means nothing to gif",
        ),
        (
            "quality-over-100",
            "q101/photos/cat.jpg.jpg",
            "quality must be 1 to 100",
        ),
        (
            "default-fit",
            "w640_h360_fit-cover/photos/cat.jpg.jpg",
            "fit-cover is the default",
        ),
        (
            "fit-one-side",
            "w640_fit-contain/photos/cat.jpg.jpg",
            "fit needs width and height",
        ),
        (
            "default-gravity",
            "w640_h360_g-centre/photos/cat.jpg.jpg",
            "centre is the default",
        ),
        (
            "focal-centre",
            "w640_h360_g-50-50/photos/cat.jpg.jpg",
            "focal 50-50 is centre",
        ),
        (
            "focal-corner-is-named",
            "w640_h360_g-100-0/photos/cat.jpg.jpg",
            "focal 100-0 is gravity ne",
        ),
        (
            "focal-over-100",
            "w640_h360_g-101-0/photos/cat.jpg.jpg",
            "focal coordinates are 0 to 100",
        ),
        (
            "gravity-one-side",
            "w640_g-n/photos/cat.jpg.jpg",
            "gravity needs width and height",
        ),
        (
            "gravity-with-fill",
            "w640_h360_fit-fill_g-n/photos/cat.jpg.jpg",
            "gravity needs fit cover or contain",
        ),
        (
            "smart-with-contain",
            "w640_h360_fit-contain_g-smart/photos/cat.jpg.png",
            "smart gravity is cover only",
        ),
        (
            "default-background-jpg",
            "bg-ffffff/photos/cat.jpg.jpg",
            "white is jpg's default background",
        ),
        (
            "upper-case-hex",
            "bg-FF8800/photos/cat.jpg.png",
            "colours are lower-case hex",
        ),
        ("rotate-0", "r0/photos/cat.jpg.jpg", "r0 is the default"),
        (
            "rotate-360",
            "r360/photos/cat.jpg.jpg",
            "rotation is r90, r180 or r270",
        ),
        (
            "blur-trailing-zero",
            "blur2.0/photos/cat.jpg.jpg",
            "2.0 is written 2",
        ),
        (
            "blur-no-integer-part",
            "blur.5/photos/cat.jpg.jpg",
            ".5 is written 0.5",
        ),
        (
            "blur-two-decimals",
            "blur0.25/photos/cat.jpg.jpg",
            "one decimal place at most",
        ),
        (
            "blur-zero",
            "blur0/photos/cat.jpg.jpg",
            "blur must be 0.1 to 100",
        ),
        (
            "sharpen-over-max",
            "sharpen10.1/photos/cat.jpg.jpg",
            "sharpen must be 0.1 to 10",
        ),
        (
            "version-empty",
            "v/photos/cat.jpg.jpg",
            "version is 1 to 64 letters and digits",
        ),
        (
            "jpeg-extension",
            "w640_h360/photos/cat.jpg.jpeg",
            "the extension is jpg, not jpeg",
        ),
        (
            "upper-case-extension",
            "w640_h360/photos/cat.jpg.JPG",
            "extensions are lower case",
        ),
        (
            "unknown-extension",
            "w640_h360/photos/cat.jpg.tiff",
            "output is jpg, png, webp, gif or avif",
        ),
        (
            "no-extension",
            "w640_h360/photos/cat",
            "no output extension",
        ),
        (
            "percent-encoded",
            "w640_h360/photos/cat%2Ejpg.jpg",
            "% is not an allowed character",
        ),
        (
            "dot-dot-segment",
            "w640_h360/photos/../secret.jpg.jpg",
            "source has a .. segment",
        ),
        (
            "dot-segment",
            "w640_h360/photos/./cat.jpg.jpg",
            "source has a . segment",
        ),
        (
            "empty-segment",
            "w640_h360/photos//cat.jpg.jpg",
            "source has an empty segment",
        ),
        (
            "leading-slash",
            "w640_h360//photos/cat.jpg.jpg",
            "source starts with /",
        ),
        (
            "bang-inside-literal",
            "w640_h360/photos/cat!.jpg.jpg",
            "! only starts an encoded source",
        ),
    ];
    for (name, tail, reason) in bad {
        out.push((name, k1(tail), 400, reason));
    }

    let enc = |s: &str| format!("!{}", B64.encode(s.as_bytes()));
    let literal_as_encoded = k1(&format!("w640_h360/{}.jpg", enc("photos/cat.jpg")));
    out.push((
        "literal-key-encoded",
        literal_as_encoded,
        400,
        "photos/cat.jpg needs no encoding: it must be written literally",
    ));
    // "a b.jpg" is 7 bytes: 10 characters whose last carries 4 unused bits, which must be 0.
    let loose = enc("a b.jpg");
    let mut bytes = loose.into_bytes();
    let last = bytes.last_mut().expect("non-empty");
    assert!(
        matches!(*last, b'A' | b'Q' | b'g' | b'w'),
        "canonical last character"
    );
    *last += 1; // B, R, h or x: one of the unused bits set
    let loose = String::from_utf8(bytes).expect("ascii");
    out.push((
        "encoded-source-non-canonical",
        k1(&format!("-/{loose}.jpg")),
        400,
        "unused bits of the last base64url character are not zero",
    ));
    out.push((
        "encoded-source-padding",
        k1(&format!("-/{}=.jpg", enc("a b.jpg"))),
        400,
        "base64url padding (=) is not allowed",
    ));
    out.push((
        "encoded-control-character",
        k1(&format!("-/{}.jpg", enc("a\nb.jpg"))),
        400,
        "source has a control character",
    ));
    out.push((
        "encoded-dot-dot",
        k1(&format!("-/{}.jpg", enc("my photos/../x.jpg"))),
        400,
        "encoded source has a .. segment",
    ));

    // Length: one byte over the longest valid path.
    let longest = by_name("longest-path");
    let source = format!("{}a", longest.source);
    out.push((
        "over-long-path",
        k1(&format!("-/{source}.jpg")),
        400,
        "storage key (path without its leading /) is 1025 bytes",
    ));

    // The signature and key id segment.
    out.push((
        "signature-too-short",
        with_sig_segment(&good.path, &format!("k1.{}", &good_sig[..21])),
        400,
        "signature is 21 characters",
    ));
    out.push((
        "signature-too-long",
        with_sig_segment(&good.path, &format!("k1.{good_sig}A")),
        400,
        "signature is 23 characters",
    ));
    let last = good_sig.as_bytes()[21];
    let bumped = (last + 1) as char; // canonical last characters are A, Q, g or w
    out.push((
        "signature-non-canonical",
        with_sig_segment(&good.path, &format!("k1.{}{bumped}", &good_sig[..21])),
        400,
        "unused bits of the last signature character are not zero",
    ));
    out.push((
        "signature-padded",
        with_sig_segment(&good.path, &format!("k1.{good_sig}==")),
        400,
        "base64url padding (=) is not allowed",
    ));
    let long_id = "k1234567890123456";
    out.push((
        "key-id-too-long",
        forge(long_id, K1_SECRET, good_tail),
        400,
        "key id is 17 characters",
    ));
    out.push((
        "key-id-not-alphanumeric",
        forge("k_1", K1_SECRET, good_tail),
        400,
        "key id has a _",
    ));
    out.push((
        "no-key-id",
        with_sig_segment(&good.path, good_sig),
        400,
        "signature segment has no <key-id>.",
    ));
    out.push((
        "wrong-prefix",
        good.path.replacen("/r/", "/x/", 1),
        400,
        "render paths start with /r/",
    ));
    out.push((
        "double-slash-after-prefix",
        good.path.replacen("/r/", "/r//", 1),
        400,
        "empty signature segment",
    ));

    out.into_iter()
        .map(|(name, path, status, reason)| Invalid {
            name: name.into(),
            path,
            status,
            reason: reason.into(),
        })
        .collect()
}

fn build() -> Vectors {
    let keys = BTreeMap::from([
        ("k1".to_string(), K1_SECRET.to_string()),
        ("k0".to_string(), K0_SECRET.to_string()),
    ]);
    let ring = ring_of(&keys);
    let valid = build_valid(&ring);
    let invalid = build_invalid(&valid);
    Vectors {
        description: "Test vectors for rendition render paths (docs/url-format.md). The key ring is \
            RENDITION_KEYS=k1:<keys.k1>,k0:<keys.k0>; each secret is the UTF-8 bytes of its string. \
            Each valid vector: signing (key_id, source, ops, format) must give exactly `path` \
            (`message` is the signed message), and `path` must verify. Each invalid vector: \
            verifying `path` must fail with HTTP `status` (400 malformed or non-canonical, \
            403 forged). Generated by tests/vectors.rs (RENDITION_WRITE_VECTORS=1 cargo test \
            --test vectors)."
            .into(),
        keys,
        valid,
        invalid,
    }
}

#[test]
fn vectors_match_the_implementation() {
    let file = vectors_file();
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        let json = serde_json::to_string_pretty(&build()).expect("serialises");
        std::fs::write(&file, json + "\n").expect("writes tests/vectors.json");
    }
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (set {WRITE_ENV}=1 to create it)", file.display()));
    let vectors: Vectors = serde_json::from_str(&text).expect("vectors.json parses");
    let ring = ring_of(&vectors.keys);

    assert!(vectors.valid.len() >= 24, "too few valid vectors");
    assert!(vectors.invalid.len() >= 12, "too few invalid vectors");
    let mut names: Vec<&str> = vectors.valid.iter().map(|v| v.name.as_str()).collect();
    names.extend(vectors.invalid.iter().map(|v| v.name.as_str()));
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "vector names are unique");

    for v in &vectors.valid {
        let format =
            Format::from_extension(&v.format).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let ops = Ops::parse_segment(&v.ops, format).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(ops.segment(), v.ops, "{}: ops segment is canonical", v.name);
        let req = RenderRequest::new(&v.key_id, &v.source, ops, format)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(req.signing_message(), v.message, "{}: message", v.name);
        assert_eq!(ring.sign(&req).unwrap(), v.path, "{}: path", v.name);
        let secret = &vectors.keys[&v.key_id];
        assert_eq!(
            forge(&v.key_id, secret, &req.unsigned_tail()),
            v.path,
            "{}: independent HMAC",
            v.name
        );
        assert!(v.path.len() - 1 <= MAX_KEY_BYTES, "{}: length", v.name);
        let verified = ring
            .verify(&v.path)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified, req, "{}: verify returns the request", v.name);
    }
    for v in &vectors.invalid {
        assert!(
            matches!(v.status, 400 | 403),
            "{}: status is 400 or 403",
            v.name
        );
        match ring.verify(&v.path) {
            Ok(req) => panic!("{}: {} was accepted as {req:?}", v.name, v.path),
            Err(e) => assert_eq!(
                e.status().as_u16(),
                v.status,
                "{}: {} gave {e}",
                v.name,
                v.path
            ),
        }
    }
}

#[test]
fn vectors_file_is_up_to_date() {
    // The generator is deterministic, so a stale file (the format changed, or a vector was
    // added to the generator but not written) shows up here rather than in another language.
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        return; // the other test is rewriting the file
    }
    let text = std::fs::read_to_string(vectors_file()).expect("tests/vectors.json exists");
    let expected = serde_json::to_string_pretty(&build()).expect("serialises") + "\n";
    assert!(
        text == expected,
        "tests/vectors.json differs from what tests/vectors.rs builds: \
         rerun with {WRITE_ENV}=1 and review the diff"
    );
}
