//! The renderer's own JPEG decoder: it decodes straight to the scale the output needs, on the
//! calling thread.
//!
//! A thumbnail needs a fraction of a photograph's pixels. JPEG stores 8×8 blocks of DCT
//! coefficients, and the low-frequency corner of a block describes the block at a lower
//! resolution: evaluating its N×N corner (N = 1 to 7) gives the block at N/8 scale, with
//! a fraction of the inverse-transform work and none of the full-size buffers. Two paths:
//!
//! - [`scaled`]: baseline (sequential, Huffman-coded) frames at any scale from 1/8 to 8/8.
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
//! Anything else (arithmetic coding, 12-bit, CMYK, multi-scan baseline, or a file that looks
//! damaged or cut short) answers `None`, and the caller hands the file to
//! the general decoder, which also produces the real error message for a broken file.

mod dc;
mod progressive;
mod scaled;

/// A test card, encoded with the given sampling and restart interval (for the renderer's tests).
#[cfg(test)]
pub(crate) use scaled::tests::encode as test_card;

use super::{Decoded, Pixels};

/// Decodes `data` at `eighths`/8 of its size (1 to 8): the result is
/// `ceil(width × eighths / 8)` × `ceil(height × eighths / 8)` RGB pixels. `None` when the file
/// is not one this decoder handles (see the module documentation).
pub(crate) fn decode(data: &[u8], eighths: usize) -> Option<Pixels> {
    match decode_as(data, eighths, Layout::Rgb)? {
        Decoded::Pixels(p) => Some(p),
        Decoded::Planes(_) => None,
    }
}

/// [`decode`] for a caller that resizes next: each component stays on its own sampling grid
/// (subsampled chroma is neither upsampled nor colour-converted here), as [`Planes`]. At 1/8
/// scale a progressive file still comes back as RGB pixels from its DC scans.
pub(crate) fn decode_planes(data: &[u8], eighths: usize) -> Option<Decoded> {
    decode_as(data, eighths, Layout::Planes)
}

/// How [`scaled::Canvas`] hands over the samples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Every component upsampled to the largest grid and colour-converted, one MCU row at a
    /// time, into RGB [`Pixels`].
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

fn decode_as(data: &[u8], eighths: usize, layout: Layout) -> Option<Decoded> {
    if !(1..=8).contains(&eighths) || data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    let mut tables = Tables::default();
    let mut frame: Option<Frame> = None;
    // Whether the end of the image (or, at 1/8, the end of the DC scans) was reached.
    let mut complete = false;
    // Find each marker (fill bytes 0xFF may repeat); a file cut short just ends the loop.
    while let Some(next) = data
        .get(pos..)
        .and_then(|d| d.iter().position(|&b| b == 0xFF))
    {
        pos += next;
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else { break };
        pos += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 => {
                complete = true;
                break;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let seg = data.get(pos + 2..pos + len)?;
        pos += len;
        match marker {
            0xC0 | 0xC1 if frame.is_none() => {
                frame = Some(Frame::parse(seg, false, eighths, layout)?)
            }
            0xC2 if frame.is_none() => frame = Some(Frame::parse(seg, true, eighths, layout)?),
            // Lossless, arithmetic coding, hierarchical, or a second frame header: the
            // general decoder's job.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDB => tables.parse_quant(seg)?,
            0xC4 => tables.parse_huffman(seg)?,
            0xDD => {
                tables.restart_interval =
                    usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?]))
            }
            0xEE if seg.starts_with(b"Adobe") => tables.adobe_transform = Some(*seg.get(11)?),
            0xDA => {
                let f = frame.as_mut()?;
                if !f.progressive {
                    return scaled::decode(data, pos, seg, f, &tables, eighths, layout);
                }
                if eighths > 1 {
                    pos = progressive::scan(data, pos, seg, f, &tables)?;
                    continue;
                }
                pos = dc::scan(data, pos, seg, f, &tables)?;
                if f.comps.iter().all(|c| c.dc_low_bit == Some(0)) {
                    complete = true;
                    break;
                }
            }
            _ => {}
        }
    }
    let f = frame?;
    if !f.progressive {
        return None;
    }
    if eighths == 1 {
        return dc::finish(&f, &tables).map(Decoded::Pixels);
    }
    // A file cut short would come out with its later scans missing: leave it to the general
    // decoder.
    if !complete {
        return None;
    }
    progressive::finish(&f, &tables, eighths, layout)
}

/// Whether the frame header of `data` says progressive (SOF2). Reads headers only.
pub(crate) fn is_progressive(data: &[u8]) -> bool {
    let mut pos = 2;
    while let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) {
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        match marker {
            0xC2 => return true,
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDA | 0xD9 => {
                return false
            }
            _ => {}
        }
        let Some(len) = data.get(pos + 2..pos + 4) else {
            return false;
        };
        pos += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    false
}

/// How the three components of a frame are to be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ColorModel {
    Grey,
    YCbCr,
    Rgb,
}

/// The tables a scan refers to, as defined so far in the file.
struct Tables {
    /// Quantisers in zigzag order, as DQT stores them.
    quant: [[u16; 64]; 4],
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
    restart_interval: usize,
    adobe_transform: Option<u8>,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            quant: [[0; 64]; 4],
            dc: Default::default(),
            ac: Default::default(),
            restart_interval: 0,
            adobe_transform: None,
        }
    }
}

impl Tables {
    fn parse_quant(&mut self, mut seg: &[u8]) -> Option<()> {
        while !seg.is_empty() {
            let (precision, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
            let table = self.quant.get_mut(id)?;
            let size = if precision == 0 { 64 } else { 128 };
            let body = seg.get(1..1 + size)?;
            for (i, q) in table.iter_mut().enumerate() {
                *q = if precision == 0 {
                    u16::from(body[i])
                } else {
                    u16::from_be_bytes([body[2 * i], body[2 * i + 1]])
                };
            }
            seg = &seg[1 + size..];
        }
        Some(())
    }

    fn parse_huffman(&mut self, mut seg: &[u8]) -> Option<()> {
        while !seg.is_empty() {
            let (class, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
            let counts: [u8; 16] = seg.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let values = seg.get(17..17 + total)?;
            let table = Some(Huffman::new(&counts, values)?);
            match class {
                0 => *self.dc.get_mut(id)? = table,
                1 => *self.ac.get_mut(id)? = table,
                _ => return None,
            }
            seg = &seg[17 + total..];
        }
        Some(())
    }

    fn color_model(&self, frame: &Frame) -> ColorModel {
        if frame.comps.len() == 1 {
            return ColorModel::Grey;
        }
        let ids: Vec<u8> = frame.comps.iter().map(|c| c.id).collect();
        match self.adobe_transform {
            Some(0) => ColorModel::Rgb,
            Some(_) => ColorModel::YCbCr,
            // libjpeg's rule for files without an Adobe marker: components named R, G, B.
            None if ids == b"RGB" => ColorModel::Rgb,
            None => ColorModel::YCbCr,
        }
    }
}

/// Bits of a fast lookup in [`Huffman`]: codes up to this long decode in one step.
const FAST_BITS: u32 = 9;

/// A canonical Huffman table (JPEG Annex C) with a lookup table for short codes.
#[derive(Clone)]
struct Huffman {
    /// Indexed by the next `FAST_BITS` bits: `length << 8 | symbol`, or 0 for a longer code.
    fast: [u16; 1 << FAST_BITS],
    /// For AC tables, indexed the same way: when a code and the magnitude bits that follow it
    /// both fit in `FAST_BITS`, `value << 16 | run << 8 | bits used`; otherwise 0.
    fast_ac: [i32; 1 << FAST_BITS],
    /// For each code length 1..=16: the largest code of that length (-1 if none).
    max_code: [i32; 17],
    /// For each code length: index into `values` of its first code, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Option<Huffman> {
        let mut h = Huffman {
            fast: [0; 1 << FAST_BITS],
            fast_ac: [0; 1 << FAST_BITS],
            max_code: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut index) = (0i32, 0i32);
        for len in 1..=16u32 {
            let n = i32::from(counts[len as usize - 1]);
            if code + n > 1 << len {
                return None;
            }
            if n > 0 {
                h.offset[len as usize] = index - code;
                if len <= FAST_BITS {
                    for c in code..code + n {
                        let symbol = *values.get((c + h.offset[len as usize]) as usize)?;
                        let first = (c as usize) << (FAST_BITS - len);
                        let entry = (len as u16) << 8 | u16::from(symbol);
                        h.fast[first..first + (1 << (FAST_BITS - len))].fill(entry);
                    }
                }
                code += n;
                index += n;
                h.max_code[len as usize] = code - 1;
            }
            code <<= 1;
        }
        for (i, &entry) in h.fast.iter().enumerate() {
            let (len, symbol) = (u32::from(entry >> 8), entry as u8);
            let (run, size) = (i32::from(symbol >> 4), u32::from(symbol & 15));
            if entry == 0 || size == 0 || len + size > FAST_BITS {
                continue;
            }
            let magnitude = (i as i32 >> (FAST_BITS - len - size)) & ((1 << size) - 1);
            let value = extend(magnitude, size);
            h.fast_ac[i] = value << 16 | run << 8 | (len + size) as i32;
        }
        (index as usize == values.len()).then_some(h)
    }

    /// Decodes one AC symbol and the magnitude after it: (run of zeros, value), with value 0
    /// for the end-of-block and zero-run (size 0) symbols, whose run is then the symbol's.
    /// The reader must hold at least 32 bits.
    #[inline(always)]
    fn decode_ac(&self, bits: &mut Bits) -> Option<(usize, i32)> {
        let fast = self.fast_ac[bits.peek(FAST_BITS) as usize];
        if fast != 0 {
            bits.consume((fast & 0xFF) as u32);
            return Some((((fast >> 8) & 0xFF) as usize, fast >> 16));
        }
        let rs = self.decode(bits)?;
        Some((usize::from(rs >> 4), bits.receive_extend(rs & 15)))
    }

    /// Decodes one symbol. The reader must hold at least 16 bits (see [`Bits::refill`]).
    #[inline(always)]
    fn decode(&self, bits: &mut Bits) -> Option<u8> {
        let entry = self.fast[bits.peek(FAST_BITS) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        for len in FAST_BITS + 1..=16 {
            let code = bits.peek(len) as i32;
            if code <= self.max_code[len as usize] {
                bits.consume(len);
                return self
                    .values
                    .get((code + self.offset[len as usize]) as usize)
                    .copied();
            }
        }
        None
    }
}

/// JPEG's EXTEND: the `size`-bit magnitude `v` (1..=15 bits) as a signed value.
#[inline(always)]
fn extend(v: i32, size: u32) -> i32 {
    if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}

/// Reads the entropy-coded data of one scan, 64 bits at a time: byte stuffing removed, and
/// zeros fed once a marker (or the end of the data) is reached.
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to read; it never moves past a marker.
    pos: usize,
    /// The unread bits, most significant first.
    acc: u64,
    count: u32,
    /// Zero bytes fed past a marker or the end of the data.
    padding: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            padding: 0,
        }
    }

    /// Tops the reader up to at least 57 bits.
    #[inline(always)]
    fn refill(&mut self) {
        if self.count > 56 {
            return;
        }
        // Fast path: the next 8 bytes hold no 0xFF, so they go in as they are.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8]));
            // A byte is 0xFF exactly when the same byte of !word is zero.
            let inv = !word;
            let no_ff =
                (inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080) == 0;
            if no_ff {
                let take = (64 - self.count) / 8;
                self.acc |= (word >> (64 - 8 * take)) << (64 - self.count - 8 * take);
                self.count += 8 * take;
                self.pos += take as usize;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&0xFF) | None => {
                    self.padding += 1;
                    0
                }
                Some(&b) => {
                    self.pos += 1;
                    b
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (1..=32) bits, without consuming them.
    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.acc >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// Reads `n` (0..=16) bits as an unsigned number.
    #[inline(always)]
    fn bits(&mut self, n: u8) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < u32::from(n) {
            self.refill();
        }
        let v = self.peek(u32::from(n));
        self.consume(u32::from(n));
        v
    }

    /// Drops the next `n` bits.
    #[inline(always)]
    fn skip(&mut self, mut n: u32) {
        while n > 0 {
            if self.count < 32 {
                self.refill();
            }
            let step = n.min(32);
            self.consume(step);
            n -= step;
        }
    }

    #[inline(always)]
    fn bit(&mut self) -> u32 {
        if self.count == 0 {
            self.refill();
        }
        let v = (self.acc >> 63) as u32;
        self.consume(1);
        v
    }

    /// Reads a `size`-bit magnitude and extends it to a signed value (JPEG's RECEIVE and
    /// EXTEND). The reader must hold `size` bits.
    #[inline(always)]
    fn receive_extend(&mut self, size: u8) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.peek(u32::from(size)) as i32;
        self.consume(u32::from(size));
        extend(v, u32::from(size))
    }

    /// True when bits fed past a marker or the end of the data were used: the scan was cut
    /// short or is corrupt.
    fn overran(&self) -> bool {
        self.count < 8 * self.padding
    }

    /// Drops the buffered bits and steps over an RSTn marker, as a restart interval requires.
    fn restart(&mut self) -> bool {
        let clean = !self.overran();
        self.acc = 0;
        self.count = 0;
        self.padding = 0;
        match self.data.get(self.pos..self.pos + 2) {
            Some([0xFF, m]) if clean && (0xD0..=0xD7).contains(m) => {
                self.pos += 2;
                true
            }
            _ => false,
        }
    }
}

#[derive(Clone)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    /// Block grid (padded to whole MCUs).
    bw: usize,
    bh: usize,
    /// Blocks that hold image data (a non-interleaved scan covers only these).
    used_w: usize,
    used_h: usize,
    /// Progressive at 1/8 only: the DC coefficient of each block.
    dc: Vec<i32>,
    /// Progressive above 1/8 only: what the scans have sent of each block's coefficients.
    coefs: progressive::Coefficients,
    /// Progressive only: bit position of the least significant DC bit decoded so far
    /// (None: no DC yet).
    dc_low_bit: Option<u8>,
}

struct Frame {
    progressive: bool,
    width: usize,
    height: usize,
    comps: Vec<Component>,
    hmax: usize,
    vmax: usize,
    /// MCUs across and down.
    mcux: usize,
    mcuy: usize,
}

impl Frame {
    /// Parses a frame header; a progressive frame gets storage for what its scans carry that
    /// the output at `eighths`/8 scale in `layout` needs (DC only at 1/8; above, see
    /// [`progressive::Coefficients`]).
    fn parse(seg: &[u8], progressive: bool, eighths: usize, layout: Layout) -> Option<Frame> {
        if *seg.first()? != 8 {
            return None;
        }
        let height = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
        let width = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
        let n = usize::from(*seg.get(5)?);
        // Height 0 means a DNL marker gives it later: rare enough to leave to the general decoder.
        if width == 0 || height == 0 || !(n == 1 || n == 3) {
            return None;
        }
        let mut comps = Vec::with_capacity(n);
        for i in 0..n {
            let b = seg.get(6 + i * 3..9 + i * 3)?;
            let (h, v, quant) = (
                usize::from(b[1] >> 4),
                usize::from(b[1] & 15),
                usize::from(b[2]),
            );
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || quant > 3 {
                return None;
            }
            // A single component is never interleaved, so its sampling factors mean nothing.
            let (h, v) = if n == 1 { (1, 1) } else { (h, v) };
            comps.push(Component {
                id: b[0],
                h,
                v,
                quant,
                bw: 0,
                bh: 0,
                used_w: 0,
                used_h: 0,
                dc: Vec::new(),
                coefs: progressive::Coefficients::default(),
                dc_low_bit: None,
            });
        }
        let hmax = comps.iter().map(|c| c.h).max()?;
        let vmax = comps.iter().map(|c| c.v).max()?;
        let (mcux, mcuy) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
        for c in &mut comps {
            c.bw = mcux * c.h;
            c.bh = mcuy * c.v;
            c.used_w = (width * c.h).div_ceil(hmax).div_ceil(8);
            c.used_h = (height * c.v).div_ceil(vmax).div_ceil(8);
        }
        let mut frame = Frame {
            progressive,
            width,
            height,
            comps,
            hmax,
            vmax,
            mcux,
            mcuy,
        };
        if progressive && eighths == 1 {
            for c in &mut frame.comps {
                c.dc = vec![0; c.bw * c.bh];
            }
        } else if progressive {
            let kept: Vec<u64> = (frame.comps.iter())
                .map(|c| {
                    let (nx, ny) = scaled::grid(&frame, c, eighths, layout);
                    scaled::corner(nx, ny)
                })
                .collect();
            for (c, kept) in frame.comps.iter_mut().zip(kept) {
                c.coefs = progressive::Coefficients::new(kept, c.bw * c.bh);
            }
        }
        Some(frame)
    }
}

/// Converts one row of JPEG YCbCr samples to RGB (see [`ycc_pixel`]).
pub(crate) fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((o, &y), &cb), &cr) in out.as_chunks_mut::<3>().0.iter_mut().zip(y).zip(cb).zip(cr) {
        *o = ycc_pixel(y, cb, cr);
    }
}

/// One JPEG YCbCr sample as RGB: JFIF's full-range BT.601 matrix, in 16-bit fixed point as
/// libjpeg does it.
#[inline(always)]
pub(crate) fn ycc_pixel(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    add_chroma(y, chroma_offsets(cb, cr))
}

/// What a chroma sample adds to luma to give R, G and B (see [`ycc_pixel`]), for pixels that
/// share the sample.
#[inline(always)]
pub(crate) fn chroma_offsets(cb: u8, cr: u8) -> [i32; 3] {
    const ONE_HALF: i32 = 1 << 15;
    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
    [
        (91_881 * cr + ONE_HALF) >> 16,
        (-22_554 * cb - 46_802 * cr + ONE_HALF) >> 16,
        (116_130 * cb + ONE_HALF) >> 16,
    ]
}

/// RGB from luma and [`chroma_offsets`].
#[inline(always)]
pub(crate) fn add_chroma(y: u8, offsets: [i32; 3]) -> [u8; 3] {
    let y = i32::from(y);
    let [r, g, b] = offsets;
    let px = |o: i32| (y + o).clamp(0, 255) as u8;
    [px(r), px(g), px(b)]
}

/// The installed wallpaper photographs (tests/photos.rs requires them in CI) that are
/// progressive JPEGs (`true`) or baseline ones (`false`), as (name, bytes).
#[cfg(test)]
pub(crate) fn installed_photographs(progressive: bool) -> Vec<(String, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir("/usr/share/backgrounds") else {
        return Vec::new();
    };
    dir.flatten()
        .map(|e| e.path())
        .filter_map(|path| Some((path.display().to_string(), std::fs::read(&path).ok()?)))
        .filter(|(_, jpeg)| jpeg.starts_with(&[0xFF, 0xD8]) && is_progressive(jpeg) == progressive)
        .collect()
}
