//! The renderer's own JPEG decoder: it decodes straight to the scale the output needs, on the
//! calling thread.
//!
//! A thumbnail needs a fraction of a photograph's pixels. JPEG stores 8×8 blocks of DCT
//! coefficients, and the low-frequency corner of a block describes the block at a lower
//! resolution: evaluating its N×N corner (N = 1 to 7) gives the block at N/8 scale, with
//! a fraction of the inverse-transform work and none of the full-size buffers. Three paths:
//!
//! - [`baseline`]: baseline (sequential, Huffman-coded) frames at any scale from 1/8 to 8/8.
//!   Every coefficient is still entropy-decoded (the format gives no way around that), but
//!   coefficients outside the kept corner are skipped without dequantising or storing them.
//!   Two output layouts: [`decode`] evaluates subsampled chroma directly at the luma grid (no
//!   separate upsampling pass) and colour-converts one MCU row at a time, so memory is the
//!   output plus a strip; [`decode_planes`], for a caller that resizes next, keeps each
//!   component on its own grid (4:2:0 chroma at a quarter of the luma samples, with a
//!   quarter of the transform work) and leaves upsampling and colour conversion to happen
//!   after the resize, at the output size.
//! - [`progressive`]: progressive frames at 2/8 scale and up: every scan into a store of
//!   quantised coefficients, then the same scaled transform and strips as a baseline file.
//! - [`dc`]: progressive frames at 1/8 scale, from the DC scans alone (the AC scans are
//!   skipped with a byte search).
//!
//! The parts they share: [`markers`] (the loop over the marker segments, frame and scan
//! headers), [`tables`] (quantisation and Huffman table segments, the restart interval),
//! [`huffman`] (Huffman decoding, the bit reader, restart markers), [`idct`] (the scaled
//! inverse DCT), [`canvas`] (each component's output grid, strips and planes) and [`color`]
//! (YCbCr → RGB).
//!
//! Anything else (arithmetic coding, 12-bit, CMYK, multi-scan baseline, or a file that looks
//! damaged or cut short) is [`Declined`], with the reason, and the caller hands the file to
//! the general decoder, which also produces the real error message for a broken file.
//!
//! The decoder depends on nothing else in the crate: it takes bytes and gives its own
//! [`Image`] and [`Planes`].
//!
//! [`encode`] is the other direction: the renderer's baseline encoder, from RGB pixels or
//! from luma and chroma planes (what [`decode_planes`] gives, resized), with Huffman tables
//! optimised for each image.

mod baseline;
mod canvas;
mod color;
mod dc;
mod encode;
mod huffman;
mod idct;
mod markers;
mod progressive;
mod tables;
#[cfg(test)]
mod testing;

pub(crate) use color::{add_chroma, chroma_offsets, ycc_pixel, ColorModel};
pub(crate) use encode::{encode_rgb, encode_ycc};
pub(crate) use markers::{has_adobe_marker, is_progressive};
/// The test card's pixels, before encoding.
#[cfg(test)]
pub(crate) use testing::card as test_card_pixels;
/// A test card, encoded with the given sampling and restart interval (for the renderer's tests).
#[cfg(test)]
pub(crate) use testing::encode as test_card;
/// The installed wallpaper photographs, baseline or progressive (for the renderer's tests).
#[cfg(test)]
pub(crate) use testing::installed_photographs;

/// Decodes `data` at `eighths`/8 of its size (1 to 8): the result is
/// `ceil(width × eighths / 8)` × `ceil(height × eighths / 8)` RGB pixels. [`Declined`] when
/// the file is not one this decoder handles (see the module documentation).
pub(crate) fn decode(data: &[u8], eighths: usize) -> Result<Image, Declined> {
    match markers::decode(data, eighths, Layout::Rgb)? {
        Output::Rgb(image) => Ok(image),
        Output::Planes(_) => Err(Declined::Unsupported("planes where pixels were asked for")),
    }
}

/// [`decode`] for a caller that resizes next: each component stays on its own sampling grid
/// (subsampled chroma is neither upsampled nor colour-converted here), as [`Planes`]. At 1/8
/// scale a progressive file still comes back as RGB pixels from its DC scans.
pub(crate) fn decode_planes(data: &[u8], eighths: usize) -> Result<Output, Declined> {
    markers::decode(data, eighths, Layout::Planes)
}

/// Why the decoder declined a file: the caller decodes it with the general decoder instead,
/// which is slower (it decodes at full size, or at 1/2, 1/4 or 1/8 at best) and which reports
/// the real error if the file is broken. Logged and counted, so a kind of file that often
/// misses the fast path shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declined {
    /// A kind of JPEG this decoder does not implement: arithmetic coding, lossless, 12-bit
    /// samples, CMYK, a baseline frame in several scans...
    Unsupported(&'static str),
    /// The data ends (or a marker interrupts it) before the image does.
    Truncated,
    /// Something in the file contradicts the format.
    Corrupt(&'static str),
}

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declined::Unsupported(what) => write!(f, "unsupported: {what}"),
            Declined::Truncated => f.write_str("cut short"),
            Declined::Corrupt(what) => write!(f, "corrupt: {what}"),
        }
    }
}

impl std::error::Error for Declined {}

/// What [`decode_planes`] gives: RGB pixels or planes.
pub(crate) enum Output {
    Rgb(Image),
    Planes(Planes),
}

/// 8-bit RGB pixels, 3 bytes each, `w` a row.
pub(crate) struct Image {
    pub(crate) w: u32,
    pub(crate) h: u32,
    pub(crate) data: Vec<u8>,
}

/// How [`canvas::Canvas`] hands over the samples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Every component upsampled to the largest grid and colour-converted, one MCU row at a
    /// time, into an RGB [`Image`].
    Rgb,
    /// Each component as its own plane, for a resize that works on planes.
    Planes,
}

/// A decoded image as one plane per component, each at its own sampling grid.
pub(crate) struct Planes {
    pub(crate) model: ColorModel,
    pub(crate) planes: Vec<Plane>,
}

/// One component's samples, `w` a row, covering the whole image (no padding).
pub(crate) struct Plane {
    pub(crate) w: u32,
    pub(crate) h: u32,
    pub(crate) data: Vec<u8>,
    /// Samples per source pixel across and down (1/2 for 4:2:0 chroma at 8/8 scale).
    pub(crate) scale: (f64, f64),
}
