//! Decoding: JPEG by the renderer's own decoder ([`super::jpeg`]) at the DCT scale the output
//! needs, with `jpeg-decoder` for what it declines; PNG, WebP and GIF by the `image` crate, at
//! full size.

use super::{jpeg, Decoded, Pixels, Probe, SourceFormat};
use crate::error::{Error, Result};
use crate::Limits;
use std::borrow::Cow;
use std::io::Cursor;

pub(super) fn undecodable(format: SourceFormat, e: impl std::fmt::Display) -> Error {
    // The decoder's message says what is wrong with the file, not anything about us.
    Error::Undecodable(format!("{format:?} source: {e}").to_lowercase())
}

pub(super) fn image_decoder<'a>(
    source: &'a [u8],
    format: SourceFormat,
    limits: &Limits,
) -> Result<Box<dyn image::ImageDecoder + 'a>> {
    let source = match format {
        SourceFormat::Gif => gif_with_default_palette(source),
        _ => Cow::Borrowed(source),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(source), format.image_format());
    let mut l = image::Limits::default();
    // Room for the largest allowed source at 16 bits per channel with alpha.
    l.max_alloc = Some(limits.max_source_pixels.saturating_mul(8));
    reader.limits(l);
    let d = reader.into_decoder().map_err(|e| image_error(format, e))?;
    Ok(Box::new(d))
}

/// A GIF without a global colour table gets one of opaque black, as Chrome's decoder (Wuffs)
/// gives one to a frame that has no table of its own (Firefox and libvips also decode such
/// files; the `gif` crate refuses them). Frames with a local table keep theirs; a transparent
/// index stays transparent.
fn gif_with_default_palette(source: &[u8]) -> Cow<'_, [u8]> {
    // The logical screen descriptor's flags, after the 6-byte signature and 4 bytes of size.
    const FLAGS: usize = 10;
    const HEADER: usize = 13;
    match source.get(FLAGS) {
        Some(flags) if flags & 0x80 == 0 && source.len() >= HEADER => {
            let mut patched = Vec::with_capacity(source.len() + 768);
            patched.extend_from_slice(&source[..HEADER]);
            // A table of 2^(7+1) = 256 entries, all black.
            patched[FLAGS] |= 0x87;
            patched.resize(HEADER + 768, 0);
            patched.extend_from_slice(&source[HEADER..]);
            Cow::Owned(patched)
        }
        _ => Cow::Borrowed(source),
    }
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
///
/// `icc` is the source's embedded ICC profile: a CMYK JPEG is converted to sRGB with it here
/// (an RGB profile is applied later, after the resize).
///
/// With the decoded source comes, for a JPEG that the renderer's decoder declined and
/// `jpeg-decoder` decoded instead, the reason it declined.
pub(super) fn decode(
    source: &[u8],
    probe: &Probe,
    scale: f64,
    whole: Option<(u32, u32)>,
    limits: &Limits,
    icc: Option<&[u8]>,
) -> Result<(Decoded, Option<jpeg::Declined>)> {
    match probe.format {
        SourceFormat::Jpeg => decode_jpeg(source, probe, scale, whole, icc),
        f => {
            let d = image_decoder(source, f, limits)?;
            let img = image::DynamicImage::from_decoder(d).map_err(|e| image_error(f, e))?;
            Ok((Decoded::Pixels(to_pixels(img)), None))
        }
    }
}

/// A decoded image as 8-bit RGB, or RGBA when it has alpha. Grey (with or without alpha) is
/// spread to three channels here: the image crate's general conversion goes through its
/// colour-space machinery with a float rounding per sample, which took 6% of rendering a
/// set of PNGs of which one was grey with alpha.
fn to_pixels(img: image::DynamicImage) -> Pixels {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    match img {
        D::ImageLuma8(g) => {
            let mut rgb = vec![0; g.as_raw().len() * 3];
            for (o, &l) in rgb.chunks_exact_mut(3).zip(g.as_raw()) {
                o.fill(l);
            }
            Pixels::new(w, h, 3, rgb)
        }
        D::ImageLumaA8(g) => {
            let mut rgba = vec![0; g.as_raw().len() * 2];
            for (o, la) in rgba.chunks_exact_mut(4).zip(g.as_raw().chunks_exact(2)) {
                o.copy_from_slice(&[la[0], la[0], la[0], la[1]]);
            }
            Pixels::new(w, h, 4, rgba)
        }
        img if img.color().has_alpha() => Pixels::new(w, h, 4, img.into_rgba8().into_raw()),
        img => Pixels::new(w, h, 3, img.into_rgb8().into_raw()),
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
    icc: Option<&[u8]>,
) -> Result<(Decoded, Option<jpeg::Declined>)> {
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
        if let Ok(image) = jpeg::decode(source, 1) {
            return Ok((Decoded::Pixels(image.into()), None));
        }
    }
    let eighths = eighths(DCT_MARGIN);
    let side = |s: u32| (s as usize * eighths).div_ceil(8) as u32;
    let declined = if whole == Some((side(probe.width), side(probe.height))) {
        // Decoded at the output size: chroma upsampled in the transform, no resize.
        match jpeg::decode(source, eighths) {
            Ok(image) => return Ok((Decoded::Pixels(image.into()), None)),
            Err(declined) => declined,
        }
    } else {
        match jpeg::decode_planes(source, eighths) {
            Ok(decoded) => return Ok((decoded.into(), None)),
            Err(declined) => declined,
        }
    };
    // Slower (a full-size decode, or 1/2, 1/4, 1/8 at best) and worth knowing about when it
    // happens often: the caller counts it from the `Rendered` it reports in.
    tracing::debug!(reason = %declined, "jpeg source: jpeg-decoder decodes what our decoder declined");
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
            let mut ink = data;
            if !jpeg::has_adobe_marker(source) {
                // jpeg-decoder undoes Adobe's inversion whether or not the file has Adobe's
                // marker; libjpeg's readers (libvips, browsers) invert only when it is there.
                ink.iter_mut().for_each(|v| *v = 255 - *v);
            }
            cmyk_to_rgb(&ink, icc)
        }
    };
    if rgb.len() != n * 3 {
        return Err(undecodable(f, "pixel data has the wrong length"));
    }
    Ok((Decoded::Pixels(Pixels::new(w, h, 3, rgb)), Some(declined)))
}

/// CMYK ink amounts (0: none, 255: full; 4 bytes a pixel) to RGB. With a CMYK ICC profile
/// (print workflows embed one) through it, as libvips and browsers do; without one, the naive
/// conversion R = (1 − C)(1 − K) that Chrome, Firefox and Pillow use for an untagged file
/// (libvips assumes a press profile of its own instead, and so prints darker, duller colours).
fn cmyk_to_rgb(ink: &[u8], icc: Option<&[u8]>) -> Vec<u8> {
    if let Some(rgb) = icc.and_then(|icc| cmyk_profile_to_srgb(ink, icc)) {
        return rgb;
    }
    let blank = |v: u8| 255 - u32::from(v);
    ink.chunks_exact(4)
        .flat_map(|p| {
            let k = blank(p[3]);
            [0, 1, 2].map(|i| ((blank(p[i]) * k + 127) / 255) as u8)
        })
        .collect()
}

/// [`cmyk_to_rgb`] through the CMYK profile `icc`, relative colorimetric (libvips's default
/// intent); `None` when `icc` is not a CMYK profile that can be used.
fn cmyk_profile_to_srgb(ink: &[u8], icc: &[u8]) -> Option<Vec<u8>> {
    use moxcms::{ColorProfile, DataColorSpace, Layout, RenderingIntent, TransformOptions};
    let profile = ColorProfile::new_from_slice(icc).ok()?;
    if profile.color_space != DataColorSpace::Cmyk {
        return None;
    }
    let options = TransformOptions {
        rendering_intent: RenderingIntent::RelativeColorimetric,
        ..TransformOptions::default()
    };
    let srgb = ColorProfile::new_srgb();
    let transform =
        (profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, options)).ok()?;
    let mut rgb = vec![0u8; ink.len() / 4 * 3];
    transform.transform(ink, &mut rgb).ok()?;
    Some(rgb)
}

impl From<jpeg::Image> for Pixels {
    fn from(image: jpeg::Image) -> Self {
        Pixels::new(image.w, image.h, 3, image.data)
    }
}

impl From<jpeg::Output> for Decoded {
    fn from(output: jpeg::Output) -> Self {
        match output {
            jpeg::Output::Rgb(image) => Decoded::Pixels(image.into()),
            jpeg::Output::Planes(planes) => Decoded::Planes(planes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_pixels;
    use image::{DynamicImage, GrayAlphaImage, GrayImage};

    /// Grey images spread to RGB(A) exactly as the image crate's own conversion does.
    #[test]
    fn grey_spreads_to_rgb_as_the_image_crate_converts_it() {
        // Every grey value, and every alpha value.
        let luma = |x: u32, y: u32| (y * 16 + x) as u8;
        let grey =
            DynamicImage::ImageLuma8(GrayImage::from_fn(16, 16, |x, y| image::Luma([luma(x, y)])));
        let px = to_pixels(grey.clone());
        assert_eq!((px.w, px.h, px.channels), (16, 16, 3));
        assert_eq!(px.data, grey.into_rgb8().into_raw());

        let grey_alpha = DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(16, 16, |x, y| {
            image::LumaA([luma(x, y), 255 - luma(x, y)])
        }));
        let px = to_pixels(grey_alpha.clone());
        assert_eq!((px.w, px.h, px.channels), (16, 16, 4));
        assert_eq!(px.data, grey_alpha.into_rgba8().into_raw());
    }
}
