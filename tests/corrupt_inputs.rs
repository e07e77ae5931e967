//! Bad input never panics: corrupted and truncated sources of every accepted format go
//! through the renderer and come back as errors (or, for harmless damage, as images).

use rendition::ops::{Format, Ops};
use rendition::render::{render, Deadline};
use rendition::Limits;

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    use image::ImageEncoder as _;
    let (w, h) = (48u32, 32u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            [
                (i * 7) as u8,
                (i * 13) as u8,
                (i * 3) as u8,
                (i % 255) as u8,
            ]
        })
        .collect();
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut progressive = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut progressive, 80);
    enc.set_progressive(true);
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgba, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    let mut gif = Vec::new();
    image::codecs::gif::GifEncoder::new(&mut gif)
        .encode(&rgba, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    let webp = webp::Encoder::from_rgba(&rgba, w, h).encode(75.0).to_vec();
    vec![
        ("jpeg", jpeg),
        ("progressive jpeg", progressive),
        ("png", png),
        ("gif", gif),
        ("webp", webp),
    ]
}

/// A small deterministic generator, so a failure names a reproducible case.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn corrupted_sources_never_panic() {
    let limits = Limits {
        max_source_pixels: 4_000_000,
        ..Limits::default()
    };
    let ops = Ops {
        width: Some(20),
        ..Ops::default()
    };
    let mut rng = Lcg(42);
    let mut errors = 0;
    for (name, good) in samples() {
        assert!(
            render(&good, &ops, Format::Png, &limits, Deadline::none()).is_ok(),
            "{name} sample renders"
        );
        for case in 0..400 {
            let mut bytes = good.clone();
            match case % 4 {
                // Truncate anywhere.
                0 => bytes.truncate(rng.next() as usize % bytes.len()),
                // Flip a few random bits past the magic number.
                1 | 2 => {
                    for _ in 0..1 + rng.next() % 4 {
                        let i = 4 + rng.next() as usize % (bytes.len() - 4);
                        bytes[i] ^= 1 << (rng.next() % 8);
                    }
                }
                // Overwrite a run with random bytes (headers and sizes included).
                _ => {
                    let start = 2 + rng.next() as usize % (bytes.len() - 2);
                    let len = (1 + rng.next() as usize % 16).min(bytes.len() - start);
                    for b in &mut bytes[start..start + len] {
                        *b = rng.next() as u8;
                    }
                }
            }
            let result = std::panic::catch_unwind(|| {
                render(&bytes, &ops, Format::Jpeg, &limits, Deadline::none())
            });
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    errors += 1;
                    assert!(
                        !e.status().is_server_error(),
                        "{name} case {case}: {e} should be the input's fault"
                    );
                }
                Err(_) => panic!("{name} case {case}: the renderer panicked on corrupt input"),
            }
        }
    }
    assert!(
        errors > 100,
        "the mutations should break most inputs ({errors} errors)"
    );
}

/// Start of each scan's entropy-coded data (after its SOS header).
fn scan_data_starts(jpeg: &[u8]) -> Vec<usize> {
    (0..jpeg.len().saturating_sub(3))
        .filter(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
        .map(|i| i + 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]])))
        .collect()
}

#[test]
fn a_jpeg_cut_short_is_refused_not_rendered_with_made_up_blocks() {
    // libjpeg-made files of both kinds (4:2:0, 4:2:2 with restarts, 4:4:4, grey, odd size).
    // A cut that removes entropy-coded data the output needs must be an error: decoders
    // that pad with zeros would otherwise turn the missing blocks into grey or garbage and
    // the bucket would keep that object forever.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let limits = Limits::default();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".jpg") {
            continue;
        }
        seen += 1;
        let jpeg = std::fs::read(&path).unwrap();
        let starts = scan_data_starts(&jpeg);
        let first = starts[0];
        // The first scan carries DC (a progressive file) or everything (baseline): every
        // output needs it, the 1/8 thumbnail that decodes DC only included.
        let end_of_first = (first..jpeg.len() - 1)
            .find(|&i| jpeg[i] == 0xFF && !matches!(jpeg[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF))
            .unwrap();
        let cuts = [first + 1, (first + end_of_first) / 2, end_of_first - 1];
        for cut in cuts {
            for width in [16, 200] {
                let ops = Ops {
                    width: Some(width),
                    ..Ops::default()
                };
                let result = render(&jpeg[..cut], &ops, Format::Png, &limits, Deadline::none());
                let e = result.err().unwrap_or_else(|| {
                    panic!(
                        "{name} cut at {cut} of {} rendered at {width} px",
                        jpeg.len()
                    )
                });
                assert!(
                    e.status().is_client_error() && e.to_string().contains("undecodable"),
                    "{name} cut at {cut}: {e}"
                );
            }
        }
        // Intact, it renders. Without its EOI marker a baseline file still has all its data
        // and renders; a progressive one can't show that no scan is missing, so it is
        // refused unless the output needs only the DC scans (which end with a marker).
        let ops = Ops {
            width: Some(200),
            ..Ops::default()
        };
        assert!(
            render(&jpeg, &ops, Format::Png, &limits, Deadline::none()).is_ok(),
            "{name} renders"
        );
        let no_eoi = render(
            &jpeg[..jpeg.len() - 2],
            &ops,
            Format::Png,
            &limits,
            Deadline::none(),
        );
        assert_eq!(
            no_eoi.is_ok(),
            name.starts_with("baseline"),
            "{name} without EOI: {:?}",
            no_eoi.err()
        );
    }
    assert_eq!(seen, 10);
}
