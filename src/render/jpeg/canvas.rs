//! The output canvas: each component's samples on its grid at the chosen scale, and where they
//! go. Colour-converted one MCU row (strip) at a time into RGB, or kept as one plane per
//! component for a caller that resizes next; and which of a block's coefficients that grid
//! needs at all.

use super::color::{ycc_to_rgb, ColorModel};
use super::idct::{aan_scale, Block, Grid};
use super::markers::{Component, Frame};
use super::tables::{Tables, ZIGZAG};
use super::{Declined, Image, Layout, Output, Plane, Planes};

/// Marks a zigzag position whose coefficient is not needed at the chosen scale.
pub(super) const SKIP: u8 = 0xFF;

/// Samples per block across and down for component `comp` at `eighths`/8 scale: interleaved
/// output puts every component on the largest grid; planes keep each component's own grid.
pub(super) fn grid(
    frame: &Frame,
    comp: &Component,
    eighths: usize,
    layout: Layout,
) -> (usize, usize) {
    match layout {
        Layout::Rgb => (eighths * frame.hmax / comp.h, eighths * frame.vmax / comp.v),
        Layout::Planes => (eighths, eighths),
    }
}

/// The zigzag positions (bit k for position k) of the coefficients a block evaluated at
/// `nx`×`ny` samples uses: those below `nx` across and `ny` down.
pub(super) fn corner(nx: usize, ny: usize) -> u64 {
    let mut mask = 0;
    for (k, &z) in ZIGZAG.iter().enumerate() {
        if usize::from(z) % 8 < nx && usize::from(z) / 8 < ny {
            mask |= 1 << k;
        }
    }
    mask
}

/// For a block that keeps the zigzag positions in `corner`: where each kept position goes
/// (its natural index, or `SKIP`), and for each position k the rows and columns the kept
/// positions up to k span ([`Sampler::extent`]).
fn keep_and_extent(corner: u64) -> ([u8; 64], [(u8, u8); 64]) {
    let mut keep = [SKIP; 64];
    let (mut extent, mut reach) = ([(1u8, 1u8); 64], (1u8, 1u8));
    for (k, &z) in ZIGZAG.iter().enumerate() {
        if corner >> k & 1 == 1 {
            keep[k] = z;
            reach = (reach.0.max(z / 8 + 1), reach.1.max(z % 8 + 1));
        }
        extent[k] = reach;
    }
    (keep, extent)
}

/// One component's output side: its sampling grid and where its samples go.
pub(super) struct Sampler {
    /// Blocks per MCU across and down.
    pub(super) h: usize,
    pub(super) v: usize,
    /// Output samples per block across and down, and how they are computed.
    grid: Grid,
    /// For each zigzag position: the natural index of the coefficient to keep, or `SKIP`.
    pub(super) keep: [u8; 64],
    /// For each zigzag position k: the rows and columns that the kept positions up to k
    /// span, so a block whose last kept non-zero coefficient is at k is non-zero only there.
    pub(super) extent: [(u8, u8); 64],
    /// The zigzag positions kept, in order.
    kept: Vec<u8>,
    /// Quantisers in zigzag order.
    pub(super) quant: [f32; 64],
    /// Samples, `stride` apart: the current MCU row ([`Layout::Rgb`]) or the whole plane
    /// ([`Layout::Planes`]).
    buf: Vec<u8>,
    stride: usize,
}

/// The output image, assembled from every component's samples: colour-converted one MCU row
/// (strip) at a time into RGB, or kept as one plane per component.
pub(super) struct Canvas {
    pub(super) samplers: Vec<Sampler>,
    model: ColorModel,
    layout: Layout,
    strip_rows: usize,
    /// Output size (of the largest component's grid).
    width: usize,
    height: usize,
    frame_size: (usize, usize),
    hmax: usize,
    vmax: usize,
    eighths: usize,
    /// RGB output ([`Layout::Rgb`] only).
    out: Vec<u8>,
}

impl Canvas {
    /// Declined for sampling factors that do not divide the largest ones, or a zero quantiser.
    pub(super) fn new(
        frame: &Frame,
        tables: &Tables,
        eighths: usize,
        layout: Layout,
    ) -> Result<Canvas, Declined> {
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        let strip_rows = vmax * eighths;
        let mut samplers = Vec::with_capacity(frame.comps.len());
        for comp in &frame.comps {
            if hmax % comp.h != 0 || vmax % comp.v != 0 {
                return Err(Declined::Unsupported("sampling factors that do not divide"));
            }
            let (nx, ny) = grid(frame, comp, eighths, layout);
            let corner = corner(nx, ny);
            let (keep, extent) = keep_and_extent(corner);
            let q = &tables.quant[comp.quant];
            if q.contains(&0) {
                return Err(Declined::Corrupt("a zero quantiser"));
            }
            // The 8×8 grid uses the butterfly transform, whose input scaling rides on the
            // quantisers.
            let mut quant = q.map(f32::from);
            if (nx, ny) == (8, 8) {
                for (k, &z) in ZIGZAG.iter().enumerate() {
                    quant[k] *= aan_scale(usize::from(z) / 8) * aan_scale(usize::from(z) % 8);
                }
            }
            let stride = frame.mcux * comp.h * nx;
            let rows = match layout {
                Layout::Rgb => strip_rows,
                Layout::Planes => frame.mcuy * comp.v * ny,
            };
            samplers.push(Sampler {
                h: comp.h,
                v: comp.v,
                grid: Grid::new(nx, ny),
                keep,
                extent,
                kept: (0..64).filter(|&k| keep[usize::from(k)] != SKIP).collect(),
                quant,
                buf: vec![0; stride * rows],
                stride,
            });
        }
        let (width, height) = (
            (frame.width * eighths).div_ceil(8),
            (frame.height * eighths).div_ceil(8),
        );
        let out = match layout {
            Layout::Rgb => vec![0u8; width * height * 3],
            Layout::Planes => Vec::new(),
        };
        Ok(Canvas {
            samplers,
            model: tables.color_model(frame),
            layout,
            strip_rows,
            width,
            height,
            frame_size: (frame.width, frame.height),
            hmax,
            vmax,
            eighths,
            out,
        })
    }

    /// Where block (`x`, `y`) of MCU (`mx`, `my`) of component `c` goes in its sampler's buffer.
    #[inline]
    pub(super) fn at(&self, c: usize, my: usize, mx: usize, x: usize, y: usize) -> usize {
        let s = &self.samplers[c];
        let row = match self.layout {
            Layout::Rgb => y * s.grid.ny,
            Layout::Planes => (my * s.v + y) * s.grid.ny,
        };
        row * s.stride + (mx * s.h + x) * s.grid.nx
    }

    /// Colour-converts the finished strip of MCU row `my` into the output (RGB layout; planes
    /// are already in place).
    pub(super) fn flush(&mut self, my: usize) {
        if self.layout == Layout::Planes {
            return;
        }
        let w = self.width;
        let first = my * self.strip_rows;
        let rows = self.strip_rows.min(self.height.saturating_sub(first));
        for r in 0..rows {
            let line = |c: usize| {
                let s = &self.samplers[c];
                &s.buf[r * s.stride..r * s.stride + w]
            };
            let dst = &mut self.out[(first + r) * w * 3..(first + r + 1) * w * 3];
            match self.model {
                ColorModel::Grey => {
                    for (o, &l) in dst.chunks_exact_mut(3).zip(line(0)) {
                        o.fill(l);
                    }
                }
                ColorModel::YCbCr => ycc_to_rgb(line(0), line(1), line(2), dst),
                ColorModel::Rgb => {
                    for (((o, &r), &g), &b) in dst
                        .as_chunks_mut::<3>()
                        .0
                        .iter_mut()
                        .zip(line(0))
                        .zip(line(1))
                        .zip(line(2))
                    {
                        *o = [r, g, b];
                    }
                }
            }
        }
    }

    pub(super) fn finish(self) -> Output {
        if self.layout == Layout::Rgb {
            return Output::Rgb(Image {
                w: self.width as u32,
                h: self.height as u32,
                data: self.out,
            });
        }
        let (fw, fh) = self.frame_size;
        let planes = self
            .samplers
            .into_iter()
            .map(|s| {
                // The samples that hold the image; the rest of the last MCUs is padding.
                let (sx, sy) = (s.h * self.eighths, s.v * self.eighths);
                let w = (fw * sx).div_ceil(8 * self.hmax).min(s.stride);
                let h = (fh * sy).div_ceil(8 * self.vmax);
                let mut data = s.buf;
                if w < s.stride {
                    for row in 1..h {
                        data.copy_within(row * s.stride..row * s.stride + w, row * w);
                    }
                }
                data.truncate(w * h);
                Plane {
                    w: w as u32,
                    h: h as u32,
                    data,
                    scale: (
                        sx as f64 / (8 * self.hmax) as f64,
                        sy as f64 / (8 * self.vmax) as f64,
                    ),
                }
            })
            .collect();
        Output::Planes(Planes {
            model: self.model,
            planes,
        })
    }
}

impl Sampler {
    /// Writes the samples of a block whose dequantised coefficients (natural order) are in
    /// `coef`, non-zero only in the first `rows` rows and `cols` columns, at `at`; then clears
    /// `coef` again.
    #[inline]
    pub(super) fn emit(&mut self, coef: &mut [f32; 64], rows: usize, cols: usize, at: usize) {
        let stride = self.stride;
        if let Some(out) = self.buf.get_mut(at..) {
            self.grid.idct(Block { coef, rows, cols }, out, stride);
        }
        // Whole rows: a fixed 32-byte store each, where filling `cols` of them was a call.
        debug_assert!(cols <= 8);
        for row in coef.as_chunks_mut::<8>().0.iter_mut().take(rows) {
            *row = [0.0; 8];
        }
    }

    /// The number of coefficients a block keeps (see [`corner`]).
    pub(super) fn kept_len(&self) -> usize {
        self.kept.len()
    }

    /// [`Sampler::emit`] for a block of quantised coefficients as a progressive decode
    /// stores them: the kept ones (see [`corner`]), in zigzag order. `coef` is all zeros on
    /// entry and on return.
    pub(super) fn emit_stored(&mut self, stored: &[i16], coef: &mut [f32; 64], at: usize) {
        let stored = &stored[..stored.len().min(self.kept.len())];
        // Bit i set when stored value i is not zero: eight at a time, as bytes of 0 or 1
        // whose low bits one multiplication gathers into the top byte. Most are zero, and a
        // bit scan per non-zero value costs less than a branch per value.
        let (eights, rest) = stored.as_chunks::<8>();
        let mut nonzero = 0u64;
        for (i, eight) in eights.iter().enumerate() {
            let bytes = u64::from_le_bytes(eight.map(|v| u8::from(v != 0)));
            nonzero |= (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i);
        }
        for (i, &v) in rest.iter().enumerate() {
            nonzero |= u64::from(v != 0) << (8 * eights.len() + i);
        }
        let mut last = 0;
        while nonzero != 0 {
            let i = nonzero.trailing_zeros() as usize & 63;
            nonzero &= nonzero - 1;
            let k = usize::from(self.kept[i]) & 63;
            coef[usize::from(self.keep[k]) & 63] = f32::from(stored[i]) * self.quant[k];
            last = k;
        }
        let (rows, cols) = self.extent[last];
        self.emit(coef, usize::from(rows), usize::from(cols), at);
    }
}

#[cfg(test)]
mod tests {
    use super::{corner, keep_and_extent, SKIP};

    /// A block's extent, read at its last kept non-zero coefficient, covers every kept
    /// non-zero coefficient, and is exact when the last one is the farthest.
    #[test]
    fn extent_covers_every_kept_coefficient_up_to_k() {
        for (nx, ny) in [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 4),
            (6, 6),
            (8, 8),
            (2, 1),
            (4, 8),
            (8, 4),
        ] {
            let (keep, extent) = keep_and_extent(corner(nx, ny));
            for k in 0..64 {
                // Every kept position up to k lies within extent[k], which lies in the grid.
                let (rows, cols) = (usize::from(extent[k].0), usize::from(extent[k].1));
                for &z in keep[..=k].iter().filter(|&&z| z != SKIP) {
                    let (row, col) = (usize::from(z / 8), usize::from(z % 8));
                    assert!(row < rows && col < cols, "{nx}x{ny} at {k}: {z} outside");
                    assert!(col < nx && row < ny, "{nx}x{ny}: {z} kept outside the grid");
                }
                assert!(rows <= ny.min(8) && cols <= nx.min(8), "{nx}x{ny} at {k}");
            }
            assert_eq!(extent[63], (ny.min(8) as u8, nx.min(8) as u8), "{nx}x{ny}");
        }
    }
}
