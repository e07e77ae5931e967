//! Bad input never panics: corrupted and truncated sources of every accepted format go
//! through the renderer and come back as errors (or, for harmless damage, as images).

use rendition::ops::{Format, Limits, Ops};
use rendition::render::render;

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
    let never = || false;
    let mut rng = Lcg(42);
    let mut errors = 0;
    for (name, good) in samples() {
        assert!(
            render(&good, &ops, Format::Png, &limits, &never).is_ok(),
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
            let result =
                std::panic::catch_unwind(|| render(&bytes, &ops, Format::Jpeg, &limits, &never));
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
