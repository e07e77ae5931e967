//! The encoders: JPEG (from RGB, or straight from resized luma and chroma), PNG, WebP, GIF
//! and AVIF.

use super::Pixels;
use crate::error::{Error, Result};
use crate::ops::Format;

/// The largest side a WebP can have: its header stores each side less one in 14 bits.
pub(super) const WEBP_MAX_SIDE: u32 = 16383;

/// The largest side a JPEG can have: its frame header stores each side in 16 bits.
pub(super) const JPEG_MAX_SIDE: u32 = 65535;

/// Refuses (413) an output of `w`×`h` larger than `format` can store; the configurable
/// output limits are usually far below these.
pub(super) fn check_sides(format: Format, w: u32, h: u32) -> Result<()> {
    let max = match format {
        Format::Webp => WEBP_MAX_SIDE,
        Format::Jpeg => JPEG_MAX_SIDE,
        Format::Png | Format::Gif | Format::Avif => return Ok(()),
    };
    if w > max || h > max {
        return Err(Error::TooLarge(format!(
            "{} output is limited to {max} px a side",
            format.extension()
        )));
    }
    Ok(())
}

/// Whether the encoder stores chroma at half resolution both ways (4:2:0) for `format` at
/// `quality`: lossy WebP always does, JPEG below q90 (at q90 and above, 4:4:4 keeps colour
/// edges sharp, as libvips does).
pub(super) fn subsamples_chroma(format: Format, quality: u8) -> bool {
    match format {
        Format::Jpeg => quality < 90,
        Format::Webp => true,
        Format::Png | Format::Gif | Format::Avif => false,
    }
}

pub(super) fn encode(img: &Pixels, format: Format, quality: u8) -> Result<Vec<u8>> {
    let enc_err =
        |e: &dyn std::fmt::Display| Error::Internal(format!("{} encoder: {e}", format.extension()));
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            check_sides(format, img.w, img.h)?;
            // Subsampled chroma from the average of each 2×2 block, not its top-left pixel:
            // 13% fewer bytes at equal butteraugli for 0.4 ms (bench/ENCODERS.md).
            out = super::jpeg::encode_rgb(
                &img.data,
                img.w,
                img.h,
                quality,
                subsamples_chroma(format, quality),
            )
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
/// [`super::resize::ResizedPlanes::into_luma_and_chroma`]) as a 4:2:0 JPEG, with the settings of
/// [`encode`]: the planes are coded as they are, with no colour conversion on either side.
pub(super) fn encode_jpeg_ycc(luma: &Pixels, chroma: &Pixels, quality: u8) -> Result<Vec<u8>> {
    check_sides(Format::Jpeg, luma.w, luma.h)?;
    super::jpeg::encode_ycc(&luma.data, &chroma.data, luma.w, luma.h, quality)
        .map_err(|e| Error::Internal(format!("jpg encoder: {e}")))
}
