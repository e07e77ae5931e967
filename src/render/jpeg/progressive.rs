//! Progressive JPEG at 2/8 scale and up (1/8 has the faster DC-only path in [`super::dc`]).
//!
//! A progressive file sends every block's coefficients in several scans: bands of the zigzag
//! order (spectral selection), most significant bits first (successive approximation). So the
//! quantised coefficients of the whole image are kept (as `i16`, in zigzag order, as libjpeg
//! does) until the last scan; then each block goes through the same scaled inverse DCT and
//! strip-by-strip colour conversion as a baseline file ([`super::scaled::Canvas`]).

use super::scaled::Canvas;
use super::{Bits, Decoded, Frame, Huffman, Layout, Tables};

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

/// Decodes one scan whose header is `header` and whose data starts at `pos` into the frame's
/// coefficient store; returns the position of the marker that ends it.
pub(super) fn scan(
    data: &[u8],
    pos: usize,
    header: &[u8],
    frame: &mut Frame,
    tables: &Tables,
) -> Option<usize> {
    let ns = usize::from(*header.first()?);
    let mut members = Vec::with_capacity(ns);
    for i in 0..ns {
        let id = *header.get(1 + i * 2)?;
        let selectors = *header.get(2 + i * 2)?;
        let c = frame.comps.iter().position(|c| c.id == id)?;
        members.push((c, usize::from(selectors >> 4), usize::from(selectors & 15)));
    }
    let rest = header.get(1 + ns * 2..4 + ns * 2)?;
    let band = Band {
        ss: usize::from(rest[0]),
        se: usize::from(rest[1]),
        ah: rest[2] >> 4,
        al: rest[2] & 15,
    };
    // DC and AC never share a scan, and AC scans hold one component (ITU T.81, G.1.1.1.1).
    let dc_scan = band.ss == 0;
    if band.ss > band.se || band.se > 63 || (dc_scan && band.se != 0) || band.al > 13 {
        return None;
    }
    if !dc_scan && ns != 1 {
        return None;
    }
    let table = |c: usize| -> Option<&Huffman> {
        let (_, dc, ac) = members[c];
        if dc_scan {
            tables.dc.get(dc)?.as_ref()
        } else {
            tables.ac.get(ac)?.as_ref()
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
    let restart_interval = tables.restart_interval;
    let mut mcus_left = restart_interval;
    let mut restart = |bits: &mut Bits, pred: &mut [i32], eobrun: &mut u32| -> bool {
        if restart_interval > 0 {
            if mcus_left == 0 {
                if !bits.restart() {
                    return false;
                }
                pred.iter_mut().for_each(|p| *p = 0);
                *eobrun = 0;
                mcus_left = restart_interval;
            }
            mcus_left -= 1;
        }
        true
    };
    if ns == 1 {
        let (c, ..) = members[0];
        let comp = &mut frame.comps[c];
        let (used_w, used_h, bw) = (comp.used_w, comp.used_h, comp.bw);
        for by in 0..used_h {
            for bx in 0..used_w {
                if !restart(&mut bits, &mut pred, &mut eobrun) {
                    return None;
                }
                let b = (by * bw + bx) * 64;
                let block = comp.coefs.get_mut(b..b + 64)?;
                decode_block(&mut bits, chosen[0], band, &mut pred[0], &mut eobrun, block)?;
            }
        }
    } else {
        for my in 0..frame.mcuy {
            for mx in 0..frame.mcux {
                if !restart(&mut bits, &mut pred, &mut eobrun) {
                    return None;
                }
                for (k, &(c, ..)) in members.iter().enumerate() {
                    let comp = &mut frame.comps[c];
                    for y in 0..comp.v {
                        for x in 0..comp.h {
                            let b = ((my * comp.v + y) * comp.bw + mx * comp.h + x) * 64;
                            let block = comp.coefs.get_mut(b..b + 64)?;
                            let p = &mut pred[k];
                            decode_block(&mut bits, chosen[k], band, p, &mut eobrun, block)?;
                        }
                    }
                }
            }
        }
    }
    if bits.overran() {
        return None;
    }
    Some(super::dc::skip_entropy_data(data, bits.pos))
}

/// Decodes one block's part of a scan (ITU T.81 G.1.2; the refinement follows libjpeg's
/// reading of it).
#[inline]
fn decode_block(
    bits: &mut Bits,
    table: Option<&Huffman>,
    band: Band,
    pred: &mut i32,
    eobrun: &mut u32,
    block: &mut [i16],
) -> Option<()> {
    let Band { ss, se, ah, al } = band;
    if ss == 0 {
        if ah == 0 {
            let size = symbol(bits, table?)?;
            if size > 11 {
                return None;
            }
            *pred = pred.wrapping_add(bits.receive_extend(size));
            block[0] = pred.wrapping_shl(u32::from(al)) as i16;
        } else if bits.bit() == 1 {
            block[0] |= 1 << al;
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
            block[k] = (value << al) as i16;
            k += 1;
        }
        return Some(());
    }
    // AC refinement: one more bit for every coefficient already non-zero, and new
    // coefficients of magnitude 1 << al placed among the zero ones.
    let (p1, m1) = (1i16 << al, -1i16 << al);
    let refine = |bits: &mut Bits, c: &mut i16| {
        if bits.bit() == 1 && *c & p1 == 0 {
            *c = c.wrapping_add(if *c >= 0 { p1 } else { m1 });
        }
    };
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            let rs = symbol(bits, table)?;
            let (mut run, size) = (rs >> 4, rs & 15);
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
            // Skip `run` zero coefficients, refining the non-zero ones passed on the way.
            while k <= se {
                let c = &mut block[k];
                if *c != 0 {
                    refine(bits, c);
                } else {
                    if run == 0 {
                        break;
                    }
                    run -= 1;
                }
                k += 1;
            }
            if value != 0 {
                *block.get_mut(k).filter(|_| k <= se)? = value;
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        // Inside an end-of-band run: only refinement bits for the non-zero coefficients.
        for c in block.iter_mut().take(se + 1).skip(k) {
            if *c != 0 {
                refine(bits, c);
            }
        }
        *eobrun -= 1;
    }
    Some(())
}

/// The image at `eighths`/8 scale from the coefficients gathered by [`scan`].
pub(super) fn finish(
    frame: &Frame,
    tables: &Tables,
    eighths: usize,
    layout: Layout,
) -> Option<Decoded> {
    let mut canvas = Canvas::new(frame, tables, eighths, layout)?;
    let mut coef = [0.0f32; 64];
    for my in 0..frame.mcuy {
        for (c, comp) in frame.comps.iter().enumerate() {
            for y in 0..comp.v {
                for mx in 0..frame.mcux {
                    for x in 0..comp.h {
                        let b = ((my * comp.v + y) * comp.bw + mx * comp.h + x) * 64;
                        let at = canvas.at(c, my, mx, x, y);
                        let stored = comp.coefs.get(b..b + 64)?;
                        canvas.samplers[c].emit_stored(stored, &mut coef, at);
                    }
                }
            }
        }
        canvas.flush(my);
    }
    Some(canvas.finish())
}

#[cfg(test)]
mod tests {
    use super::super::decode;
    use super::super::scaled::tests::assert_matches_reference;

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
            }
        }
    }

    #[test]
    fn matches_the_general_decoder_on_installed_photographs() {
        for (name, jpeg) in super::super::installed_photographs(true) {
            assert_matches_reference(&jpeg, &name, 2.0);
        }
    }

    #[test]
    fn progressive_files_are_recognised_from_their_headers() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let read = |name: &str| std::fs::read(format!("{dir}/{name}.jpg")).unwrap();
        assert!(super::super::is_progressive(&read("progressive-420")));
        assert!(!super::super::is_progressive(&read("baseline-twin-420")));
        assert!(!super::super::is_progressive(b"\xFF\xD8\xFF\xE0\x00"));
        assert!(!super::super::is_progressive(b"not a jpeg"));
    }

    #[test]
    fn a_file_cut_short_is_left_to_the_general_decoder() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive-420.jpg"
        );
        let jpeg = std::fs::read(path).unwrap();
        assert!(decode(&jpeg, 4).is_some());
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 700] {
            assert!(decode(&jpeg[..cut], 4).is_none(), "cut at {cut}");
        }
        // Any single-byte change never panics; whatever decodes has the promised size.
        let (w, h) = {
            let p = decode(&jpeg, 2).unwrap();
            (p.w, p.h)
        };
        for i in (0..jpeg.len()).step_by(5) {
            let mut bad = jpeg.clone();
            bad[i] ^= 0x5A;
            if let Some(p) = decode(&bad, 2) {
                assert_eq!((p.w, p.h), (w, h));
            }
        }
    }
}
