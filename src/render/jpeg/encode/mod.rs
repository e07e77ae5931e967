//! The renderer's own JPEG encoder: baseline, Huffman tables optimised for each image, 4:2:0
//! or 4:4:4, from RGB pixels or straight from resized luma and chroma planes.
//!
//! One pass over the image, one MCU row at a time: the row's samples go into strips (RGB is
//! converted to YCbCr there, and 4:2:0 chroma averaged over each 2×2 block, as libjpeg
//! does), each 8×8 block is transformed ([`fdct`]), quantised and turned into tokens
//! ([`entropy`]) whose symbol counts make the Huffman tables. A second pass over the tokens
//! writes the entropy-coded data. Memory: the strips and the tokens; no full-size copy of
//! the image and no store of quantised blocks.
//!
//! The quantisation tables are the ones of ITU T.81 Annex K scaled by quality as libjpeg
//! scales them, so a file at quality `q` is the size libjpeg's, libvips's or Pillow's is at
//! `q`, with its accuracy (the floating-point DCT is libjpeg's most accurate).

mod entropy;
mod fdct;

use super::tables::ZIGZAG;
use entropy::{BitWriter, Frequencies, Table, Token};
use fdct::{Lanes, Quantizer};

/// Annex K's luminance quantisation table (quality 50), natural order.
const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Annex K's chrominance quantisation table (quality 50), natural order.
const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// `table` at `quality` (1 to 100), scaled as libjpeg's `jpeg_set_quality` does and kept
/// within baseline's 8 bits.
fn scaled(table: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    table.map(|v| ((u32::from(v) * scale + 50) / 100).clamp(1, 255) as u16)
}

/// Why a JPEG could not be written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}

/// Encodes `w`×`h` RGB pixels (3 bytes each) at `quality`, with chroma at half resolution
/// both ways (4:2:0, each chroma sample the average of a 2×2 block) when `subsample`, else
/// at full resolution (4:4:4).
pub(crate) fn encode_rgb(
    rgb: &[u8],
    w: u32,
    h: u32,
    quality: u8,
    subsample: bool,
) -> Result<Vec<u8>, Refused> {
    let (w, h) = check(w, h)?;
    if rgb.len() != w * h * 3 {
        return Err(Refused("the pixels do not match the size"));
    }
    let mut source = RgbSource {
        rgb,
        w,
        h,
        cb: Vec::new(),
        cr: Vec::new(),
    };
    Ok(encode(&mut source, w, h, quality, subsample))
}

/// Encodes `w`×`h` luma samples with a chroma pair at half resolution both ways (`cbcr`:
/// ⌈w/2⌉×⌈h/2⌉ pairs, Cb first) as a 4:2:0 JPEG at `quality`: no colour conversion and no
/// resampling, the samples are coded as they are.
pub(crate) fn encode_ycc(
    luma: &[u8],
    cbcr: &[u8],
    w: u32,
    h: u32,
    quality: u8,
) -> Result<Vec<u8>, Refused> {
    let (w, h) = check(w, h)?;
    if luma.len() != w * h || cbcr.len() != w.div_ceil(2) * h.div_ceil(2) * 2 {
        return Err(Refused("the planes do not match the size"));
    }
    let mut source = YccSource { luma, cbcr, w, h };
    Ok(encode(&mut source, w, h, quality, true))
}

fn check(w: u32, h: u32) -> Result<(usize, usize), Refused> {
    if w == 0 || h == 0 || w > 65535 || h > 65535 {
        return Err(Refused("a JPEG's sides are 1 to 65535 pixels"));
    }
    Ok((w as usize, h as usize))
}

/// One MCU row of samples, padded to whole MCUs by repeating the last column and row.
struct Strips {
    /// Luma rows in the strip: 16 at 4:2:0, 8 at 4:4:4.
    rows: usize,
    /// Luma samples a row: a multiple of the MCU width.
    width: usize,
    y: Vec<u8>,
    /// Chroma samples a row (`width`, or half of it at 4:2:0); always 8 rows.
    chroma_width: usize,
    cb: Vec<u8>,
    cr: Vec<u8>,
}

/// Where the samples come from.
trait Source {
    /// Fills `strips` with MCU row `row`.
    fn fill(&mut self, row: usize, strips: &mut Strips);
}

/// Repeats the last real sample of `row` (the first `w`) to its end.
#[inline]
fn pad(row: &mut [u8], w: usize) {
    let last = row[w - 1];
    row[w..].fill(last);
}

struct RgbSource<'a> {
    rgb: &'a [u8],
    w: usize,
    h: usize,
    /// Full-resolution chroma of the strip, before averaging (4:2:0 only).
    cb: Vec<u8>,
    cr: Vec<u8>,
}

/// RGB → YCbCr (JFIF, full range) in 16-bit fixed point, as libjpeg computes it; chroma
/// rounds down from a half below so that 255 is the largest value.
#[inline]
fn to_ycc(rgb: &[[u8; 3]], y: &mut [u8], cb: &mut [u8], cr: &mut [u8]) {
    for (((p, y), cb), cr) in rgb.iter().zip(y).zip(cb).zip(cr) {
        let [r, g, b] = p.map(i32::from);
        *y = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) as u8;
        *cb = ((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16) as u8;
        *cr = ((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16) as u8;
    }
}

impl Source for RgbSource<'_> {
    fn fill(&mut self, row: usize, s: &mut Strips) {
        let (w, width) = (self.w, s.width);
        let half = s.chroma_width < width;
        if half {
            self.cb.resize(s.rows * width, 0);
            self.cr.resize(s.rows * width, 0);
        }
        let pixels = self.rgb.as_chunks::<3>().0;
        for r in 0..s.rows {
            let src = (row * s.rows + r).min(self.h - 1);
            let line = r * width..(r + 1) * width;
            let (y, cb, cr) = if half {
                (
                    &mut s.y[line.clone()],
                    &mut self.cb[line.clone()],
                    &mut self.cr[line],
                )
            } else {
                (
                    &mut s.y[line.clone()],
                    &mut s.cb[line.clone()],
                    &mut s.cr[line],
                )
            };
            to_ycc(&pixels[src * w..][..w], y, cb, cr);
            pad(y, w);
            pad(cb, w);
            pad(cr, w);
        }
        if half {
            // Each chroma sample is the mean of a 2×2 block, rounding up and down on
            // alternate columns so the error does not drift one way (libjpeg's jcsample.c).
            // The padding columns and rows are averages of repeated pixels, which continues
            // the last pixel's colour (as libjpeg pads) rather than the last block's mean.
            let cw = s.chroma_width;
            for (full, out) in [(&self.cb, &mut s.cb), (&self.cr, &mut s.cr)] {
                for r in 0..8 {
                    let a = &full[2 * r * width..][..width];
                    let b = &full[(2 * r + 1) * width..][..width];
                    let out = &mut out[r * cw..][..cw];
                    for (x, o) in out.iter_mut().enumerate() {
                        let sum = u32::from(a[2 * x])
                            + u32::from(a[2 * x + 1])
                            + u32::from(b[2 * x])
                            + u32::from(b[2 * x + 1]);
                        *o = ((sum + 1 + (x as u32 & 1)) >> 2) as u8;
                    }
                }
            }
        }
    }
}

struct YccSource<'a> {
    luma: &'a [u8],
    cbcr: &'a [u8],
    w: usize,
    h: usize,
}

impl Source for YccSource<'_> {
    fn fill(&mut self, row: usize, s: &mut Strips) {
        let (w, width) = (self.w, s.width);
        for r in 0..s.rows {
            let src = (row * s.rows + r).min(self.h - 1);
            let y = &mut s.y[r * width..][..width];
            y[..w].copy_from_slice(&self.luma[src * w..][..w]);
            pad(y, w);
        }
        let (cw, ch, width) = (self.w.div_ceil(2), self.h.div_ceil(2), s.chroma_width);
        let pairs = self.cbcr.as_chunks::<2>().0;
        for r in 0..8 {
            let src = (row * 8 + r).min(ch - 1);
            let cb = &mut s.cb[r * width..][..width];
            let cr = &mut s.cr[r * width..][..width];
            for ((cb, cr), p) in cb
                .iter_mut()
                .zip(cr.iter_mut())
                .zip(&pairs[src * cw..][..cw])
            {
                (*cb, *cr) = (p[0], p[1]);
            }
            pad(cb, cw);
            pad(cr, cw);
        }
    }
}

/// For each zigzag position, where [`Quantizer::quantize`] leaves that coefficient (its
/// output is transposed).
const ZIGZAG_TRANSPOSED: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let n = ZIGZAG[k];
        t[k] = (n % 8) * 8 + n / 8;
        k += 1;
    }
    t
};

/// `ZIGZAG_BITS[i][b]`: the zigzag positions (bit k for position k) of the coefficients
/// that bits set in `b` mark among [`Quantizer::quantize`]'s outputs `8i` to `8i + 7`. Eight
/// lookups turn a mask of the non-zero outputs into a mask in zigzag order.
static ZIGZAG_BITS: [[u64; 256]; 8] = {
    let mut zigzag_of = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        zigzag_of[ZIGZAG_TRANSPOSED[k] as usize] = k as u8;
        k += 1;
    }
    let mut table = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 8 {
        let mut b = 0;
        while b < 256 {
            let mut bits = 0u64;
            let mut j = 0;
            while j < 8 {
                if b >> j & 1 == 1 {
                    bits |= 1 << zigzag_of[8 * i + j];
                }
                j += 1;
            }
            table[i][b] = bits;
            b += 1;
        }
        i += 1;
    }
    table
};

/// The zigzag positions of `q`'s non-zero coefficients (`q` in [`Quantizer::quantize`]'s
/// order).
#[inline(always)]
fn nonzero_zigzag(q: &[i16; 64]) -> u64 {
    let mut mask = 0;
    for (eight, bits) in q.as_chunks::<8>().0.iter().zip(&ZIGZAG_BITS) {
        // Bytes of 0 or 1, whose low bits one multiplication gathers into the top byte.
        let bytes = u64::from_le_bytes(eight.map(|c| u8::from(c != 0)));
        mask |= bits[(bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize];
    }
    mask
}

/// Transforms, quantises and tokenises the 8×8 block at (`x`, `y`) of `plane` (`stride`
/// samples a row).
#[inline]
fn block(
    plane: &[u8],
    stride: usize,
    x: usize,
    quant: &Quantizer,
    prev_dc: &mut i32,
    tokens: &mut Vec<Token>,
    freq: &mut Frequencies,
) {
    let mut lanes = [Lanes::default(); 8];
    for (r, row) in lanes.iter_mut().enumerate() {
        let src = &plane[r * stride + x..][..8];
        for (l, &s) in row.0.iter_mut().zip(src) {
            *l = f32::from(s) - 128.0;
        }
    }
    fdct::fdct(&mut lanes);
    let mut q = [0i16; 64];
    quant.quantize(&lanes, &mut q);
    let nonzero = nonzero_zigzag(&q);
    entropy::tokenize(&q, &ZIGZAG_TRANSPOSED, nonzero, prev_dc, tokens, freq);
}

fn encode(source: &mut dyn Source, w: usize, h: usize, quality: u8, subsample: bool) -> Vec<u8> {
    let mcu = if subsample { 16 } else { 8 };
    let (mcus_x, mcus_y) = (w.div_ceil(mcu), h.div_ceil(mcu));
    let width = mcus_x * mcu;
    let chroma_width = if subsample { width / 2 } else { width };
    let mut strips = Strips {
        rows: mcu,
        width,
        y: vec![0; mcu * width],
        chroma_width,
        cb: vec![0; 8 * chroma_width],
        cr: vec![0; 8 * chroma_width],
    };
    let tables = [scaled(&LUMA_QUANT, quality), scaled(&CHROMA_QUANT, quality)];
    let quant = [Quantizer::new(&tables[0]), Quantizer::new(&tables[1])];

    // Pass 1: tokens and their counts, luma in table 0, both chroma components in table 1.
    let blocks = mcus_x * mcus_y * if subsample { 6 } else { 3 };
    let mut tokens: Vec<Token> = Vec::with_capacity(blocks * 8);
    let mut freq = [Frequencies::default(), Frequencies::default()];
    let mut prev_dc = [0i32; 3];
    for row in 0..mcus_y {
        source.fill(row, &mut strips);
        let [luma_freq, chroma_freq] = &mut freq;
        for mx in 0..mcus_x {
            let x = mx * mcu;
            let t = &mut tokens;
            let luma = |dy: usize, dx: usize, prev: &mut i32, t: &mut Vec<Token>, f: &mut _| {
                block(
                    &strips.y[dy * width..],
                    width,
                    x + dx,
                    &quant[0],
                    prev,
                    t,
                    f,
                );
            };
            let [py, pcb, pcr] = &mut prev_dc;
            if subsample {
                luma(0, 0, py, t, luma_freq);
                luma(0, 8, py, t, luma_freq);
                luma(8, 0, py, t, luma_freq);
                luma(8, 8, py, t, luma_freq);
            } else {
                luma(0, 0, py, t, luma_freq);
            }
            let cx = if subsample { x / 2 } else { x };
            let cq = &quant[1];
            block(&strips.cb, chroma_width, cx, cq, pcb, t, chroma_freq);
            block(&strips.cr, chroma_width, cx, cq, pcr, t, chroma_freq);
        }
    }
    let luma = (Table::optimal(&freq[0].dc), Table::optimal(&freq[0].ac));
    let chroma = (Table::optimal(&freq[1].dc), Table::optimal(&freq[1].ac));

    // Pass 2: the file.
    let mut out = Vec::with_capacity(tokens.len() + 1024);
    headers(&mut out, w, h, subsample, &tables, [&luma, &chroma]);
    let mut bits = BitWriter::new(&mut out);
    let mut i = 0;
    let luma_blocks = if subsample { 4 } else { 1 };
    for _ in 0..mcus_x * mcus_y {
        for _ in 0..luma_blocks {
            i += bits.block(&tokens[i..], &luma.0, &luma.1);
        }
        for _ in 0..2 {
            i += bits.block(&tokens[i..], &chroma.0, &chroma.1);
        }
    }
    bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Writes a marker segment: the marker, the length (which counts itself), the body.
fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(body);
}

/// SOI, JFIF, the quantisation tables, the frame header, the Huffman tables and the scan
/// header.
fn headers(
    out: &mut Vec<u8>,
    w: usize,
    h: usize,
    subsample: bool,
    quant: &[[u16; 64]; 2],
    huffman: [&(Table, Table); 2],
) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01, no density unit, 1:1 aspect ratio, no thumbnail.
    segment(out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");

    let mut dqt = Vec::with_capacity(130);
    for (id, table) in quant.iter().enumerate() {
        dqt.push(id as u8);
        dqt.extend(ZIGZAG.iter().map(|&n| table[usize::from(n)] as u8));
    }
    segment(out, 0xDB, &dqt);

    let luma_sampling = if subsample { 0x22 } else { 0x11 };
    let mut sof = vec![8];
    sof.extend_from_slice(&(h as u16).to_be_bytes());
    sof.extend_from_slice(&(w as u16).to_be_bytes());
    sof.extend_from_slice(&[3, 1, luma_sampling, 0, 2, 0x11, 1, 3, 0x11, 1]);
    segment(out, 0xC0, &sof);

    let mut dht = Vec::new();
    for (id, (dc, ac)) in huffman.iter().enumerate() {
        for (class, table) in [(0u8, dc), (1, ac)] {
            dht.push(class << 4 | id as u8);
            dht.extend_from_slice(&table.counts);
            dht.extend_from_slice(&table.symbols);
        }
    }
    segment(out, 0xC4, &dht);

    segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests;
