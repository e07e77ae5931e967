//! DC-only decoding of progressive JPEGs, for outputs at 1/8 of the source size or less.
//!
//! At 1/8 scale each 8×8 block becomes one pixel whose value is the block's DC coefficient
//! (the block average). A progressive JPEG carries the DC coefficients of every block in its
//! own scans, so this decoder entropy-decodes only those and skips every AC scan by looking
//! for the next marker, which is a byte search, not a Huffman decode. It stops reading as soon
//! as every component's DC is complete (after the DC refinement scan, if any), usually long
//! before the end of the file.
//!
//! It handles what photographs use: 8-bit Huffman-coded progressive frames (SOF2), one or three
//! components (greyscale or YCbCr), any sampling factors, interleaved or per-component DC
//! scans, successive approximation and restart intervals. Anything else (`None`) goes to the
//! full decoder, which also reports real errors.

use super::Pixels;

/// A canonical Huffman table (JPEG Annex C) for decoding bit by bit.
#[derive(Clone, Default)]
struct Huffman {
    /// For each code length 1..=16: the largest code of that length (-1 if none).
    max_code: [i32; 17],
    /// For each code length: index into `values` of its first code, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Option<Huffman> {
        let mut h = Huffman {
            max_code: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut index) = (0i32, 0i32);
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                h.offset[len] = index - code;
                code += n;
                index += n;
                h.max_code[len] = code - 1;
            }
            if code > 1 << len {
                return None;
            }
            code <<= 1;
        }
        (index as usize == values.len()).then_some(h)
    }

    fn decode(&self, bits: &mut Bits) -> Option<u8> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | bits.bit() as i32;
            if code <= self.max_code[len] {
                return self.values.get((code + self.offset[len]) as usize).copied();
            }
        }
        None
    }
}

/// Reads the entropy-coded data of one scan: byte stuffing removed, stops at a marker.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    count: u32,
    /// A marker (not a stuffed 0xFF00) was reached; further reads give zeros.
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            at_marker: false,
        }
    }

    fn bit(&mut self) -> u32 {
        if self.count == 0 {
            let mut byte = 0;
            if !self.at_marker && self.pos < self.data.len() {
                byte = self.data[self.pos];
                if byte == 0xFF {
                    match self.data.get(self.pos + 1) {
                        Some(0) => self.pos += 2,
                        _ => {
                            self.at_marker = true;
                            byte = 0;
                        }
                    }
                } else {
                    self.pos += 1;
                }
            }
            self.acc = u32::from(byte);
            self.count = 8;
        }
        self.count -= 1;
        (self.acc >> self.count) & 1
    }

    fn bits(&mut self, n: u8) -> u32 {
        (0..n).fold(0, |v, _| (v << 1) | self.bit())
    }

    /// Drops the partial byte and steps over an RSTn marker, as a restart interval requires.
    fn restart(&mut self) -> bool {
        self.count = 0;
        self.at_marker = false;
        match self.data.get(self.pos..self.pos + 2) {
            Some([0xFF, m]) if (0xD0..=0xD7).contains(m) => {
                self.pos += 2;
                true
            }
            _ => false,
        }
    }
}

/// Extends a `size`-bit magnitude to a signed value (JPEG's EXTEND procedure).
fn extend(v: u32, size: u8) -> i32 {
    if size == 0 {
        0
    } else if v < 1 << (size - 1) {
        v as i32 - (1 << size) + 1
    } else {
        v as i32
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
    dc: Vec<i32>,
    /// Bit position of the least significant DC bit decoded so far (None: no DC yet).
    dc_low_bit: Option<u8>,
}

/// Returns the image at 1/8 scale (`ceil(w/8)`×`ceil(h/8)`), or `None` when the file is not a
/// progressive JPEG this decoder handles.
pub(crate) fn decode(data: &[u8]) -> Option<Pixels> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    let mut quant = [[0u16; 64]; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    let mut frame: Option<(usize, usize, Vec<Component>)> = None;
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
            0xD9 => break,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let seg = data.get(pos + 2..pos + len)?;
        pos += len;
        match marker {
            0xC2 => frame = Some(parse_frame(seg)?),
            // Any other frame type (baseline, lossless, arithmetic, 12-bit via SOF2 precision
            // is checked in parse_frame): the full decoder's job.
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDB => parse_quant(seg, &mut quant)?,
            0xC4 => parse_huffman(seg, &mut dc_tables)?,
            0xDD => {
                restart_interval = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?]))
            }
            // Adobe APP14 with transform 0 means RGB or CMYK samples, not YCbCr.
            0xEE if seg.starts_with(b"Adobe") && seg.get(11) == Some(&0) => return None,
            0xDA => {
                let (_, _, comps) = frame.as_mut()?;
                pos = scan(data, pos, seg, comps, &dc_tables, restart_interval)?;
                if comps.iter().all(|c| c.dc_low_bit == Some(0)) {
                    break;
                }
            }
            _ => {}
        }
    }
    let (width, height, comps) = frame?;
    // A file that ended before every DC bit arrived still has usable coarse DC, but one with
    // a component never scanned does not.
    if comps.iter().any(|c| c.dc_low_bit.is_none()) {
        return None;
    }
    Some(to_pixels(width, height, &comps, &quant))
}

fn parse_frame(seg: &[u8]) -> Option<(usize, usize, Vec<Component>)> {
    if *seg.first()? != 8 {
        return None;
    }
    let height = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
    let width = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
    let n = usize::from(*seg.get(5)?);
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
        c.dc = vec![0; c.bw * c.bh];
    }
    Some((width, height, comps))
}

fn parse_quant(mut seg: &[u8], quant: &mut [[u16; 64]; 4]) -> Option<()> {
    while !seg.is_empty() {
        let (precision, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
        let table = quant.get_mut(id)?;
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

fn parse_huffman(mut seg: &[u8], dc_tables: &mut [Option<Huffman>; 4]) -> Option<()> {
    while !seg.is_empty() {
        let (class, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
        let counts: [u8; 16] = seg.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = seg.get(17..17 + total)?;
        if class == 0 {
            *dc_tables.get_mut(id)? = Some(Huffman::new(&counts, values)?);
        }
        seg = &seg[17 + total..];
    }
    Some(())
}

/// Decodes (DC) or skips (AC) one scan whose header is `header` and whose data starts at
/// `pos`; returns the position of the marker that ends it.
fn scan(
    data: &[u8],
    pos: usize,
    header: &[u8],
    comps: &mut [Component],
    dc_tables: &[Option<Huffman>; 4],
    restart_interval: usize,
) -> Option<usize> {
    let ns = usize::from(*header.first()?);
    let mut members = Vec::with_capacity(ns);
    for i in 0..ns {
        let id = *header.get(1 + i * 2)?;
        let table = usize::from(header.get(2 + i * 2)? >> 4);
        members.push((comps.iter().position(|c| c.id == id)?, table));
    }
    let rest = header.get(1 + ns * 2..4 + ns * 2)?;
    let (ss, se, ah, al) = (rest[0], rest[1], rest[2] >> 4, rest[2] & 15);
    if ss != 0 {
        return Some(skip_entropy_data(data, pos));
    }
    if se != 0 || al > 13 {
        return None;
    }
    let mut bits = Bits::new(data, pos);
    let mut pred = vec![0i32; ns];
    let mut mcus_left = restart_interval;
    let unit = |bits: &mut Bits, mcus_left: &mut usize, pred: &mut [i32]| -> bool {
        if restart_interval > 0 {
            if *mcus_left == 0 {
                if !bits.restart() {
                    return false;
                }
                pred.iter_mut().for_each(|p| *p = 0);
                *mcus_left = restart_interval;
            }
            *mcus_left -= 1;
        }
        true
    };
    let decode_block = |bits: &mut Bits,
                        k: usize,
                        comp: &mut Component,
                        block: usize,
                        pred: &mut [i32]|
     -> Option<()> {
        if ah == 0 {
            let table = dc_tables.get(members[k].1)?.as_ref()?;
            let size = table.decode(bits)?;
            if size > 11 {
                return None;
            }
            pred[k] += extend(bits.bits(size), size);
            comp.dc[block] = pred[k] << al;
        } else if bits.bit() == 1 {
            comp.dc[block] |= 1 << al;
        }
        Some(())
    };
    if ns == 1 {
        let c = members[0].0;
        let (used_w, used_h, bw) = (comps[c].used_w, comps[c].used_h, comps[c].bw);
        for by in 0..used_h {
            for bx in 0..used_w {
                if !unit(&mut bits, &mut mcus_left, &mut pred) {
                    return None;
                }
                decode_block(&mut bits, 0, &mut comps[c], by * bw + bx, &mut pred)?;
            }
        }
    } else {
        let mcux = comps[0].bw / comps[0].h;
        let mcuy = comps[0].bh / comps[0].v;
        for my in 0..mcuy {
            for mx in 0..mcux {
                if !unit(&mut bits, &mut mcus_left, &mut pred) {
                    return None;
                }
                for (k, &(c, _)) in members.iter().enumerate() {
                    let (h, v, bw) = (comps[c].h, comps[c].v, comps[c].bw);
                    for y in 0..v {
                        for x in 0..h {
                            let block = (my * v + y) * bw + mx * h + x;
                            decode_block(&mut bits, k, &mut comps[c], block, &mut pred)?;
                        }
                    }
                }
            }
        }
    }
    for &(c, _) in &members {
        let comp = &mut comps[c];
        comp.dc_low_bit = match (ah, comp.dc_low_bit) {
            (0, _) => Some(al),
            (_, Some(low)) if low == ah => Some(al),
            // A refinement for bits we never had: the file is not what we understand.
            _ => return None,
        };
    }
    Some(skip_entropy_data(data, bits.pos))
}

/// Position of the next marker that is not a restart marker or a stuffed byte.
fn skip_entropy_data(data: &[u8], mut pos: usize) -> usize {
    while pos + 1 < data.len() {
        match data[pos..].iter().position(|&b| b == 0xFF) {
            None => return data.len(),
            Some(i) => pos += i,
        }
        match data.get(pos + 1) {
            Some(0) | Some(0xD0..=0xD7) | Some(0xFF) => pos += 1,
            _ => return pos,
        }
    }
    data.len()
}

/// Block averages to 8-bit samples, upsampled to the luma grid, converted to RGB.
fn to_pixels(width: usize, height: usize, comps: &[Component], quant: &[[u16; 64]; 4]) -> Pixels {
    let (w, h) = (width.div_ceil(8), height.div_ceil(8));
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let sample = |c: &Component, x: usize, y: usize| -> f32 {
        let (bx, by) = (
            (x * c.h / hmax).min(c.bw - 1),
            (y * c.v / vmax).min(c.bh - 1),
        );
        // The IDCT's DC term: coefficient × quantiser / 8, then the level shift.
        c.dc[by * c.bw + bx] as f32 * f32::from(quant[c.quant][0]) / 8.0 + 128.0
    };
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let luma = sample(&comps[0], x, y);
            let rgb = if comps.len() == 3 {
                let (cb, cr) = (
                    sample(&comps[1], x, y) - 128.0,
                    sample(&comps[2], x, y) - 128.0,
                );
                [
                    luma + 1.402 * cr,
                    luma - 0.344_136 * cb - 0.714_136 * cr,
                    luma + 1.772 * cb,
                ]
            } else {
                [luma; 3]
            };
            out.extend(rgb.map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }
    Pixels::new(w as u32, h as u32, 3, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    [
                        (x * 255 / w) as u8,
                        (y * 255 / h) as u8,
                        ((x + y) % 256) as u8,
                    ]
                })
            })
            .collect()
    }

    fn reference(data: &[u8]) -> (u16, u16, Vec<u8>) {
        let mut d = jpeg_decoder::Decoder::new(data);
        let info = {
            d.read_info().unwrap();
            d.info().unwrap()
        };
        d.scale(info.width.div_ceil(8), info.height.div_ceil(8))
            .unwrap();
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        (info.width, info.height, px)
    }

    /// Asserts that the DC decode of `jpeg` is close to jpeg-decoder's 1/8-scale decode.
    fn assert_matches_reference(jpeg: &[u8], label: &str) {
        let ours = decode(jpeg).unwrap_or_else(|| panic!("{label}: not decoded"));
        let (rw, rh, theirs) = reference(jpeg);
        let theirs: Vec<u8> = if theirs.len() == usize::from(rw) * usize::from(rh) {
            theirs.iter().flat_map(|&l| [l, l, l]).collect()
        } else {
            theirs
        };
        assert_eq!((ours.w, ours.h), (u32::from(rw), u32::from(rh)), "{label}");
        let diff: u64 = ours
            .data
            .iter()
            .zip(&theirs)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / theirs.len() as f64;
        // Chroma is upsampled differently (nearest here); anything wrong is far above this.
        assert!(
            mean < 3.0,
            "{label}: mean difference {mean:.2} from jpeg-decoder's 1/8 decode"
        );
    }

    #[test]
    fn matches_the_full_decoder_at_one_eighth() {
        for (w, h) in [(640u32, 480u32), (333, 517), (64, 8)] {
            let mut jpeg = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
            enc.set_progressive(true);
            enc.encode(
                &gradient(w, h),
                w as u16,
                h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
            assert_matches_reference(&jpeg, &format!("{w}x{h}"));
        }
    }

    #[test]
    fn matches_the_full_decoder_on_libjpeg_progressive_files() {
        // Made by libjpeg (through Pillow): successive approximation with the DC refinement
        // after AC scans, 4:2:0, 4:2:2 with restart intervals, 4:4:4, greyscale, odd sizes.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().contains("progressive") {
                continue;
            }
            let jpeg = std::fs::read(&path).unwrap();
            assert_matches_reference(&jpeg, &path.display().to_string());
            seen += 1;
        }
        assert_eq!(seen, 5);
    }

    #[test]
    fn matches_the_full_decoder_on_installed_photographs() {
        // The wallpaper photographs (tests/photos.rs requires them in CI); progressive ones only.
        let Ok(dir) = std::fs::read_dir("/usr/share/backgrounds") else {
            return;
        };
        for path in dir.flatten().map(|e| e.path()) {
            let Ok(jpeg) = std::fs::read(&path) else {
                continue;
            };
            if !jpeg.starts_with(&[0xFF, 0xD8]) || !jpeg.windows(2).any(|w| w == [0xFF, 0xC2]) {
                continue;
            }
            assert_matches_reference(&jpeg, &path.display().to_string());
        }
    }

    #[test]
    fn stops_reading_once_the_dc_is_complete() {
        // Cut the file right after its DC refinement scan: still decodes, identically.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        );
        let jpeg = std::fs::read(path).unwrap();
        let full = decode(&jpeg).unwrap();
        let sos: Vec<usize> = (0..jpeg.len() - 1)
            .filter(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
            .collect();
        // libjpeg's script: the DC refinement is the 7th of 10 scans.
        let cut = &jpeg[..sos[7]];
        let partial = decode(cut).expect("decodes without the later AC scans");
        assert_eq!(partial.data, full.data);
        // Without the refinement, the coarse DC still gives a close picture.
        let coarse = decode(&jpeg[..sos[1]]).expect("first DC scan only");
        let diff: u64 = coarse
            .data
            .iter()
            .zip(&full.data)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        assert!((diff as f64 / full.data.len() as f64) < 4.0);
    }

    #[test]
    fn baseline_and_garbage_are_left_to_the_full_decoder() {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 90)
            .encode(&gradient(64, 64), 64, 64, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert!(decode(&jpeg).is_none(), "baseline");
        assert!(decode(b"\xFF\xD8\xFF\xC2").is_none());
        assert!(decode(b"not a jpeg").is_none());
    }
}
