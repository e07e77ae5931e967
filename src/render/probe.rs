//! The first stage: what the source is (format, size, orientation, ICC profile), read from its
//! header before anything is decoded, and the pixel and frame limits checked against it. Frame
//! counting walks the container's structure without decoding a frame. The ICC profile found
//! here is applied after the resize ([`to_srgb`]).

use super::decode::{image_decoder, undecodable};
use super::{Pixels, Probe, SourceFormat};
use crate::error::{Error, Result};
use crate::plan::Orientation;
use crate::Limits;
use image::ImageDecoder as _;
use std::io::Cursor;

/// Reads the source's format, size, orientation and frame count, and checks the pixel limit.
///
/// The frame count is not limited: only the first frame is decoded, and its cost is bounded
/// by the pixel limit like any still image's (walking the container to count is bounded by
/// the source's bytes). A frame limit comes back with animated output, where frames × pixels
/// is the work.
pub fn probe(source: &[u8], limits: &Limits) -> Result<Probe> {
    probe_with_icc(source, limits).map(|(probe, _)| probe)
}

/// [`probe`], and the source's embedded ICC profile if it has one that can be read, from the
/// same header parse.
pub(super) fn probe_with_icc(source: &[u8], limits: &Limits) -> Result<(Probe, Option<Vec<u8>>)> {
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
        frames: count_frames(format, source),
    };
    Ok((probe, icc))
}

/// Converts RGB(A) pixels from the colour space of the ICC profile `icc` to sRGB, in place.
///
/// Outputs carry no metadata, and an untagged image is shown as sRGB: without this, a photo
/// tagged Display P3 (as phones take them) or Adobe RGB would look washed out. The transform
/// runs on the small, resized image, as libvips's thumbnail does. A profile that cannot be
/// read, or that is not an RGB profile, leaves the pixels as they are, as browsers do.
pub(super) fn to_srgb(img: &mut Pixels, icc: &[u8]) {
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

/// Counts animation frames from the container structure, without decoding any of them.
/// Malformed structure counts what it can (at least 1: the probe decoded a header).
pub(super) fn count_frames(format: SourceFormat, b: &[u8]) -> u32 {
    match format {
        SourceFormat::Gif => gif_frames(b).max(1),
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
