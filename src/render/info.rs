//! The info request (`docs/url-format.md` §14): what a page needs before the image arrives.
//!
//! The source's size as displayed (after its EXIF orientation), its format, whether any pixel
//! is transparent, its frame count, and a [ThumbHash] placeholder: the image reduced to about
//! 25 bytes, which [`Info::placeholder_png`] turns back into a blurred picture of up to 32 px a
//! side for a page to paint while the rendition loads. The placeholder is made from the same
//! decode, resize, colour conversion and orientation as a rendition, so it shows what the
//! renditions show.
//!
//! [ThumbHash]: https://evanw.github.io/thumbhash/

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::decode::decode;
use super::encode::encode;
use super::pixels::reorient;
use super::probe::{probe_with_icc, to_srgb};
use super::resize::{resize, resize_planes};
use super::{Deadline, Decoded, Pixels, SourceFormat};
use crate::error::{Error, Result};
use crate::ops::Format;
use crate::plan::Rect;
use crate::Limits;

/// The largest side ThumbHash encodes (its encoder's limit, and all it needs).
const THUMB_SIDE: u32 = 100;

/// What an info request answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Width as displayed: after the EXIF orientation.
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    pub format: SourceFormat,
    /// Whether any pixel of the (first) frame is not fully opaque.
    pub alpha: bool,
    /// Frames in the source (more than 1 when animated; renditions show the first).
    pub frames: u32,
    /// The ThumbHash of the first frame as displayed.
    pub thumbhash: Vec<u8>,
}

impl Info {
    /// The ThumbHash decoded to a small PNG (up to 32 px a side, aspect ratio approximate):
    /// the placeholder a page paints, stretched to the image's box.
    pub fn placeholder_png(&self) -> Result<Vec<u8>> {
        let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&self.thumbhash)
            .map_err(|()| Error::Internal("thumbhash: cannot decode its own hash".into()))?;
        let (w, h) = (w as u32, h as u32);
        // An opaque placeholder is written as RGB: a quarter fewer bytes in the data URL.
        let pixels = if rgba.chunks_exact(4).all(|p| p[3] == 255) {
            let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]);
            Pixels::new(w, h, 3, rgb.collect())
        } else {
            Pixels::new(w, h, 4, rgba)
        };
        encode(&pixels, Format::Png, 100)
    }

    /// The JSON document stored and served for the info request:
    /// `{"width":…,"height":…,"format":"jpeg","alpha":false,"frames":1,"thumbhash":"…",
    /// "placeholder":"data:image/png;base64,…"}`. `thumbhash` is standard base64 (as the
    /// ThumbHash demo and libraries print it); `placeholder` is ready for `src`, CSS `url()` or
    /// next/image's `blurDataURL`.
    pub fn to_json(&self) -> Result<String> {
        let placeholder = format!(
            "data:image/png;base64,{}",
            B64.encode(self.placeholder_png()?)
        );
        let doc = serde_json::json!({
            "width": self.width,
            "height": self.height,
            "format": self.format.name(),
            "alpha": self.alpha,
            "frames": self.frames,
            "thumbhash": B64.encode(&self.thumbhash),
            "placeholder": placeholder,
        });
        Ok(doc.to_string())
    }
}

/// Describes `source` within `limits`, stopping with [`Error::Timeout`] if `deadline` passes.
/// An undecodable source is refused exactly as a render of it would be.
pub fn info(source: &[u8], limits: &Limits, deadline: Deadline) -> Result<Info> {
    let (probe, icc) = probe_with_icc(source, limits)?;
    let (width, height) = probe.orientation.apply_size(probe.width, probe.height);
    deadline.check()?;

    // The thumbnail ThumbHash encodes: the displayed image within 100×100, in stored
    // orientation until the end (as a render resizes before it rotates).
    let k = (f64::from(THUMB_SIDE) / f64::from(width.max(height))).min(1.0);
    let side = |s: u32| ((f64::from(s) * k).round() as u32).clamp(1, THUMB_SIDE);
    let (rw, rh) = (side(probe.width), side(probe.height));
    let stored = (f64::from(probe.width), f64::from(probe.height));
    let scale = (f64::from(rw) / stored.0).max(f64::from(rh) / stored.1);
    let (decoded, _) = decode(
        source,
        &probe,
        scale,
        Some((rw, rh)),
        limits,
        icc.as_deref(),
    )?;
    deadline.check()?;
    // Transparency is judged on every decoded pixel, not on the thumbnail, where a few
    // transparent pixels would average away.
    let alpha = match &decoded {
        Decoded::Pixels(p) if p.channels == 4 => p.data.chunks_exact(4).any(|px| px[3] != 255),
        _ => false,
    };
    let (fx, fy) = decoded.scale(stored);
    let region = Rect {
        x: 0.0,
        y: 0.0,
        w: stored.0 * fx,
        h: stored.1 * fy,
    };
    let mut thumb = match &decoded {
        Decoded::Pixels(p) => resize(p, region, rw, rh)?,
        Decoded::Planes(p) => resize_planes(p, region, (rw, rh), false)?.into_rgb(),
    };
    drop(decoded);
    if let Some(icc) = icc {
        to_srgb(&mut thumb, &icc);
    }
    let thumb = reorient(thumb, probe.orientation);
    let rgba: Vec<u8> = match thumb.channels {
        4 => thumb.data,
        _ => thumb
            .data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    };
    let thumbhash = thumbhash::rgba_to_thumb_hash(thumb.w as usize, thumb.h as usize, &rgba);
    Ok(Info {
        width,
        height,
        format: probe.format,
        alpha,
        frames: probe.frames,
        thumbhash,
    })
}
