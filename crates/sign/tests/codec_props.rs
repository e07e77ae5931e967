//! Property tests of the render path codec: canonical text round-trips, signatures verify, and
//! any tampering or non-canonical spelling is refused.
//!
//! Ops are built valid by construction (options that `Ops::validate` would refuse for the
//! chosen format are dropped), and source keys mix literal keys with ones that need the `!`
//! encoding (spaces, punctuation, non-ASCII).

use proptest::prelude::*;
use proptest::sample::{select, Index};

use rendition_sign::ops::{Fit, Format, Gravity, Ops, Rgb, Rotation, Tenths, MAX_SIDE};
use rendition_sign::request::{check_source_key, RenderRequest};
use rendition_sign::KeyRing;
use rendition_sign::{Auto, Output};

/// Every byte a render path may contain after `/r/`.
const PATH_BYTES: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!/";

fn ring() -> KeyRing {
    KeyRing::from_spec("k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210")
        .expect("valid keys")
}

fn gravity() -> impl Strategy<Value = Gravity> {
    prop_oneof![
        select(vec![
            Gravity::Centre,
            Gravity::North,
            Gravity::NorthEast,
            Gravity::East,
            Gravity::SouthEast,
            Gravity::South,
            Gravity::SouthWest,
            Gravity::West,
            Gravity::NorthWest,
            Gravity::Smart,
        ]),
        (0u8..=100, 0u8..=100).prop_map(|(x, y)| Gravity::Focal { x, y }),
    ]
}

fn side() -> impl Strategy<Value = Option<u32>> {
    prop::option::weighted(0.7, prop_oneof![1u32..=4096, 1u32..=MAX_SIDE])
}

fn tenths(max: u32) -> impl Strategy<Value = Option<Tenths>> {
    prop::option::of((1..=max).prop_map(Tenths))
}

/// Every output a path can name: the formats, the auto formats and their negotiated keys,
/// and the info request.
fn outputs() -> Vec<Output> {
    let mut all: Vec<Output> = Format::ALL.into_iter().map(Output::Format).collect();
    all.push(Output::Info);
    for a in Auto::ALL {
        all.push(Output::Auto(a));
        all.extend(a.choices().map(|f| Output::Negotiated(a, f)));
    }
    all
}

/// Valid ops with their output: every field random, then whatever the format or the other
/// fields make meaningless or default is dropped, as `OpArgs::resolve` does for the CLI.
fn valid_ops() -> impl Strategy<Value = (Ops, Output)> {
    (
        select(outputs()),
        side(),
        side(),
        select(Fit::ALL.to_vec()),
        gravity(),
        prop::option::of(1u8..=100),
        prop::option::of(prop_oneof![
            Just(Rgb::WHITE),
            any::<[u8; 3]>().prop_map(Rgb)
        ]),
        select(vec![
            Rotation::R0,
            Rotation::R90,
            Rotation::R180,
            Rotation::R270,
        ]),
        (any::<bool>(), any::<bool>()),
        tenths(1000),
        tenths(100),
        prop::option::of("[A-Za-z0-9]{1,64}"),
    )
        .prop_map(
            |(
                output,
                width,
                height,
                fit,
                gravity,
                quality,
                background,
                rotate,
                (flip, enlarge),
                blur,
                sharpen,
                version,
            )| {
                // An info request takes a version and nothing else.
                let Some(format) = output.rules() else {
                    let ops = Ops {
                        version,
                        ..Ops::default()
                    };
                    return (ops, output);
                };
                let boxed = width.is_some() && height.is_some();
                let fit = if boxed { fit } else { Fit::Cover };
                let gravity_ok = boxed
                    && match gravity {
                        Gravity::Smart => fit == Fit::Cover,
                        Gravity::Focal { x, y } if Gravity::named_equivalent(x, y).is_some() => {
                            false
                        }
                        _ => matches!(fit, Fit::Cover | Fit::Contain),
                    };
                let ops = Ops {
                    width,
                    height,
                    fit,
                    enlarge: enlarge && (width.is_some() || height.is_some()),
                    gravity: if gravity_ok { gravity } else { Gravity::Centre },
                    quality: quality.filter(|q| format.default_quality().is_some_and(|d| d != *q)),
                    background: background.filter(|b| format.has_alpha() || *b != Rgb::WHITE),
                    rotate,
                    flip,
                    blur,
                    sharpen,
                    version,
                };
                (ops, output)
            },
        )
}

/// Source keys: 1 to 4 segments, some literal, some needing the `!` encoding.
fn source_key() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[A-Za-z0-9._-]{1,12}",
        "[A-Za-z0-9 ._~!%+=&?#'()éüß日本猫🐈-]{1,12}",
    ];
    prop::collection::vec(segment, 1..=4)
        .prop_map(|segs| segs.join("/"))
        .prop_filter("a valid source key", |k| check_source_key(k).is_ok())
}

/// A signed path for random valid ops and source, signed by k1 or k0.
fn signed_path() -> impl Strategy<Value = (String, RenderRequest)> {
    (valid_ops(), source_key(), select(vec!["k1", "k0"])).prop_map(
        |((ops, format), source, key_id)| {
            let req = RenderRequest::new(key_id, &source, ops, format).expect("valid request");
            let path = ring().sign(&req).expect("signs");
            (path, req)
        },
    )
}

/// Splits `/r/<source>/<sig>/<ops>.<ext>` into source, signature segment, ops and extension.
fn parts(path: &str) -> (&str, &str, &str, &str) {
    let rest = path.strip_prefix("/r/").expect("render path");
    let (before, file) = rest.rsplit_once('/').expect("last segment");
    let (source, sig) = before.rsplit_once('/').expect("signature segment");
    let (ops, ext) = file.rsplit_once('.').expect("extension");
    (source, sig, ops, ext)
}

/// Where a leading zero can go: the start of each digit run in a numeric token
/// (not in `bg-` colours or `v` version tokens, where digits are not numbers).
fn number_starts(ops: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for token in ops.split('_') {
        if !(token.starts_with("bg-") || token.starts_with('v') || token == "-") {
            let b = token.as_bytes();
            for i in 0..b.len() {
                if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
                    starts.push(offset + i);
                }
            }
        }
        offset += token.len() + 1;
    }
    starts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ops_segment_round_trips((ops, output) in valid_ops()) {
        prop_assert!(output.validate(&ops).is_ok(), "{ops:?} for {output:?}");
        let segment = ops.segment();
        let parsed = Ops::parse_tokens(&segment).unwrap();
        prop_assert!(output.validate(&parsed).is_ok());
        prop_assert_eq!(parsed, ops);
    }

    #[test]
    fn sign_then_verify((path, req) in signed_path()) {
        prop_assert!(path.len() - 1 <= rendition_sign::request::MAX_KEY_BYTES);
        let (parsed, _) = RenderRequest::parse(&path).unwrap();
        prop_assert_eq!(&parsed, &req);
        prop_assert_eq!(ring().verify(&path).unwrap(), req);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every position of the path, each changed to another allowed byte: never accepted.
    #[test]
    fn any_single_byte_change_is_refused((path, _req) in signed_path(), seed in any::<u64>()) {
        let ring = ring();
        let mut state = seed | 1;
        for i in 0..path.len() {
            // xorshift: a different replacement byte at each position.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = path.as_bytes().to_vec();
            let mut k = (state % PATH_BYTES.len() as u64) as usize;
            if PATH_BYTES[k] == b[i] {
                k = (k + 1) % PATH_BYTES.len();
            }
            b[i] = PATH_BYTES[k];
            let changed = String::from_utf8(b).expect("ascii");
            match ring.verify(&changed) {
                Ok(r) => prop_assert!(false, "{changed} (from {path}) accepted as {r:?}"),
                Err(e) => prop_assert!(
                    matches!(e.status_code(), 400 | 403),
                    "{changed}: {e}"
                ),
            }
        }
    }

    /// Correctly signed or not, a non-canonical spelling of a valid path does not parse.
    #[test]
    fn only_canonical_text_parses(
        (path, _req) in signed_path(),
        pick in any::<Index>(),
        pick2 in any::<Index>(),
    ) {
        let (source, sig, ops, ext) = parts(&path);
        let rebuild = |ops: &str| format!("/r/{source}/{sig}/{ops}.{ext}");
        let mut variants = Vec::new();

        let starts = number_starts(ops);
        if !starts.is_empty() {
            let at = starts[pick.index(starts.len())];
            variants.push(("leading zero", rebuild(&format!("{}0{}", &ops[..at], &ops[at..]))));
        }
        let tokens: Vec<&str> = ops.split('_').collect();
        if tokens.len() >= 2 {
            let i = pick.index(tokens.len());
            let j = (i + 1 + pick2.index(tokens.len() - 1)) % tokens.len();
            let mut swapped = tokens.clone();
            swapped.swap(i, j);
            variants.push(("swapped tokens", rebuild(&swapped.join("_"))));
        }
        let cut = pick2.index(tokens.len() + 1);
        let mut extra: Vec<&str> = tokens.clone();
        extra.insert(cut, "");
        variants.push(("extra _", rebuild(&extra.join("_"))));

        for (what, text) in variants {
            prop_assert_ne!(&text, &path);
            match RenderRequest::parse(&text) {
                Ok((r, _)) => prop_assert!(false, "{what}: {text} parsed as {r:?}"),
                Err(e) => prop_assert_eq!(e.status_code(), 400, "{}: {}: {}", what, text, e),
            }
        }
    }
}
