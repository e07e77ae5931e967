//! What the fuzz targets (`fuzz/`, run with cargo-fuzz) check, as plain functions: each takes
//! the fuzzer's bytes, runs one part of rendition on them and panics when a property that
//! must hold for *any* input does not. A panic is a finding; an error answer is not, as long
//! as it is the one kind of error that part may give for bad input.
//!
//! The same functions replay the seed corpus and every input a fuzzer ever crashed on
//! (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`) in `cargo test`, so a fixed finding
//! stays fixed without nightly or cargo-fuzz (see `docs/fuzzing.md`).
//!
//! Built for the fuzz targets with the `fuzzing` feature and for the crate's own tests; not
//! part of the public API.

use crate::limits::Limits;
use crate::ops::Ops;
use crate::render::{self, jpeg, Deadline};
use crate::request::{KeyRing, RenderRequest};
use rendition_sign::auto::Output;

/// A fuzz target's check: the fuzzer's bytes in, a panic on a finding.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus folders).
pub const TARGETS: [(&str, Target); 3] = [("path", path), ("jpeg", jpeg), ("render", render)];

/// The path parser and verifier: whatever parses is canonical (prints back to the same path,
/// parses again to the same request), verifies only when its signature is the one the key
/// gives, and a path the ring signs itself always verifies. Anything else is a 400 or a 403,
/// never another status.
pub fn path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The keys of tests/vectors.json, so the valid vectors among the seeds verify.
    let ring = KeyRing::from_spec(
        "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210",
    )
    .expect("the fuzzing key ring");
    let verified = ring.verify(text);
    match RenderRequest::parse(text) {
        Ok((req, signature)) => {
            assert_eq!(req.path_with_signature(&signature), text, "not canonical");
            let (again, sig_again) = RenderRequest::parse(text).expect("parses twice");
            assert_eq!((&again, &sig_again), (&req, &signature));
            if !ring.ids().any(|id| id == req.key_id) {
                let status = verified.as_ref().map_err(|e| e.status_code());
                assert_eq!(status.err(), Some(403), "an unknown key id is not 403");
                return;
            }
            let signed = ring
                .sign(&req)
                .expect("a parsed request with a known key signs");
            let back = ring.verify(&signed).expect("a signed path verifies");
            assert_eq!(back, req, "verify gave another request than was signed");
            match verified {
                Ok(v) => {
                    assert_eq!(v, req);
                    assert_eq!(
                        signed, text,
                        "verified under a signature the key does not give"
                    );
                }
                Err(e) => {
                    assert_eq!(e.status_code(), 403, "verify answered {e}");
                    assert_ne!(signed, text, "refused the signature the key gives");
                }
            }
            if let Some(auto) = req.output.auto() {
                for choice in auto.choices() {
                    let key = req.with_output(Output::Negotiated(auto, choice));
                    let path = key.path_with_signature(&signature);
                    assert_eq!(RenderRequest::parse(&path).map(|(r, _)| r).ok(), Some(key));
                }
            }
        }
        Err(e) => {
            assert!(verified.is_err(), "verify accepted what parse refused");
            assert_eq!(e.status_code(), 400, "parse answered {e}");
        }
    }
    if let Ok(ops) = Ops::parse_tokens(text) {
        let segment = ops.segment();
        assert_eq!(Ops::parse_tokens(&segment).ok(), Some(ops), "{segment}");
    }
}

/// The renderer's own JPEG decoder, every path of it: the first byte picks the scale (1/8 to
/// 8/8: at 1/8 a progressive file takes the DC-only path), the rest is the file. It either
/// declines (the general decoder takes over) or gives exactly the pixels its scale promises.
///
/// As in a render, the decoder only sees a file whose header passed the probe under the
/// default limits (at most 100 million pixels): without that, a kilobyte declaring
/// 65,000 × 65,000 pixels asks for a 12 GB output, which is the probe's to refuse, not the
/// decoder's. A file whose frames disagree between the probe and the decoder still gets
/// through to the decoder, and is what this target looks for.
pub fn jpeg(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    if render::probe(file, &Limits::default()).is_err() {
        return;
    }
    let eighths = usize::from(first % 8) + 1;
    let size = |w: u32, h: u32| {
        (w as usize)
            .checked_mul(h as usize)
            .expect("size overflows")
    };
    if let Ok(image) = jpeg::decode(file, eighths) {
        assert!(image.w > 0 && image.h > 0, "empty image");
        assert_eq!(
            image.data.len(),
            size(image.w, image.h) * 3,
            "RGB buffer size"
        );
    }
    if let Ok(output) = jpeg::decode_planes(file, eighths) {
        match output {
            jpeg::Output::Rgb(image) => {
                assert_eq!(
                    image.data.len(),
                    size(image.w, image.h) * 3,
                    "RGB buffer size"
                );
            }
            jpeg::Output::Planes(planes) => {
                assert!(!planes.planes.is_empty(), "no planes");
                for plane in &planes.planes {
                    assert!(plane.w > 0 && plane.h > 0, "empty plane");
                    assert_eq!(
                        plane.data.len(),
                        size(plane.w, plane.h),
                        "plane buffer size"
                    );
                }
            }
        }
    }
}

/// Operations the render target picks from (its second byte): resizes down and up, every fit,
/// crops with gravity and smart crop, padding, rotation, blur and sharpen.
const OPS: [&str; 12] = [
    "-",
    "w64",
    "h48",
    "w100_h100",
    "w64_h64_fit-contain_bg-ff8800",
    "w80_h40_fit-fill",
    "w50_h90_fit-outside",
    "w40_h40_g-smart",
    "w32_h32_g-20-80_r90_flip",
    "w300_enlarge",
    "w64_blur2_sharpen1",
    "w1_h1",
];

/// The whole render under the default limits and render budget, as the service runs it: the
/// first byte picks the output (JPEG, PNG, WebP, GIF or the info request; AVIF's encoder sees
/// only pixels the others see too, at a hundred times their cost per run), the second the
/// operations, the rest is the source. The answer is an image of the asked format, an error a
/// client caused (4xx: a bad source must never look like a fault of the service), or the
/// budget's timeout (504); a render the budget can't stop is the fuzzer's timeout, a finding.
pub fn render(data: &[u8]) {
    let Some((output, ops)) = render_case(data) else {
        return;
    };
    let source = &data[2..];
    let limits = Limits::default();
    let start = std::time::Instant::now();
    let budget = std::time::Duration::from_millis(limits.render_timeout_ms);
    let passed = || start.elapsed() > budget;
    let deadline = Deadline::new(limits.render_timeout_ms, &passed);
    match render::make(source, &ops, output, &limits, deadline) {
        Ok(made) => {
            assert!(!made.bytes.is_empty(), "an empty answer");
            let magic: &[u8] = match output.format() {
                Some(crate::Format::Jpeg) => b"\xff\xd8\xff",
                Some(crate::Format::Png) => b"\x89PNG",
                Some(crate::Format::Webp) => b"RIFF",
                Some(crate::Format::Gif) => b"GIF8",
                _ => b"{",
            };
            assert!(made.bytes.starts_with(magic), "not the asked format");
        }
        Err(crate::Error::Timeout(_)) => {}
        Err(e) => {
            let status = e.status().as_u16();
            assert!((400..500).contains(&status), "answered {status}: {e}");
        }
    }
}

/// The render target's output and operations, from its first two bytes.
fn render_case(data: &[u8]) -> Option<(Output, Ops)> {
    let [format, ops, ..] = data else {
        return None;
    };
    let output = match format % 5 {
        0 => Output::from(crate::Format::Jpeg),
        1 => Output::from(crate::Format::Png),
        2 => Output::from(crate::Format::Webp),
        3 => Output::from(crate::Format::Gif),
        _ => Output::Info,
    };
    let ops = if output == Output::Info {
        Ops::default()
    } else {
        Ops::parse_tokens(OPS[usize::from(*ops) % OPS.len()]).expect("the target's ops parse")
    };
    Some((output, ops))
}

#[cfg(test)]
mod tests {
    use super::TARGETS;
    use std::path::Path;

    /// Every seed and every input a fuzzer once crashed on, through its target's checks.
    #[test]
    fn the_seed_corpus_and_past_findings_pass_their_targets() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut total = 0;
        for (name, check) in TARGETS {
            let mut seen = 0;
            for folder in ["seeds", "regressions"] {
                let dir = root.join(folder).join(name);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries {
                    let file = entry.unwrap().path();
                    let data = std::fs::read(&file).unwrap();
                    let outcome = std::panic::catch_unwind(|| check(&data));
                    assert!(outcome.is_ok(), "{name}: {} fails", file.display());
                    seen += 1;
                }
            }
            assert!(
                seen > 0,
                "no seeds for the {name} target under {}",
                root.display()
            );
            total += seen;
        }
        eprintln!("{total} inputs replayed");
    }

    /// The seeds are images the decoders take, so a fuzzer starts from their working paths, not
    /// from their refusals: every render seed renders, every JPEG seed but CMYK (which the
    /// renderer's decoder leaves to jpeg-decoder) decodes on the fast path.
    #[test]
    fn every_seed_is_taken() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let read = |target: &str| {
            let mut files: Vec<_> = std::fs::read_dir(seeds.join(target))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
                .into_iter()
                .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        };
        for (file, data) in read("render") {
            let (output, ops) = super::render_case(&data).unwrap();
            let made = crate::render::make(
                &data[2..],
                &ops,
                output,
                &crate::Limits::default(),
                crate::render::Deadline::none(),
            );
            assert!(made.is_ok(), "{}: {:?}", file.display(), made.err());
        }
        for (file, data) in read("jpeg") {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let decoded = super::jpeg::decode(&data[1..], usize::from(data[0]) + 1);
            if name.starts_with("cmyk") {
                assert!(decoded.is_err(), "{name}");
            } else {
                assert!(decoded.is_ok(), "{name}: {:?}", decoded.err());
            }
        }
    }
}
