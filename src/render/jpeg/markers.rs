//! The marker segments of a JPEG file, in order: the loop that reads them and hands each
//! scan to its decoder, and the frame (SOF) and scan (SOS) headers.

use super::progressive::Coefficients;
use super::tables::Tables;
use super::{baseline, canvas, dc, progressive, Declined, Layout, Output};

/// Reads the marker segments of `data` and decodes it at `eighths`/8 scale into `layout`: the
/// whole of [`super::decode`] and [`super::decode_planes`].
pub(super) fn decode(data: &[u8], eighths: usize, layout: Layout) -> Result<Output, Declined> {
    if !(1..=8).contains(&eighths) {
        return Err(Declined::Unsupported("a scale outside 1/8 to 8/8"));
    }
    if data.get(..2).ok_or(Declined::Truncated)? != [0xFF, 0xD8] {
        return Err(Declined::Corrupt("no start-of-image marker"));
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
        let len = match (data.get(pos), data.get(pos + 1)) {
            (Some(&a), Some(&b)) => usize::from(u16::from_be_bytes([a, b])),
            _ => return Err(Declined::Truncated),
        };
        if len < 2 {
            return Err(Declined::Corrupt("segment length"));
        }
        let seg = data.get(pos + 2..pos + len).ok_or(Declined::Truncated)?;
        pos += len;
        match marker {
            0xC0 | 0xC1 if frame.is_none() => {
                frame = Some(Frame::parse(seg, false, eighths, layout)?)
            }
            0xC2 if frame.is_none() => frame = Some(Frame::parse(seg, true, eighths, layout)?),
            // Lossless, arithmetic coding, hierarchical, or a second frame header: the
            // general decoder's job.
            0xC0..=0xC2 => return Err(Declined::Unsupported("a second frame header")),
            0xC3 => return Err(Declined::Unsupported("lossless coding")),
            0xC5..=0xC7 => return Err(Declined::Unsupported("hierarchical coding")),
            0xC9..=0xCB | 0xCD..=0xCF => return Err(Declined::Unsupported("arithmetic coding")),
            0xDB => (tables.parse_quant(seg)).ok_or(Declined::Corrupt("quantisation table"))?,
            0xC4 => tables.parse_huffman(seg)?,
            0xDD => {
                let Some(&[a, b]) = seg.first_chunk::<2>() else {
                    return Err(Declined::Corrupt("restart interval"));
                };
                tables.restart_interval = usize::from(u16::from_be_bytes([a, b]))
            }
            0xEE if seg.starts_with(b"Adobe") => {
                let transform = seg.get(11).ok_or(Declined::Corrupt("adobe segment"))?;
                tables.adobe_transform = Some(*transform)
            }
            0xDA => {
                let f = (frame.as_mut()).ok_or(Declined::Corrupt("a scan before the frame"))?;
                let scan = ScanHeader::parse(seg, f)?;
                if !f.progressive {
                    return baseline::decode(data, pos, &scan, f, &tables, eighths, layout);
                }
                if eighths > 1 {
                    pos = progressive::scan(data, pos, &scan, f, &tables)?;
                    continue;
                }
                pos = dc::scan(data, pos, &scan, f, &tables)?;
                if f.comps.iter().all(|c| c.dc_low_bit == Some(0)) {
                    complete = true;
                    break;
                }
            }
            _ => {}
        }
    }
    // No frame, or a baseline frame whose scan never came: at the end of the image, a file
    // that skipped them; otherwise, one cut short.
    let missing = if complete {
        Declined::Corrupt("no frame or scan")
    } else {
        Declined::Truncated
    };
    let f = frame.ok_or(missing)?;
    if !f.progressive {
        return Err(missing);
    }
    if eighths == 1 {
        return dc::finish(&f, &tables).map(Output::Rgb);
    }
    // A file cut short would come out with its later scans missing: leave it to the general
    // decoder.
    if !complete {
        return Err(Declined::Truncated);
    }
    progressive::finish(&f, &tables, eighths, layout)
}

/// Whether the frame header of `data` says progressive (SOF2). Reads headers only.
pub(crate) fn is_progressive(data: &[u8]) -> bool {
    let frame = headers(data).map(|(marker, _)| marker).find(|&marker| {
        matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDA | 0xD9)
    });
    frame == Some(0xC2)
}

/// Whether `data` has Adobe's APP14 segment, which says (among other things) that its CMYK
/// samples are stored inverted. Reads headers only.
pub(crate) fn has_adobe_marker(data: &[u8]) -> bool {
    headers(data).any(|(marker, segment)| marker == 0xEE && segment.starts_with(b"Adobe"))
}

/// The marker segments before the first scan, each as (marker, segment without its length);
/// the first scan header (0xDA) or the end of the image ends it, as does anything malformed.
fn headers(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = 2;
    std::iter::from_fn(move || loop {
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return None;
        };
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if matches!(marker, 0xDA | 0xD9) {
            pos = data.len();
            return Some((marker, &[][..]));
        }
        let len = data.get(pos + 2..pos + 4)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let segment = data.get(pos + 4..pos + 2 + len.max(2))?;
        pos += 2 + len;
        return Some((marker, segment));
    })
}

/// Position of the next marker that is not a restart marker or a stuffed byte.
pub(super) fn skip_entropy_data(data: &[u8], mut pos: usize) -> usize {
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

#[derive(Clone)]
pub(super) struct Component {
    pub(super) id: u8,
    pub(super) h: usize,
    pub(super) v: usize,
    pub(super) quant: usize,
    /// Block grid (padded to whole MCUs).
    pub(super) bw: usize,
    pub(super) bh: usize,
    /// Blocks that hold image data (a non-interleaved scan covers only these).
    pub(super) used_w: usize,
    pub(super) used_h: usize,
    /// Progressive at 1/8 only: the DC coefficient of each block.
    pub(super) dc: Vec<i32>,
    /// Progressive above 1/8 only: what the scans have sent of each block's coefficients.
    pub(super) coefs: Coefficients,
    /// Progressive only: bit position of the least significant DC bit decoded so far
    /// (None: no DC yet).
    pub(super) dc_low_bit: Option<u8>,
}

pub(super) struct Frame {
    pub(super) progressive: bool,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) comps: Vec<Component>,
    pub(super) hmax: usize,
    pub(super) vmax: usize,
    /// MCUs across and down.
    pub(super) mcux: usize,
    pub(super) mcuy: usize,
}

impl Frame {
    /// Parses a frame header; a progressive frame gets storage for what its scans carry that
    /// the output at `eighths`/8 scale in `layout` needs (DC only at 1/8; above, see
    /// [`Coefficients`]).
    pub(super) fn parse(
        seg: &[u8],
        progressive: bool,
        eighths: usize,
        layout: Layout,
    ) -> Result<Frame, Declined> {
        let short = Declined::Corrupt("frame header too short");
        let Some(&[precision, h0, h1, w0, w1, n]) = seg.first_chunk::<6>() else {
            return Err(short);
        };
        if precision != 8 {
            return Err(Declined::Unsupported("samples of other than 8 bits"));
        }
        let height = usize::from(u16::from_be_bytes([h0, h1]));
        let width = usize::from(u16::from_be_bytes([w0, w1]));
        let n = usize::from(n);
        // Height 0 means a DNL marker gives it later: rare enough to leave to the general decoder.
        if height == 0 {
            return Err(Declined::Unsupported("a height given by a DNL marker"));
        }
        if width == 0 {
            return Err(Declined::Corrupt("zero width"));
        }
        if !(n == 1 || n == 3) {
            return Err(Declined::Unsupported(
                "components other than 1 or 3 (CMYK?)",
            ));
        }
        let mut comps = Vec::with_capacity(n);
        for i in 0..n {
            let b = seg.get(6 + i * 3..9 + i * 3).ok_or(short)?;
            let (h, v, quant) = (
                usize::from(b[1] >> 4),
                usize::from(b[1] & 15),
                usize::from(b[2]),
            );
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(Declined::Corrupt("sampling factors"));
            }
            if quant > 3 {
                return Err(Declined::Corrupt("quantisation table number"));
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
                coefs: Coefficients::default(),
                dc_low_bit: None,
            });
        }
        let hmax = comps.iter().map(|c| c.h).max().ok_or(short)?;
        let vmax = comps.iter().map(|c| c.v).max().ok_or(short)?;
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
                    let (nx, ny) = canvas::grid(&frame, c, eighths, layout);
                    canvas::corner(nx, ny)
                })
                .collect();
            for (c, kept) in frame.comps.iter_mut().zip(kept) {
                c.coefs = Coefficients::new(kept, c.bw * c.bh);
            }
        }
        Ok(frame)
    }
}

/// A scan header (SOS): the components the scan holds, with their Huffman tables, and which
/// part of the coefficients it carries.
pub(super) struct ScanHeader {
    pub(super) members: Vec<ScanComponent>,
    /// Spectral selection: the first and last zigzag positions (Ss, Se).
    pub(super) ss: u8,
    pub(super) se: u8,
    /// Successive approximation: the bit position before this scan and after it (Ah, Al).
    pub(super) ah: u8,
    pub(super) al: u8,
}

/// One component of a scan.
pub(super) struct ScanComponent {
    /// The component's id, as the frame header names it.
    pub(super) id: u8,
    /// Its index among the frame's components (the first with that id).
    pub(super) comp: usize,
    pub(super) dc_table: usize,
    pub(super) ac_table: usize,
}

impl ScanHeader {
    /// Parses the scan header `seg` of a scan in `frame`.
    pub(super) fn parse(seg: &[u8], frame: &Frame) -> Result<ScanHeader, Declined> {
        let short = Declined::Corrupt("scan header too short");
        let ns = usize::from(*seg.first().ok_or(short)?);
        let mut members = Vec::with_capacity(ns);
        for i in 0..ns {
            let Some(&[id, selectors]) = seg
                .get(1 + i * 2..3 + i * 2)
                .and_then(|s| s.first_chunk::<2>())
            else {
                return Err(short);
            };
            let comp = (frame.comps.iter().position(|c| c.id == id)).ok_or(Declined::Corrupt(
                "a scan of a component the frame does not have",
            ))?;
            members.push(ScanComponent {
                id,
                comp,
                dc_table: usize::from(selectors >> 4),
                ac_table: usize::from(selectors & 15),
            });
        }
        let rest = seg.get(1 + ns * 2..4 + ns * 2).ok_or(short)?;
        Ok(ScanHeader {
            members,
            ss: rest[0],
            se: rest[1],
            ah: rest[2] >> 4,
            al: rest[2] & 15,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::encode;
    use super::super::{decode, Declined};

    /// A file may redefine its Huffman tables, but not without bound: each definition costs
    /// a few microseconds to build.
    #[test]
    fn huffman_table_definitions_are_bounded() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(64, 48, S::R_4_2_0, 0);
        let dht = jpeg.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
        let len = usize::from(u16::from_be_bytes([jpeg[dht + 2], jpeg[dht + 3]]));
        let segment = &jpeg[dht..dht + 2 + len];
        let tables = |n: usize| {
            let mut with = jpeg[..dht].to_vec();
            for _ in 0..n {
                with.extend_from_slice(segment);
            }
            with.extend_from_slice(&jpeg[dht..]);
            with
        };
        let clean = decode(&jpeg, 8).unwrap();
        assert_eq!(decode(&tables(3), 8).unwrap().data, clean.data);
        // The file's own segments define a few tables more than the copies.
        assert_eq!(
            decode(&tables(1024), 8).err(),
            Some(Declined::Unsupported("over 1024 huffman table definitions"))
        );
    }

    #[test]
    fn declined_files_say_why() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(256, 256, S::R_4_2_0, 0);
        assert!(decode(&jpeg, 4).is_ok());
        assert_eq!(
            decode(&jpeg[..jpeg.len() / 2], 4).err(),
            Some(Declined::Truncated)
        );
        assert_eq!(decode(&jpeg[..300], 4).err(), Some(Declined::Truncated));
        let scans = encode(64, 48, S::R_4_1_1, 0);
        assert_eq!(
            decode(&scans, 8).err(),
            Some(Declined::Unsupported("a baseline frame in several scans"))
        );
        assert!(matches!(
            decode(b"not a jpeg", 8),
            Err(Declined::Corrupt(_))
        ));
        // Arithmetic coding: the frame marker alone says so.
        let mut arithmetic = jpeg.clone();
        let sof = arithmetic
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .unwrap();
        arithmetic[sof + 1] = 0xC9;
        assert_eq!(
            decode(&arithmetic, 8).err(),
            Some(Declined::Unsupported("arithmetic coding"))
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        );
        let progressive = std::fs::read(path).unwrap();
        assert_eq!(
            decode(&progressive[..700], 4).err(),
            Some(Declined::Truncated)
        );
    }
}
