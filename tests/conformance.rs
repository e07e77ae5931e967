//! Right pixels on unusual images: every file of the conformance corpus (tests/conformance/
//! corpus.py writes it at test time with Pillow and libvips: CMYK with and without an ICC
//! profile, YCCK, every EXIF orientation in JPEG, PNG and WebP, 16-bit, low bit depths, tRNS,
//! palettes, grey + alpha, interlacing, restarts, 1×1 to 4×4) is rendered by rendition and by
//! libvips's `vipsthumbnail` at the same size, and the pixels are compared. Damaged copies of
//! every file must be refused with a 4xx, never a panic, a 5xx or an image.
//!
//! The measure is the mean absolute difference over R, G and B (0–255) with transparency
//! flattened onto white, over the whole image and over its worst 8×8 block, within a tolerance
//! that depends on the kind of source ([`tolerance`]): what the tolerances are there to catch
//! is far above them: a wrong orientation, an ignored transparent colour or a wrong CMYK
//! conversion moves the whole image, or a whole block, by tens of levels.

/// (mean, worst 8×8 block) tolerated for a kind of source, in levels of 255, and why; the
/// largest figures measured on the corpus are in the README's "Unusual images".
fn tolerance(kind: &str) -> (f64, f64) {
    match kind {
        // Lossless sources: both renderers start from the same pixels, and differ only in
        // resampling (rendition's Lanczos3 against libvips's shrink and reduce): ≤ 0.9 / 2.0.
        "lossless" => (1.5, 4.0),
        // JPEG and lossy WebP: the decoders differ too, above all in how JPEG's half-size
        // chroma comes to full size (libjpeg interpolates between neighbouring chroma samples;
        // rendition's decoder evaluates the chroma block's transform at each pixel, or resizes
        // chroma planes from their own grid): ≤ 4.0 / 7.7 for JPEG 4:2:0 (a damaged restart interval
        // included), ≤ 1.4 / 2.6 for 4:4:4
        // and grey, ≤ 0.5 / 0.6 for lossy WebP.
        "lossy" => (4.5, 10.0),
        // 1×1 to 4×4 JPEGs: every pixel is an edge pixel, where libjpeg repeats the last real
        // chroma sample and rendition's transform also sees the encoder's padding: ≤ 9.6.
        "tiny-jpeg" => (12.0, 12.0),
        // CMYK through an ICC profile: moxcms and libvips's lcms2 interpolate the profile's
        // lookup tables differently, most in saturated colours near the gamut's edge (the
        // profile's round trip itself moves them by 20 levels on average): ≤ 7.1 / 18.5.
        "cmyk-profile" => (8.0, 20.0),
        other => panic!("no tolerance for kind {other:?}"),
    }
}

mod common;

use common::available;
use rendition::ops::{Fit, Format, Ops};
use rendition::render::{render, Deadline};
use rendition::Limits;
use std::path::Path;
use std::process::Command;

struct Case {
    file: String,
    reference: String,
    kind: String,
    why: String,
}

fn corpus(dir: &Path) -> Option<Vec<Case>> {
    let tools = ["vips", "vipsthumbnail"]
        .iter()
        .all(|t| Command::new(t).arg("--version").output().is_ok());
    if !available(tools, "libvips-tools (vips, vipsthumbnail)") {
        return None;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let pillow = Command::new(&python)
        .args(["-c", "import PIL"])
        .status()
        .is_ok_and(|s| s.success());
    if !available(pillow, "Pillow (in the project's .venv)") {
        return None;
    }
    let photo = common::photos().into_iter().next();
    let photo = available(photo.is_some(), "the wallpaper photographs").then(|| photo.unwrap())?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/corpus.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&photo)
        .arg(dir)
        .output()
        .expect("run corpus.py");
    assert!(
        out.status.success(),
        "corpus.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut cases: Vec<Case> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            file: c["file"].as_str().unwrap().into(),
            reference: c["reference"].as_str().unwrap().into(),
            kind: c["kind"].as_str().unwrap().into(),
            why: c["why"].as_str().unwrap().into(),
        })
        .collect();
    // YCCK, which neither Pillow nor libvips writes (Photoshop does): jpeg-encoder converts
    // the CMYK ink of the corpus's untagged CMYK file the way libjpeg does, and the ICC
    // profile of the tagged one goes with it in a second copy.
    for (name, icc_from) in [("ycck.jpg", None), ("ycck-icc.jpg", Some("cmyk-icc.jpg"))] {
        let ink = cmyk_ink(&dir.join("cmyk.jpg"));
        let (w, h) = image::image_dimensions(dir.join("base.png")).unwrap();
        let mut bytes = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut bytes, 95);
        if let Some(from) = icc_from {
            let mut d = jpeg_decoder::Decoder::new(std::fs::File::open(dir.join(from)).unwrap());
            d.read_info().unwrap();
            enc.add_icc_profile(&d.icc_profile().unwrap()).unwrap();
        }
        enc.encode(
            &ink,
            w as u16,
            h as u16,
            jpeg_encoder::ColorType::CmykAsYcck,
        )
        .unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        cases.push(Case {
            file: name.into(),
            reference: if icc_from.is_some() { name } else { "base.png" }.into(),
            kind: if icc_from.is_some() {
                "cmyk-profile"
            } else {
                "lossy"
            }
            .into(),
            why: format!(
                "YCCK (Adobe), {}",
                if icc_from.is_some() {
                    "tagged"
                } else {
                    "untagged"
                }
            ),
        });
    }
    Some(cases)
}

/// The CMYK ink (0: none) of an Adobe CMYK JPEG, as jpeg-decoder hands it over.
fn cmyk_ink(path: &Path) -> Vec<u8> {
    let mut d = jpeg_decoder::Decoder::new(std::fs::File::open(path).unwrap());
    let ink = d.decode().unwrap();
    assert_eq!(
        d.info().unwrap().pixel_format,
        jpeg_decoder::PixelFormat::CMYK32
    );
    ink
}

/// RGB flattened onto white, as f64 per channel.
fn flattened(img: &image::RgbaImage) -> Vec<[f64; 3]> {
    img.pixels()
        .map(|p| {
            let a = f64::from(p[3]) / 255.0;
            [0, 1, 2].map(|c| f64::from(p[c]) * a + 255.0 * (1.0 - a))
        })
        .collect()
}

/// (mean difference, worst 8×8 block's mean difference) between two images of one size.
fn difference(a: &image::RgbaImage, b: &image::RgbaImage) -> (f64, f64) {
    let (w, h) = a.dimensions();
    let (fa, fb) = (flattened(a), flattened(b));
    let diff: Vec<f64> = (fa.iter().zip(&fb))
        .map(|(p, q)| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f64>() / 3.0)
        .collect();
    let mean = diff.iter().sum::<f64>() / diff.len() as f64;
    let mut worst = 0f64;
    for by in (0..h).step_by(8) {
        for bx in (0..w).step_by(8) {
            let (mut sum, mut n) = (0.0, 0.0);
            for y in by..(by + 8).min(h) {
                for x in bx..(bx + 8).min(w) {
                    sum += diff[(y * w + x) as usize];
                    n += 1.0;
                }
            }
            worst = worst.max(sum / n);
        }
    }
    (mean, worst)
}

/// vipsthumbnail's rendering of `file` at exactly `w`×`h` (`crop`: cover, centred).
///
/// A WebP goes through libvips's own format first: vipsthumbnail would otherwise have libwebp
/// shrink it while decoding, with a cruder filter than either renderer's resize (2.7 levels
/// from its own rendering of the same pixels as PNG), which is not what is compared here.
fn vips_thumbnail(file: &Path, w: u32, h: u32, crop: bool, out: &Path) -> image::RgbaImage {
    let mut file = file.to_path_buf();
    if file.extension().is_some_and(|e| e == "webp") {
        let decoded = out.with_extension("v");
        let status = Command::new("vips")
            .arg("copy")
            .arg(&file)
            .arg(&decoded)
            .status()
            .expect("run vips copy");
        assert!(status.success(), "vips copy {file:?}");
        file = decoded;
    }
    let mut cmd = Command::new("vipsthumbnail");
    cmd.arg(&file).arg("-o").arg(out);
    if crop {
        cmd.args(["-s", &format!("{w}x{h}"), "--smartcrop", "centre"]);
    } else {
        cmd.args(["-s", &format!("{w}x{h}!")]);
    }
    let status = cmd.output().expect("run vipsthumbnail");
    assert!(
        status.status.success(),
        "vipsthumbnail {file:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let img = image::open(out).unwrap().into_rgba8();
    assert_eq!(
        img.dimensions(),
        (w, h),
        "vipsthumbnail's size for {file:?}"
    );
    img
}

#[test]
fn unusual_images_render_as_libvips_renders_them() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cases) = corpus(dir.path()) else {
        return;
    };
    let out = dir.path().join("vips");
    std::fs::create_dir(&out).unwrap();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let path = dir.path().join(&case.file);
        let bytes = std::fs::read(&path).unwrap();
        let (sw, _) = image::image_dimensions(dir.path().join(&case.reference))
            .unwrap_or_else(|e| panic!("{}: {e}", case.reference));
        // Tiny images at their own size; the rest scaled down, and cropped to a square.
        let shapes: Vec<(Ops, bool)> = if sw <= 4 {
            vec![(width(sw), false)]
        } else {
            let square = Ops {
                width: Some(48),
                height: Some(48),
                fit: Fit::Cover,
                ..Ops::default()
            };
            vec![(width(64), false), (square, true)]
        };
        for (ops, crop) in shapes {
            let shape = if crop { "48x48 cover" } else { "width" };
            let r = match render(
                &bytes,
                &ops,
                Format::Png,
                &Limits::default(),
                Deadline::none(),
            ) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!(
                        "{} ({}), {shape}: refused: {e}",
                        case.file, case.why
                    ));
                    continue;
                }
            };
            let ours = image::load_from_memory(&r.bytes).unwrap().into_rgba8();
            let (w, h) = ours.dimensions();
            let reference = dir.path().join(&case.reference);
            let theirs =
                vips_thumbnail(&reference, w, h, crop, &out.join(format!("{i}-{crop}.png")));
            let (mean, block) = difference(&ours, &theirs);
            report.push(format!(
                "{:<34} {:<12} {shape:<11} {w:>3}x{h:<3} mean {mean:5.2} block {block:6.2}",
                case.file, case.kind
            ));
            let (mean_limit, block_limit) = tolerance(&case.kind);
            if mean > mean_limit || block > block_limit {
                failures.push(format!(
                    "{} ({}), {shape}: differs from vipsthumbnail of {}: mean {mean:.2}, worst block {block:.2}",
                    case.file, case.why, case.reference
                ));
            }
        }
    }
    // The figures go to stderr for the record (cargo test -- --nocapture shows them).
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn width(w: u32) -> Ops {
    Ops {
        width: Some(w),
        ..Ops::default()
    }
}

/// Damaged copies of every corpus file: cut short at a quarter, half and nine tenths, and its
/// first 16 bytes (the format's signature) followed by noise. Each must be refused with a 4xx:
/// a half-grey image must never be stored for a year.
#[test]
fn damaged_copies_of_unusual_images_are_refused_with_a_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cases) = corpus(dir.path()) else {
        return;
    };
    let mut failures = Vec::new();
    let mut refused = 0;
    for case in &cases {
        let bytes = std::fs::read(dir.path().join(&case.file)).unwrap();
        let n = bytes.len();
        let mut damaged: Vec<(String, Vec<u8>)> = [n / 4, n / 2, n * 9 / 10]
            .into_iter()
            .filter(|&at| at > 16)
            .map(|at| (format!("cut at {at} of {n}"), bytes[..at].to_vec()))
            .collect();
        let mut noise = bytes[..16].to_vec();
        let mut x = 0x9E37_79B9u32;
        noise.extend((0..4096).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        }));
        damaged.push(("signature then noise".into(), noise));
        for (what, bad) in damaged {
            match render(
                &bad,
                &width(32),
                Format::Png,
                &Limits::default(),
                Deadline::none(),
            ) {
                Err(e) if e.status().is_client_error() => refused += 1,
                Err(e) => failures.push(format!("{} {what}: {} {e}", case.file, e.status())),
                Ok(r) => failures.push(format!(
                    "{} {what}: rendered {}x{} instead of being refused",
                    case.file, r.width, r.height
                )),
            }
        }
    }
    eprintln!("{refused} damaged files refused with a 4xx");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
