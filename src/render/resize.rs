//! The resize: Lanczos3 with SIMD (`fast_image_resize`), of RGB(A) pixels or of a JPEG's
//! planes, each from its own sampling grid.

use fast_image_resize as fr;
use std::borrow::Cow;

use super::{jpeg, Pixels};
use crate::error::{Error, Result};
use crate::plan::Rect;

/// Resizes `region` of `src` to `w`×`h` with Lanczos3 (SIMD), premultiplying alpha.
pub(super) fn resize(src: &Pixels, region: Rect, w: u32, h: u32) -> Result<Pixels> {
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
pub(super) struct ResizedPlanes {
    model: jpeg::ColorModel,
    size: (u32, u32),
    /// Chroma is at ⌈w/2⌉×⌈h/2⌉ (see [`resize_planes`]).
    half: bool,
    /// Where each plane's samples are.
    at: Vec<Slot>,
    resized: Vec<Vec<u8>>,
}

/// Where one plane's resized samples are: channel `channel` of the `channels` interleaved in
/// buffer `buffer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    buffer: usize,
    channels: usize,
    channel: usize,
}

impl Slot {
    const fn new(buffer: usize, channels: usize, channel: usize) -> Slot {
        Slot {
            buffer,
            channels,
            channel,
        }
    }
}

/// Luma in a buffer of its own, Cb and Cr interleaved in a second: how the planes of a YCbCr
/// file with subsampled chroma (or with chroma brought to half size) come out of the resize.
const LUMA_AND_CHROMA_PAIR: [Slot; 3] =
    [Slot::new(0, 1, 0), Slot::new(1, 2, 0), Slot::new(1, 2, 1)];

/// Resizes `region` (given on the first plane's grid) of a JPEG's planes to `w`×`h`: each
/// plane from its own grid with Lanczos3 (subsampled chroma is never upsampled first); YCbCr
/// → RGB follows at the output size ([`ResizedPlanes::into_rgb`]), or not at all for a JPEG
/// output ([`super::encode::encode_jpeg_ycc`]).
///
/// With `half_chroma` (the encoder will subsample chroma 2×2: see [`super::encode::subsamples_chroma`]), the
/// chroma planes are resized to the output's chroma grid, ⌈w/2⌉×⌈h/2⌉, and each chroma sample
/// is used for its 2×2 output pixels: the encoder's 2×2 average gives back the resized
/// sample, and the resize does a quarter of the chroma work.
pub(super) fn resize_planes(
    src: &jpeg::Planes,
    region: Rect,
    (w, h): (u32, u32),
    half_chroma: bool,
) -> Result<ResizedPlanes> {
    let first = src.planes[0].scale;
    let (fw, fh) = (f64::from(src.planes[0].w), f64::from(src.planes[0].h));
    let whole = region.x == 0.0 && region.y == 0.0 && region.w == fw && region.h == fh;
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
    // Where each plane's resized samples are: a buffer per group.
    let mut at = vec![Slot::new(0, 1, 0); src.planes.len()];
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
            at[pi] = Slot::new(gi, k, c);
        }
        // One plane as it is, or a group interleaved into a buffer of its own.
        let data: Cow<[u8]> = match g.as_slice() {
            [_] => Cow::Borrowed(&p.data),
            &[a, b] => {
                let (a, b) = (&src.planes[a].data, &src.planes[b].data);
                let mut buf = vec![0u8; a.len() * 2];
                for ((d, &a), &b) in buf.as_chunks_mut::<2>().0.iter_mut().zip(a).zip(b) {
                    *d = [a, b];
                }
                Cow::Owned(buf)
            }
            _ => {
                let [a, b, c] = [0, 1, 2].map(|i| &src.planes[g[i]].data);
                let mut buf = vec![0u8; a.len() * 3];
                let pixels = buf.as_chunks_mut::<3>().0.iter_mut();
                for (((d, &a), &b), &c) in pixels.zip(a).zip(b).zip(c) {
                    *d = [a, b, c];
                }
                Cow::Owned(buf)
            }
        };
        let kind = [fr::PixelType::U8, fr::PixelType::U8x2, fr::PixelType::U8x3][k - 1];
        let out = target(g[0]);
        // A plane already at its target size when the whole source is kept is taken as it is
        // (an interleaved group's buffer moves, a single plane is copied): its samples are on
        // the output's grid. Lanczos would cost a convolution, and for an odd side it would
        // stretch ⌈w/2⌉ chroma samples over the w/2 the region maps to.
        let identity = whole && out == (p.w, p.h);
        resized.push(if identity {
            data.into_owned()
        } else {
            resize_samples(&mut resizer, &data, (p.w, p.h), kind, r, out)?
        });
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
    pub(super) fn is_luma_and_chroma(&self) -> bool {
        self.model == jpeg::ColorModel::YCbCr && self.half && self.at == LUMA_AND_CHROMA_PAIR
    }

    /// Luma (one channel) and the chroma pair (two channels, ⌈w/2⌉×⌈h/2⌉) of planes that
    /// [`ResizedPlanes::is_luma_and_chroma`].
    pub(super) fn into_luma_and_chroma(self) -> (Pixels, Pixels) {
        let (w, h) = self.size;
        let mut resized = self.resized.into_iter();
        let (luma, chroma) = (resized.next(), resized.next());
        (
            Pixels::new(w, h, 1, luma.unwrap_or_default()),
            Pixels::new(w.div_ceil(2), h.div_ceil(2), 2, chroma.unwrap_or_default()),
        )
    }

    pub(super) fn into_rgb(self) -> Pixels {
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
            (at, [y, cbcr]) if ycc && at == LUMA_AND_CHROMA_PAIR => {
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
                    let at = at[plane.min(at.len() - 1)];
                    resized[at.buffer][i * at.channels + at.channel]
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
pub(super) fn resize_samples(
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
        .resize_alg(fr::ResizeAlg::Convolution(lanczos3_filter()?))
        .use_alpha(kind == fr::PixelType::U8x4)
        .crop(x, y, rw, rh);
    resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| Error::Internal(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

/// fast_image_resize's Lanczos3 with [`lanczos3`] as its function.
fn lanczos3_filter() -> Result<fr::FilterType> {
    let filter = fr::Filter::new("Lanczos3", lanczos3, 3.0)
        .map_err(|e| Error::Internal(format!("resize filter: {e:?}")))?;
    Ok(fr::FilterType::Custom(filter))
}

/// Lanczos3, sinc(x)·sinc(x/3) for −3 ≤ x < 3, with one sine where fast_image_resize's own
/// takes two: for θ = πx/3, sin πx = sin 3θ = s(3 − 4s²) with s = sin θ, so the product is
/// 3s²(3 − 4s²)/(πx)². The coefficients are computed for every output row and column of
/// every resize, and at 512 px the sines were 1.7% of a render. The values differ from the
/// two-sine product by an ulp or so, far below the 1/2¹⁴-odd steps the library rounds its
/// weights to (tested: the same pixels).
fn lanczos3(x: f64) -> f64 {
    if !(-3.0..3.0).contains(&x) {
        return 0.0;
    }
    if x == 0.0 {
        return 1.0;
    }
    let s = (x * (std::f64::consts::PI / 3.0)).sin();
    let px = std::f64::consts::PI * x;
    3.0 * s * s * (3.0 - 4.0 * s * s) / (px * px)
}

#[cfg(test)]
mod tests {
    use super::{fr, lanczos3, lanczos3_filter};
    use std::f64::consts::PI;

    #[test]
    fn lanczos3_with_one_sine_resizes_to_the_same_pixels() {
        // fast_image_resize's own Lanczos3 and ours, on noise (every weight matters), over
        // shrinks and enlargements by odd and exact ratios, with and without a crop.
        let mut seed = 3u32;
        let (w, h) = (331u32, 29u32);
        let data: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let src = fr::images::ImageRef::new(w, h, &data, fr::PixelType::U8x3).expect("image");
        let mut resizer = fr::Resizer::new();
        let mut resize = |filter: fr::FilterType, out_w: u32, crop: (f64, f64)| {
            let mut dst = fr::images::Image::new(out_w, 7, fr::PixelType::U8x3);
            let options = fr::ResizeOptions::new()
                .resize_alg(fr::ResizeAlg::Convolution(filter))
                .crop(crop.0, 0.0, crop.1, f64::from(h));
            resizer.resize(&src, &mut dst, &options).expect("resize");
            dst.into_vec()
        };
        for out_w in (1..=700).step_by(3) {
            for crop in [(0.0, f64::from(w)), (10.25, 200.5)] {
                let theirs = resize(fr::FilterType::Lanczos3, out_w, crop);
                let ours = resize(lanczos3_filter().expect("filter"), out_w, crop);
                assert!(theirs == ours, "{out_w} px, crop {crop:?}");
            }
        }
    }

    #[test]
    fn lanczos3_with_one_sine_is_the_truncated_sinc() {
        let sinc = |x: f64| {
            if x == 0.0 {
                1.0
            } else {
                (PI * x).sin() / (PI * x)
            }
        };
        for i in -40_000..=40_000 {
            let x = f64::from(i) / 10_000.0 + 1e-7 * f64::from(i % 7);
            let want = if (-3.0..3.0).contains(&x) {
                sinc(x) * sinc(x / 3.0)
            } else {
                0.0
            };
            assert!(
                (lanczos3(x) - want).abs() < 1e-14,
                "{x}: {} against {want}",
                lanczos3(x)
            );
        }
        assert_eq!(lanczos3(0.0), 1.0);
        assert_eq!(lanczos3(3.0), 0.0);
        assert!(lanczos3(-3.0).abs() < 1e-15);
    }
}
