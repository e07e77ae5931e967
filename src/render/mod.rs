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
//! keeps its colours. Callers pass a [`Deadline`], a probe that the pipeline checks between
//! stages, so a render over its time budget stops without the renderer reading a clock itself.

use fast_image_resize as fr;

use crate::auto::{Output, INFO_CONTENT_TYPE};
use crate::error::{Error, Result};
use crate::ops::{Format, Ops};
use crate::plan::{Orientation, Plan, Rect};
use crate::Limits;

use decode::decode;
use encode::{encode, encode_jpeg_ycc, subsamples_chroma};
pub use info::{info, Info};
pub use jpeg::Declined;
use pixels::{blur, flatten, pad, reorient, sharpen};
pub use probe::probe;
use probe::{probe_with_icc, to_srgb};
use resize::{resize, resize_planes};
use smart::smart_region;

/// A finished rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// For a JPEG source that the renderer's own decoder declined (so `jpeg-decoder` decoded
    /// it, more slowly): why.
    pub jpeg_fallback: Option<Declined>,
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

    /// The format's name as the info request reports it: `jpeg`, `png`, `webp` or `gif`.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Webp => "webp",
            SourceFormat::Gif => "gif",
        }
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
/// luma and chroma of a JPEG output that skips RGB ([`resize::ResizedPlanes::into_luma_and_chroma`]).
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
    /// Frames in the source: more than 1 for an animated GIF, WebP or PNG, of which only the
    /// first is rendered (outputs are still images), whatever the count.
    pub frames: u32,
}

/// When a render must stop. The renderer never reads a clock: the caller passes a probe that
/// answers whether its time is up, which the pipeline polls between stages, and the budget
/// that probe stands for, which the timeout reports.
#[derive(Clone, Copy)]
pub struct Deadline<'a> {
    budget_ms: u64,
    passed: Option<&'a dyn Fn() -> bool>,
}

impl<'a> Deadline<'a> {
    /// Stops the render with [`Error::Timeout`]`(budget_ms)` once `passed` answers true.
    pub fn new(budget_ms: u64, passed: &'a dyn Fn() -> bool) -> Self {
        Deadline {
            budget_ms,
            passed: Some(passed),
        }
    }

    /// No deadline: the render runs to its end.
    pub fn none() -> Deadline<'static> {
        Deadline {
            budget_ms: 0,
            passed: None,
        }
    }

    /// [`Error::Timeout`] once the deadline has passed.
    fn check(&self) -> Result<()> {
        match self.passed {
            Some(passed) if passed() => Err(Error::Timeout(self.budget_ms)),
            _ => Ok(()),
        }
    }
}

/// What a path asks for, made: a rendition's or an info request's bytes and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// As [`Rendered::jpeg_fallback`].
    pub jpeg_fallback: Option<Declined>,
}

/// Makes what `output` asks of `source`: a rendition with `ops` ([`render`]) or, for an info
/// request, its JSON ([`info`]). An auto path has no concrete output and is refused (400).
pub fn make(
    source: &[u8],
    ops: &Ops,
    output: Output,
    limits: &Limits,
    deadline: Deadline,
) -> Result<Made> {
    match output.format() {
        Some(format) => render(source, ops, format, limits, deadline).map(|r| Made {
            bytes: r.bytes,
            content_type: format.content_type(),
            jpeg_fallback: r.jpeg_fallback,
        }),
        None if output == Output::Info => Ok(Made {
            bytes: info(source, limits, deadline)?.to_json()?.into_bytes(),
            content_type: INFO_CONTENT_TYPE,
            jpeg_fallback: None,
        }),
        None => Err(Error::BadRequest(format!(
            "{} is negotiated before rendering",
            output.extension()
        ))),
    }
}

/// Encodes `w`×`h` RGB pixels (3 bytes each) as a JPEG with the renderer's own encoder and
/// its settings: baseline, optimised Huffman tables, 4:2:0 chroma below quality 90.
pub fn encode_jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Result<Vec<u8>> {
    encode(&Pixels::new(w, h, 3, rgb.to_vec()), Format::Jpeg, quality)
}

/// Renders `source` with `ops` into `format`, within `limits`, stopping with
/// [`Error::Timeout`] if `deadline` passes.
pub fn render(
    source: &[u8],
    ops: &Ops,
    format: Format,
    limits: &Limits,
    deadline: Deadline,
) -> Result<Rendered> {
    let check = || deadline.check();
    let (probe, icc) = probe_with_icc(source, limits)?;
    let user = Orientation {
        quarter_turns: ops.rotate.quarter_turns(),
        mirror: ops.flip,
    };
    let orientation = probe.orientation.then(user);
    let (dw, dh) = orientation.apply_size(probe.width, probe.height);
    let plan = Plan::new(ops, dw, dh, limits)?;
    // WebP's side limit is known before decoding; JPEG's is checked where it is encoded.
    if format == Format::Webp {
        encode::check_sides(format, plan.width, plan.height)?;
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

    let quality = ops.quality.or(format.default_quality()).unwrap_or(100);
    // Chroma can be resized to the encoder's subsampled grid when the 2×2 blocks the encoder
    // averages are the ones resized here: nothing moves the pixels off that grid (an offset,
    // or a rotation or flip of an odd side) or mixes neighbours (blur, sharpen).
    let aligned = plan.offset == (0, 0)
        && (orientation.is_identity() || (rw % 2 == 0 && rh % 2 == 0))
        && ops.blur.is_none()
        && ops.sharpen.is_none();
    let half_chroma = aligned && subsamples_chroma(format, quality);
    // A 4:2:0 JPEG output with nothing left to do after the resize but orient: a JPEG
    // source's luma and chroma go to the encoder as planes, without a round trip through RGB.
    let direct = format == Format::Jpeg
        && half_chroma
        && icc.is_none()
        && (plan.width, plan.height) == orientation.apply_size(rw, rh);

    // Decode, at a reduced scale when the region shrinks enough; when the whole image is kept
    // at a size a DCT scale gives exactly, the decoder's own output is final (RGB pixels, or
    // planes for the direct route above).
    let scale = (f64::from(rw) / region.w).max(f64::from(rh) / region.h);
    let whole = region.w == stored.0 && region.h == stored.1 && !direct;
    let (decoded, jpeg_fallback) = decode(
        source,
        &probe,
        scale,
        whole.then_some((rw, rh)),
        limits,
        icc.as_deref(),
    )?;
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

    let mut resized = match &decoded {
        Decoded::Pixels(pixels) => resize(pixels, region, rw, rh)?,
        Decoded::Planes(planes) => {
            let planes = resize_planes(planes, region, (rw, rh), half_chroma)?;
            if direct && planes.is_luma_and_chroma() {
                check()?;
                let (luma, chroma) = planes.into_luma_and_chroma();
                let (luma, chroma) = (reorient(luma, orientation), reorient(chroma, orientation));
                return Ok(Rendered {
                    bytes: encode_jpeg_ycc(&luma, &chroma, quality)?,
                    format,
                    width: luma.w,
                    height: luma.h,
                    jpeg_fallback,
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
        jpeg_fallback,
    })
}

mod decode;
mod encode;
mod info;
pub(crate) mod jpeg;
mod pixels;
mod probe;
mod resize;
mod smart;

#[cfg(test)]
mod tests;
