//! The tables a scan refers to: quantisation tables (DQT), Huffman tables (DHT), the restart
//! interval (DRI) and the Adobe colour transform flag (APP14), and the zigzag order
//! coefficients are stored in.

use super::color::ColorModel;
use super::huffman::Huffman;
use super::markers::Frame;
use super::Declined;

/// The natural (row-major) index of each zigzag position.
pub(super) const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The tables a scan refers to, as defined so far in the file.
pub(super) struct Tables {
    /// Quantisers in zigzag order, as DQT stores them.
    pub(super) quant: [[u16; 64]; 4],
    pub(super) dc: [Option<Huffman>; 4],
    pub(super) ac: [Option<Huffman>; 4],
    pub(super) restart_interval: usize,
    pub(super) adobe_transform: Option<u8>,
    /// Huffman tables defined so far (see [`MAX_HUFFMAN_TABLES`]).
    huffman_defined: usize,
}

/// The most Huffman table definitions a file may make. Building one takes a few microseconds
/// (its 2048-entry lookups), so a file of nothing but minimal DHT segments, 20 bytes each,
/// could otherwise cost seconds of CPU. Real files define 2 to 4, or a few per scan of a
/// progressive file (libjpeg's optimised progressive output: about 20).
const MAX_HUFFMAN_TABLES: usize = 1024;

impl Default for Tables {
    fn default() -> Self {
        Tables {
            quant: [[0; 64]; 4],
            dc: Default::default(),
            ac: Default::default(),
            restart_interval: 0,
            adobe_transform: None,
            huffman_defined: 0,
        }
    }
}

impl Tables {
    pub(super) fn parse_quant(&mut self, mut seg: &[u8]) -> Option<()> {
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

    pub(super) fn parse_huffman(&mut self, mut seg: &[u8]) -> Result<(), Declined> {
        while !seg.is_empty() {
            self.huffman_defined += 1;
            if self.huffman_defined > MAX_HUFFMAN_TABLES {
                return Err(Declined::Unsupported("over 1024 huffman table definitions"));
            }
            self.parse_one_huffman(&mut seg)
                .ok_or(Declined::Corrupt("huffman table"))?;
        }
        Ok(())
    }

    /// Parses the Huffman table at the start of `seg` and moves `seg` past it.
    fn parse_one_huffman(&mut self, seg: &mut &[u8]) -> Option<()> {
        let s: &[u8] = seg;
        let (class, id) = (s.first()? >> 4, usize::from(s.first()? & 15));
        let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let table = Some(Huffman::new(&counts, s.get(17..17 + total)?)?);
        match class {
            0 => *self.dc.get_mut(id)? = table,
            1 => *self.ac.get_mut(id)? = table,
            _ => return None,
        }
        *seg = &s[17 + total..];
        Some(())
    }

    /// DC Huffman table `id`, declined when the file has not defined it.
    pub(super) fn dc_table(&self, id: usize) -> Result<&Huffman, Declined> {
        self.dc
            .get(id)
            .and_then(Option::as_ref)
            .ok_or(Declined::Corrupt("a missing huffman table"))
    }

    /// AC Huffman table `id`, declined when the file has not defined it.
    pub(super) fn ac_table(&self, id: usize) -> Result<&Huffman, Declined> {
        self.ac
            .get(id)
            .and_then(Option::as_ref)
            .ok_or(Declined::Corrupt("a missing huffman table"))
    }

    pub(super) fn color_model(&self, frame: &Frame) -> ColorModel {
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
