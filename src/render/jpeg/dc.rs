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
//! components (greyscale, YCbCr or RGB), any sampling factors, interleaved or per-component DC
//! scans, successive approximation and restart intervals.

use super::color::{ycc_to_rgb, ColorModel};
use super::huffman::{Bits, Restarts};
use super::idct::to_u8;
use super::markers::{skip_entropy_data, Component, Frame, ScanHeader};
use super::tables::Tables;
use super::{Declined, Image};

/// Decodes (DC) or skips (AC) one scan `scan` whose data starts at `pos`; returns the
/// position of the marker that ends it.
pub(super) fn scan(
    data: &[u8],
    pos: usize,
    scan: &ScanHeader,
    frame: &mut Frame,
    tables: &Tables,
) -> Result<usize, Declined> {
    let comps = &mut frame.comps;
    let members = &scan.members;
    let ns = members.len();
    let (ss, se, ah, al) = (scan.ss, scan.se, scan.ah, scan.al);
    if ss != 0 {
        return Ok(skip_entropy_data(data, pos));
    }
    if se != 0 || al > 13 {
        return Err(Declined::Corrupt(
            "a DC scan with AC coefficients or over 13 bits",
        ));
    }
    let mut bits = Bits::new(data, pos);
    let mut pred = vec![0i32; ns];
    let mut restarts = Restarts::new(tables.restart_interval);
    let decode_block = |bits: &mut Bits,
                        k: usize,
                        comp: &mut Component,
                        block: usize,
                        pred: &mut [i32]|
     -> Result<(), Declined> {
        if ah == 0 {
            let table = tables.dc_table(members[k].dc_table)?;
            bits.refill();
            pred[k] = pred[k].wrapping_add(table.decode_dc(bits).ok_or_else(|| bits.declined())?);
            comp.dc[block] = pred[k] << al;
        } else if bits.bit() == 1 {
            comp.dc[block] |= 1 << al;
        }
        Ok(())
    };
    if ns == 1 {
        let c = members[0].comp;
        let (used_w, used_h, bw) = (comps[c].used_w, comps[c].used_h, comps[c].bw);
        for by in 0..used_h {
            for bx in 0..used_w {
                if restarts.next(&mut bits)? {
                    pred.iter_mut().for_each(|p| *p = 0);
                }
                // A lost interval's blocks keep what the earlier scans gave them.
                if !restarts.lost()
                    && (decode_block(&mut bits, 0, &mut comps[c], by * bw + bx, &mut pred).is_err()
                        || bits.overran())
                {
                    restarts.fail(&bits)?;
                }
            }
        }
    } else {
        for my in 0..frame.mcuy {
            for mx in 0..frame.mcux {
                if restarts.next(&mut bits)? {
                    pred.iter_mut().for_each(|p| *p = 0);
                }
                for (k, c) in members.iter().map(|m| m.comp).enumerate() {
                    let (h, v, bw) = (comps[c].h, comps[c].v, comps[c].bw);
                    for y in 0..v {
                        for x in 0..h {
                            let block = (my * v + y) * bw + mx * h + x;
                            if !restarts.lost()
                                && (decode_block(&mut bits, k, &mut comps[c], block, &mut pred)
                                    .is_err()
                                    || bits.overran())
                            {
                                restarts.fail(&bits)?;
                            }
                        }
                    }
                }
            }
        }
    }
    // Bits past the data were used: the scan was cut short (a truncated upload) or is
    // corrupt, and the blocks after the cut would come out as made-up values.
    if bits.overran() {
        return Err(Declined::Truncated);
    }
    for m in members {
        let comp = &mut comps[m.comp];
        comp.dc_low_bit = match (ah, comp.dc_low_bit) {
            (0, _) => Some(al),
            (_, Some(low)) if low == ah => Some(al),
            // A refinement for bits we never had: the file is not what we understand.
            _ => return Err(Declined::Corrupt("a DC refinement of bits never sent")),
        };
    }
    Ok(skip_entropy_data(data, bits.pos))
}

/// The image at 1/8 scale from the DC coefficients gathered by [`scan`]: block averages to
/// 8-bit samples, upsampled to the luma grid, converted to RGB. Declined when a component was
/// never scanned. (A file that ended before every DC bit arrived still has usable coarse DC.)
pub(super) fn finish(frame: &Frame, tables: &Tables) -> Result<Image, Declined> {
    if frame.comps.iter().any(|c| c.dc_low_bit.is_none()) {
        return Err(Declined::Truncated);
    }
    let (w, h) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
    let (hmax, vmax) = (frame.hmax, frame.vmax);
    let model = tables.color_model(frame);
    // One row of samples per component, at the luma grid.
    let mut rows = vec![vec![0u8; w]; frame.comps.len()];
    let mut out = vec![0u8; w * h * 3];
    for (y, out_row) in out.chunks_exact_mut(w * 3).enumerate() {
        for (c, row) in frame.comps.iter().zip(&mut rows) {
            let by = (y * c.v / vmax).min(c.bh - 1);
            let q = f32::from(tables.quant[c.quant][0]);
            for (x, s) in row.iter_mut().enumerate() {
                let bx = (x * c.h / hmax).min(c.bw - 1);
                // The IDCT's DC term: coefficient × quantiser / 8, then the level shift.
                // Rounded as the IDCT rounds its samples.
                *s = to_u8(c.dc[by * c.bw + bx] as f32 * q / 8.0 + 128.0);
            }
        }
        match model {
            ColorModel::Grey => {
                for (o, &l) in out_row.chunks_exact_mut(3).zip(&rows[0]) {
                    o.fill(l);
                }
            }
            ColorModel::YCbCr => ycc_to_rgb(&rows[0], &rows[1], &rows[2], out_row),
            ColorModel::Rgb => {
                for (x, o) in out_row.chunks_exact_mut(3).enumerate() {
                    o.copy_from_slice(&[rows[0][x], rows[1][x], rows[2][x]]);
                }
            }
        }
    }
    Ok(Image {
        w: w as u32,
        h: h as u32,
        data: out,
    })
}

#[cfg(test)]
mod tests {
    use super::super::decode;

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
        let ours = decode(jpeg, 1).unwrap_or_else(|e| panic!("{label}: not decoded ({e})"));
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

    /// libjpeg's progressive 4:2:0 fixture, and where each of its SOS markers is.
    fn progressive_420() -> (Vec<u8>, Vec<usize>) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        );
        let jpeg = std::fs::read(path).unwrap();
        let sos = (0..jpeg.len() - 1)
            .filter(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
            .collect();
        (jpeg, sos)
    }

    #[test]
    fn stops_reading_once_the_dc_is_complete() {
        // Cut the file right after its DC refinement scan: still decodes, identically.
        let (jpeg, sos) = progressive_420();
        let full = decode(&jpeg, 1).unwrap();
        // libjpeg's script: the DC refinement is the 7th of 10 scans.
        let cut = &jpeg[..sos[7]];
        let partial = decode(cut, 1).expect("decodes without the later AC scans");
        assert_eq!(partial.data, full.data);
        // Without the refinement, the coarse DC still gives a close picture.
        let coarse = decode(&jpeg[..sos[1]], 1).expect("first DC scan only");
        let diff: u64 = coarse
            .data
            .iter()
            .zip(&full.data)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        assert!((diff as f64 / full.data.len() as f64) < 4.0);
    }

    #[test]
    fn a_dc_scan_cut_short_is_not_decoded() {
        let (jpeg, sos) = progressive_420();
        // Anywhere inside the first DC scan's data, and inside the DC refinement scan.
        let first = sos[0] + 14;
        for cut in [first + 1, (first + sos[1]) / 2, sos[1] - 2, sos[6] + 20] {
            assert!(
                decode(&jpeg[..cut], 1).is_err(),
                "cut at {cut} of {}",
                jpeg.len()
            );
        }
    }

    #[test]
    fn garbage_is_left_to_the_general_decoder() {
        assert!(decode(b"\xFF\xD8\xFF\xC2", 1).is_err());
        assert!(decode(b"not a jpeg", 1).is_err());
    }
}
