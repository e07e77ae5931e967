//! Decoding: JPEG by the renderer's own decoder ([`super::jpeg`]) at the DCT scale the output
//! needs, with `jpeg-decoder` for what it declines; PNG, WebP and GIF by the `image` crate, at
//! full size.

use super::{jpeg, Decoded, Pixels, Probe, SourceFormat};
use crate::error::{Error, Result};
use crate::Limits;
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
pub(super) fn decode(
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
