//! Progressive JPEG at 2/8 scale and up (1/8 has the faster DC-only path in [`super::dc`]).
//!
//! A progressive file sends every block's coefficients in several scans: bands of the zigzag
//! order (spectral selection), most significant bits first (successive approximation). So the
//! coefficients of the whole image are kept until the last scan, but only as much of them as
//! the output needs ([`Coefficients`]: the values of the corner the scaled transform reads, and
//! which of the others are non-zero); then each block goes through the same scaled inverse DCT
//! and strip-by-strip colour conversion as a baseline file ([`super::canvas::Canvas`]).

use super::canvas::Canvas;
use super::huffman::{Bits, Huffman, Restarts};
use super::markers::{skip_entropy_data, Frame, ScanHeader};
use super::tables::Tables;
use super::{Declined, Layout, Output};

/// Reads the next Huffman symbol, topping the reader up first.
#[inline(always)]
fn symbol(bits: &mut Bits, table: &Huffman) -> Option<u8> {
    if bits.count < 32 {
        bits.refill();
    }
    table.decode(bits)
}

/// What one scan refines.
#[derive(Clone, Copy)]
struct Band {
    ss: usize,
    se: usize,
    ah: u8,
    al: u8,
}

/// Decodes one scan `scan` whose data starts at `pos` into the frame's coefficient store;
/// returns the position of the marker that ends it.
pub(super) fn scan(
    data: &[u8],
    pos: usize,
    scan: &ScanHeader,
    frame: &mut Frame,
    tables: &Tables,
) -> Result<usize, Declined> {
    let members = &scan.members;
    let ns = members.len();
    let band = Band {
        ss: usize::from(scan.ss),
        se: usize::from(scan.se),
        ah: scan.ah,
        al: scan.al,
    };
    // DC and AC never share a scan, and AC scans hold one component (ITU T.81, G.1.1.1.1).
    let dc_scan = band.ss == 0;
    if band.ss > band.se || band.se > 63 || (dc_scan && band.se != 0) || band.al > 13 {
        return Err(Declined::Corrupt("a scan's band or bit position"));
    }
    if !dc_scan && ns != 1 {
        return Err(Declined::Corrupt("an AC scan of several components"));
    }
    let table = |k: usize| -> Result<&Huffman, Declined> {
        if dc_scan {
            tables.dc_table(members[k].dc_table)
        } else {
            tables.ac_table(members[k].ac_table)
        }
    };
    // Tables are only needed by first scans and AC refinements (a DC refinement is raw bits).
    let needs_table = band.ah == 0 || !dc_scan;
    let mut chosen = Vec::with_capacity(ns);
    for k in 0..ns {
        chosen.push(if needs_table { Some(table(k)?) } else { None });
    }

    let mut bits = Bits::new(data, pos);
    let mut pred = vec![0i32; ns];
    let mut eobrun = 0u32;
    let mut restarts = Restarts::new(tables.restart_interval);
    if ns == 1 {
        let comp = &mut frame.comps[members[0].comp];
        let (used_w, used_h, bw) = (comp.used_w, comp.used_h, comp.bw);
        for by in 0..used_h {
            for bx in 0..used_w {
                if restarts.next(&mut bits)? {
                    pred.iter_mut().for_each(|p| *p = 0);
                    eobrun = 0;
                }
                let block = comp.coefs.block(by * bw + bx).ok_or(OUTSIDE)?;
                let p = &mut pred[0];
                // A lost interval's blocks keep what the earlier scans gave them.
                if !restarts.lost()
                    && (decode_block(&mut bits, chosen[0], band, p, &mut eobrun, block).is_none()
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
                    eobrun = 0;
                }
                for (k, c) in members.iter().map(|m| m.comp).enumerate() {
                    let comp = &mut frame.comps[c];
                    for y in 0..comp.v {
                        for x in 0..comp.h {
                            let b = (my * comp.v + y) * comp.bw + mx * comp.h + x;
                            let block = comp.coefs.block(b).ok_or(OUTSIDE)?;
                            let p = &mut pred[k];
                            let table = chosen[k];
                            if !restarts.lost()
                                && (decode_block(&mut bits, table, band, p, &mut eobrun, block)
                                    .is_none()
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
    if bits.overran() {
        return Err(Declined::Truncated);
    }
    Ok(skip_entropy_data(data, bits.pos))
}

/// A block past the end of a component's coefficient store.
const OUTSIDE: Declined = Declined::Corrupt("a block outside the image");

/// Decodes one block's part of a scan (ITU T.81 G.1.2; the refinement follows libjpeg's
/// reading of it).
#[inline]
fn decode_block(
    bits: &mut Bits,
    table: Option<&Huffman>,
    band: Band,
    pred: &mut i32,
    eobrun: &mut u32,
    mut block: Block,
) -> Option<()> {
    let Band { ss, se, ah, al } = band;
    if ss == 0 {
        let dc = block.values.first_mut()?;
        if ah == 0 {
            if bits.count < 32 {
                bits.refill();
            }
            *pred = pred.wrapping_add(table?.decode_dc(bits)?);
            *dc = pred.wrapping_shl(u32::from(al)) as i16;
        } else if bits.bit() == 1 {
            *dc |= 1 << al;
        }
        return Some(());
    }
    let table = table?;
    if ah == 0 {
        // First AC scan of the band.
        if *eobrun > 0 {
            *eobrun -= 1;
            return Some(());
        }
        let mut k = ss;
        while k <= se {
            if bits.count < 32 {
                bits.refill();
            }
            let (run, value) = table.decode_ac(bits)?;
            if value == 0 {
                if run < 15 {
                    *eobrun = (1 << run) - 1 + bits.bits(run as u8);
                    break;
                }
                k += 16;
                continue;
            }
            k += run;
            if k > se {
                return None;
            }
            block.set(k, (value << al) as i16);
            k += 1;
        }
        return Some(());
    }
    // AC refinement: one more bit for every coefficient already non-zero, and new
    // coefficients of magnitude 1 << al placed among the zero ones.
    let (p1, m1) = (1i16 << al, -1i16 << al);
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            let rs = symbol(bits, table)?;
            let (run, size) = (rs >> 4, rs & 15);
            let mut value = 0;
            if size != 0 {
                if size != 1 {
                    return None;
                }
                value = if bits.bit() == 1 { p1 } else { m1 };
            } else if run != 15 {
                *eobrun = (1 << run) + bits.bits(run);
                break;
            }
            // Skip `run` zero coefficients, refining the non-zero ones passed on the way: the
            // new coefficient (or, after ZRL, the sixteenth zero) goes at the next zero.
            let to = k + usize::from(run);
            let at = if to <= se && *block.nonzero & span(k, to) == 0 {
                // Usually nothing from k to k + run is non-zero yet: no refinement bits, and
                // the run ends at k + run.
                to
            } else {
                let band = span(k, se);
                let mut zeros = !*block.nonzero & band;
                for _ in 0..run {
                    zeros &= zeros.wrapping_sub(1);
                }
                let at = match zeros {
                    0 => se + 1,
                    z => z.trailing_zeros() as usize,
                };
                block.refine(bits, *block.nonzero & band & !span(at, 63), p1);
                at
            };
            if value != 0 {
                if at > se {
                    return None;
                }
                block.set(at, value);
            }
            k = at + 1;
        }
    }
    if *eobrun > 0 {
        // Inside an end-of-band run: only refinement bits for the non-zero coefficients.
        block.refine(bits, *block.nonzero & span(k, se), p1);
        *eobrun -= 1;
    }
    Some(())
}

/// Zigzag positions `from` to `to` (inclusive) as a mask; empty when `from` > `to`.
#[inline(always)]
fn span(from: usize, to: usize) -> u64 {
    let low = u64::MAX.checked_shl(from as u32).unwrap_or(0);
    low & (u64::MAX >> (63 - to.min(63)))
}

/// A progressive component's coefficients, kept until the last scan. An AC refinement scan
/// sends a correction bit for every coefficient of its band that an earlier scan made non-zero,
/// so it needs to know which those are, but their values are needed only where the scaled
/// transform reads them (its corner, [`super::canvas::corner`]). So each block keeps a mask of
/// its non-zero coefficients and the values of the kept ones: at 2/8 scale 16 bytes instead
/// of 128, and a refinement skips the bits of the coefficients it has no use for in bulk.
#[derive(Clone)]
pub(super) struct Coefficients {
    /// The zigzag positions whose values are kept (bit k for position k).
    kept: u64,
    /// For each kept zigzag position, its index among a block's values.
    slot: [u8; 64],
    per_block: usize,
    /// `per_block` values for each block, in zigzag order.
    values: Vec<i16>,
    /// For each block, bit k set when coefficient k (zigzag order, 1 to 63) is non-zero.
    nonzero: Vec<u64>,
}

impl Default for Coefficients {
    fn default() -> Self {
        Coefficients::new(1, 0)
    }
}

impl Coefficients {
    /// Storage for `blocks` blocks that keeps the values of the positions in `kept` and of
    /// the DC position, 0, which every scale reads.
    pub(super) fn new(kept: u64, blocks: usize) -> Coefficients {
        let kept = kept | 1;
        let mut slot = [0; 64];
        for (k, s) in slot.iter_mut().enumerate() {
            *s = (kept & !span(k, 63)).count_ones() as u8;
        }
        let per_block = kept.count_ones() as usize;
        Coefficients {
            kept,
            slot,
            per_block,
            values: vec![0; blocks * per_block],
            nonzero: vec![0; blocks],
        }
    }

    fn block(&mut self, i: usize) -> Option<Block<'_>> {
        let n = self.per_block;
        Some(Block {
            kept: self.kept,
            slot: &self.slot,
            values: self.values.get_mut(i * n..(i + 1) * n)?,
            nonzero: self.nonzero.get_mut(i)?,
        })
    }

    /// Block `i`'s kept values, in zigzag order.
    fn values(&self, i: usize) -> Option<&[i16]> {
        let n = self.per_block;
        self.values.get(i * n..(i + 1) * n)
    }
}

/// One block of [`Coefficients`].
struct Block<'a> {
    kept: u64,
    slot: &'a [u8; 64],
    values: &'a mut [i16],
    nonzero: &'a mut u64,
}

impl Block<'_> {
    /// Sets AC coefficient `k` (zigzag) to `value`.
    #[inline(always)]
    fn set(&mut self, k: usize, value: i16) {
        if value != 0 {
            *self.nonzero |= 1 << k;
        }
        if self.kept >> k & 1 == 1 {
            if let Some(v) = self.values.get_mut(usize::from(self.slot[k])) {
                *v = value;
            }
        }
    }

    /// Reads one correction bit for each coefficient in `set` (non-zero ones, in zigzag
    /// order) and applies those of the kept coefficients: a 1 adds `p1` to the magnitude
    /// unless that bit is already set.
    #[inline(always)]
    fn refine(&mut self, bits: &mut Bits, set: u64, p1: i16) {
        let mut kept = set & self.kept;
        let mut rest = set;
        while kept != 0 {
            let k = kept.trailing_zeros() as usize;
            kept &= kept - 1;
            bits.skip((rest & !span(k, 63)).count_ones());
            rest &= span(k + 1, 63);
            if bits.bit() == 1 {
                if let Some(v) = self.values.get_mut(usize::from(self.slot[k])) {
                    if *v & p1 == 0 {
                        *v = v.wrapping_add(if *v >= 0 { p1 } else { -p1 });
                    }
                }
            }
        }
        bits.skip(rest.count_ones());
    }
}

/// The image at `eighths`/8 scale from the coefficients gathered by [`scan`].
pub(super) fn finish(
    frame: &Frame,
    tables: &Tables,
    eighths: usize,
    layout: Layout,
) -> Result<Output, Declined> {
    let mut canvas = Canvas::new(frame, tables, eighths, layout)?;
    // The store kept what this canvas reads (both follow `canvas::corner`).
    for (s, comp) in canvas.samplers.iter().zip(&frame.comps) {
        if s.kept_len() != comp.coefs.per_block {
            return Err(Declined::Unsupported("a frame whose scale changed"));
        }
    }
    let mut coef = [0.0f32; 64];
    for my in 0..frame.mcuy {
        for (c, comp) in frame.comps.iter().enumerate() {
            for y in 0..comp.v {
                for mx in 0..frame.mcux {
                    for x in 0..comp.h {
                        let b = (my * comp.v + y) * comp.bw + mx * comp.h + x;
                        let at = canvas.at(c, my, mx, x, y);
                        let stored = comp.coefs.values(b).ok_or(OUTSIDE)?;
                        canvas.samplers[c].emit_stored(stored, &mut coef, at);
                    }
                }
            }
        }
        canvas.flush(my);
    }
    Ok(canvas.finish())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_matches_reference, installed_photographs};
    use super::super::{decode, decode_planes, is_progressive, Output};

    #[test]
    fn equals_the_baseline_decode_of_the_same_coefficients() {
        // The libjpeg fixtures (spectral selection and successive approximation with
        // refinement scans, 4:2:0, 4:2:2 with restart intervals, 4:4:4, greyscale, odd sizes),
        // each beside its baseline twin made by `jpegtran` (lossless: the same quantised
        // coefficients in one sequential scan). Both must give the same pixels at every scale.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        for name in ["420", "422-restarts", "444", "grey", "odd-size"] {
            let read = |kind: &str| std::fs::read(format!("{dir}/{kind}-{name}.jpg")).unwrap();
            let (progressive, baseline) = (read("progressive"), read("baseline-twin"));
            for eighths in 2..=8 {
                let p = decode(&progressive, eighths).expect("progressive decodes");
                let b = decode(&baseline, eighths).expect("baseline decodes");
                assert_eq!((p.w, p.h), (b.w, b.h), "{name} at {eighths}/8");
                assert!(p.data == b.data, "{name} at {eighths}/8: pixels differ");
                // Planes keep a smaller corner of subsampled chroma blocks than RGB does.
                let planes = |jpeg: &[u8]| match decode_planes(jpeg, eighths) {
                    Ok(Output::Planes(p)) => p.planes.into_iter().map(|p| (p.w, p.h, p.data)),
                    _ => panic!("{name} at {eighths}/8: no planes"),
                };
                assert!(
                    planes(&progressive).eq(planes(&baseline)),
                    "{name} at {eighths}/8: planes differ"
                );
            }
        }
    }

    #[test]
    fn matches_the_general_decoder_on_installed_photographs() {
        for (name, jpeg) in installed_photographs(true) {
            assert_matches_reference(&jpeg, &name, 2.0);
        }
    }

    #[test]
    fn progressive_files_are_recognised_from_their_headers() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let read = |name: &str| std::fs::read(format!("{dir}/{name}.jpg")).unwrap();
        assert!(is_progressive(&read("progressive-420")));
        assert!(!is_progressive(&read("baseline-twin-420")));
        assert!(!is_progressive(b"\xFF\xD8\xFF\xE0\x00"));
        assert!(!is_progressive(b"not a jpeg"));
    }

    #[test]
    fn a_restart_marker_missing_loses_one_interval_of_one_scan() {
        // The first scan (DC, every component) of a file with restart intervals loses one
        // marker: the interval after it keeps no DC from that scan, and the rest of the image,
        // every later scan included, is as it was, at full scale and from the DC scans alone.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-422-restarts.jpg"
        );
        let jpeg = std::fs::read(path).unwrap();
        let sos: Vec<usize> = (0..jpeg.len() - 1)
            .filter(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
            .collect();
        let markers: Vec<usize> = (sos[0]..sos[1])
            .filter(|&i| jpeg[i] == 0xFF && (0xD0..=0xD7).contains(&jpeg[i + 1]))
            .collect();
        assert!(markers.len() >= 4, "{} markers", markers.len());
        let mut bad = jpeg.clone();
        let at = markers[markers.len() / 2];
        bad.drain(at..at + 2);
        for eighths in [8, 1] {
            let clean = decode(&jpeg, eighths).unwrap();
            let img = decode(&bad, eighths).expect("resynchronised");
            let pixels = clean.data.len() / 3;
            let differing = (img.data.chunks_exact(3).zip(clean.data.chunks_exact(3)))
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differing > 0 && differing * (markers.len() + 1) <= pixels * 2,
                "at {eighths}/8: {differing} of {pixels} pixels differ"
            );
        }
    }

    #[test]
    fn a_file_cut_short_is_left_to_the_general_decoder() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        );
        let jpeg = std::fs::read(path).unwrap();
        assert!(decode(&jpeg, 4).is_ok());
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 700] {
            assert!(decode(&jpeg[..cut], 4).is_err(), "cut at {cut}");
        }
        // Any single-byte change never panics; whatever decodes has the promised size.
        let (w, h) = {
            let p = decode(&jpeg, 2).unwrap();
            (p.w, p.h)
        };
        for i in (0..jpeg.len()).step_by(5) {
            let mut bad = jpeg.clone();
            bad[i] ^= 0x5A;
            if let Ok(p) = decode(&bad, 2) {
                assert_eq!((p.w, p.h), (w, h));
            }
        }
    }
}
