//! The inverse DCT at reduced size: a block's 8×8 coefficients describe a continuous
//! function over the block, and sampling it at the centres of an N×N grid instead of 8×8 is
//! the same sum with the cosines evaluated at those centres, using only the coefficients below
//! N in each direction (the higher ones are above the new grid's Nyquist frequency). A chroma
//! block that covers 2×2 luma blocks (4:2:0) is sampled on a grid twice as fine, which lands
//! its samples on the luma grid: upsampling comes for free and is exact within the block.
//! The sums run in `f32` with the level shift folded in and are rounded to the nearest
//! integer at the end (ties to even). Above 4×4 points they skip the rows and columns of
//! coefficients that are zero, which in photographs is most of them; up to 4×4 the whole
//! corner costs less as straight-line code.

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

/// The points a block is evaluated at: `nx`×`ny`, with each axis's [`basis`].
pub(super) struct Grid {
    pub(super) nx: usize,
    pub(super) ny: usize,
    bx: Vec<f32>,
    by: Vec<f32>,
}

/// A block's dequantised coefficients in natural order, non-zero only in its first `rows` rows
/// and `cols` columns.
#[derive(Clone, Copy)]
pub(super) struct Block<'a> {
    pub(super) coef: &'a [f32; 64],
    pub(super) rows: usize,
    pub(super) cols: usize,
}

impl Grid {
    pub(super) fn new(nx: usize, ny: usize) -> Grid {
        Grid {
            nx,
            ny,
            bx: basis(nx),
            by: basis(ny),
        }
    }

    /// Writes the `nx`×`ny` samples of `block` to `out`, `stride` apart.
    #[inline]
    pub(super) fn idct(&self, block: Block, out: &mut [u8], stride: usize) {
        let (nx, ny) = (self.nx, self.ny);
        let Block { coef, rows, cols } = block;
        if rows == 1 && cols == 1 {
            // A flat block: every basis value of coefficient 0 is the same.
            // The DC term is coefficient / 8 at every grid: exactly so here, as in the
            // butterflies and the DC-only decoder (the product of the two f32 basis values
            // is not exactly 1/8).
            let v = to_u8(coef[0] * 0.125 + SHIFT);
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
            (8, 8) => return idct_butterfly(coef, rows, cols, out, stride),
            (16, 16) => idct_fixed::<16, 16>,
            (2, 1) => idct_fixed::<2, 1>,
            (4, 2) => idct_fixed::<4, 2>,
            (8, 4) => idct_fixed::<8, 4>,
            (16, 8) => idct_fixed::<16, 8>,
            (1, 2) => idct_fixed::<1, 2>,
            (2, 4) => idct_fixed::<2, 4>,
            (4, 8) => idct_fixed::<4, 8>,
            (8, 16) => idct_fixed::<8, 16>,
            _ => return idct_any(self, block, out, stride),
        };
        f(self, block, out, stride)
    }
}

/// The level shift.
const SHIFT: f32 = 128.0;

/// [`Grid::idct`] for an `NX`×`NY` grid.
#[inline(always)]
fn idct_fixed<const NX: usize, const NY: usize>(
    grid: &Grid,
    block: Block,
    out: &mut [u8],
    stride: usize,
) {
    let (bx, by) = (&grid.bx, &grid.by);
    let Block { coef, rows, cols } = block;
    // Up to 4×4 points, the whole corner the grid reads (every coefficient outside the
    // non-zero one is zero) costs less as straight-line code than loops of variable length.
    let (rows, cols) = if NX <= 4 && NY <= 4 {
        debug_assert!(coef.chunks_exact(8).enumerate().all(|(v, row)| row
            .iter()
            .enumerate()
            .all(|(u, &c)| c == 0.0 || (v < rows && u < cols))));
        (NY, NX)
    } else {
        (rows, cols)
    };
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
            line[i] = to_u8(acc[i]);
        }
    }
}

/// The factor coefficient `u` of a row or column enters [`aan`] with: cos(uπ/16)·√2, and 1
/// for u = 0 (Arai, Agui and Nakajima's scaled transform). With both axes' factors folded into
/// the quantisers, the butterflies give 8 × the 2-D inverse DCT.
pub(super) fn aan_scale(u: usize) -> f32 {
    if u == 0 {
        1.0
    } else {
        ((u as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2) as f32
    }
}

/// Four lanes that a butterfly step treats alike: half a row of the block, so that the column
/// transform runs on four columns at once and vectorises. Four lanes fill a 128-bit register:
/// the eight of a butterfly's inputs then fit the sixteen registers of x86-64's SSE2 (eight
/// lanes spilled to the stack).
#[derive(Clone, Copy)]
struct Lanes([f32; 4]);

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

/// What the butterflies work on: one value (a row's pass) or lanes of them (the columns').
trait Points:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<f32, Output = Self>
{
}

impl<T> Points for T where
    T: Copy
        + std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<f32, Output = T>
{
}

/// The 8-point inverse DCT as AAN butterflies (5 multiplications and 29 additions) on inputs
/// scaled by [`aan_scale`]; the outputs are 2√2 × the transform's.
#[inline(always)]
fn aan<T: Points>(x: [T; 8]) -> [T; 8] {
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
    outputs([e0, e1, e2, e3], o7, o10, o11, o12)
}

/// The butterflies' last stage, shared by [`aan`] and [`aan_low`]: the odd part's rotation
/// finished and combined with the even part's four values into the eight outputs.
#[inline(always)]
fn outputs<T: Points>(e: [T; 4], o7: T, o10: T, o11: T, o12: T) -> [T; 8] {
    let [e0, e1, e2, e3] = e;
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

/// [`aan`] for inputs whose upper half (4 to 7) is zero, as a block's rows or columns past
/// the fourth usually are: the same operations less those on the zeros, so the same results
/// to the bit (up to the sign of a zero, which the level shift removes).
#[inline(always)]
fn aan_low<T: Points>(x: [T; 4]) -> [T; 8] {
    const SQRT_2: f32 = std::f32::consts::SQRT_2;
    // Even part: x4 = x6 = 0, so t10 = t11 = x0 and t13 = x2.
    let t12 = x[2] * SQRT_2 - x[2];
    let (e0, e3) = (x[0] + x[2], x[0] - x[2]);
    let (e1, e2) = (x[0] + t12, x[0] - t12);
    // Odd part: x5 = x7 = 0, so z13 = x3, z10 = −x3 and z11 = z12 = x1.
    let o7 = x[1] + x[3];
    let o11 = (x[1] - x[3]) * SQRT_2;
    let z5 = (x[1] - x[3]) * 1.847_759;
    let o10 = x[1] * 1.082_392_2 - z5;
    let o12 = z5 + x[3] * 2.613_126;
    outputs([e0, e1, e2, e3], o7, o10, o11, o12)
}

/// [`Grid::idct`] at 8/8 for coefficients scaled by [`aan_scale`] (the quantisers carry it):
/// rows of coefficients through scalar butterflies (the zero rows skipped, and the zero
/// right half of a row when `cols` ≤ 4), then the columns four at a time (with the zero
/// lower half left out when `rows` ≤ 4).
#[inline]
fn idct_butterfly(coef: &[f32; 64], rows: usize, cols: usize, out: &mut [u8], stride: usize) {
    // The butterflies for a zero upper half read only the first four inputs: a non-zero
    // coefficient outside `rows`×`cols` would be dropped.
    debug_assert!(coef.chunks_exact(8).enumerate().all(|(v, row)| row
        .iter()
        .enumerate()
        .all(|(u, &c)| c == 0.0 || (v < rows && u < cols))));
    let mut tmp = [[0.0f32; 8]; 8];
    let rows_in = tmp.iter_mut().zip(coef.as_chunks::<8>().0).take(rows);
    if cols <= 4 {
        for (t, row) in rows_in {
            *t = aan_low([row[0], row[1], row[2], row[3]]);
        }
    } else {
        for (t, row) in rows_in {
            *t = aan(*row);
        }
    }
    // The columns, four at a time.
    for half in [0, 4] {
        let column = |v: usize| Lanes(std::array::from_fn(|i| tmp[v][half + i]));
        let samples = if rows <= 4 {
            aan_low(std::array::from_fn(column))
        } else {
            aan(std::array::from_fn(column))
        };
        for (j, v) in samples.iter().enumerate() {
            let line: &mut [u8; 4] = (&mut out[j * stride + half..][..4])
                .try_into()
                .expect("4 wide");
            for (o, &x) in line.iter_mut().zip(&v.0) {
                *o = to_u8(x * 0.125 + SHIFT);
            }
        }
    }
}

/// `x` rounded to the nearest integer in 0..=255 (ties to even). Adding 2²³ leaves the
/// rounded integer in the low bits of the float's representation; unlike a float-to-integer
/// conversion, which must turn NaN into 0, that vectorises on every target.
#[inline(always)]
pub(super) fn to_u8(x: f32) -> u8 {
    (x.clamp(0.0, 255.0) + 8_388_608.0).to_bits() as u8
}

/// [`Grid::idct`] for any grid up to `MAX_POINTS` a side (4:1:1 and other rare sampling).
fn idct_any(grid: &Grid, block: Block, out: &mut [u8], stride: usize) {
    let Grid { nx, ny, .. } = *grid;
    let (bx, by) = (&grid.bx, &grid.by);
    let Block { coef, rows, cols } = block;
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
            *o = to_u8(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{aan, aan_low, aan_scale, idct_butterfly, idct_fixed, to_u8, Block, Grid};

    #[test]
    fn samples_round_to_nearest_ties_to_even_and_saturate() {
        for i in -400..=1200 {
            let x = i as f32 * 0.25;
            let want = x.round_ties_even().clamp(0.0, 255.0) as u8;
            assert_eq!(to_u8(x), want, "{x}");
        }
        assert_eq!(
            (to_u8(-0.0), to_u8(f32::INFINITY), to_u8(f32::NEG_INFINITY)),
            (0, 255, 0)
        );
        let _ = to_u8(f32::NAN); // any value, no panic
    }

    /// Up to 4×4 points the transform sums the whole corner; the result must be the one the
    /// sums over the non-zero rows and columns give (zeros add nothing).
    #[test]
    fn small_grids_sum_the_whole_corner_to_the_same_samples() {
        let mut seed = 99u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            f32::from((seed >> 16) as u16) / 65_535.0 * 2.0 - 1.0
        };
        for n in 1..=4 {
            let grid = Grid::new(n, n);
            for case in 0..100 {
                let (rows, cols) = (1 + case % n, 1 + (case / n) % n);
                if rows * cols == 1 {
                    continue; // a flat block: its own path, exact to 1/8
                }
                let mut coef = [0.0f32; 64];
                for v in 0..rows {
                    for u in 0..cols {
                        coef[v * 8 + u] = next() * 400.0;
                    }
                }
                let block = Block {
                    coef: &coef,
                    rows,
                    cols,
                };
                let mut fast = [0u8; 16];
                grid.idct(block, &mut fast, 4);
                let mut direct = [0u8; 16];
                super::idct_any(&grid, block, &mut direct, 4);
                for j in 0..n {
                    assert_eq!(
                        fast[j * 4..j * 4 + n],
                        direct[j * 4..j * 4 + n],
                        "{n}x{n} {case}"
                    );
                }
            }
        }
    }
    use crate::render::jpeg::tables::ZIGZAG;

    #[test]
    fn butterfly_transform_matches_the_direct_sums() {
        let (b8, mut seed) = (Grid::new(8, 8), 12_345u32);
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            f32::from((seed >> 16) as u16) / 65_535.0 * 2.0 - 1.0
        };
        for case in 0..200 {
            // Dense blocks, and blocks with a few low rows or columns (which take the
            // butterflies for a zero upper half), of photograph-like magnitudes.
            let rows = if case % 2 == 0 { 8 } else { 1 + case % 8 };
            let cols = if case % 3 == 0 { 8 } else { 1 + case / 3 % 8 };
            let mut coef = [0.0f32; 64];
            for (i, c) in coef.iter_mut().enumerate().take(rows * 8) {
                if i % 8 < cols {
                    let falloff = 1.0 + (i / 8 + i % 8) as f32;
                    *c = next() * 600.0 / falloff;
                }
            }
            let mut direct = [0u8; 64];
            let block = Block {
                coef: &coef,
                rows,
                cols,
            };
            idct_fixed::<8, 8>(&b8, block, &mut direct, 8);
            let mut scaled = coef;
            for &z in &ZIGZAG {
                let z = usize::from(z);
                scaled[z] *= aan_scale(z / 8) * aan_scale(z % 8);
            }
            let mut fast = [0u8; 64];
            idct_butterfly(&scaled, rows, cols, &mut fast, 8);
            for (i, (a, b)) in direct.iter().zip(&fast).enumerate() {
                assert!(a.abs_diff(*b) <= 1, "case {case}, sample {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn butterflies_for_a_zero_upper_half_give_the_same_bits() {
        let mut seed = 99u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (f32::from((seed >> 16) as u16) / 65_535.0 * 2.0 - 1.0) * 1000.0
        };
        for case in 0..10_000 {
            // Some inputs zero, as in sparse blocks.
            let low: [f32; 4] =
                std::array::from_fn(|i| if (case >> i) & 1 == 1 { 0.0 } else { next() });
            let full = [low[0], low[1], low[2], low[3], 0.0, 0.0, 0.0, 0.0];
            let (want, got) = (aan(full), aan_low(low));
            for (w, g) in want.iter().zip(&got) {
                // Equal as numbers: +0 and −0 may differ, which the level shift removes.
                assert!(w == g, "{low:?}: {want:?} against {got:?}");
            }
        }
    }
}
