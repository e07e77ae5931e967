//! Baseline JPEG decoded at any scale from 1/8 to 8/8 (see the parent module).
//!
//! The inverse DCT at reduced size: a block's 8×8 coefficients describe a continuous
//! function over the block, and sampling it at the centres of an N×N grid instead of 8×8 is
//! the same sum with the cosines evaluated at those centres, using only the coefficients below
//! N in each direction (the higher ones are above the new grid's Nyquist frequency). A chroma
//! block that covers 2×2 luma blocks (4:2:0) is sampled on a grid twice as fine, which lands
//! its samples on the luma grid: upsampling comes for free and is exact within the block.
//! The sums run in `f32` with the level shift and rounding folded in, and skip the rows and
//! columns of coefficients that are zero, which in photographs is most of them.

use super::{Bits, ColorModel, Decoded, Frame, Huffman, Layout, Pixels, Plane, Planes, Tables};

/// The natural (row-major) index of each zigzag position.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Marks a zigzag position whose coefficient is not needed at the chosen scale.
const SKIP: u8 = 0xFF;

/// The most samples a block is evaluated at along one axis: 8 × the largest subsampling (4).
const MAX_POINTS: usize = 32;

/// `basis[u * MAX_POINTS + i] = C(u)/2 · cos((2i+1)uπ / 2n)` for `n` points: the 1-D inverse
/// DCT of coefficient `u` sampled at the centre of output cell `i` of `n`. With the same factor
/// for the other axis the product carries the 2-D transform's 1/4.
fn basis(n: usize) -> Vec<f32> {
    let mut b = vec![0.0f32; 8 * MAX_POINTS];
    for u in 0..8 {
        let c = if u == 0 {
            std::f64::consts::FRAC_1_SQRT_2
        } else {
            1.0
        };
        for i in 0..n {
            let angle = ((2 * i + 1) * u) as f64 * std::f64::consts::PI / (2 * n) as f64;
            b[u * MAX_POINTS + i] = (c / 2.0 * angle.cos()) as f32;
        }
    }
    b
}

/// Samples per block across and down for component `comp` at `eighths`/8 scale: interleaved
/// output puts every component on the largest grid; planes keep each component's own grid.
pub(super) fn grid(
    frame: &Frame,
    comp: &super::Component,
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

/// One component's output side: its sampling grid and where its samples go.
pub(super) struct Sampler {
    /// Blocks per MCU across and down.
    pub(super) h: usize,
    pub(super) v: usize,
    /// Output samples per block across and down.
    nx: usize,
    ny: usize,
    /// For each zigzag position: the natural index of the coefficient to keep, or `SKIP`.
    keep: [u8; 64],
    /// The zigzag positions kept, in order.
    kept: Vec<u8>,
    /// Quantisers in zigzag order.
    quant: [f32; 64],
    bx: Vec<f32>,
    by: Vec<f32>,
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
    /// `None` for sampling factors that do not divide the largest ones, or a zero quantiser.
    pub(super) fn new(
        frame: &Frame,
        tables: &Tables,
        eighths: usize,
        layout: Layout,
    ) -> Option<Canvas> {
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        let strip_rows = vmax * eighths;
        let mut samplers = Vec::with_capacity(frame.comps.len());
        for comp in &frame.comps {
            if hmax % comp.h != 0 || vmax % comp.v != 0 {
                return None;
            }
            let (nx, ny) = grid(frame, comp, eighths, layout);
            let corner = corner(nx, ny);
            let mut keep = [SKIP; 64];
            for (k, &z) in ZIGZAG.iter().enumerate() {
                if corner >> k & 1 == 1 {
                    keep[k] = z;
                }
            }
            let q = &tables.quant[comp.quant];
            if q.contains(&0) {
                return None;
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
                nx,
                ny,
                keep,
                kept: (0..64).filter(|&k| keep[usize::from(k)] != SKIP).collect(),
                quant,
                bx: basis(nx),
                by: basis(ny),
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
        Some(Canvas {
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
            Layout::Rgb => y * s.ny,
            Layout::Planes => (my * s.v + y) * s.ny,
        };
        row * s.stride + (mx * s.h + x) * s.nx
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
                ColorModel::YCbCr => super::ycc_to_rgb(line(0), line(1), line(2), dst),
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

    pub(super) fn finish(self) -> Decoded {
        if self.layout == Layout::Rgb {
            let px = Pixels::new(self.width as u32, self.height as u32, 3, self.out);
            return Decoded::Pixels(px);
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
        Decoded::Planes(Planes {
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
    fn emit(&mut self, coef: &mut [f32; 64], rows: usize, cols: usize, at: usize) {
        let stride = self.stride;
        if let Some(out) = self.buf.get_mut(at..) {
            idct(
                coef, rows, cols, &self.bx, self.nx, &self.by, self.ny, out, stride,
            );
        }
        for row in coef.chunks_exact_mut(8).take(rows) {
            row[..cols].fill(0.0);
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
        let (mut rows, mut cols) = (1, 1);
        for (&k, &v) in self.kept.iter().zip(stored) {
            let k = usize::from(k);
            if v != 0 {
                let z = self.keep[k];
                coef[usize::from(z)] = f32::from(v) * self.quant[k];
                rows = rows.max(usize::from(z) / 8 + 1);
                cols = cols.max(usize::from(z) % 8 + 1);
            }
        }
        self.emit(coef, rows, cols, at);
    }
}

/// A component's entropy-decoding state in a baseline scan.
struct Channel<'t> {
    dc: &'t Huffman,
    ac: &'t Huffman,
    pred: i32,
}

/// Decodes the (single, all-component) scan whose header is `header` and whose entropy-coded
/// data starts at `pos`, at `eighths`/8 scale.
pub(super) fn decode(
    data: &[u8],
    pos: usize,
    header: &[u8],
    frame: &Frame,
    tables: &Tables,
    eighths: usize,
    layout: Layout,
) -> Option<Decoded> {
    let ns = usize::from(*header.first()?);
    let rest = header.get(1 + ns * 2..4 + ns * 2)?;
    // One scan with every component, in frame order, all 64 coefficients, no approximation.
    if ns != frame.comps.len() || rest != [0, 63, 0] {
        return None;
    }
    let mut channels = Vec::with_capacity(ns);
    for (i, comp) in frame.comps.iter().enumerate() {
        let (id, selectors) = (*header.get(1 + i * 2)?, *header.get(2 + i * 2)?);
        if id != comp.id {
            return None;
        }
        channels.push(Channel {
            dc: tables.dc.get(usize::from(selectors >> 4))?.as_ref()?,
            ac: tables.ac.get(usize::from(selectors & 15))?.as_ref()?,
            pred: 0,
        });
    }
    let mut canvas = Canvas::new(frame, tables, eighths, layout)?;
    let mut bits = Bits::new(data, pos);
    let mut coef = [0.0f32; 64];
    let restart_interval = tables.restart_interval;
    let mut mcus_left = restart_interval;
    for my in 0..frame.mcuy {
        for mx in 0..frame.mcux {
            if restart_interval > 0 {
                if mcus_left == 0 {
                    if !bits.restart() {
                        return None;
                    }
                    channels.iter_mut().for_each(|c| c.pred = 0);
                    mcus_left = restart_interval;
                }
                mcus_left -= 1;
            }
            for (c, ch) in channels.iter_mut().enumerate() {
                let (h, v) = (canvas.samplers[c].h, canvas.samplers[c].v);
                for y in 0..v {
                    for x in 0..h {
                        let at = canvas.at(c, my, mx, x, y);
                        let sampler = &mut canvas.samplers[c];
                        ch.block(&mut bits, sampler, &mut coef, at)?;
                    }
                }
            }
        }
        canvas.flush(my);
    }
    if bits.overran() {
        // The data ended (or a marker came) before the last MCU: cut short or corrupt.
        return None;
    }
    Some(canvas.finish())
}

impl Channel<'_> {
    /// Entropy-decodes one block, and writes its samples into the sampler's strip at `at`.
    /// `coef` is all zeros on entry and on return.
    #[inline]
    fn block(
        &mut self,
        bits: &mut Bits,
        s: &mut Sampler,
        coef: &mut [f32; 64],
        at: usize,
    ) -> Option<()> {
        bits.refill();
        let size = self.dc.decode(bits)?;
        if size > 11 {
            return None;
        }
        self.pred += bits.receive_extend(size);
        coef[0] = self.pred as f32 * s.quant[0];
        // Rows and columns of coefficients that hold a non-zero value.
        let (mut rows, mut cols) = (1, 1);
        let mut k = 1;
        while k < 64 {
            if bits.count < 32 {
                bits.refill();
            }
            let (run, value) = self.ac.decode_ac(bits)?;
            if value == 0 {
                if run != 15 {
                    break; // end of block
                }
                k += 16;
                continue;
            }
            k += run;
            let z = *s.keep.get(k)?;
            if z != SKIP {
                coef[usize::from(z)] = value as f32 * s.quant[k];
                rows = rows.max(usize::from(z) / 8 + 1);
                cols = cols.max(usize::from(z) % 8 + 1);
            }
            k += 1;
        }
        s.emit(coef, rows, cols, at);
        Some(())
    }
}

/// Writes the `nx`×`ny` samples of a block whose non-zero coefficients lie in its first `rows`
/// rows and `cols` columns (natural order, dequantised) to `out`, `stride` apart.
#[allow(clippy::too_many_arguments)]
#[inline]
fn idct(
    coef: &[f32; 64],
    rows: usize,
    cols: usize,
    bx: &[f32],
    nx: usize,
    by: &[f32],
    ny: usize,
    out: &mut [u8],
    stride: usize,
) {
    if rows == 1 && cols == 1 {
        // A flat block: every basis value of coefficient 0 is the same.
        let v = (coef[0] * bx[0] * by[0] + SHIFT) as u8;
        for line in out.chunks_mut(stride).take(ny) {
            line[..nx].fill(v);
        }
        return;
    }
    // Fixed sizes let the compiler unroll and vectorise the sums: square grids, and the
    // 2:1 grids of 4:2:2 and 4:4:0 chroma.
    let f = match (nx, ny) {
        (1, 1) => idct_fixed::<1, 1>,
        (2, 2) => idct_fixed::<2, 2>,
        (3, 3) => idct_fixed::<3, 3>,
        (4, 4) => idct_fixed::<4, 4>,
        (5, 5) => idct_fixed::<5, 5>,
        (6, 6) => idct_fixed::<6, 6>,
        (7, 7) => idct_fixed::<7, 7>,
        (8, 8) => return idct_butterfly(coef, rows, out, stride),
        (16, 16) => idct_fixed::<16, 16>,
        (2, 1) => idct_fixed::<2, 1>,
        (4, 2) => idct_fixed::<4, 2>,
        (8, 4) => idct_fixed::<8, 4>,
        (16, 8) => idct_fixed::<16, 8>,
        (1, 2) => idct_fixed::<1, 2>,
        (2, 4) => idct_fixed::<2, 4>,
        (4, 8) => idct_fixed::<4, 8>,
        (8, 16) => idct_fixed::<8, 16>,
        _ => return idct_any(coef, rows, cols, bx, nx, by, ny, out, stride),
    };
    f(coef, rows, cols, bx, by, out, stride)
}

/// 128 is the level shift; 0.5 makes the saturating `as u8` below round to nearest.
const SHIFT: f32 = 128.5;

/// [`idct`] for an `NX`×`NY` grid.
#[inline(always)]
fn idct_fixed<const NX: usize, const NY: usize>(
    coef: &[f32; 64],
    rows: usize,
    cols: usize,
    bx: &[f32],
    by: &[f32],
    out: &mut [u8],
    stride: usize,
) {
    // Horizontal pass: tmp[v][i] = Σ_u coef[v][u] · bx[u][i]. Zeros inside the non-zero
    // corner are multiplied rather than tested: a branch per coefficient mispredicts more
    // than it saves.
    let mut tmp = [[0.0f32; NX]; 8];
    for (t, row) in tmp.iter_mut().zip(coef.chunks_exact(8)).take(rows) {
        for (u, &c) in row.iter().enumerate().take(cols) {
            let b: &[f32; NX] = bx[u * MAX_POINTS..][..NX].try_into().expect("NX wide");
            for i in 0..NX {
                t[i] += c * b[i];
            }
        }
    }
    // Vertical pass: out[j][i] = Σ_v by[v][j] · tmp[v][i] + 128.
    for j in 0..NY {
        let mut acc = [SHIFT; NX];
        for (v, t) in tmp.iter().enumerate().take(rows) {
            let b = by[v * MAX_POINTS + j];
            for i in 0..NX {
                acc[i] += b * t[i];
            }
        }
        let line: &mut [u8; NX] = (&mut out[j * stride..][..NX]).try_into().expect("NX wide");
        for i in 0..NX {
            // Clamped first, the conversion vectorises (a bare saturating `as u8` does not).
            line[i] = acc[i].clamp(0.0, 255.0) as i32 as u8;
        }
    }
}

/// The factor coefficient `u` of a row or column enters [`aan`] with: cos(uπ/16)·√2, and 1
/// for u = 0 (Arai, Agui and Nakajima's scaled transform). With both axes' factors folded into
/// the quantisers, the butterflies give 8 × the 2-D inverse DCT.
fn aan_scale(u: usize) -> f32 {
    if u == 0 {
        1.0
    } else {
        ((u as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2) as f32
    }
}

/// Eight lanes that a butterfly step treats alike: a whole row of the block, so that the
/// column transform runs on all eight columns at once and vectorises.
#[derive(Clone, Copy)]
struct Lanes([f32; 8]);

impl std::ops::Add for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn add(self, o: Lanes) -> Lanes {
        Lanes(std::array::from_fn(|i| self.0[i] + o.0[i]))
    }
}

impl std::ops::Sub for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn sub(self, o: Lanes) -> Lanes {
        Lanes(std::array::from_fn(|i| self.0[i] - o.0[i]))
    }
}

impl std::ops::Mul<f32> for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn mul(self, k: f32) -> Lanes {
        Lanes(std::array::from_fn(|i| self.0[i] * k))
    }
}

/// The 8-point inverse DCT as AAN butterflies (5 multiplications and 29 additions) on inputs
/// scaled by [`aan_scale`]; the outputs are 2√2 × the transform's.
#[inline(always)]
fn aan<T>(x: [T; 8]) -> [T; 8]
where
    T: Copy
        + std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<f32, Output = T>,
{
    const SQRT_2: f32 = std::f32::consts::SQRT_2;
    // Even part: inputs 0, 2, 4, 6.
    let (t10, t11) = (x[0] + x[4], x[0] - x[4]);
    let t13 = x[2] + x[6];
    let t12 = (x[2] - x[6]) * SQRT_2 - t13;
    let (e0, e3) = (t10 + t13, t10 - t13);
    let (e1, e2) = (t11 + t12, t11 - t12);
    // Odd part: inputs 1, 3, 5, 7.
    let (z13, z10) = (x[5] + x[3], x[5] - x[3]);
    let (z11, z12) = (x[1] + x[7], x[1] - x[7]);
    let o7 = z11 + z13;
    let o11 = (z11 - z13) * SQRT_2;
    let z5 = (z10 + z12) * 1.847_759; // 2·cos(π/8)
    let o10 = z12 * 1.082_392_2 - z5; // 2·(cos(π/8) − cos(3π/8))
    let o12 = z5 - z10 * 2.613_126; // 2·(cos(π/8) + cos(3π/8))
    let o6 = o12 - o7;
    let o5 = o11 - o6;
    let o4 = o10 + o5;
    [
        e0 + o7,
        e1 + o6,
        e2 + o5,
        e3 - o4,
        e3 + o4,
        e2 - o5,
        e1 - o6,
        e0 - o7,
    ]
}

/// [`idct`] at 8/8 for coefficients scaled by [`aan_scale`] (the quantisers carry it): rows of
/// coefficients through scalar butterflies (the zero rows skipped), then all columns at once.
#[inline]
fn idct_butterfly(coef: &[f32; 64], rows: usize, out: &mut [u8], stride: usize) {
    let mut tmp = [Lanes([0.0; 8]); 8];
    for (t, row) in tmp.iter_mut().zip(coef.chunks_exact(8)).take(rows) {
        let row: [f32; 8] = row.try_into().expect("8 wide");
        t.0 = aan(row);
    }
    for (j, v) in aan(tmp).iter().enumerate() {
        let line: &mut [u8; 8] = (&mut out[j * stride..][..8]).try_into().expect("8 wide");
        for (o, &x) in line.iter_mut().zip(&v.0) {
            *o = (x * 0.125 + SHIFT).clamp(0.0, 255.0) as i32 as u8;
        }
    }
}

/// [`idct`] for any grid up to `MAX_POINTS` a side (4:1:1 and other rare sampling).
#[allow(clippy::too_many_arguments)]
fn idct_any(
    coef: &[f32; 64],
    rows: usize,
    cols: usize,
    bx: &[f32],
    nx: usize,
    by: &[f32],
    ny: usize,
    out: &mut [u8],
    stride: usize,
) {
    let mut tmp = [[0.0f32; MAX_POINTS]; 8];
    for (t, row) in tmp.iter_mut().zip(coef.chunks_exact(8)).take(rows) {
        for (u, &c) in row.iter().enumerate().take(cols) {
            let b = &bx[u * MAX_POINTS..u * MAX_POINTS + nx];
            for (t, &b) in t.iter_mut().zip(b) {
                *t += c * b;
            }
        }
    }
    for (j, line) in out.chunks_mut(stride).take(ny).enumerate() {
        let mut acc = [SHIFT; MAX_POINTS];
        for (v, t) in tmp.iter().enumerate().take(rows) {
            let b = by[v * MAX_POINTS + j];
            for (a, &t) in acc.iter_mut().zip(&t[..nx]) {
                *a += b * t;
            }
        }
        for (o, &a) in line[..nx].iter_mut().zip(acc.iter()) {
            *o = a as u8;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::decode;

    /// A test card with a sharp edge and fine detail in luma and smooth chroma (chroma
    /// upsampling differs between decoders by design; on smooth chroma they agree).
    fn card(w: u32, h: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let edge = if x * 3 > w { 60.0 } else { 0.0 };
                    let fine = if (x / 2 + y / 3) % 2 == 0 { 25.0 } else { 0.0 };
                    let luma = 60.0 + f64::from(x * 80 / w) + edge + fine;
                    let cb = f64::from(x) / f64::from(w) * 60.0 - 30.0;
                    let cr = f64::from(y) / f64::from(h) * 60.0 - 30.0;
                    [
                        luma + 1.402 * cr,
                        luma - 0.344_136 * cb - 0.714_136 * cr,
                        luma + 1.772 * cb,
                    ]
                    .map(|v| v.round().clamp(0.0, 255.0) as u8)
                })
            })
            .collect()
    }

    pub(crate) fn encode(
        w: u32,
        h: u32,
        sampling: jpeg_encoder::SamplingFactor,
        restarts: u16,
    ) -> Vec<u8> {
        let mut jpeg = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
        enc.set_sampling_factor(sampling);
        if restarts > 0 {
            enc.set_restart_interval(restarts);
        }
        enc.encode(
            &card(w, h),
            w as u16,
            h as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
        jpeg
    }

    /// jpeg-decoder's decode at the same scale, as RGB.
    fn reference(jpeg: &[u8], eighths: usize) -> (usize, usize, Vec<u8>) {
        let mut d = jpeg_decoder::Decoder::new(jpeg);
        d.read_info().unwrap();
        let info = d.info().unwrap();
        let want = |side: u16| (usize::from(side) * eighths).div_ceil(8) as u16;
        d.scale(want(info.width), want(info.height)).unwrap();
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        let (w, h) = (usize::from(info.width), usize::from(info.height));
        let px = if px.len() == w * h {
            px.iter().flat_map(|&l| [l, l, l]).collect()
        } else {
            px
        };
        (w, h, px)
    }

    /// The `fw`×`fh` RGB image `full` taken to `eighths`/8 the way a scaled inverse DCT does
    /// it, computed independently of the decoder (in `f64`, from the definitions): each 8×8
    /// block of each channel through the forward DCT, then its N×N low corner evaluated at the
    /// centres of an N×N grid. Edge blocks are padded by repeating the last row and column, as
    /// encoders pad them. At 1/8 this is the block average.
    #[allow(clippy::needless_range_loop)] // the sums read as the formulas do
    fn dct_resampled(full: &[u8], fw: usize, fh: usize, eighths: usize) -> Vec<u8> {
        use std::f64::consts::{FRAC_1_SQRT_2, PI};
        let n = eighths;
        let (w, h) = ((fw * n).div_ceil(8), (fh * n).div_ceil(8));
        let c = |u: usize| if u == 0 { FRAC_1_SQRT_2 } else { 1.0 };
        // fwd[u][x]: forward 8-point basis; inv[u][i]: the same frequency at N points.
        let fwd: Vec<[f64; 8]> = (0..8)
            .map(|u| {
                std::array::from_fn(|x| c(u) / 2.0 * (((2 * x + 1) * u) as f64 * PI / 16.0).cos())
            })
            .collect();
        let inv: Vec<Vec<f64>> = (0..n)
            .map(|u| {
                (0..n)
                    .map(|i| c(u) / 2.0 * (((2 * i + 1) * u) as f64 * PI / (2 * n) as f64).cos())
                    .collect()
            })
            .collect();
        let mut out = vec![0u8; w * h * 3];
        for by in 0..fh.div_ceil(8) {
            for bx in 0..fw.div_ceil(8) {
                for ch in 0..3 {
                    let px = |x: usize, y: usize| {
                        let (x, y) = ((bx * 8 + x).min(fw - 1), (by * 8 + y).min(fh - 1));
                        f64::from(full[(y * fw + x) * 3 + ch]) - 128.0
                    };
                    // Forward, rows then columns, keeping the N lowest frequencies.
                    let mut rows = [[0.0f64; 8]; 8];
                    for (y, row) in rows.iter_mut().enumerate() {
                        for (u, r) in row.iter_mut().enumerate().take(n) {
                            *r = (0..8).map(|x| fwd[u][x] * px(x, y)).sum();
                        }
                    }
                    let mut coef = [[0.0f64; 8]; 8];
                    for (v, crow) in coef.iter_mut().enumerate().take(n) {
                        for (u, cv) in crow.iter_mut().enumerate().take(n) {
                            *cv = (0..8).map(|y| fwd[v][y] * rows[y][u]).sum();
                        }
                    }
                    // Inverse at N points, rows then columns.
                    let mut tmp = [[0.0f64; 8]; 8];
                    for (t, crow) in tmp.iter_mut().zip(&coef).take(n) {
                        for (i, t) in t.iter_mut().enumerate().take(n) {
                            *t = (0..n).map(|u| crow[u] * inv[u][i]).sum();
                        }
                    }
                    for j in 0..n {
                        for i in 0..n {
                            let (x, y) = (bx * n + i, by * n + j);
                            if x < w && y < h {
                                let s: f64 = (0..n).map(|v| inv[v][j] * tmp[v][i]).sum();
                                let s = (s + 128.0).round().clamp(0.0, 255.0);
                                out[(y * w + x) * 3 + ch] = s as u8;
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn mean_diff(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> f64 {
        let (sum, n) = a
            .zip(b)
            .fold((0.0, 0), |(s, n), (a, b)| (s + (a - b).abs(), n + 1));
        sum / f64::from(n.max(1))
    }

    fn luma(rgb: &[u8]) -> impl Iterator<Item = f64> + '_ {
        rgb.chunks_exact(3)
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
    }

    /// Checks our decode at every scale (1/8 to 8/8) against jpeg-decoder: luma against its
    /// decode at the same scale where it has one (1/8, 2/8, 4/8, 8/8: the same transform, so
    /// equal up to rounding), and colour, at every scale, against its full decode resampled by
    /// [`dct_resampled`] (jpeg-decoder repeats chroma samples when it scales, so its scaled
    /// colour is not a reference; ours is exact within a block).
    pub(crate) fn assert_matches_reference(jpeg: &[u8], label: &str, limit: f64) {
        let (fw, fh, full) = reference(jpeg, 8);
        for eighths in (1..=8).rev() {
            let ours = decode(jpeg, eighths).unwrap_or_else(|| panic!("{label}: not decoded"));
            let (w, h) = ((fw * eighths).div_ceil(8), (fh * eighths).div_ceil(8));
            assert_eq!(
                (ours.w as usize, ours.h as usize),
                (w, h),
                "{label} {eighths}/8"
            );
            // jpeg-decoder scales by 1/2, 1/4 and 1/8 only; every scale has the resampled
            // full decode.
            let resampled = dct_resampled(&full, fw, fh, eighths);
            let theirs = match eighths {
                1 | 2 | 4 | 8 => reference(jpeg, eighths).2,
                _ => resampled.clone(),
            };
            let luma_diff = mean_diff(luma(&ours.data), luma(&theirs));
            assert!(
                luma_diff < 1.0,
                "{label} at {eighths}/8: mean luma difference {luma_diff:.2} from jpeg-decoder"
            );
            let rgb_diff = mean_diff(
                ours.data.iter().map(|&v| f64::from(v)),
                resampled.iter().map(|&v| f64::from(v)),
            );
            assert!(
                rgb_diff < limit,
                "{label} at {eighths}/8: mean difference {rgb_diff:.2} from jpeg-decoder's full decode, resampled"
            );
        }
    }

    #[test]
    fn matches_the_general_decoder_at_every_scale_and_sampling() {
        use jpeg_encoder::SamplingFactor as S;
        for (w, h) in [(640u32, 480u32), (333, 517), (17, 9), (1, 1)] {
            for sampling in [S::R_4_4_4, S::R_4_2_2, S::R_4_2_0, S::R_4_4_0] {
                let jpeg = encode(w, h, sampling, 0);
                // Anything wrong (a shifted block, a swapped channel) is far above this; in
                // tiny images the decoders' different chroma upsampling weighs more.
                let limit = if w < 64 { 4.0 } else { 2.0 };
                assert_matches_reference(&jpeg, &format!("{w}x{h} {sampling:?}"), limit);
            }
        }
    }

    #[test]
    fn butterfly_transform_matches_the_direct_sums() {
        use super::{aan_scale, basis, idct_butterfly, idct_fixed, ZIGZAG};
        let (b8, mut seed) = (basis(8), 12_345u32);
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            f32::from((seed >> 16) as u16) / 65_535.0 * 2.0 - 1.0
        };
        for case in 0..200 {
            // Dense blocks, and blocks with a few low rows, of photograph-like magnitudes.
            let rows = if case % 2 == 0 { 8 } else { 1 + case % 8 };
            let mut coef = [0.0f32; 64];
            for (i, c) in coef.iter_mut().enumerate().take(rows * 8) {
                let falloff = 1.0 + (i / 8 + i % 8) as f32;
                *c = next() * 600.0 / falloff;
            }
            let mut direct = [0u8; 64];
            idct_fixed::<8, 8>(&coef, rows, 8, &b8, &b8, &mut direct, 8);
            let mut scaled = coef;
            for &z in &ZIGZAG {
                let z = usize::from(z);
                scaled[z] *= aan_scale(z / 8) * aan_scale(z % 8);
            }
            let mut fast = [0u8; 64];
            idct_butterfly(&scaled, rows, &mut fast, 8);
            for (i, (a, b)) in direct.iter().zip(&fast).enumerate() {
                assert!(a.abs_diff(*b) <= 1, "case {case}, sample {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn one_scan_per_component_is_left_to_the_general_decoder() {
        // jpeg-encoder writes 4:1:1 as three scans; libjpeg never does for baseline.
        let jpeg = encode(64, 48, jpeg_encoder::SamplingFactor::R_4_1_1, 0);
        assert_eq!(jpeg.windows(2).filter(|w| w == &[0xFF, 0xDA]).count(), 3);
        assert!(decode(&jpeg, 8).is_none());
    }

    #[test]
    fn restart_intervals_and_greyscale() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(300, 200, S::R_4_2_0, 3);
        assert_matches_reference(&jpeg, "restarts", 1.5);
        let mut grey = Vec::new();
        let luma: Vec<u8> = card(123, 77).chunks_exact(3).map(|p| p[1]).collect();
        jpeg_encoder::Encoder::new(&mut grey, 85)
            .encode(&luma, 123, 77, jpeg_encoder::ColorType::Luma)
            .unwrap();
        assert_matches_reference(&grey, "greyscale", 2.0);
    }

    #[test]
    fn matches_the_general_decoder_on_installed_photographs() {
        for (name, jpeg) in super::super::installed_photographs(false) {
            assert_matches_reference(&jpeg, &name, 1.5);
        }
    }

    #[test]
    fn damaged_files_are_left_to_the_general_decoder() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(256, 256, S::R_4_2_0, 0);
        // Cut in the middle of the entropy-coded data.
        assert!(decode(&jpeg[..jpeg.len() / 2], 4).is_none());
        // A marker in the middle of the data.
        let mut marked = jpeg.clone();
        let mid = marked.len() * 2 / 3;
        marked[mid] = 0xFF;
        marked[mid + 1] = 0xD9;
        assert!(decode(&marked, 4).is_none());
        // Any single-byte change never panics; whatever decodes has the promised size.
        for i in (0..jpeg.len()).step_by(7) {
            let mut bad = jpeg.clone();
            bad[i] ^= 0x5A;
            if let Some(p) = decode(&bad, 2) {
                assert_eq!((p.w, p.h, p.data.len()), (64, 64, 64 * 64 * 3));
            }
        }
    }
}
