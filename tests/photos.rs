//! Real photographs (Debian's ukui-wallpapers and lomiri-wallpapers): every one renders to
//! the expected size in every format, and its colours survive (mean colour against a
//! reference decode by an independent decoder).

mod common;

use common::{available, photos};
use rendition::ops::{Fit, Format, Ops};
use rendition::render::{probe, render, Deadline};
use rendition::Limits;

/// Mean RGB of an RGBA image, with transparency flattened onto white (as JPEG output is).
fn mean(img: &image::RgbaImage) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for p in img.pixels() {
        let a = f64::from(p[3]) / 255.0;
        for c in 0..3 {
            sum[c] += f64::from(p[c]) * a + 255.0 * (1.0 - a);
        }
    }
    let n = f64::from(img.width() * img.height());
    sum.map(|s| s / n)
}

/// Decodes with decoders independent of the renderer's path; JPEGs at 1/8 scale when
/// `small` (a DCT-scaled decode is an exact box average, so the mean colour is unchanged).
fn decode_any(bytes: &[u8], small: bool) -> image::RgbaImage {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // jpeg-decoder, not zune-jpeg: see render's tests for why.
        let mut d = jpeg_decoder::Decoder::new(bytes);
        if small {
            d.scale(1, 1).unwrap();
        }
        let rgb = d.decode().unwrap();
        let info = d.info().unwrap();
        let rgba = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        return image::RgbaImage::from_raw(u32::from(info.width), u32::from(info.height), rgba)
            .unwrap();
    }
    image::load_from_memory(bytes).unwrap().into_rgba8()
}

/// An output's size; AVIF's from its AV1 sequence header, as the tests have no AV1 decoder
/// (see `avif_info` in the renderer's tests).
fn dimensions(bytes: &[u8]) -> (u32, u32) {
    if bytes.get(4..12) == Some(&b"ftypavif"[..]) {
        let avif = avif_parse::read_avif(&mut &bytes[..]).unwrap();
        let av1 = avif.primary_item_metadata().unwrap();
        return (av1.max_frame_width.get(), av1.max_frame_height.get());
    }
    decode_any(bytes, false).dimensions()
}

#[test]
fn photographs_render_to_the_right_size_and_colours() {
    let photos = photos();
    if !available(
        photos.len() >= 10,
        "the wallpaper photographs (apt-get install ukui-wallpapers lomiri-wallpapers)",
    ) {
        return;
    }
    let limits = Limits::default();
    for path in &photos {
        let src = std::fs::read(path).unwrap();
        let info = probe(&src, &limits).unwrap();
        let (w, h) = (info.width, info.height);
        let reference = mean(&decode_any(&src, true));

        let thumb = render(
            &src,
            &Ops {
                width: Some(512),
                ..Ops::default()
            },
            Format::Jpeg,
            &limits,
            Deadline::none(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected_h = (f64::from(h) * 512.0 / f64::from(w)).round() as u32;
        assert_eq!(
            (thumb.width, thumb.height),
            (512, expected_h),
            "{}",
            path.display()
        );
        let out = decode_any(&thumb.bytes, false);
        assert_eq!(out.dimensions(), (512, expected_h));
        let m = mean(&out);
        for c in 0..3 {
            assert!(
                (m[c] - reference[c]).abs() < 6.0,
                "{}: mean colour {m:?} vs source {reference:?}",
                path.display()
            );
        }

        for format in Format::ALL {
            let ops = Ops {
                width: Some(300),
                height: Some(300),
                fit: Fit::Cover,
                ..Ops::default()
            };
            let r = render(&src, &ops, format, &limits, Deadline::none())
                .unwrap_or_else(|e| panic!("{}: {format:?}: {e}", path.display()));
            assert_eq!(
                dimensions(&r.bytes),
                (300, 300),
                "{} {format:?}",
                path.display()
            );
        }
    }
}
