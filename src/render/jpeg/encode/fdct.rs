//! The forward DCT and quantisation of one 8×8 block.
//!
//! The transform is the Arai–Agui–Nakajima factorisation (Pennebaker & Mitchell, *JPEG Still
//! Image Data Compression Standard*, §4.3.5) in `f32`: 5 multiplications per 8 points, with
//! the per-coefficient scale factors it leaves folded into the quantiser, so quantising is a
//! multiplication instead of a division. Both passes work on whole rows of eight lanes: the
//! first transforms the columns (each lane a column), then the block is transposed and the
//! same code transforms the rows. The result stays transposed, and the quantiser reads it in
//! that order.

use std::ops::{Add, Mul, Sub};

/// Eight `f32` lanes, one per column; the operators work lane by lane, which the compiler
/// turns into vector instructions.
#[derive(Clone, Copy, Default)]
pub(super) struct Lanes(pub(super) [f32; 8]);

impl Add for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn add(self, o: Lanes) -> Lanes {
        let mut r = self.0;
        for (r, o) in r.iter_mut().zip(o.0) {
            *r += o;
        }
        Lanes(r)
    }
}

impl Sub for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn sub(self, o: Lanes) -> Lanes {
        let mut r = self.0;
        for (r, o) in r.iter_mut().zip(o.0) {
            *r -= o;
        }
        Lanes(r)
    }
}

impl Mul<f32> for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn mul(self, k: f32) -> Lanes {
        let mut r = self.0;
        for r in &mut r {
            *r *= k;
        }
        Lanes(r)
    }
}

/// The AAN 1-D DCT of eight points, each point a row of lanes. Output `k` is the DCT
/// coefficient `k` times `AAN_SCALE[k]·√8`.
#[inline(always)]
fn dct8(d: &mut [Lanes; 8]) {
    let t0 = d[0] + d[7];
    let t7 = d[0] - d[7];
    let t1 = d[1] + d[6];
    let t6 = d[1] - d[6];
    let t2 = d[2] + d[5];
    let t5 = d[2] - d[5];
    let t3 = d[3] + d[4];
    let t4 = d[3] - d[4];

    // Even part: a 4-point DCT of the sums.
    let e0 = t0 + t3;
    let e3 = t0 - t3;
    let e1 = t1 + t2;
    let e2 = t1 - t2;
    d[0] = e0 + e1;
    d[4] = e0 - e1;
    let z1 = (e2 + e3) * std::f32::consts::FRAC_1_SQRT_2;
    d[2] = e3 + z1;
    d[6] = e3 - z1;

    // Odd part: a rotation of the differences.
    let o0 = t4 + t5;
    let o1 = t5 + t6;
    let o2 = t6 + t7;
    let z5 = (o0 - o2) * 0.382_683_43; // cos(3π/8)
    let z2 = o0 * 0.541_196_1 + z5; // cos(π/8) − cos(3π/8)
    let z4 = o2 * 1.306_563 + z5; // cos(π/8) + cos(3π/8)
    let z3 = o1 * std::f32::consts::FRAC_1_SQRT_2;
    let z11 = t7 + z3;
    let z13 = t7 - z3;
    d[5] = z13 + z2;
    d[3] = z13 - z2;
    d[1] = z11 + z4;
    d[7] = z11 - z4;
}

/// `AAN_SCALE[k] = √2·cos(kπ/16)` (1 for k = 0): the factor [`dct8`] leaves on output `k`.
const AAN_SCALE: [f64; 8] = [
    1.0,
    1.387_039_845,
    1.306_562_965,
    1.175_875_602,
    1.0,
    0.785_694_958,
    0.541_196_100,
    0.275_899_379,
];

/// Transforms `block` (level-shifted samples, row-major) in place; the result is transposed:
/// `block[u][v]` holds horizontal frequency `u`, vertical frequency `v`, still carrying the
/// AAN factors that [`Quantizer`] removes.
#[inline]
pub(super) fn fdct(block: &mut [Lanes; 8]) {
    dct8(block);
    let mut t = [Lanes::default(); 8];
    for (r, row) in block.iter().enumerate() {
        for (c, v) in row.0.iter().enumerate() {
            t[c].0[r] = *v;
        }
    }
    dct8(&mut t);
    *block = t;
}

/// A quantisation table prepared for [`fdct`]'s output: one multiplier per coefficient, in
/// the transposed order the transform leaves them in.
pub(super) struct Quantizer {
    scale: [f32; 64],
}

/// The quantised coefficients are kept within ±1023: the largest magnitude baseline JPEG can
/// code for an AC coefficient (category 10), reached only at quality 100 on extreme blocks.
const LIMIT: f32 = 1023.0;

impl Quantizer {
    /// `table`: the quantisers in natural (row-major) order, as DQT's values.
    pub(super) fn new(table: &[u16; 64]) -> Quantizer {
        let mut scale = [0.0f32; 64];
        for (n, q) in table.iter().enumerate() {
            let (v, u) = (n / 8, n % 8);
            // The JPEG DCT is 1/8 of two AAN passes' √8·√8 = 8, times the AAN factors.
            let divisor = f64::from(*q) * AAN_SCALE[u] * AAN_SCALE[v] * 8.0;
            scale[u * 8 + v] = (1.0 / divisor) as f32;
        }
        Quantizer { scale }
    }

    /// Quantises a transformed block: `out[i]` is coefficient `(v, u) = (i % 8, i / 8)`
    /// (transposed, as [`fdct`] leaves it), rounded to the nearest integer.
    #[inline]
    pub(super) fn quantize(&self, block: &[Lanes; 8], out: &mut [i16; 64]) {
        // Adding 1.5·2²³ puts the integer part in the low mantissa bits (rounding to
        // nearest, ties to even); any |x| < 2²² survives, and ±1023 is far inside.
        const MAGIC: f32 = 12_582_912.0;
        let magic_bits = MAGIC.to_bits() as i32;
        for (r, (row, out)) in block.iter().zip(out.as_chunks_mut::<8>().0).enumerate() {
            let scale = &self.scale[r * 8..][..8];
            for ((o, v), s) in out.iter_mut().zip(row.0).zip(scale) {
                let x = (v * s).clamp(-LIMIT, LIMIT);
                *o = ((x + MAGIC).to_bits() as i32 - magic_bits) as i16;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JPEG forward DCT by its definition (ITU T.81, A.3.3), in f64.
    fn reference(samples: &[f64; 64]) -> [f64; 64] {
        let c = |k: usize| {
            if k == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        let mut out = [0.0; 64];
        for v in 0..8 {
            for u in 0..8 {
                let mut sum = 0.0;
                for y in 0..8 {
                    for x in 0..8 {
                        let cx = ((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0;
                        let cy = ((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0;
                        sum += samples[y * 8 + x] * cx.cos() * cy.cos();
                    }
                }
                out[v * 8 + u] = 0.25 * c(u) * c(v) * sum;
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_within_rounding() {
        // Blocks from smooth to noisy, with the extremes of the level-shifted range.
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % 256
        };
        let blocks: Vec<[f64; 64]> = (0..40)
            .map(|b| {
                std::array::from_fn(|i| match b {
                    0 => -128.0,
                    1 => 127.0,
                    2 => (i % 8 * 30) as f64 - 128.0,
                    3 => {
                        if (i / 8 + i) % 2 == 0 {
                            127.0
                        } else {
                            -128.0
                        }
                    }
                    _ => f64::from(next()) - 128.0,
                })
            })
            .collect();
        let ones = [1u16; 64];
        let q = Quantizer::new(&ones);
        for samples in &blocks {
            let mut lanes = [Lanes::default(); 8];
            for (r, row) in lanes.iter_mut().enumerate() {
                for c in 0..8 {
                    row.0[c] = samples[r * 8 + c] as f32;
                }
            }
            fdct(&mut lanes);
            let mut out = [0i16; 64];
            q.quantize(&lanes, &mut out);
            let want = reference(samples);
            for v in 0..8 {
                for u in 0..8 {
                    let got = f64::from(out[u * 8 + v]);
                    let exact = want[v * 8 + u].clamp(-1023.0, 1023.0);
                    assert!(
                        (got - exact).abs() <= 0.5 + 1e-3,
                        "({v},{u}): {got} against {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn divides_by_the_quantiser() {
        // A flat block of 100: DC = 8·100 = 800; quantised by 16 that is 50.
        let mut lanes = [Lanes([100.0; 8]); 8];
        fdct(&mut lanes);
        let mut table = [16u16; 64];
        table[1] = 3; // natural (0, 1): horizontal frequency 1
        let mut out = [0i16; 64];
        Quantizer::new(&table).quantize(&lanes, &mut out);
        assert_eq!(out[0], 50);
        assert!(out[1..].iter().all(|&c| c == 0));
    }
}
