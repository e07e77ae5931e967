use super::probe::count_frames;
use super::resize::resize_samples;
use super::*;
use crate::ops::{Fit, Gravity, Rgb, Rotation, Tenths};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const YELLOW: [u8; 3] = [255, 255, 0];

/// A `w`×`h` RGB image whose four quadrants are red, green (top), blue, yellow (bottom).
fn quadrants(w: u32, h: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let c = match (x < w / 2, y < h / 2) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => YELLOW,
            };
            data.extend_from_slice(&c);
        }
    }
    data
}

/// An APP1 EXIF payload holding only an orientation tag.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut e = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    e.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    e.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    e.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    e.extend_from_slice(&1u32.to_be_bytes()); // count
    e.extend_from_slice(&value.to_be_bytes());
    e.extend_from_slice(&[0, 0]);
    e.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    e
}

pub(crate) fn jpeg(w: u32, h: u32, rgb: &[u8], orientation: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    if let Some(o) = orientation {
        enc.add_app_segment(1, exif_orientation(o)).unwrap();
    }
    enc.encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

fn png_rgba(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(rgba, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// What an AVIF output says about its image, read without decoding AV1: no AV1 decoder is
/// practical as a dev-dependency (the pure-Rust ones are AGPL or unpublished, and the `dav1d`
/// bindings need a newer libdav1d than Debian ships). Chromium decodes our AVIFs for real in
/// the browser test. Here the container (`ftyp` brand, each `ispe` box) and the AV1 sequence
/// header must agree on the size.
#[derive(Debug, PartialEq, Eq)]
struct AvifInfo {
    width: u32,
    height: u32,
    bit_depth: u8,
    /// 4:4:4 (no chroma subsampling).
    full_chroma: bool,
    /// Has an alpha auxiliary image.
    alpha: bool,
}

fn avif_info(bytes: &[u8]) -> AvifInfo {
    assert_eq!(bytes.get(4..12), Some(&b"ftypavif"[..]), "AVIF brand");
    let data = avif_parse::read_avif(&mut &bytes[..]).expect("avif container parses");
    let av1 = data.primary_item_metadata().expect("AV1 sequence header");
    let (width, height) = (av1.max_frame_width.get(), av1.max_frame_height.get());
    let ispe = ispe_sizes(bytes);
    assert!(!ispe.is_empty(), "no ispe box");
    for size in &ispe {
        assert_eq!(*size, (width, height), "ispe box and AV1 header disagree");
    }
    if let Some(alpha) = data.alpha_item_metadata().expect("alpha sequence header") {
        assert_eq!(
            (alpha.max_frame_width.get(), alpha.max_frame_height.get()),
            (width, height),
            "alpha image size"
        );
    }
    AvifInfo {
        width,
        height,
        bit_depth: av1.bit_depth,
        full_chroma: av1.chroma_subsampling == (false, false),
        alpha: data.alpha_item.is_some(),
    }
}

/// The `ispe` (image spatial extents) boxes of an ISO-BMFF file: meta/iprp/ipco/ispe.
fn ispe_sizes(bytes: &[u8]) -> Vec<(u32, u32)> {
    fn children(b: &[u8]) -> Vec<(&[u8], &[u8])> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 8 <= b.len() {
            let size = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
            assert!(size >= 8 && i + size <= b.len(), "box size");
            out.push((&b[i + 4..i + 8], &b[i + 8..i + size]));
            i += size;
        }
        out
    }
    let find = |b: &'_ [u8], kind: &[u8]| -> Vec<Vec<u8>> {
        children(b)
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, body)| body.to_vec())
            .collect()
    };
    let mut sizes = Vec::new();
    for meta in find(bytes, b"meta") {
        // meta is a full box: 4 bytes of version and flags before its children.
        for iprp in find(&meta[4..], b"iprp") {
            for ipco in find(&iprp, b"ipco") {
                for ispe in find(&ipco, b"ispe") {
                    let be = |i: usize| u32::from_be_bytes(ispe[i..i + 4].try_into().unwrap());
                    sizes.push((be(4), be(8)));
                }
            }
        }
    }
    sizes
}

/// The output's size as its decoder (or, for AVIF, its container and AV1 header) reads it.
fn output_dimensions(r: &Rendered) -> (u32, u32) {
    if r.format == Format::Avif {
        let info = avif_info(&r.bytes);
        return (info.width, info.height);
    }
    decoded(r).dimensions()
}

fn decoded(r: &Rendered) -> image::RgbaImage {
    if r.format == Format::Jpeg {
        // libjpeg-turbo and jpeg-decoder read our optimised-Huffman JPEGs; zune-jpeg (the image
        // crate's decoder) misreads flat-colour ones, so tests decode JPEG with jpeg-decoder.
        let mut d = jpeg_decoder::Decoder::new(&r.bytes[..]);
        let rgb = d.decode().expect("jpeg output decodes");
        let info = d.info().unwrap();
        let rgba = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        return image::RgbaImage::from_raw(u32::from(info.width), u32::from(info.height), rgba)
            .unwrap();
    }
    let fmt = match r.format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Webp => image::ImageFormat::WebP,
        Format::Gif => image::ImageFormat::Gif,
        Format::Avif => panic!("no AV1 decoder in the tests: use avif_info"),
    };
    image::load_from_memory_with_format(&r.bytes, fmt)
        .unwrap_or_else(|e| panic!("{fmt:?} output does not decode: {e}"))
        .into_rgba8()
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 40)
}

fn rgb_at(img: &image::RgbaImage, x: u32, y: u32) -> [u8; 3] {
    let p = img.get_pixel(x, y).0;
    [p[0], p[1], p[2]]
}

fn run(src: &[u8], ops: &Ops, format: Format) -> Rendered {
    render(src, ops, format, &Limits::default(), Deadline::none())
        .unwrap_or_else(|e| panic!("{ops:?}: {e}"))
}

#[test]
fn all_eight_exif_orientations_display_upright() {
    // The stored corner that must appear at the displayed top-left and top-right, per the
    // EXIF specification's definition of each orientation value.
    let table = [
        (1, RED, GREEN),
        (2, GREEN, RED),
        (3, YELLOW, BLUE),
        (4, BLUE, YELLOW),
        (5, RED, BLUE),
        (6, BLUE, RED),
        (7, YELLOW, GREEN),
        (8, GREEN, YELLOW),
    ];
    let (w, h) = (64, 32);
    let pixels = quadrants(w, h);
    for (value, top_left, top_right) in table {
        let src = jpeg(w, h, &pixels, Some(value));
        let out = run(&src, &Ops::default(), Format::Png);
        let img = decoded(&out);
        let swapped = value >= 5;
        let expected = if swapped { (h, w) } else { (w, h) };
        assert_eq!(img.dimensions(), expected, "orientation {value}");
        let (dw, dh) = img.dimensions();
        assert!(
            near(rgb_at(&img, dw / 4, dh / 4), top_left),
            "orientation {value}: top-left"
        );
        assert!(
            near(rgb_at(&img, dw * 3 / 4, dh / 4), top_right),
            "orientation {value}: top-right"
        );

        // Resizing and cropping happen in stored orientation; the result must agree.
        let ops = Ops {
            width: Some(16),
            height: Some(16),
            ..Ops::default()
        };
        let img = decoded(&run(&src, &ops, Format::Png));
        assert_eq!(img.dimensions(), (16, 16));
        // A centre square crop keeps part of each displayed quadrant, landscape or portrait.
        assert!(
            near(rgb_at(&img, 3, 3), top_left),
            "orientation {value}: cropped top-left"
        );
        assert!(
            near(rgb_at(&img, 12, 3), top_right),
            "orientation {value}: cropped top-right"
        );
    }
}

#[test]
fn rotate_and_flip_follow_orientation() {
    let (w, h) = (64, 32);
    let src = jpeg(w, h, &quadrants(w, h), Some(6));
    // EXIF 6 shows BLUE, RED on top; a further r270 undoes it; flip mirrors.
    let ops = Ops {
        rotate: Rotation::R270,
        ..Ops::default()
    };
    let img = decoded(&run(&src, &ops, Format::Png));
    assert_eq!(img.dimensions(), (64, 32));
    assert!(near(rgb_at(&img, 8, 8), RED));
    let ops = Ops {
        rotate: Rotation::R270,
        flip: true,
        ..Ops::default()
    };
    let img = decoded(&run(&src, &ops, Format::Png));
    assert!(near(rgb_at(&img, 8, 8), GREEN));
}

#[test]
fn output_dimensions_for_every_fit_mode() {
    let (w, h) = (300, 200);
    let src = jpeg(w, h, &quadrants(w, h), None);
    let cases = [
        (Some(150), None, Fit::Cover, (150, 100)),
        (None, Some(50), Fit::Cover, (75, 50)),
        (Some(100), Some(100), Fit::Cover, (100, 100)),
        (Some(100), Some(100), Fit::Contain, (100, 100)),
        (Some(100), Some(100), Fit::Fill, (100, 100)),
        (Some(100), Some(100), Fit::Inside, (100, 67)),
        (Some(100), Some(100), Fit::Outside, (150, 100)),
        // Larger than the source: not enlarged unless asked.
        (Some(600), None, Fit::Cover, (300, 200)),
        (Some(600), Some(300), Fit::Cover, (300, 150)),
    ];
    let enlarged = [
        (Some(600), None, Fit::Cover, (600, 400)),
        (Some(600), Some(300), Fit::Contain, (600, 300)),
    ];
    let cases = cases
        .into_iter()
        .map(|c| (c, false))
        .chain(enlarged.into_iter().map(|c| (c, true)));
    for ((width, height, fit, expected), enlarge) in cases {
        let ops = Ops {
            width,
            height,
            fit,
            enlarge,
            ..Ops::default()
        };
        for format in Format::ALL {
            let out = run(&src, &ops, format);
            assert_eq!((out.width, out.height), expected, "{ops:?} {format:?}");
            assert_eq!(output_dimensions(&out), expected, "{ops:?} {format:?}");
        }
    }
}

#[test]
fn every_output_format_decodes_with_its_magic() {
    let src = jpeg(120, 80, &quadrants(120, 80), None);
    for format in Format::ALL {
        let out = run(
            &src,
            &Ops {
                width: Some(60),
                ..Ops::default()
            },
            format,
        );
        let source_format = match format {
            Format::Jpeg => SourceFormat::Jpeg,
            Format::Png => SourceFormat::Png,
            Format::Webp => SourceFormat::Webp,
            Format::Gif => SourceFormat::Gif,
            Format::Avif => {
                // Not a source format: check the container instead of decoding.
                let info = avif_info(&out.bytes);
                assert_eq!((info.width, info.height), (60, 40));
                assert_eq!(info.bit_depth, 8);
                assert!(info.full_chroma && !info.alpha, "{info:?}");
                continue;
            }
        };
        assert_eq!(
            crate::render::SourceFormat::sniff(&out.bytes).unwrap(),
            source_format
        );
        let img = decoded(&out);
        assert_eq!(img.dimensions(), (60, 40));
        assert!(
            near(rgb_at(&img, 5, 5), RED),
            "{format:?}: {:?}",
            rgb_at(&img, 5, 5)
        );
    }
}

#[test]
fn gravity_chooses_the_kept_side() {
    // Left half red, right half blue; a square cover crop keeps one side or the other.
    let (w, h) = (200, 100);
    let data: Vec<u8> = (0..w * h)
        .flat_map(|i| if i % w < w / 2 { RED } else { BLUE })
        .collect();
    let src = jpeg(w, h, &data, None);
    let crop = |g| {
        decoded(&run(
            &src,
            &Ops {
                width: Some(50),
                height: Some(50),
                gravity: g,
                ..Ops::default()
            },
            Format::Png,
        ))
    };
    assert!(near(rgb_at(&crop(Gravity::West), 25, 25), RED));
    assert!(near(rgb_at(&crop(Gravity::East), 25, 25), BLUE));
    assert!(near(
        rgb_at(&crop(Gravity::Focal { x: 90, y: 50 }), 25, 25),
        BLUE
    ));
}

#[test]
fn smart_gravity_finds_the_detail() {
    // Flat grey on the left, noise on the right.
    let (w, h) = (300, 100);
    let mut seed = 1u32;
    let data: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = if i % w < 150 { 128 } else { (seed >> 16) as u8 };
            [v, v, v]
        })
        .collect();
    let src = png_rgba(
        w,
        h,
        &data
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect::<Vec<_>>(),
    );
    let ops = Ops {
        width: Some(100),
        height: Some(100),
        gravity: Gravity::Smart,
        ..Ops::default()
    };
    let img = decoded(&run(&src, &ops, Format::Png));
    let variance: u32 = (0..100)
        .map(|x| u32::from(rgb_at(&img, x, 50)[0].abs_diff(128)))
        .sum();
    assert!(variance > 1000, "smart crop kept the flat side");
}

#[test]
fn alpha_is_flattened_for_jpeg_and_kept_for_png() {
    // Transparent left half, opaque green right half.
    let (w, h) = (40, 20);
    let data: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            if i % w < w / 2 {
                [0, 0, 0, 0]
            } else {
                [0, 255, 0, 255]
            }
        })
        .collect();
    let src = png_rgba(w, h, &data);
    let img = decoded(&run(&src, &Ops::default(), Format::Jpeg));
    assert!(
        near(rgb_at(&img, 5, 10), [255, 255, 255]),
        "transparent becomes white"
    );
    assert!(near(rgb_at(&img, 35, 10), GREEN));
    let ops = Ops {
        background: Some(Rgb([255, 0, 0])),
        ..Ops::default()
    };
    let img = decoded(&run(&src, &ops, Format::Jpeg));
    assert!(
        near(rgb_at(&img, 5, 10), RED),
        "transparent becomes the background"
    );
    let img = decoded(&run(&src, &Ops::default(), Format::Png));
    assert_eq!(img.get_pixel(5, 10).0[3], 0, "png keeps transparency");
    let img = decoded(&run(&src, &Ops::default(), Format::Webp));
    assert_eq!(img.get_pixel(5, 10).0[3], 0, "webp keeps transparency");
    let avif = avif_info(&run(&src, &Ops::default(), Format::Avif).bytes);
    assert!(avif.alpha, "avif keeps transparency");
    let avif = avif_info(&run(&src, &ops, Format::Avif).bytes);
    assert!(!avif.alpha, "a background flattens avif");
    let img = decoded(&run(&src, &ops, Format::Png));
    assert_eq!(
        img.get_pixel(5, 10).0,
        [255, 0, 0, 255],
        "a background flattens png too"
    );
}

#[test]
fn contain_pads_with_background_or_transparency() {
    let src = jpeg(200, 100, &quadrants(200, 100), None);
    let ops = Ops {
        width: Some(100),
        height: Some(100),
        fit: Fit::Contain,
        ..Ops::default()
    };
    let img = decoded(&run(&src, &ops, Format::Png));
    assert_eq!(img.get_pixel(50, 5).0[3], 0, "padding is transparent");
    assert!(near(rgb_at(&img, 10, 40), RED));
    let img = decoded(&run(&src, &ops, Format::Jpeg));
    assert!(
        near(rgb_at(&img, 50, 5), [255, 255, 255]),
        "jpeg pads white"
    );
    let ops = Ops {
        gravity: Gravity::North,
        background: Some(Rgb([0, 0, 255])),
        ..ops
    };
    let img = decoded(&run(&src, &ops, Format::Jpeg));
    assert!(
        near(rgb_at(&img, 50, 95), BLUE),
        "padding below the image when north"
    );
    assert!(near(rgb_at(&img, 10, 5), RED));
}

#[test]
fn filters_change_pixels_but_not_size() {
    let src = jpeg(100, 100, &quadrants(100, 100), None);
    let plain = decoded(&run(&src, &Ops::default(), Format::Png));
    let ops = Ops {
        blur: Some(Tenths(30)),
        ..Ops::default()
    };
    let blurred = decoded(&run(&src, &ops, Format::Png));
    assert_eq!(blurred.dimensions(), (100, 100));
    // At the red/green edge a blur mixes the colours.
    assert!(rgb_at(&blurred, 49, 20)[1] > rgb_at(&plain, 49, 20)[1] + 20);
    let ops = Ops {
        sharpen: Some(Tenths(10)),
        ..Ops::default()
    };
    assert_eq!(
        decoded(&run(&src, &ops, Format::Png)).dimensions(),
        (100, 100)
    );
}

#[test]
fn bad_sources_get_the_right_errors() {
    let limits = Limits::default();
    let err = |src: &[u8], limits: &Limits| {
        render(src, &Ops::default(), Format::Png, limits, Deadline::none()).unwrap_err()
    };
    assert!(matches!(
        err(b"hello, world", &limits),
        Error::Unsupported(_)
    ));
    assert!(matches!(
        err(b"<svg xmlns='http://www.w3.org/2000/svg'/>", &limits),
        Error::Unsupported(_)
    ));
    let src = jpeg(64, 64, &quadrants(64, 64), None);
    assert!(matches!(err(&src[..40], &limits), Error::Undecodable(_)));
    let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
    garbage.extend_from_slice(&[7; 64]);
    assert!(matches!(
        err(&garbage, &limits),
        Error::Undecodable(_) | Error::Unsupported(_)
    ));
    let small = Limits {
        max_source_pixels: 1000,
        ..Limits::default()
    };
    assert!(matches!(err(&src, &small), Error::TooLarge(_)));
    let ops = Ops {
        width: Some(9000),
        enlarge: true,
        ..Ops::default()
    };
    assert!(matches!(
        render(&src, &ops, Format::Png, &limits, Deadline::none()),
        Err(Error::TooLarge(_))
    ));
}

#[test]
fn cancellation_stops_with_timeout() {
    let src = jpeg(64, 64, &quadrants(64, 64), None);
    let limits = Limits::default();
    let r = render(
        &src,
        &Ops::default(),
        Format::Png,
        &limits,
        Deadline::new(limits.render_timeout_ms, &|| true),
    );
    assert!(matches!(r, Err(Error::Timeout(_))));
}

#[test]
fn large_jpeg_is_decoded_at_reduced_scale() {
    // 2400x1600 to 150 px wide: the decoder may use 1/8 scale (300x200) and must still
    // produce the right size and colours.
    let (w, h) = (2400, 1600);
    let src = jpeg(w, h, &quadrants(w, h), None);
    let probe = probe(&src, &Limits::default()).unwrap();
    let (source, _) = decode(&src, &probe, 150.0 / 2400.0, None, &Limits::default(), None).unwrap();
    assert_eq!(source.size(), (300, 200));
    let img = decoded(&run(
        &src,
        &Ops {
            width: Some(150),
            ..Ops::default()
        },
        Format::Jpeg,
    ));
    assert_eq!(img.dimensions(), (150, 100));
    assert!(near(rgb_at(&img, 10, 10), RED));
    assert!(near(rgb_at(&img, 140, 90), YELLOW));
}

/// Resizing a JPEG's planes (chroma from its own grid, colour-converted at the output size)
/// gives what resizing its RGB decode gives, up to rounding and the chroma filter, for every
/// sampling, at every scale, cropped or not, shrunk or enlarged; and on installed photographs.
#[test]
fn planes_resize_like_rgb_pixels() {
    use jpeg_encoder::SamplingFactor as S;
    let card = |s| jpeg::test_card(333, 517, s, 0);
    let mut sources: Vec<(String, Vec<u8>)> = [S::R_4_4_4, S::R_4_2_2, S::R_4_2_0, S::R_4_4_0]
        .into_iter()
        .map(|s| (format!("{s:?}"), card(s)))
        .collect();
    let mut grey = Vec::new();
    let luma: Vec<u8> = (0..200u32 * 150)
        .map(|i| (i % 200 + i / 200) as u8)
        .collect();
    jpeg_encoder::Encoder::new(&mut grey, 90)
        .encode(&luma, 200, 150, jpeg_encoder::ColorType::Luma)
        .unwrap();
    sources.push(("grey".into(), grey));
    sources.extend(jpeg::installed_photographs(false).into_iter().take(2));
    sources.extend(jpeg::installed_photographs(true).into_iter().take(1));
    for (name, src) in &sources {
        for eighths in [8, 6, 5, 4, 3, 2] {
            let px = Pixels::from(jpeg::decode(src, eighths).unwrap());
            let Ok(jpeg::Output::Planes(planes)) = jpeg::decode_planes(src, eighths) else {
                panic!("{name} {eighths}/8: no planes");
            };
            assert_eq!(Decoded::Planes(planes).size(), (px.w, px.h), "{name}");
            let Ok(jpeg::Output::Planes(planes)) = jpeg::decode_planes(src, eighths) else {
                unreachable!()
            };
            let (w, h) = (f64::from(px.w), f64::from(px.h));
            let whole = Rect {
                x: 0.0,
                y: 0.0,
                w,
                h,
            };
            let off_centre = Rect {
                x: w * 0.3,
                y: h * 0.1,
                w: w * 0.5,
                h: h * 0.6,
            };
            let mut cases = vec![
                ("shrunk", whole, (px.w * 10 / 37, px.h * 10 / 37)),
                ("cropped", off_centre, (px.w / 3, px.h / 2)),
            ];
            if px.w < 1000 {
                cases.push(("enlarged", off_centre, (px.w * 3 / 4, px.h)));
            }
            for (case, region, (ow, oh)) in cases {
                let (ow, oh) = (ow.max(1), oh.max(1));
                let a = resize(&px, region, ow, oh).unwrap();
                let b = resize_planes(&planes, region, (ow, oh), false)
                    .unwrap()
                    .into_rgb();
                assert_eq!((b.w, b.h, b.channels), (ow, oh, 3));
                let diff = mean_abs_diff(&a.data, &b.data);
                assert!(
                    diff < 1.0,
                    "{name} {eighths}/8 {case}: mean difference {diff:.2}"
                );
                // Chroma at the encoder's 2×2 grid: each 2×2 block's chroma averaged, as the
                // encoder does, against luma from the RGB resize to the output size and
                // chroma from the RGB resize to half of it. Column by column too, so that
                // the last one of an odd width counts.
                let half = resize_planes(&planes, region, (ow, oh), true)
                    .unwrap()
                    .into_rgb();
                assert_eq!((half.w, half.h, half.channels), (ow, oh, 3));
                let got = chroma_averaged(&half);
                let small = resize(&px, region, ow.div_ceil(2), oh.div_ceil(2)).unwrap();
                let (luma, chroma) = (ycbcr(&a), ycbcr(&small));
                let expected: Vec<u8> = (0..(ow * oh) as usize)
                    .flat_map(|i| {
                        let (x, y) = (i % ow as usize, i / ow as usize);
                        let c = chroma[y / 2 * small.w as usize + x / 2];
                        [luma[i][0], c[1], c[2]].map(|v| v.round().clamp(0.0, 255.0) as u8)
                    })
                    .collect();
                let diff = mean_abs_diff(&expected, &got);
                assert!(
                    diff < 1.0,
                    "{name} {eighths}/8 {case}, half chroma: mean difference {diff:.2}"
                );
                let column = |img: &[u8], x: usize| -> Vec<u8> {
                    let at = |y: usize| (y * ow as usize + x) * 3;
                    (0..oh as usize)
                        .flat_map(|y| img[at(y)..at(y) + 3].to_vec())
                        .collect()
                };
                for x in 0..ow as usize {
                    let diff = mean_abs_diff(&column(&expected, x), &column(&got, x));
                    assert!(
                        diff < 2.0,
                        "{name} {eighths}/8 {case}, half chroma: column {x} differs by {diff:.2}"
                    );
                }
            }
        }
    }
}

#[test]
fn jpeg_from_luma_and_chroma_matches_the_rgb_route() {
    // The direct route (resized YCbCr into the encoder, oriented plane by plane) against the
    // route through RGB, for every EXIF orientation, on a card whose chroma runs across (Cb)
    // and down (Cr): a plane turned the wrong way, or chroma off by a row, is far off.
    let src = jpeg::test_card(333, 517, jpeg_encoder::SamplingFactor::R_4_2_0, 0);
    let Ok(jpeg::Output::Planes(planes)) = jpeg::decode_planes(&src, 4) else {
        panic!("no planes");
    };
    let (w, h) = (f64::from(planes.planes[0].w), f64::from(planes.planes[0].h));
    let region = Rect {
        x: 0.0,
        y: 0.0,
        w,
        h,
    };
    let decode = |jpeg: &[u8]| {
        let mut d = jpeg_decoder::Decoder::new(jpeg);
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        (info.width, info.height, px)
    };
    for exif in 1..=8 {
        let o = Orientation::from_exif(exif);
        let resized = resize_planes(&planes, region, (100, 154), true).unwrap();
        assert!(resized.is_luma_and_chroma());
        let rgb = reorient(
            resize_planes(&planes, region, (100, 154), true)
                .unwrap()
                .into_rgb(),
            o,
        );
        let (luma, chroma) = resized.into_luma_and_chroma();
        let direct = encode_jpeg_ycc(&reorient(luma, o), &reorient(chroma, o), 80).unwrap();
        let (dw, dh, a) = decode(&direct);
        let (rw, rh, b) = decode(&encode(&rgb, Format::Jpeg, 80).unwrap());
        assert_eq!((dw, dh), (rw, rh), "exif {exif}");
        assert_eq!(
            (u32::from(dw), u32::from(dh)),
            (rgb.w, rgb.h),
            "exif {exif}"
        );
        let diff = mean_abs_diff(&a, &b);
        assert!(diff < 1.0, "exif {exif}: mean difference {diff:.2}");
    }
}

#[test]
fn planes_kept_at_their_size_are_not_resampled() {
    // The whole source at its own size: luma and the 4:2:0 chroma pair come back as decoded,
    // also for odd sides, where the chroma plane is ⌈w/2⌉ wide and a resize would stretch it.
    for (w, h) in [(333, 517), (64, 48)] {
        let src = jpeg::test_card(w, h, jpeg_encoder::SamplingFactor::R_4_2_0, 0);
        let Ok(jpeg::Output::Planes(planes)) = jpeg::decode_planes(&src, 8) else {
            panic!("no planes");
        };
        let region = Rect {
            x: 0.0,
            y: 0.0,
            w: f64::from(w),
            h: f64::from(h),
        };
        let resized = resize_planes(&planes, region, (w, h), true).unwrap();
        let (luma, chroma) = resized.into_luma_and_chroma();
        assert_eq!(luma.data, planes.planes[0].data, "{w}x{h}");
        let (cb, cr) = (&planes.planes[1].data, &planes.planes[2].data);
        let pairs: Vec<u8> = cb.iter().zip(cr).flat_map(|(&b, &r)| [b, r]).collect();
        assert_eq!(chroma.data, pairs, "{w}x{h}");
    }
}

#[test]
fn a_jpeg_kept_at_its_size_goes_to_the_encoder_as_planes() {
    // A 4:2:0 source rendered at its own size to a 4:2:0 JPEG: its decoded luma and chroma
    // are encoded as they are (no resize, no RGB round trip), so the result is at least as
    // close to the original pixels as encoding the source's RGB decode, which blurs chroma
    // twice (up, then averaged down again). Odd sides; and an EXIF-rotated source with even
    // sides, whose planes are turned before encoding.
    let decode = |jpeg: &[u8]| {
        let mut d = jpeg_decoder::Decoder::new(jpeg);
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        (u32::from(info.width), u32::from(info.height), px)
    };
    let (cw, ch) = (333, 517);
    let card = jpeg::test_card(cw, ch, jpeg_encoder::SamplingFactor::R_4_2_0, 0);
    let (w, h) = (200u32, 120u32);
    let rotated = jpeg(w, h, &quadrants(w, h), Some(6));
    for (src, width) in [(card, cw), (rotated, h)] {
        let ops = Ops {
            width: Some(width),
            ..Ops::default()
        };
        let direct = run(&src, &ops, Format::Jpeg);
        let (dw, dh, out) = decode(&direct.bytes);
        assert_eq!((dw, dh, dw), (direct.width, direct.height, width));
        // The route through RGB: the source's upright RGB decode, encoded.
        let upright = decoded(&run(&src, &ops, Format::Png));
        let rgb: Vec<u8> = upright.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
        let through_rgb = encode(&Pixels::new(dw, dh, 3, rgb.clone()), Format::Jpeg, 80).unwrap();
        let through_rgb = decode(&through_rgb).2;
        // Upright and in place (a plane turned the wrong way is far off), and as close to the
        // source as the route through RGB.
        let (now, before) = (mean_abs_diff(&out, &rgb), mean_abs_diff(&through_rgb, &rgb));
        assert!(
            now < before + 0.25,
            "{width} px: {now:.3} from the decoded source, {before:.3}"
        );
        if width == cw {
            let original = jpeg::test_card_pixels(cw, ch);
            let (now, before) = (
                mean_abs_diff(&out, &original),
                mean_abs_diff(&through_rgb, &original),
            );
            assert!(
                now <= before + 0.02,
                "{now:.3} from the original, {before:.3} through RGB"
            );
        }
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&a, &b)| f64::from(a.abs_diff(b)))
        .sum();
    sum / a.len().max(1) as f64
}

/// RGB pixels as JFIF YCbCr, unrounded.
fn ycbcr(img: &Pixels) -> Vec<[f64; 3]> {
    img.data
        .chunks_exact(3)
        .map(|p| {
            let [r, g, b] = [0, 1, 2].map(|i| f64::from(p[i]));
            [
                0.299 * r + 0.587 * g + 0.114 * b,
                128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
                128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
            ]
        })
        .collect()
}

/// RGB pixels as JFIF YCbCr with Cb and Cr averaged over each 2×2 block, as a 4:2:0 encoder
/// stores them, rounded to bytes.
fn chroma_averaged(img: &Pixels) -> Vec<u8> {
    let (w, h) = (img.w as usize, img.h as usize);
    let ycc = ycbcr(img);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (bx, by) = (x / 2 * 2, y / 2 * 2);
            let block: Vec<&[f64; 3]> = [(0, 0), (1, 0), (0, 1), (1, 1)]
                .iter()
                .filter(|(dx, dy)| bx + dx < w && by + dy < h)
                .map(|(dx, dy)| &ycc[(by + dy) * w + bx + dx])
                .collect();
            let mean = |c: usize| block.iter().map(|p| p[c]).sum::<f64>() / block.len() as f64;
            let v = [ycc[y * w + x][0], mean(1), mean(2)];
            out.extend(v.map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// The sRGB transfer curve (IEC 61966-2-1), which Display P3 shares: encoded 0..=1 to linear.
fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(l: f64) -> f64 {
    if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

#[test]
fn icc_tagged_sources_are_converted_to_srgb() {
    // A Display P3 colour, and what it is in sRGB: same transfer curve, and the linear-light
    // matrix from P3-D65 primaries to sRGB's, worked out from the two sets of chromaticities.
    let p3 = [200u8, 100, 50];
    const P3_TO_SRGB: [[f64; 3]; 3] = [
        [1.224_94, -0.224_94, 0.0],
        [-0.042_06, 1.042_06, 0.0],
        [-0.019_64, -0.078_64, 1.098_28],
    ];
    let linear = p3.map(|v| srgb_to_linear(f64::from(v) / 255.0));
    let expected = P3_TO_SRGB.map(|row| {
        let l: f64 = row.iter().zip(&linear).map(|(m, l)| m * l).sum();
        (linear_to_srgb(l.clamp(0.0, 1.0)) * 255.0).round() as u8
    });
    let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let (w, h) = (64u32, 48u32);
    let rgb: Vec<u8> = p3
        .iter()
        .copied()
        .cycle()
        .take((w * h * 3) as usize)
        .collect();
    let mut tagged_jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut tagged_jpeg, 95);
    enc.add_icc_profile(&icc).unwrap();
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut tagged_png = Vec::new();
    {
        use image::ImageEncoder as _;
        let mut enc = image::codecs::png::PngEncoder::new(&mut tagged_png);
        enc.set_icc_profile(icc.clone()).unwrap();
        enc.write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
    }
    let mut bad_icc = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut bad_icc, 95);
    enc.add_icc_profile(b"not a colour profile").unwrap();
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let untagged = jpeg(w, h, &rgb, None);
    let small = Ops {
        width: Some(32),
        ..Ops::default()
    };
    let close = |a: [u8; 3], b: [u8; 3], tolerance: u8| {
        a.iter().zip(&b).all(|(a, b)| a.abs_diff(*b) <= tolerance)
    };
    for (name, src, want) in [
        ("P3 JPEG", &tagged_jpeg, expected),
        ("P3 PNG", &tagged_png, expected),
        ("unreadable profile", &bad_icc, p3),
        ("untagged", &untagged, p3),
    ] {
        for format in [Format::Png, Format::Webp] {
            let got = rgb_at(&decoded(&run(src, &small, format)), 16, 12);
            let tolerance = if format == Format::Png { 3 } else { 6 };
            assert!(
                close(got, want, tolerance),
                "{name} as {format:?}: {got:?}, want {want:?} (source {p3:?})"
            );
        }
    }
    // The check can tell the two apart.
    assert!(!close(expected, p3, 6), "{expected:?}");
}

#[test]
fn animated_sources_render_their_first_frame_whatever_their_frame_count() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, RgbaImage};
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        for i in 0..5u8 {
            let img = RgbaImage::from_pixel(8, 8, image::Rgba([200 - i * 40, 0, 0, 255]));
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .unwrap();
        }
    }
    assert_eq!(count_frames(SourceFormat::Gif, &bytes), 5);
    let out = run(
        &bytes,
        &Ops {
            width: Some(4),
            ..Ops::default()
        },
        Format::Png,
    );
    assert_eq!((out.width, out.height), (4, 4));
    assert_eq!(super::probe(&bytes, &Limits::default()).unwrap().frames, 5);
    // The first frame's colour, and no 413 for a long animation: 3,000 frames of 1×1.
    let first = image::load_from_memory(&out.bytes).unwrap().into_rgba8();
    assert!(first.pixels().all(|p| p.0 == [200, 0, 0, 255]), "{first:?}");
    let mut long = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut long);
        for i in 0..3000u32 {
            let img = RgbaImage::from_pixel(1, 1, image::Rgba([(i % 251) as u8, 0, 0, 255]));
            enc.encode_frame(Frame::new(img)).unwrap();
        }
    }
    assert_eq!(count_frames(SourceFormat::Gif, &long), 3000);
    let r = run(&long, &Ops::default(), Format::Png);
    assert_eq!((r.width, r.height), (1, 1));
}

#[test]
fn avif_encodes_tiny_odd_and_transparent_images() {
    // AV1 codes 8x8 blocks at least; sizes that are not multiples of it (and 1 px) must come
    // out exactly, with and without alpha.
    for (w, h) in [(1, 1), (1, 9), (9, 1), (3, 5), (17, 9), (65, 33)] {
        let rgb = Pixels::new(w, h, 3, quadrants(w, h));
        let info = avif_info(&encode(&rgb, Format::Avif, 80).unwrap());
        assert_eq!((info.width, info.height), (w, h));
        assert!(!info.alpha);
        let rgba = Pixels::new(
            w,
            h,
            4,
            (0..w * h)
                .flat_map(|i| [200, 10, 10, (i % 256) as u8])
                .collect(),
        );
        let info = avif_info(&encode(&rgba, Format::Avif, 80).unwrap());
        assert_eq!((info.width, info.height, info.alpha), (w, h, true));
    }
}

#[test]
fn avif_quality_trades_bytes() {
    let (w, h) = (128, 96);
    let mut seed = 7u32;
    let data: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        })
        .collect();
    let img = Pixels::new(w, h, 3, data);
    let sizes: Vec<usize> = [1, 30, 80, 100]
        .map(|q| encode(&img, Format::Avif, q).unwrap().len())
        .to_vec();
    assert!(sizes.windows(2).all(|p| p[0] < p[1]), "{sizes:?}");
}

#[test]
fn two_channel_planes_are_resized_as_two_independent_samples() {
    // fast_image_resize takes U8x2 for luma + alpha and, unless told otherwise, multiplies
    // the first sample by the second around the resize. A chroma pair is Cb and Cr: with
    // that, a saturated green (Cr ≈ 21) would keep Cb in steps of 12, and Cr = 0 would
    // zero Cb. Each sample must come out as if resized on its own.
    let (w, h) = (64u32, 48u32);
    let pair: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            let cb = (60 + (x * 3 + y) % 140) as u8;
            let cr = if (x / 8 + y / 8) % 2 == 0 {
                0
            } else {
                21 + (x % 7) as u8
            };
            [cb, cr]
        })
        .collect();
    let whole = Rect {
        x: 0.0,
        y: 0.0,
        w: f64::from(w),
        h: f64::from(h),
    };
    let mut resizer = fr::Resizer::new();
    let out = (23, 17);
    let together =
        resize_samples(&mut resizer, &pair, (w, h), fr::PixelType::U8x2, whole, out).unwrap();
    for c in 0..2 {
        let plane: Vec<u8> = pair.iter().skip(c).step_by(2).copied().collect();
        let alone =
            resize_samples(&mut resizer, &plane, (w, h), fr::PixelType::U8, whole, out).unwrap();
        let got: Vec<u8> = together.iter().skip(c).step_by(2).copied().collect();
        assert_eq!(got, alone, "sample {c} of the pair");
    }
}

#[test]
fn jpegs_the_own_decoder_declines_say_why() {
    let small = Ops {
        width: Some(32),
        ..Ops::default()
    };
    let plain = jpeg(64, 48, &quadrants(64, 48), None);
    assert_eq!(run(&plain, &small, Format::Png).jpeg_fallback, None);
    // Four components: print assets that reach the web.
    let cmyk_pixels: Vec<u8> = (0..64 * 48)
        .flat_map(|i| [(i % 256) as u8, 40, 200, 10])
        .collect();
    let mut cmyk = Vec::new();
    jpeg_encoder::Encoder::new(&mut cmyk, 90)
        .encode(&cmyk_pixels, 64, 48, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    let r = run(&cmyk, &small, Format::Png);
    assert!(
        matches!(r.jpeg_fallback, Some(Declined::Unsupported(_))),
        "{:?}",
        r.jpeg_fallback
    );
    assert_eq!((r.width, r.height), (32, 24));
    // A baseline frame in one scan per component (jpeg-encoder writes 4:1:1 that way).
    let scans = jpeg::test_card(64, 48, jpeg_encoder::SamplingFactor::R_4_1_1, 0);
    assert_eq!(
        run(&scans, &small, Format::Png).jpeg_fallback,
        Some(Declined::Unsupported("a baseline frame in several scans"))
    );
}

#[test]
fn cmyk_jpegs_show_as_browsers_show_them() {
    // Pure red as ink (no cyan, full magenta and yellow, no black), written by jpeg-encoder
    // the way Photoshop does: Adobe's APP14 segment and inverted samples.
    let (w, h) = (16u16, 16u16);
    let ink: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .flat_map(|_| [0, 255, 255, 0])
        .collect();
    let small = Ops {
        width: Some(8),
        ..Ops::default()
    };
    for color in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let mut adobe = Vec::new();
        jpeg_encoder::Encoder::new(&mut adobe, 95)
            .encode(&ink, w, h, color)
            .unwrap();
        assert!(jpeg::has_adobe_marker(&adobe));
        let px = decoded(&run(&adobe, &small, Format::Png)).into_raw();
        assert!(
            px.chunks_exact(4)
                .all(|p| p[0] > 245 && p[1] < 10 && p[2] < 10),
            "{color:?}: {:?}",
            &px[..4]
        );
    }
    // Without Adobe's segment the samples are read as stored, not inverted (as libjpeg's
    // readers do): the same bytes are then full cyan and black ink, which is black.
    let mut adobe = Vec::new();
    jpeg_encoder::Encoder::new(&mut adobe, 95)
        .encode(&ink, w, h, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    let at = (0..adobe.len() - 9)
        .find(|&i| adobe[i..i + 2] == [0xFF, 0xEE] && &adobe[i + 4..i + 9] == b"Adobe")
        .unwrap();
    let len = usize::from(u16::from_be_bytes([adobe[at + 2], adobe[at + 3]]));
    let plain: Vec<u8> = [&adobe[..at], &adobe[at + 2 + len..]].concat();
    assert!(!jpeg::has_adobe_marker(&plain));
    let px = decoded(&run(&plain, &small, Format::Png)).into_raw();
    assert!(
        px.chunks_exact(4).all(|p| p[..3].iter().all(|&v| v < 10)),
        "{:?}",
        &px[..4]
    );
}

#[test]
fn a_gif_without_any_colour_table_shows_black_as_in_chrome() {
    use image::codecs::gif::GifEncoder;
    let img = image::RgbaImage::from_pixel(6, 4, image::Rgba([200, 100, 50, 255]));
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif)
        .encode_frame(image::Frame::new(img))
        .unwrap();
    // Drop every colour table: the global one (flag in byte 10) and the frame's local one.
    let strip = |b: &[u8]| -> Vec<u8> {
        let mut out = b[..13].to_vec();
        let mut i = 13;
        if b[10] & 0x80 != 0 {
            i += 3 << ((b[10] & 7) + 1);
        }
        out[10] &= 0x70;
        while b[i] == 0x21 {
            // Extensions: introducer, label, sub-blocks.
            let start = i;
            i += 2;
            while b[i] != 0 {
                i += 1 + usize::from(b[i]);
            }
            i += 1;
            out.extend_from_slice(&b[start..i]);
        }
        assert_eq!(b[i], 0x2C, "image descriptor");
        let mut descriptor = b[i..i + 10].to_vec();
        let flags = descriptor[9];
        descriptor[9] &= 0x7F ^ 0x07;
        out.extend_from_slice(&descriptor);
        i += 10;
        if flags & 0x80 != 0 {
            i += 3 << ((flags & 7) + 1);
        }
        out.extend_from_slice(&b[i..]);
        out
    };
    let bare = strip(&gif);
    assert!(bare.len() < gif.len());
    let px = decoded(&run(&bare, &Ops::default(), Format::Png)).into_raw();
    assert!(
        px.chunks_exact(4).all(|p| p == [0, 0, 0, 255]),
        "{:?}",
        &px[..4]
    );
}

/// The placeholder an info request makes, decoded: its pixels as RGBA.
fn placeholder(info: &Info) -> image::RgbaImage {
    let png = info.placeholder_png().unwrap();
    image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .into_rgba8()
}

#[test]
fn info_describes_the_source_as_displayed() {
    // Every orientation: the size is the displayed one, and the placeholder shows the
    // displayed image (its top-left quadrant's colour at its top-left).
    let (w, h) = (64, 32);
    let pixels = quadrants(w, h);
    for (value, top_left) in [(1, RED), (3, YELLOW), (6, BLUE), (8, GREEN)] {
        let src = jpeg(w, h, &pixels, Some(value));
        let info = info(&src, &Limits::default(), Deadline::none()).unwrap();
        let swapped = value >= 5;
        let expected = if swapped { (h, w) } else { (w, h) };
        assert_eq!((info.width, info.height), expected, "orientation {value}");
        assert_eq!(info.format, SourceFormat::Jpeg);
        assert!(!info.alpha);
        assert_eq!(info.frames, 1);
        // ThumbHash keeps the aspect ratio approximately and the colours roughly: the corner
        // is nearer its quadrant's colour than any other quadrant's.
        let ph = placeholder(&info);
        let (pw, phh) = ph.dimensions();
        assert_eq!(pw > phh, !swapped, "orientation {value}: {pw}x{phh}");
        let corner = rgb_at(&ph, pw / 8, phh / 8);
        let dist = |c: [u8; 3]| -> u32 {
            (0..3)
                .map(|i| (i32::from(corner[i]) - i32::from(c[i])).unsigned_abs())
                .sum()
        };
        let nearest = [RED, GREEN, BLUE, YELLOW]
            .into_iter()
            .min_by_key(|c| dist(*c))
            .unwrap();
        assert_eq!(nearest, top_left, "orientation {value}: corner {corner:?}");
    }
}

#[test]
fn info_reports_transparency_only_when_a_pixel_is_transparent() {
    let (w, h) = (200, 120);
    let mut rgba: Vec<u8> = quadrants(w, h)
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    // An RGBA PNG whose pixels are all opaque has no transparency to keep.
    let opaque = info(&png_rgba(w, h, &rgba), &Limits::default(), Deadline::none()).unwrap();
    assert_eq!((opaque.width, opaque.height), (w, h));
    assert_eq!(opaque.format, SourceFormat::Png);
    assert!(!opaque.alpha);
    // One transparent pixel, which a 100-px thumbnail would average away, still counts.
    rgba[(57 * w as usize + 131) * 4 + 3] = 0;
    let one = info(&png_rgba(w, h, &rgba), &Limits::default(), Deadline::none()).unwrap();
    assert!(one.alpha);
    // A transparent half shows in the placeholder too.
    for px in rgba.chunks_exact_mut(4).take((w * h / 2) as usize) {
        px[3] = 0;
    }
    let half = info(&png_rgba(w, h, &rgba), &Limits::default(), Deadline::none()).unwrap();
    let ph = placeholder(&half);
    let (pw, phh) = ph.dimensions();
    assert!(
        ph.get_pixel(pw / 2, phh / 8).0[3] < 64,
        "{:?}",
        ph.get_pixel(pw / 2, 0)
    );
    assert!(ph.get_pixel(pw / 2, phh - 1 - phh / 8).0[3] > 192);
}

#[test]
fn info_json_is_what_the_spec_says() {
    use base64::Engine as _;
    let src = jpeg(640, 480, &quadrants(640, 480), Some(6));
    let info = info(&src, &Limits::default(), Deadline::none()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&info.to_json().unwrap()).unwrap();
    assert_eq!(doc["width"], 480);
    assert_eq!(doc["height"], 640);
    assert_eq!(doc["format"], "jpeg");
    assert_eq!(doc["alpha"], false);
    assert_eq!(doc["frames"], 1);
    let hash = base64::engine::general_purpose::STANDARD
        .decode(doc["thumbhash"].as_str().unwrap())
        .unwrap();
    assert_eq!(hash, info.thumbhash);
    assert!(
        (20..=30).contains(&hash.len()),
        "a ThumbHash is about 25 bytes"
    );
    let url = doc["placeholder"].as_str().unwrap();
    let png = url.strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    assert_eq!(png, info.placeholder_png().unwrap());
    assert!(
        url.len() < 3000,
        "placeholder data URL is {} bytes",
        url.len()
    );
    assert_eq!(doc.as_object().unwrap().len(), 7, "{doc}");
}

#[test]
fn info_counts_frames_and_refuses_what_a_render_refuses() {
    use image::codecs::gif::GifEncoder;
    use image::{Frame, RgbaImage};
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        for i in 0..3u8 {
            let img = RgbaImage::from_pixel(8, 6, image::Rgba([i * 80, 0, 0, 255]));
            enc.encode_frame(Frame::new(img)).unwrap();
        }
    }
    let i = info(&gif, &Limits::default(), Deadline::none()).unwrap();
    assert_eq!((i.width, i.height, i.frames), (8, 6, 3));
    assert_eq!(i.format, SourceFormat::Gif);

    // The same error (so the same status) as a render of the same source.
    let src = jpeg(64, 64, &quadrants(64, 64), None);
    let small = Limits {
        max_source_pixels: 1000,
        ..Limits::default()
    };
    for (bad, limits) in [
        (&b"hello, world"[..], Limits::default()),
        (&src[..40], Limits::default()),
        (&src[..], small),
    ] {
        let want = render(bad, &Ops::default(), Format::Png, &limits, Deadline::none())
            .unwrap_err()
            .status();
        let got = info(bad, &limits, Deadline::none()).unwrap_err().status();
        assert_eq!(got, want);
    }
    // A 1×1 source has a placeholder too.
    let dot = jpeg(1, 1, &[10, 200, 30], None);
    let i = info(&dot, &Limits::default(), Deadline::none()).unwrap();
    assert_eq!((i.width, i.height), (1, 1));
    assert!(placeholder(&i).width() >= 1);
}
