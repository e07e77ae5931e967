//! Signer vectors: options as people write them → canonical paths (`tests/signer-vectors.json`).
//!
//! `tests/vectors.json` pins the path format; this file pins the signer rules of
//! `docs/url-format.md` §9 (dpr in exact decimals, defaults dropped, names and colours
//! normalised, ETags made version tokens, key lists parsed) so that signers in every language
//! turn the same options into the same bytes, and refuse the same options, naming the option.
//! `RENDITION_WRITE_VECTORS=1 cargo test --test signer_vectors` regenerates the file from the
//! library; every run checks the file against the library. `docs/reference_signer.py` checks
//! the same file independently.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use rendition_sign::options::Options;
use rendition_sign::{Format, KeyRing, Ops, RenderRequest};

/// Set to 1 to rewrite `tests/signer-vectors.json` from the library before checking it.
const WRITE_ENV: &str = "RENDITION_WRITE_VECTORS";
/// The key list of the sign vectors: the same keys as `tests/vectors.json`, k1 signing.
const KEYS: &str = "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210";

#[derive(Debug, Serialize, Deserialize)]
struct SignerVectors {
    description: String,
    /// A `RENDITION_KEYS` value; its first key signs.
    keys: String,
    sign: Vec<Sign>,
    refuse: Vec<Refuse>,
    key_lists: Vec<KeyList>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sign {
    name: String,
    source: String,
    /// Options as a person writes them (JSON numbers or strings where the rules allow).
    options: Value,
    path: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Refuse {
    name: String,
    source: String,
    options: Value,
    /// The option a signer's error must name.
    option: String,
    reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyList {
    name: String,
    spec: String,
    /// The ids, in order, when the list is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ids: Option<Vec<String>>,
    /// The path of `photos/cat.jpg` as `w640.webp`, signed with the list's first key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// True when the list must be refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    error: bool,
}

fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/signer-vectors.json")
}

/// Resolves and signs with the library; `Err` carries the error message.
fn sign(ring: &KeyRing, source: &str, options: &Value) -> Result<String, String> {
    let o = Options::from_json_value(options.clone()).map_err(|e| e.message())?;
    let (ops, format) = o.resolve(source).map_err(|e| e.message())?;
    ring.sign_new(source, ops, format).map_err(|e| e.message())
}

fn sign_cases() -> Vec<(&'static str, &'static str, Value)> {
    let cat = "photos/cat.jpg";
    vec![
        ("width", cat, json!({"width": 640})),
        (
            "dpr-exact-decimal",
            cat,
            json!({"width": 100, "dpr": 1.005}),
        ),
        ("dpr-as-text", cat, json!({"width": 100, "dpr": "1.005"})),
        (
            "dpr-two-sides",
            cat,
            json!({"width": 320, "height": 180, "dpr": 2}),
        ),
        ("dpr-half-rounds-up", cat, json!({"width": 333, "dpr": 1.5})),
        ("dpr-never-below-one", cat, json!({"width": 1, "dpr": 0.1})),
        (
            "dpr-device-pixel-ratio",
            cat,
            json!({"width": 360, "dpr": 1.100000023841858}),
        ),
        (
            "dpr-trailing-zeros",
            cat,
            json!({"width": 300, "dpr": "1.50"}),
        ),
        ("dpr-eight", cat, json!({"height": 100, "dpr": 8})),
        (
            "dpr-tiny-float",
            cat,
            json!({"width": 100, "dpr": 0.000001}),
        ),
        (
            "fit-cover-without-box",
            cat,
            json!({"width": 640, "fit": "cover"}),
        ),
        (
            "fit-any-case",
            cat,
            json!({"width": 640, "height": 360, "fit": "Contain", "format": "png"}),
        ),
        ("enlarge", cat, json!({"width": 4000, "enlarge": true})),
        (
            "enlarge-false",
            cat,
            json!({"width": 400, "enlarge": false}),
        ),
        ("rotate-360", cat, json!({"rotate": 360})),
        ("rotate-negative", cat, json!({"rotate": -90})),
        ("rotate-450", cat, json!({"rotate": 450})),
        ("flip-h", cat, json!({"flip": "h"})),
        (
            "flip-v-folded",
            cat,
            json!({"width": 100, "dpr": 2, "flip": "v"}),
        ),
        (
            "flip-v-with-rotation",
            cat,
            json!({"rotate": 90, "flip": "V"}),
        ),
        ("flip-hv", cat, json!({"flip": "hv"})),
        ("blur-trailing-zero", cat, json!({"blur": "2.0"})),
        ("blur-number", cat, json!({"blur": 2.0})),
        ("sharpen-leading-point", cat, json!({"sharpen": ".5"})),
        (
            "sharpen-trailing-zeros",
            cat,
            json!({"width": 320, "sharpen": "1.50"}),
        ),
        (
            "gravity-upper-case",
            cat,
            json!({"width": 10, "height": 10, "gravity": "NE"}),
        ),
        (
            "gravity-centre-dropped",
            cat,
            json!({"width": 10, "height": 10, "gravity": "center"}),
        ),
        (
            "gravity-focal-named",
            cat,
            json!({"width": 10, "height": 10, "gravity": "100-0"}),
        ),
        (
            "gravity-focal-centre",
            cat,
            json!({"width": 10, "height": 10, "gravity": "50-50"}),
        ),
        (
            "gravity-focal",
            cat,
            json!({"width": 10, "height": 10, "gravity": "30-70"}),
        ),
        (
            "gravity-smart",
            cat,
            json!({"width": 10, "height": 10, "gravity": "Smart"}),
        ),
        ("format-jpeg", cat, json!({"format": "jpeg"})),
        ("format-upper-case", cat, json!({"format": "JPG"})),
        ("format-webp", cat, json!({"format": "WebP", "width": 640})),
        (
            "format-from-upper-case-extension",
            "photos/IMG_0001.JPEG",
            json!({"width": 640}),
        ),
        ("format-from-png-extension", "logos/brand.png", json!({})),
        (
            "quality-default-dropped",
            cat,
            json!({"format": "webp", "quality": 80}),
        ),
        ("quality", cat, json!({"format": "avif", "quality": 60})),
        (
            "background-three-digits",
            cat,
            json!({"format": "png", "background": "#F80"}),
        ),
        (
            "background-white-jpg-dropped",
            cat,
            json!({"background": "#FFFFFF"}),
        ),
        (
            "background-white-png-kept",
            cat,
            json!({"format": "png", "background": "fff"}),
        ),
        (
            "etag-quoted",
            cat,
            json!({"etag": "\"d41d8cd98f00b204e9800998ecf8427e\""}),
        ),
        (
            "etag-multipart",
            cat,
            json!({"etag": "\"3858f62230ac3c915f300c664312c11f-9\""}),
        ),
        (
            "etag-weak",
            cat,
            json!({"etag": "W/\"abc123\"", "width": 64}),
        ),
        ("version", cat, json!({"version": "2024a", "width": 64})),
        (
            "encoded-source",
            "my photos/été.jpg",
            json!({"width": 300, "format": "webp"}),
        ),
        // An info request (§14): format json, with at most a version.
        ("info", cat, json!({"format": "json"})),
        ("info-upper-case", cat, json!({"format": "JSON"})),
        (
            "info-etag",
            cat,
            json!({"format": "json", "etag": "W/\"5d41402abc4b2a76b9719d911017c592\""}),
        ),
        (
            "everything",
            cat,
            json!({
                "width": 320, "height": 180, "dpr": 2, "fit": "contain", "enlarge": true,
                "gravity": "NW", "quality": 65, "background": "#123456", "rotate": 90,
                "flip": "v", "blur": "1.20", "sharpen": 0.3, "etag": "\"e1-2\"", "format": "WEBP"
            }),
        ),
    ]
}

fn refuse_cases() -> Vec<(
    &'static str,
    &'static str,
    Value,
    &'static str,
    &'static str,
)> {
    let cat = "photos/cat.jpg";
    vec![
        (
            "width-zero",
            cat,
            json!({"width": 0}),
            "width",
            "0 is not a size",
        ),
        (
            "height-zero",
            cat,
            json!({"height": 0}),
            "height",
            "0 is not a size",
        ),
        (
            "width-over-max-after-dpr",
            cat,
            json!({"width": 40000, "dpr": 2}),
            "width",
            "80000 is over 65535",
        ),
        (
            "dpr-zero",
            cat,
            json!({"width": 100, "dpr": 0}),
            "dpr",
            "dpr must be above 0",
        ),
        (
            "dpr-over-eight",
            cat,
            json!({"width": 100, "dpr": 8.01}),
            "dpr",
            "dpr is at most 8",
        ),
        (
            "dpr-negative",
            cat,
            json!({"width": 100, "dpr": "-1"}),
            "dpr",
            "no sign",
        ),
        (
            "dpr-exponent",
            cat,
            json!({"width": 100, "dpr": "1e0"}),
            "dpr",
            "text has no exponent",
        ),
        (
            "dpr-with-spaces",
            cat,
            json!({"width": 100, "dpr": " 2"}),
            "dpr",
            "digits and one point only",
        ),
        (
            "dpr-too-precise",
            cat,
            json!({"width": 100, "dpr": "1.000000000000000001"}),
            "dpr",
            "18 decimal places",
        ),
        (
            "fit-one-side",
            cat,
            json!({"width": 100, "fit": "contain"}),
            "fit",
            "contain needs both sides",
        ),
        (
            "fit-unknown",
            cat,
            json!({"width": 100, "height": 100, "fit": "crop"}),
            "fit",
            "no fit crop",
        ),
        (
            "enlarge-without-size",
            cat,
            json!({"enlarge": true}),
            "enlarge",
            "needs a width or a height",
        ),
        (
            "rotate-45",
            cat,
            json!({"rotate": 45}),
            "rotate",
            "not a multiple of 90",
        ),
        (
            "flip-unknown",
            cat,
            json!({"flip": "x"}),
            "flip",
            "h, v or hv",
        ),
        (
            "flip-empty",
            cat,
            json!({"flip": ""}),
            "flip",
            "leave it out for no flip",
        ),
        (
            "gravity-without-box",
            cat,
            json!({"width": 100, "gravity": "n"}),
            "gravity",
            "needs both sides",
        ),
        (
            "gravity-with-fill",
            cat,
            json!({"width": 10, "height": 10, "fit": "fill", "gravity": "n"}),
            "gravity",
            "fill has no gravity",
        ),
        (
            "gravity-smart-contain",
            cat,
            json!({"width": 10, "height": 10, "fit": "contain", "gravity": "smart", "format": "png"}),
            "gravity",
            "smart is cover only",
        ),
        (
            "gravity-unknown",
            cat,
            json!({"width": 10, "height": 10, "gravity": "north"}),
            "gravity",
            "names are n, ne, ...",
        ),
        (
            "gravity-focal-over-100",
            cat,
            json!({"width": 10, "height": 10, "gravity": "101-5"}),
            "gravity",
            "percent",
        ),
        (
            "quality-png",
            cat,
            json!({"format": "png", "quality": 50}),
            "quality",
            "png has no quality",
        ),
        (
            "quality-zero",
            cat,
            json!({"quality": 0}),
            "quality",
            "1 to 100",
        ),
        (
            "quality-over-100",
            cat,
            json!({"quality": 101}),
            "quality",
            "1 to 100",
        ),
        (
            "background-four-digits",
            cat,
            json!({"background": "#ff88"}),
            "background",
            "3 or 6 hex digits",
        ),
        (
            "background-name",
            cat,
            json!({"background": "red"}),
            "background",
            "no colour names",
        ),
        (
            "background-two-hashes",
            cat,
            json!({"background": "##f80"}),
            "background",
            "one optional #",
        ),
        (
            "blur-two-decimals",
            cat,
            json!({"blur": 1.25}),
            "blur",
            "not a multiple of 0.1",
        ),
        ("blur-zero", cat, json!({"blur": 0}), "blur", "0.1 to 100"),
        (
            "blur-over-max",
            cat,
            json!({"blur": 100.1}),
            "blur",
            "0.1 to 100",
        ),
        (
            "sharpen-over-max",
            cat,
            json!({"sharpen": 11}),
            "sharpen",
            "0.1 to 10",
        ),
        (
            "format-unknown",
            cat,
            json!({"format": "tiff"}),
            "format",
            "not an output format",
        ),
        (
            "format-from-unknown-extension",
            "scans/page.tiff",
            json!({}),
            "format",
            "no format and .tiff is not one",
        ),
        (
            "format-no-extension",
            "avatars/12345",
            json!({}),
            "format",
            "no format and no extension",
        ),
        (
            "etag-empty",
            cat,
            json!({"etag": "\"\""}),
            "etag",
            "nothing left",
        ),
        (
            "etag-too-long",
            cat,
            json!({"etag": format!("\"{}\"", "a".repeat(65))}),
            "etag",
            "over 64 characters",
        ),
        (
            "etag-and-version",
            cat,
            json!({"etag": "\"abc\"", "version": "abc"}),
            "etag",
            "one or the other",
        ),
        (
            "version-punctuation",
            cat,
            json!({"version": "v1.2"}),
            "version",
            "letters and digits only",
        ),
        (
            "source-dot-dot",
            "photos/../secret.jpg",
            json!({}),
            "source",
            ".. segment",
        ),
        (
            "source-absolute",
            "/photos/cat.jpg",
            json!({}),
            "source",
            "starts with /",
        ),
        (
            "source-empty-segment",
            "photos//cat.jpg",
            json!({}),
            "source",
            "empty segment",
        ),
        (
            "source-rendition",
            "r/photos/cat.jpg",
            json!({}),
            "source",
            "renditions are not sources",
        ),
        (
            "source-too-long",
            "",
            json!({}),
            "source",
            "the path would be over 1,024 bytes",
        ),
        (
            "unknown-option",
            cat,
            json!({"widht": 100}),
            "widht",
            "unknown option",
        ),
        (
            "width-as-text",
            cat,
            json!({"width": "640"}),
            "width",
            "an integer, not text",
        ),
        (
            "rotate-fraction",
            cat,
            json!({"rotate": 90.5}),
            "rotate",
            "an integer",
        ),
        (
            "enlarge-as-text",
            cat,
            json!({"enlarge": "true"}),
            "enlarge",
            "a boolean",
        ),
        (
            "info-with-width",
            cat,
            json!({"format": "json", "width": 640}),
            "width",
            "an info request takes no option but version or etag",
        ),
        (
            "info-with-dpr",
            cat,
            json!({"format": "json", "dpr": 2}),
            "dpr",
            "an info request takes no option but version or etag",
        ),
        (
            "info-with-quality",
            cat,
            json!({"format": "json", "quality": 60}),
            "quality",
            "an info request takes no option but version or etag",
        ),
        (
            "info-with-rotate",
            cat,
            json!({"format": "json", "rotate": 90}),
            "rotate",
            "an info request takes no option but version or etag",
        ),
    ]
}

fn key_list_cases() -> Vec<(&'static str, &'static str)> {
    vec![
        ("one-key", "k1:0123456789abcdef0123456789abcdef"),
        (
            "white-space-and-empty-items",
            " k1 : 0123456789abcdef0123456789abcdef ,, k0:fedcba9876543210fedcba9876543210 , ",
        ),
        ("colon-in-secret", "k2:abc:defghijklmnopqrstuvwxyz"),
        ("secret-of-16-bytes", "k3:0123456789abcdef"),
        ("secret-too-short", "k1:0123456789abcde"),
        ("no-colon", "k1=0123456789abcdef0123456789abcdef"),
        (
            "duplicate-id",
            "k1:0123456789abcdef0123456789abcdef,k1:fedcba9876543210fedcba9876543210",
        ),
        ("id-with-dash", "k-1:0123456789abcdef0123456789abcdef"),
        (
            "id-too-long",
            "k1234567890123456:0123456789abcdef0123456789abcdef",
        ),
        ("empty", " , "),
    ]
}

fn long_source() -> String {
    // One byte longer than the longest source that fits with no operations and .jpg.
    let fits = |s: &str| RenderRequest::new("k1", s, Ops::default(), Format::Jpeg).is_ok();
    let long = |n: usize| format!("{}.jpg", "a".repeat(n));
    let n = (1..1024)
        .rev()
        .find(|&n| fits(&long(n)))
        .expect("some length fits");
    long(n + 1)
}

fn build() -> SignerVectors {
    let ring = KeyRing::from_spec(KEYS).expect("valid keys");
    let signs = sign_cases()
        .into_iter()
        .map(|(name, source, options)| Sign {
            name: name.into(),
            source: source.into(),
            path: sign(&ring, source, &options).unwrap_or_else(|e| panic!("{name}: {e}")),
            options,
        })
        .collect();
    let refuse = refuse_cases()
        .into_iter()
        .map(|(name, source, options, option, reason)| Refuse {
            name: name.into(),
            source: if name == "source-too-long" {
                long_source()
            } else {
                source.into()
            },
            options,
            option: option.into(),
            reason: reason.into(),
        })
        .collect();
    let key_lists = key_list_cases()
        .into_iter()
        .map(|(name, spec)| match KeyRing::from_spec(spec) {
            Ok(ring) => KeyList {
                name: name.into(),
                spec: spec.into(),
                ids: Some(ring.ids().map(String::from).collect()),
                path: Some(
                    sign(
                        &ring,
                        "photos/cat.jpg",
                        &json!({"width": 640, "format": "webp"}),
                    )
                    .unwrap(),
                ),
                error: false,
            },
            Err(_) => KeyList {
                name: name.into(),
                spec: spec.into(),
                ids: None,
                path: None,
                error: true,
            },
        })
        .collect();
    SignerVectors {
        description:
            "Signer vectors for rendition (docs/url-format.md §9): options as people write \
            them -> canonical paths. `sign`: resolving `options` for `source` and signing with the \
            first key of `keys` must give exactly `path`. `refuse`: a signer must refuse, with an \
            error that names `option`. `key_lists`: parsing `spec` must give `ids` (and `path`, \
            photos/cat.jpg as w640.webp signed with its first key), or fail when `error` is true. \
            Generated by crates/sign/tests/signer_vectors.rs (RENDITION_WRITE_VECTORS=1 cargo test --test \
            signer_vectors)."
                .into(),
        keys: KEYS.into(),
        sign: signs,
        refuse,
        key_lists,
    }
}

fn serialise(v: &SignerVectors) -> String {
    serde_json::to_string_pretty(v).expect("serialises") + "\n"
}

#[test]
fn signer_vectors_match_the_implementation() {
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        std::fs::write(file(), serialise(&build())).expect("writes tests/signer-vectors.json");
    }
    let text = std::fs::read_to_string(file())
        .unwrap_or_else(|e| panic!("{}: {e} (set {WRITE_ENV}=1 to create it)", file().display()));
    let v: SignerVectors = serde_json::from_str(&text).expect("signer-vectors.json parses");
    let ring = KeyRing::from_spec(&v.keys).expect("valid keys");
    assert!(
        v.sign.len() >= 40 && v.refuse.len() >= 35,
        "too few vectors"
    );
    for s in &v.sign {
        let path = sign(&ring, &s.source, &s.options).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(path, s.path, "{}", s.name);
        ring.verify(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    for r in &v.refuse {
        match sign(&ring, &r.source, &r.options) {
            Ok(p) => panic!("{}: signed {p}", r.name),
            // The message starts with the option ("width: ..."), or is serde's own for an
            // unknown one ("unknown field `widht`, expected ...").
            Err(e) => assert!(
                e.starts_with(&format!("{}:", r.option))
                    || e.starts_with(&format!("unknown field `{}`", r.option)),
                "{}: the error {e:?} does not name {:?}",
                r.name,
                r.option
            ),
        }
    }
    for k in &v.key_lists {
        match KeyRing::from_spec(&k.spec) {
            Ok(ring) => {
                assert!(!k.error, "{}: accepted", k.name);
                let ids: Vec<String> = ring.ids().map(String::from).collect();
                assert_eq!(Some(ids), k.ids, "{}", k.name);
                let path = sign(
                    &ring,
                    "photos/cat.jpg",
                    &json!({"width": 640, "format": "webp"}),
                );
                assert_eq!(path.ok(), k.path, "{}", k.name);
            }
            Err(e) => assert!(k.error, "{}: refused: {e}", k.name),
        }
    }
}

#[test]
fn signer_vectors_file_is_up_to_date() {
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        return; // the other test is rewriting the file
    }
    let text = std::fs::read_to_string(file()).expect("tests/signer-vectors.json exists");
    assert!(
        text == serialise(&build()),
        "tests/signer-vectors.json differs from what crates/sign/tests/signer_vectors.rs builds: rerun with \
         {WRITE_ENV}=1 and review the diff"
    );
}
