//! decode -> orient -> resize/crop -> encode. Synchronous and pure: bytes in, bytes out.
//!
//! The order is chosen for speed and memory. The header is read first and checked against the
//! pixel limit; JPEG sources are decoded by the renderer's own decoder (`render::jpeg`)
//! straight at a reduced DCT scale (any N/8) when the output is smaller, on the calling
//! thread, into one plane per component when a resize follows: each plane is resized on its
//! own grid (subsampled chroma is never upsampled at the source size; when the encoder will
//! subsample chroma again, it is resized straight to the output's chroma grid) and only the
//! output-sized result is converted to RGB. The kept region is resized *in stored
//! orientation* (the plan's region is mapped back through the EXIF orientation), and only the
//! small result is rotated. Metadata is never copied to the output; a source tagged with an
//! ICC profile other than sRGB is converted to sRGB after the resize, so the untagged output
//! keeps its colours. Callers pass a `cancelled` probe that the pipeline checks between
//! stages, so a render over its time budget stops without the renderer reading a clock itself.

use std::io::Cursor;

use fast_image_resize as fr;
use image::ImageDecoder as _;

use crate::error::{Error, Result};
use crate::ops::{Format, Ops, Rgb};
use crate::plan::{Orientation, Plan, Rect};
use crate::Limits;

/// A finished rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Source formats the renderer accepts, recognised by their magic bytes, never by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl SourceFormat {
    pub fn sniff(bytes: &[u8]) -> Result<Self> {
        let f = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            SourceFormat::Jpeg
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            SourceFormat::Png
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            SourceFormat::Webp
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            SourceFormat::Gif
        } else {
            return Err(Error::Unsupported(
                "source is not a JPEG, PNG, WebP or GIF image".into(),
            ));
        };
        Ok(f)
    }

    fn image_format(self) -> image::ImageFormat {
        match self {
            SourceFormat::Jpeg => image::ImageFormat::Jpeg,
            SourceFormat::Png => image::ImageFormat::Png,
            SourceFormat::Webp => image::ImageFormat::WebP,
            SourceFormat::Gif => image::ImageFormat::Gif,
        }
    }
}

/// 8-bit interleaved pixels, 3 (RGB) or 4 (RGBA, straight alpha) channels; 1 and 2 for the
/// luma and chroma of a JPEG output that skips RGB ([`ResizedPlanes::into_luma_and_chroma`]).
#[derive(Debug, Clone)]
pub(crate) struct Pixels {
    pub w: u32,
    pub h: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Pixels {
    pub(crate) fn new(w: u32, h: u32, channels: u8, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), w as usize * h as usize * channels as usize);
        Pixels {
            w,
            h,
            channels,
            data,
        }
    }

    fn pixel_type(&self) -> fr::PixelType {
        if self.channels == 4 {
            fr::PixelType::U8x4
        } else {
            fr::PixelType::U8x3
        }
    }
}

/// A decoded source, before resizing: RGB(A) pixels, or a JPEG's component planes (see
/// [`jpeg::decode_planes`]) for the resize to bring to the output size one by one.
pub(crate) enum Decoded {
    Pixels(Pixels),
    Planes(jpeg::Planes),
}

impl Decoded {
    /// The size of the grid regions are given in: the pixels, or the first plane (luma).
    fn size(&self) -> (u32, u32) {
        match self {
            Decoded::Pixels(p) => (p.w, p.h),
            Decoded::Planes(p) => (p.planes[0].w, p.planes[0].h),
        }
    }

    /// Grid samples per stored source pixel, across and down.
    fn scale(&self, stored: (f64, f64)) -> (f64, f64) {
        match self {
            Decoded::Pixels(p) => (f64::from(p.w) / stored.0, f64::from(p.h) / stored.1),
            Decoded::Planes(p) => p.planes[0].scale,
        }
    }

    /// The luminance of grid sample `i` (row-major), 0..=255.
    fn luma(&self, i: usize) -> u32 {
        let weigh =
            |r: u8, g: u8, b: u8| (u32::from(r) * 54 + u32::from(g) * 183 + u32::from(b) * 19) >> 8;
        match self {
            Decoded::Pixels(p) => {
                let c = usize::from(p.channels);
                weigh(p.data[i * c], p.data[i * c + 1], p.data[i * c + 2])
            }
            Decoded::Planes(p) => match p.planes.as_slice() {
                [r, g, b] if p.model == jpeg::ColorModel::Rgb && r.w == g.w && g.w == b.w => {
                    weigh(r.data[i], g.data[i], b.data[i])
                }
                planes => u32::from(planes[0].data[i]),
            },
        }
    }
}

/// What the header says, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub format: SourceFormat,
    /// Stored size, before orientation.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
}

/// Renders `source` with `ops` into `format`.
///
/// `cancelled` is polled between stages; when it answers true the render stops with
/// [`Error::Timeout`] carrying `budget_ms`.
pub fn render(
    source: &[u8],
    ops: &Ops,
    format: Format,
    limits: &Limits,
    cancelled: &dyn Fn() -> bool,
) -> Result<Rendered> {
    let check = || {
        if cancelled() {
            Err(Error::Timeout(limits.render_timeout_ms))
        } else {
            Ok(())
        }
    };
    let (probe, icc) = probe_with_icc(source, limits)?;
    let user = Orientation {
        quarter_turns: ops.rotate.quarter_turns(),
        mirror: ops.flip,
    };
    let orientation = probe.orientation.then(user);
    let (dw, dh) = orientation.apply_size(probe.width, probe.height);
    let plan = Plan::new(ops, dw, dh, limits)?;
    if format == Format::Webp && (plan.width > 16383 || plan.height > 16383) {
        return Err(Error::TooLarge(
            "webp output is limited to 16383 px a side".into(),
        ));
    }
    check()?;

    // The region to keep, in stored coordinates, and its size after resizing.
    let stored = (f64::from(probe.width), f64::from(probe.height));
    let mut region = orientation.rect_to_stored(plan.region, stored);
    let (rw, rh) = if orientation.swaps_axes() {
        (plan.resized.1, plan.resized.0)
    } else {
        plan.resized
    };

    // Decode, at a reduced scale when the region shrinks enough.
    let scale = (f64::from(rw) / region.w).max(f64::from(rh) / region.h);
    let whole = region.w == stored.0 && region.h == stored.1;
    let decoded = decode(source, &probe, scale, whole.then_some((rw, rh)), limits)?;
    check()?;
    let (fx, fy) = decoded.scale(stored);
    region = Rect {
        x: region.x * fx,
        y: region.y * fy,
        w: region.w * fx,
        h: region.h * fy,
    };
    if plan.smart {
        region = smart_region(&decoded, region);
    }

    let quality = ops.quality.or(format.default_quality()).unwrap_or(100);
    // Chroma can be resized to the encoder's subsampled grid when the 2×2 blocks the encoder
    // averages are the ones resized here: nothing moves the pixels off that grid (an offset,
    // or a rotation or flip of an odd side) or mixes neighbours (blur, sharpen).
    let aligned = plan.offset == (0, 0)
        && (orientation.is_identity() || (rw % 2 == 0 && rh % 2 == 0))
        && ops.blur.is_none()
        && ops.sharpen.is_none();
    let half_chroma = aligned && subsamples_chroma(format, quality);
    let mut resized = match &decoded {
        Decoded::Pixels(pixels) => resize(pixels, region, rw, rh)?,
        Decoded::Planes(planes) => {
            let planes = resize_planes(planes, region, (rw, rh), half_chroma)?;
            // A 4:2:0 JPEG output with nothing left to do but orient: the resized luma and
            // chroma go to the encoder as they are, without a round trip through RGB.
            let direct = format == Format::Jpeg
                && icc.is_none()
                && (plan.width, plan.height) == orientation.apply_size(rw, rh);
            if direct && planes.is_luma_and_chroma() {
                check()?;
                let (luma, chroma) = planes.into_luma_and_chroma();
                let (luma, chroma) = (reorient(luma, orientation), reorient(chroma, orientation));
                return Ok(Rendered {
                    bytes: encode_jpeg_ycc(&luma, &chroma, quality)?,
                    format,
                    width: luma.w,
                    height: luma.h,
                });
            }
            planes.into_rgb()
        }
    };
    drop(decoded);
    if let Some(icc) = icc {
        to_srgb(&mut resized, &icc);
    }
    check()?;
    let mut out = reorient(resized, orientation);

    if plan.offset != (0, 0) || (plan.width, plan.height) != (out.w, out.h) {
        out = pad(out, &plan, ops.background, format);
    }
    if let Some(sigma) = ops.blur {
        out = blur(out, sigma.as_f32());
        check()?;
    }
    if let Some(sigma) = ops.sharpen {
        out = sharpen(out, sigma.as_f32());
        check()?;
    }
    out = flatten(out, ops.background, format);
    let bytes = encode(&out, format, quality)?;
    Ok(Rendered {
        bytes,
        format,
        width: out.w,
        height: out.h,
    })
}

/// Reads the source's format, size and orientation, and checks the pixel and frame limits.
pub fn probe(source: &[u8], limits: &Limits) -> Result<Probe> {
    probe_with_icc(source, limits).map(|(probe, _)| probe)
}

/// [`probe`], and the source's embedded ICC profile if it has one that can be read, from the
/// same header parse.
fn probe_with_icc(source: &[u8], limits: &Limits) -> Result<(Probe, Option<Vec<u8>>)> {
    let format = SourceFormat::sniff(source)?;
    let (width, height, exif, icc) = match format {
        SourceFormat::Jpeg => {
            let mut d = jpeg_decoder::Decoder::new(Cursor::new(source));
            d.read_info().map_err(|e| undecodable(format, e))?;
            let info = d
                .info()
                .ok_or_else(|| undecodable(format, "no frame header"))?;
            let exif = d
                .exif_data()
                .and_then(image::metadata::Orientation::from_exif_chunk);
            (
                u32::from(info.width),
                u32::from(info.height),
                exif,
                d.icc_profile(),
            )
        }
        _ => {
            let frames = count_frames(format, source);
            if frames > limits.max_frames {
                return Err(Error::TooLarge(format!(
                    "animation has {frames} frames, over the limit of {}",
                    limits.max_frames
                )));
            }
            let mut d = image_decoder(source, format, limits)?;
            let (w, h) = d.dimensions();
            let o = d.orientation().ok();
            (w, h, o, d.icc_profile().ok().flatten())
        }
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_source_pixels {
        return Err(Error::TooLarge(format!(
            "source is {width}x{height}, over the {} pixel limit",
            limits.max_source_pixels
        )));
    }
    let orientation = Orientation::from_exif(exif.map(|o| o.to_exif()).unwrap_or(1));
    let probe = Probe {
        format,
        width,
        height,
        orientation,
    };
    Ok((probe, icc))
}

/// Converts RGB(A) pixels from the colour space of the ICC profile `icc` to sRGB, in place.
///
/// Outputs carry no metadata, and an untagged image is shown as sRGB: without this, a photo
/// tagged Display P3 (as phones take them) or Adobe RGB would look washed out. The transform
/// runs on the small, resized image, as libvips's thumbnail does. A profile that cannot be
/// read, or that is not an RGB profile, leaves the pixels as they are, as browsers do.
fn to_srgb(img: &mut Pixels, icc: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
    let Ok(profile) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    if profile.color_space != DataColorSpace::Rgb {
        return;
    }
    let layout = if img.channels == 4 {
        Layout::Rgba
    } else {
        Layout::Rgb
    };
    let srgb = ColorProfile::new_srgb();
    let options = TransformOptions::default();
    let Ok(transform) = profile.create_transform_8bit(layout, &srgb, layout, options) else {
        return;
    };
    let mut out = vec![0u8; img.data.len()];
    if transform.transform(&img.data, &mut out).is_ok() {
        img.data = out;
    }
}

fn undecodable(format: SourceFormat, e: impl std::fmt::Display) -> Error {
    // The decoder's message says what is wrong with the file, not anything about us.
    Error::Undecodable(format!("{format:?} source: {e}").to_lowercase())
}

fn image_decoder<'a>(
    source: &'a [u8],
    format: SourceFormat,
    limits: &Limits,
) -> Result<Box<dyn image::ImageDecoder + 'a>> {
    let mut reader = image::ImageReader::with_format(Cursor::new(source), format.image_format());
    let mut l = image::Limits::default();
    // Room for the largest allowed source at 16 bits per channel with alpha.
    l.max_alloc = Some(limits.max_source_pixels.saturating_mul(8));
    reader.limits(l);
    let d = reader.into_decoder().map_err(|e| image_error(format, e))?;
    Ok(Box::new(d))
}

fn image_error(format: SourceFormat, e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => Error::TooLarge("source is over the memory limit".into()),
        image::ImageError::Unsupported(u) => {
            Error::Unsupported(format!("{format:?} source: {u}").to_lowercase())
        }
        other => undecodable(format, other),
    }
}

/// Decodes the whole source, at the smallest DCT scale that keeps at least `scale` of it
/// (JPEG only; other formats decode at full size). `whole` is the output size when the
/// output shows the whole source: a JPEG decoded to exactly that size needs no resize and
/// comes back as pixels, anything else as planes where the decoder can.
fn decode(
    source: &[u8],
    probe: &Probe,
    scale: f64,
    whole: Option<(u32, u32)>,
    limits: &Limits,
) -> Result<Decoded> {
    match probe.format {
        SourceFormat::Jpeg => decode_jpeg(source, probe, scale, whole),
        f => {
            let d = image_decoder(source, f, limits)?;
            let img = image::DynamicImage::from_decoder(d).map_err(|e| image_error(f, e))?;
            Ok(Decoded::Pixels(if img.color().has_alpha() {
                let rgba = img.into_rgba8();
                Pixels::new(rgba.width(), rgba.height(), 4, rgba.into_raw())
            } else {
                let rgb = img.into_rgb8();
                Pixels::new(rgb.width(), rgb.height(), 3, rgb.into_raw())
            }))
        }
    }
}

/// How much larger than the resized region a DCT-scaled JPEG decode must be. Scaling in the
/// DCT works block by block, a cruder filter than the Lanczos resize that follows, so the
/// resize gets some room. Any N/8 scale can be chosen, so the decode lands within 1/8 of the
/// size it needs. On the benchmark's typical set at q80 (mean SSIM, as in bench/RESULTS.md),
/// a margin of 1 gives 0.9640, 1.25 gives 0.9659, 1.5 gives 0.9663 for 8 % more time and
/// libvips's 2 gives 0.9665 for about 20 % more; libvips itself reaches 0.9646.
const DCT_MARGIN: f64 = 1.25;

fn decode_jpeg(
    source: &[u8],
    probe: &Probe,
    scale: f64,
    whole: Option<(u32, u32)>,
) -> Result<Decoded> {
    let f = SourceFormat::Jpeg;
    // The smallest DCT scale whose result still covers the output at `scale` × `margin`.
    let eighths = |margin: f64| {
        let want = |side: u32| (f64::from(side) * scale * margin).ceil() as usize;
        (1..=8usize)
            .find(|&n| {
                (probe.width as usize * n).div_ceil(8) >= want(probe.width)
                    && (probe.height as usize * n).div_ceil(8) >= want(probe.height)
            })
            .unwrap_or(8)
    };
    // A progressive file that 1/8 covers takes the DC-only path even without the margin: it
    // is ten times faster than decoding every scan, which is what the margin would cost.
    if eighths(1.0) == 1 && jpeg::is_progressive(source) {
        if let Some(pixels) = jpeg::decode(source, 1) {
            return Ok(Decoded::Pixels(pixels));
        }
    }
    let eighths = eighths(DCT_MARGIN);
    let side = |s: u32| (s as usize * eighths).div_ceil(8) as u32;
    if whole == Some((side(probe.width), side(probe.height))) {
        // Decoded at the output size: chroma upsampled in the transform, no resize.
        if let Some(pixels) = jpeg::decode(source, eighths) {
            return Ok(Decoded::Pixels(pixels));
        }
    } else if let Some(decoded) = jpeg::decode_planes(source, eighths) {
        return Ok(decoded);
    }
    // Everything the fast decoder leaves (progressive above 1/8, CMYK, damaged files...).
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(source));
    if eighths < 8 {
        let side = |s: u32| ((s as usize * eighths).div_ceil(8)).clamp(1, 65535) as u16;
        d.scale(side(probe.width), side(probe.height))
            .map_err(|e| undecodable(f, e))?;
    }
    let data = d.decode().map_err(|e| undecodable(f, e))?;
    let info = d.info().ok_or_else(|| undecodable(f, "no frame header"))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let n = w as usize * h as usize;
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data,
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => data
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe writes inverted CMYK; the decoder hands it over as stored. A naive
            // conversion: good enough for print-only assets that reach the web by accident.
            data.chunks_exact(4)
                .flat_map(|p| {
                    let k = u32::from(p[3]);
                    [0, 1, 2].map(|i| ((u32::from(p[i]) * k + 127) / 255) as u8)
                })
                .collect()
        }
    };
    if rgb.len() != n * 3 {
        return Err(undecodable(f, "pixel data has the wrong length"));
    }
    Ok(Decoded::Pixels(Pixels::new(w, h, 3, rgb)))
}

/// Resizes `region` of `src` to `w`×`h` with Lanczos3 (SIMD), premultiplying alpha.
fn resize(src: &Pixels, region: Rect, w: u32, h: u32) -> Result<Pixels> {
    let full = region.x == 0.0
        && region.y == 0.0
        && region.w == f64::from(src.w)
        && region.h == f64::from(src.h);
    if full && (w, h) == (src.w, src.h) {
        return Ok(src.clone());
    }
    let mut resizer = fr::Resizer::new();
    let data = resize_samples(
        &mut resizer,
        &src.data,
        (src.w, src.h),
        src.pixel_type(),
        region,
        (w, h),
    )?;
    Ok(Pixels::new(w, h, src.channels, data))
}

/// A JPEG's planes resized to the output: luma at `w`×`h`, chroma at that size or at the
/// output's chroma grid; planes resized together are interleaved in one buffer.
struct ResizedPlanes {
    model: jpeg::ColorModel,
    size: (u32, u32),
    /// Chroma is at ⌈w/2⌉×⌈h/2⌉ (see [`resize_planes`]).
    half: bool,
    /// Where each plane's samples are: (buffer, channels in it, channel).
    at: Vec<(usize, usize, usize)>,
    resized: Vec<Vec<u8>>,
}

/// Resizes `region` (given on the first plane's grid) of a JPEG's planes to `w`×`h`: each
/// plane from its own grid with Lanczos3 (subsampled chroma is never upsampled first); YCbCr
/// → RGB follows at the output size ([`ResizedPlanes::into_rgb`]), or not at all for a JPEG
/// output ([`encode_jpeg_ycc`]).
///
/// With `half_chroma` (the encoder will subsample chroma 2×2: see [`subsamples_chroma`]), the
/// chroma planes are resized to the output's chroma grid, ⌈w/2⌉×⌈h/2⌉, and each chroma sample
/// is used for its 2×2 output pixels: the encoder's 2×2 average gives back the resized
/// sample, and the resize does a quarter of the chroma work.
fn resize_planes(
    src: &jpeg::Planes,
    region: Rect,
    (w, h): (u32, u32),
    half_chroma: bool,
) -> Result<ResizedPlanes> {
    let first = src.planes[0].scale;
    let ycc = src.model == jpeg::ColorModel::YCbCr;
    let half = match src.planes.as_slice() {
        [_, cb, cr] => ycc && half_chroma && (cb.w, cb.h, cb.scale) == (cr.w, cr.h, cr.scale),
        _ => false,
    };
    let chroma_size = if half {
        (w.div_ceil(2), h.div_ceil(2))
    } else {
        (w, h)
    };
    let target = |i: usize| if i == 0 { (w, h) } else { chroma_size };
    let mut resizer = fr::Resizer::new();
    // Planes on the same grid going to the same size (the chroma pair, or all three planes
    // of a 4:4:4 file at full chroma) are interleaved and resized as one image of 2 or 3
    // channels: the resizer shares each pixel's weights and loads across its channels, which
    // makes two planes together about twice as fast as one after the other.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, p) in src.planes.iter().enumerate() {
        let same = |g: &Vec<usize>| {
            let q = &src.planes[g[0]];
            (q.w, q.h, q.scale, target(g[0])) == (p.w, p.h, p.scale, target(i)) && g.len() < 3
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    // Where each plane's resized samples are: (group, channels in it, channel).
    let mut at = vec![(0, 1, 0); src.planes.len()];
    let mut resized = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        let p = &src.planes[g[0]];
        let (kx, ky) = (p.scale.0 / first.0, p.scale.1 / first.1);
        let r = Rect {
            x: region.x * kx,
            y: region.y * ky,
            w: region.w * kx,
            h: region.h * ky,
        };
        let k = g.len();
        for (c, &pi) in g.iter().enumerate() {
            at[pi] = (gi, k, c);
        }
        let interleaved;
        let data = match g.as_slice() {
            [_] => &p.data,
            &[a, b] => {
                let (a, b) = (&src.planes[a].data, &src.planes[b].data);
                let mut buf = vec![0u8; a.len() * 2];
                for ((d, &a), &b) in buf.as_chunks_mut::<2>().0.iter_mut().zip(a).zip(b) {
                    *d = [a, b];
                }
                interleaved = buf;
                &interleaved
            }
            _ => {
                let [a, b, c] = [0, 1, 2].map(|i| &src.planes[g[i]].data);
                let mut buf = vec![0u8; a.len() * 3];
                let pixels = buf.as_chunks_mut::<3>().0.iter_mut();
                for (((d, &a), &b), &c) in pixels.zip(a).zip(b).zip(c) {
                    *d = [a, b, c];
                }
                interleaved = buf;
                &interleaved
            }
        };
        let kind = [fr::PixelType::U8, fr::PixelType::U8x2, fr::PixelType::U8x3][k - 1];
        let out = target(g[0]);
        resized.push(resize_samples(
            &mut resizer,
            data,
            (p.w, p.h),
            kind,
            r,
            out,
        )?);
    }
    Ok(ResizedPlanes {
        model: src.model,
        size: (w, h),
        half,
        at,
        resized,
    })
}

impl ResizedPlanes {
    /// Whether the resize made luma and an interleaved chroma pair at the output's chroma
    /// grid, what an encoder of YCbCr 4:2:0 takes.
    fn is_luma_and_chroma(&self) -> bool {
        self.model == jpeg::ColorModel::YCbCr
            && self.half
            && self.at == [(0, 1, 0), (1, 2, 0), (1, 2, 1)]
    }

    /// Luma (one channel) and the chroma pair (two channels, ⌈w/2⌉×⌈h/2⌉) of planes that
    /// [`ResizedPlanes::is_luma_and_chroma`].
    fn into_luma_and_chroma(self) -> (Pixels, Pixels) {
        let (w, h) = self.size;
        let mut resized = self.resized.into_iter();
        let (luma, chroma) = (resized.next(), resized.next());
        (
            Pixels::new(w, h, 1, luma.unwrap_or_default()),
            Pixels::new(w.div_ceil(2), h.div_ceil(2), 2, chroma.unwrap_or_default()),
        )
    }

    fn into_rgb(self) -> Pixels {
        let ResizedPlanes {
            model,
            size: (w, h),
            half,
            at,
            resized,
        } = self;
        let ycc = model == jpeg::ColorModel::YCbCr;
        let chroma_w = if half { w.div_ceil(2) } else { w };
        let n = w as usize;
        let mut rgb = vec![0u8; n * h as usize * 3];
        let rows = rgb.as_chunks_mut::<3>().0.chunks_exact_mut(n);
        match (at.as_slice(), resized.as_slice()) {
            // The usual shapes, each with its own loop: luma and a chroma pair (4:2:0, 4:2:2, and
            // 4:4:4 with half chroma), 4:4:4 at full chroma (one image of three channels), and
            // greyscale.
            ([(0, 1, 0), (1, 2, 0), (1, 2, 1)], [y, cbcr]) if ycc => {
                let cw = chroma_w as usize;
                for (i, out) in rows.enumerate() {
                    let y = &y[i * n..][..n];
                    let ci = if half { i / 2 } else { i };
                    let c = &cbcr.as_chunks::<2>().0[ci * cw..][..cw];
                    if half {
                        // Two output pixels per chroma sample across (and two rows down).
                        let (pairs, last) = out.as_chunks_mut::<2>();
                        let (ys, y_last) = y.as_chunks::<2>();
                        for ((o, y), c) in pairs.iter_mut().zip(ys).zip(c) {
                            let offsets = jpeg::chroma_offsets(c[0], c[1]);
                            *o = [
                                jpeg::add_chroma(y[0], offsets),
                                jpeg::add_chroma(y[1], offsets),
                            ];
                        }
                        if let ([o], [y], Some(c)) = (last, y_last, c.last()) {
                            *o = jpeg::ycc_pixel(*y, c[0], c[1]);
                        }
                    } else {
                        for ((o, &y), c) in out.iter_mut().zip(y).zip(c) {
                            *o = jpeg::ycc_pixel(y, c[0], c[1]);
                        }
                    }
                }
            }
            ([_, _, _], [all]) => {
                for (o, p) in rows.flatten().zip(all.as_chunks::<3>().0) {
                    *o = if ycc {
                        jpeg::ycc_pixel(p[0], p[1], p[2])
                    } else {
                        *p
                    };
                }
            }
            ([_], [grey]) => {
                for (o, &l) in rows.flatten().zip(grey) {
                    *o = [l; 3];
                }
            }
            // Anything else: each plane at the output size, on its own.
            _ => {
                let sample = |plane: usize, i: usize| {
                    let (g, k, c) = at[plane.min(at.len() - 1)];
                    resized[g][i * k + c]
                };
                for (i, o) in rows.flatten().enumerate() {
                    let [a, b, c] = [0, 1, 2].map(|p| sample(p, i));
                    *o = match (ycc, at.len()) {
                        (true, 3) => jpeg::ycc_pixel(a, b, c),
                        (false, 3) => [a, b, c],
                        _ => [a; 3],
                    };
                }
            }
        }
        Pixels::new(w, h, 3, rgb)
    }
}

/// Resizes `region` of the `size` image of `kind` samples in `data` to `out`, with Lanczos3.
fn resize_samples(
    resizer: &mut fr::Resizer,
    data: &[u8],
    size: (u32, u32),
    kind: fr::PixelType,
    region: Rect,
    out: (u32, u32),
) -> Result<Vec<u8>> {
    let src = fr::images::ImageRef::new(size.0, size.1, data, kind)
        .map_err(|e| Error::Internal(format!("resize source: {e}")))?;
    let mut dst = fr::images::Image::new(out.0, out.1, kind);
    // Clamp against float drift so the crop box never leaves the image.
    let (sw, sh) = (f64::from(size.0), f64::from(size.1));
    let x = region.x.clamp(0.0, sw);
    let y = region.y.clamp(0.0, sh);
    let rw = region.w.min(sw - x).max(f64::MIN_POSITIVE);
    let rh = region.h.min(sh - y).max(f64::MIN_POSITIVE);
    // Only RGBA carries alpha. fast_image_resize takes U8x2 for luma + alpha and would
    // multiply a chroma pair's Cb by its Cr around the resize.
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .use_alpha(kind == fr::PixelType::U8x4)
        .crop(x, y, rw, rh);
    resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| Error::Internal(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

/// Applies a dihedral transform to (small, already resized) pixels.
pub(crate) fn reorient(src: Pixels, o: Orientation) -> Pixels {
    if o.is_identity() {
        return src;
    }
    let (w, h, c) = (src.w as usize, src.h as usize, src.channels as usize);
    let (ow, oh) = o.apply_size(src.w, src.h);
    let (ow_us, oh_us) = (ow as usize, oh as usize);
    let mut out = vec![0u8; src.data.len()];
    for y in 0..h {
        for x in 0..w {
            let (mut dx, dy) = match o.quarter_turns % 4 {
                0 => (x, y),
                1 => (h - 1 - y, x),
                2 => (w - 1 - x, h - 1 - y),
                _ => (y, w - 1 - x),
            };
            if o.mirror {
                dx = ow_us - 1 - dx;
            }
            debug_assert!(dx < ow_us && dy < oh_us);
            let s = (y * w + x) * c;
            let d = (dy * ow_us + dx) * c;
            out[d..d + c].copy_from_slice(&src.data[s..s + c]);
        }
    }
    Pixels::new(ow, oh, src.channels, out)
}

/// Places the resized image on the plan's canvas, filled with the background (or transparent
/// where the format allows and no background was asked for).
fn pad(img: Pixels, plan: &Plan, background: Option<Rgb>, format: Format) -> Pixels {
    let transparent = background.is_none() && format.has_alpha();
    let channels = if transparent { 4 } else { img.channels };
    let fill: [u8; 4] = match background {
        Some(Rgb([r, g, b])) => [r, g, b, 255],
        None if transparent => [0, 0, 0, 0],
        None => [255, 255, 255, 255],
    };
    let img = if channels == 4 { to_rgba(img) } else { img };
    let (cw, ch, c) = (plan.width as usize, plan.height as usize, channels as usize);
    let mut data: Vec<u8> = fill[..c]
        .iter()
        .copied()
        .cycle()
        .take(cw * ch * c)
        .collect();
    let (ox, oy) = (plan.offset.0 as usize, plan.offset.1 as usize);
    let row = img.w as usize * c;
    for y in 0..img.h as usize {
        let d = ((oy + y) * cw + ox) * c;
        data[d..d + row].copy_from_slice(&img.data[y * row..(y + 1) * row]);
    }
    Pixels::new(plan.width, plan.height, channels, data)
}

fn to_rgba(img: Pixels) -> Pixels {
    if img.channels == 4 {
        return img;
    }
    let data = img
        .data
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Pixels::new(img.w, img.h, 4, data)
}

/// Removes the alpha channel: blends onto the background when the format has no alpha or a
/// background was asked for, and drops it unchanged when every pixel is opaque anyway.
fn flatten(img: Pixels, background: Option<Rgb>, format: Format) -> Pixels {
    if img.channels != 4 {
        return img;
    }
    let opaque = img.data.chunks_exact(4).all(|p| p[3] == 255);
    if !opaque && background.is_none() && format.has_alpha() {
        return img;
    }
    let Rgb(bg) = background.unwrap_or(Rgb::WHITE);
    let data = img
        .data
        .chunks_exact(4)
        .flat_map(|p| {
            let a = u32::from(p[3]);
            [0, 1, 2]
                .map(|i| ((u32::from(p[i]) * a + u32::from(bg[i]) * (255 - a) + 127) / 255) as u8)
        })
        .collect();
    Pixels::new(img.w, img.h, 3, data)
}

fn blur(img: Pixels, sigma: f32) -> Pixels {
    with_buffer(img, |b| match b {
        Buf::Rgb(i) => Buf::Rgb(image::imageops::fast_blur(&i, sigma)),
        Buf::Rgba(i) => Buf::Rgba(image::imageops::fast_blur(&i, sigma)),
    })
}

fn sharpen(img: Pixels, sigma: f32) -> Pixels {
    with_buffer(img, |b| match b {
        Buf::Rgb(i) => Buf::Rgb(image::imageops::unsharpen(&i, sigma, 1)),
        Buf::Rgba(i) => Buf::Rgba(image::imageops::unsharpen(&i, sigma, 1)),
    })
}

enum Buf {
    Rgb(image::RgbImage),
    Rgba(image::RgbaImage),
}

/// Runs an `image` crate operation on our pixels without copying them.
fn with_buffer(img: Pixels, f: impl FnOnce(Buf) -> Buf) -> Pixels {
    let (w, h) = (img.w, img.h);
    let buf = if img.channels == 4 {
        Buf::Rgba(image::RgbaImage::from_raw(w, h, img.data).expect("sized"))
    } else {
        Buf::Rgb(image::RgbImage::from_raw(w, h, img.data).expect("sized"))
    };
    match f(buf) {
        Buf::Rgb(i) => Pixels::new(w, h, 3, i.into_raw()),
        Buf::Rgba(i) => Pixels::new(w, h, 4, i.into_raw()),
    }
}

/// Slides the region along its free axis to the position whose luminance histogram has the
/// highest entropy: the busiest part of the picture, usually the subject.
fn smart_region(img: &Decoded, region: Rect) -> Rect {
    let (w, h) = img.size();
    let horizontal = region.w < f64::from(w) - 0.5;
    let vertical = region.h < f64::from(h) - 0.5;
    if !horizontal && !vertical {
        return region;
    }
    // Work on a coarse luminance grid of at most 128 cells along the free axis.
    let len = if horizontal { w } else { h } as usize;
    let cells = len.min(128);
    let bins = 32usize;
    let mut hist = vec![0u32; cells * bins];
    let (w, h) = (w as usize, h as usize);
    let step = (w * h / 65_536).max(1);
    for i in (0..w * h).step_by(step) {
        let (x, y) = (i % w, i / w);
        let along = if horizontal { x } else { y };
        let cell = along * cells / len;
        let luma = img.luma(i);
        hist[cell * bins + (luma as usize * bins / 256)] += 1;
    }
    let (window_len, total_len) = if horizontal {
        (region.w, w as f64)
    } else {
        (region.h, h as f64)
    };
    let window = ((window_len / total_len * cells as f64).round() as usize).clamp(1, cells);
    let mut best = (f64::MIN, 0usize);
    for start in 0..=cells - window {
        let mut h = vec![0u32; bins];
        for cell in start..start + window {
            for b in 0..bins {
                h[b] += hist[cell * bins + b];
            }
        }
        let n: u32 = h.iter().sum();
        let entropy = if n == 0 {
            0.0
        } else {
            h.iter()
                .filter(|&&v| v > 0)
                .map(|&v| {
                    let p = f64::from(v) / f64::from(n);
                    -p * p.log2()
                })
                .sum()
        };
        // Prefer the window nearest the middle among equals, like centre gravity would.
        let centred = (start as f64 + window as f64 / 2.0 - cells as f64 / 2.0).abs();
        let score = entropy - centred * 1e-9;
        if score > best.0 {
            best = (score, start);
        }
    }
    let offset = (best.1 as f64 / cells as f64 * total_len).clamp(0.0, total_len - window_len);
    if horizontal {
        Rect {
            x: offset,
            ..region
        }
    } else {
        Rect {
            y: offset,
            ..region
        }
    }
}

/// Whether the encoder stores chroma at half resolution both ways (4:2:0) for `format` at
/// `quality`: lossy WebP always does, JPEG below q90 (at q90 and above, 4:4:4 keeps colour
/// edges sharp, as libvips does).
fn subsamples_chroma(format: Format, quality: u8) -> bool {
    match format {
        Format::Jpeg => quality < 90,
        Format::Webp => true,
        Format::Png | Format::Gif | Format::Avif => false,
    }
}

fn encode(img: &Pixels, format: Format, quality: u8) -> Result<Vec<u8>> {
    let enc_err =
        |e: &dyn std::fmt::Display| Error::Internal(format!("{} encoder: {e}", format.extension()));
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let (w, h) = jpeg_size(img)?;
            // Subsampled chroma from the average of each 2×2 block, not its top-left pixel:
            // 13% fewer bytes at equal butteraugli for 0.4 ms (bench/ENCODERS.md).
            jpeg_encoder(
                &mut out,
                quality,
                subsamples_chroma(format, quality),
                jpeg_encoder::ChromaSubsamplingMethod::Average,
            )
            .encode(&img.data, w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| enc_err(&e))?;
        }
        Format::Png => {
            use image::ImageEncoder as _;
            let color = if img.channels == 4 {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Default,
                image::codecs::png::FilterType::Adaptive,
            )
            .write_image(&img.data, img.w, img.h, color)
            .map_err(|e| enc_err(&e))?;
        }
        Format::Webp => {
            let enc = if img.channels == 4 {
                webp::Encoder::from_rgba(&img.data, img.w, img.h)
            } else {
                webp::Encoder::from_rgb(&img.data, img.w, img.h)
            };
            let mem = enc
                .encode_simple(false, f32::from(quality))
                .map_err(|e| enc_err(&format!("{e:?}")))?;
            out.extend_from_slice(&mem);
        }
        Format::Gif => {
            let color = if img.channels == 4 {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            let mut enc = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
            enc.encode(&img.data, img.w, img.h, color)
                .map_err(|e| enc_err(&e))?;
        }
        Format::Avif => out = encode_avif(img, quality).map_err(|e| enc_err(&e))?,
    }
    Ok(out)
}

/// rav1e's speed preset (1 slowest .. 10 fastest) for an AVIF of `pixels` pixels.
///
/// Measured on 512 px photos (bench/AVIF.md), speed 8 makes files 8-10% smaller than 9 at
/// the same SSIM but takes three times as long; 10 is only 20% faster than 9 and 8-10%
/// larger. So small outputs, the usual thumbnails and srcset widths, get 8 (about 0.8 µs a
/// pixel on one x86 core, 0.4 s at the threshold), larger ones 9 (0.2 µs a pixel), and only
/// outputs big enough to threaten the render budget get 10 (7 s for 39 MP on one core).
fn avif_speed(pixels: u64) -> u8 {
    match pixels {
        0..=500_000 => 8,
        500_001..=16_000_000 => 9,
        _ => 10,
    }
}

/// Encodes 8-bit AVIF (4:4:4, full range, BT.601) with ravif/rav1e. Transparency, when the
/// image has any, is a second AV1 image; its quality is a little above the colour's, as
/// in `cavif`, because blocky edges show on any background.
fn encode_avif(img: &Pixels, quality: u8) -> Result<Vec<u8>, ravif::Error> {
    use rgb::FromSlice as _;
    let q = f32::from(quality.clamp(1, 100));
    let alpha_q = ((q + 100.0) / 2.0).min(q + q / 4.0 + 2.0);
    let encoder = ravif::Encoder::new()
        .with_quality(q)
        .with_alpha_quality(alpha_q.min(100.0))
        .with_speed(avif_speed(u64::from(img.w) * u64::from(img.h)))
        .with_bit_depth(ravif::BitDepth::Eight)
        .with_num_threads(Some(1));
    let (w, h) = (img.w as usize, img.h as usize);
    let encoded = if img.channels == 4 {
        encoder.encode_rgba(ravif::Img::new(img.data.as_rgba(), w, h))?
    } else {
        encoder.encode_rgb(ravif::Img::new(img.data.as_rgb(), w, h))?
    };
    Ok(encoded.avif_file)
}

/// Encodes luma and a chroma pair at half resolution both ways (see
/// [`ResizedPlanes::into_luma_and_chroma`]) as a 4:2:0 JPEG, with the settings of [`encode`].
/// The encoder reads full-resolution rows and keeps the top-left sample of each 2×2 block, so
/// each row repeats every chroma sample twice; no colour conversion happens on either side.
fn encode_jpeg_ycc(luma: &Pixels, chroma: &Pixels, quality: u8) -> Result<Vec<u8>> {
    struct Ycc<'a>(&'a Pixels, &'a Pixels);
    impl jpeg_encoder::ImageBuffer for Ycc<'_> {
        fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
            jpeg_encoder::JpegColorType::Ycbcr
        }
        fn width(&self) -> u16 {
            self.0.w as u16
        }
        fn height(&self) -> u16 {
            self.0.h as u16
        }
        fn fill_buffers(&self, row: u16, buffers: &mut [Vec<u8>; 4]) {
            let (w, cw) = (self.0.w as usize, self.1.w as usize);
            let row = usize::from(row);
            buffers[0].extend_from_slice(&self.0.data[row * w..][..w]);
            let chroma = &self.1.data[row / 2 * cw * 2..][..cw * 2];
            for (x, c) in chroma.as_chunks::<2>().0.iter().enumerate() {
                let n = if x * 2 + 1 < w { 2 } else { 1 };
                for _ in 0..n {
                    buffers[1].push(c[0]);
                    buffers[2].push(c[1]);
                }
            }
        }
    }
    jpeg_size(luma)?;
    let mut out = Vec::new();
    jpeg_encoder(
        &mut out,
        quality,
        true,
        jpeg_encoder::ChromaSubsamplingMethod::Nearest,
    )
    .encode_image(Ycc(luma, chroma))
    .map_err(|e| Error::Internal(format!("jpg encoder: {e}")))?;
    Ok(out)
}

/// The JPEG encoder both JPEG routes use: optimized Huffman tables, 4:2:0 or 4:4:4.
fn jpeg_encoder(
    out: &mut Vec<u8>,
    quality: u8,
    subsample: bool,
    method: jpeg_encoder::ChromaSubsamplingMethod,
) -> jpeg_encoder::Encoder<&mut Vec<u8>> {
    let mut enc = jpeg_encoder::Encoder::new(out, quality);
    enc.set_optimized_huffman_tables(true);
    enc.set_sampling_factor(if subsample {
        jpeg_encoder::SamplingFactor::R_4_2_0
    } else {
        jpeg_encoder::SamplingFactor::R_4_4_4
    });
    enc.set_chroma_subsampling_method(method);
    enc
}

/// A JPEG's sides, which its header stores in 16 bits.
fn jpeg_size(img: &Pixels) -> Result<(u16, u16)> {
    match (u16::try_from(img.w), u16::try_from(img.h)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(Error::TooLarge(
            "jpg output is limited to 65535 px a side".into(),
        )),
    }
}

/// Counts animation frames from the container structure, without decoding any of them.
/// Malformed structure counts what it can; the decoder reports the real error later.
fn count_frames(format: SourceFormat, b: &[u8]) -> u32 {
    match format {
        SourceFormat::Gif => gif_frames(b),
        SourceFormat::Webp => riff_chunks(b, b"ANMF").max(1),
        SourceFormat::Png => png_actl_frames(b).unwrap_or(1),
        SourceFormat::Jpeg => 1,
    }
}

fn gif_frames(b: &[u8]) -> u32 {
    if b.len() < 13 {
        return 0;
    }
    let mut i = 13;
    if b[10] & 0x80 != 0 {
        i += 3 << ((b[10] & 7) + 1);
    }
    let skip_sub_blocks = |mut i: usize| -> usize {
        while i < b.len() && b[i] != 0 {
            i += 1 + b[i] as usize;
        }
        i + 1
    };
    let mut frames = 0;
    while i < b.len() {
        match b[i] {
            0x21 => i = skip_sub_blocks(i + 2),
            0x2C => {
                frames += 1;
                if i + 10 > b.len() {
                    break;
                }
                let flags = b[i + 9];
                i += 10;
                if flags & 0x80 != 0 {
                    i += 3 << ((flags & 7) + 1);
                }
                i = skip_sub_blocks(i + 1);
            }
            _ => break,
        }
    }
    frames
}

fn riff_chunks(b: &[u8], fourcc: &[u8; 4]) -> u32 {
    let mut count = 0;
    let mut i = 12;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let size = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        if id == fourcc {
            count += 1;
        }
        if id == b"ANIM" || id == b"VP8X" || id == b"ANMF" || id.iter().all(u8::is_ascii_graphic) {
            // ANMF frames sit at the top level of the RIFF body; step over every chunk.
            i += 8 + size + (size & 1);
        } else {
            break;
        }
    }
    count
}

fn png_actl_frames(b: &[u8]) -> Option<u32> {
    let mut i = 8;
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let kind = &b[i + 4..i + 8];
        if kind == b"acTL" && i + 12 <= b.len() {
            return Some(u32::from_be_bytes(b[i + 8..i + 12].try_into().ok()?));
        }
        if kind == b"IDAT" {
            return None;
        }
        i += 12 + len;
    }
    None
}

mod jpeg;

#[cfg(test)]
mod tests;
