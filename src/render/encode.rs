//! The encoders: JPEG (from RGB, or straight from resized luma and chroma), PNG, WebP, GIF
//! and AVIF.

use super::Pixels;
use crate::error::{Error, Result};
use crate::ops::Format;

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
/// [`super::resize::ResizedPlanes::into_luma_and_chroma`]) as a 4:2:0 JPEG, with the settings of [`encode`].
/// The encoder reads full-resolution rows and keeps the top-left sample of each 2×2 block, so
/// each row repeats every chroma sample twice; no colour conversion happens on either side.
pub(super) fn encode_jpeg_ycc(luma: &Pixels, chroma: &Pixels, quality: u8) -> Result<Vec<u8>> {
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
