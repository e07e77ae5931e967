//! Baseline JPEG decoded at any scale from 1/8 to 8/8 (see the parent module): one scan with
//! every component, entropy-decoded block by block straight into the canvas.

use super::canvas::{Canvas, Sampler, SKIP};
use super::huffman::{Bits, Huffman, Restarts};
use super::markers::{Frame, ScanHeader};
use super::tables::Tables;
use super::{Declined, Layout, Output};

/// A component's entropy-decoding state in a baseline scan.
struct Channel<'t> {
    dc: &'t Huffman,
    ac: &'t Huffman,
    pred: i32,
}

/// Decodes the (single, all-component) scan `scan` whose entropy-coded data starts at `pos`,
/// at `eighths`/8 scale.
pub(super) fn decode(
    data: &[u8],
    pos: usize,
    scan: &ScanHeader,
    frame: &Frame,
    tables: &Tables,
    eighths: usize,
    layout: Layout,
) -> Result<Output, Declined> {
    // One scan with every component, in frame order, all 64 coefficients, no approximation.
    let ns = scan.members.len();
    let in_order = ns == frame.comps.len()
        && (scan.members.iter().zip(&frame.comps)).all(|(m, comp)| m.id == comp.id);
    if !in_order || (scan.ss, scan.se, scan.ah, scan.al) != (0, 63, 0, 0) {
        return Err(Declined::Unsupported("a baseline frame in several scans"));
    }
    let mut channels = Vec::with_capacity(ns);
    for m in &scan.members {
        channels.push(Channel {
            dc: tables.dc_table(m.dc_table)?,
            ac: tables.ac_table(m.ac_table)?,
            pred: 0,
        });
    }
    let mut canvas = Canvas::new(frame, tables, eighths, layout)?;
    let mut bits = Bits::new(data, pos);
    let mut coef = [0.0f32; 64];
    let mut restarts = Restarts::new(tables.restart_interval);
    for my in 0..frame.mcuy {
        for mx in 0..frame.mcux {
            if restarts.next(&mut bits)? {
                channels.iter_mut().for_each(|c| c.pred = 0);
            }
            for (c, ch) in channels.iter_mut().enumerate() {
                let (h, v) = (canvas.samplers[c].h, canvas.samplers[c].v);
                for y in 0..v {
                    for x in 0..h {
                        let at = canvas.at(c, my, mx, x, y);
                        let sampler = &mut canvas.samplers[c];
                        let decoded = !restarts.lost()
                            && ch.block(&mut bits, sampler, &mut coef, at).is_some()
                            && !bits.overran();
                        if !decoded {
                            if !restarts.lost() {
                                restarts.fail(&bits)?;
                            }
                            // A lost block is empty: DC 0, flat mid-grey, as libjpeg leaves it.
                            coef.fill(0.0);
                            sampler.emit(&mut coef, 1, 1, at);
                        }
                    }
                }
            }
        }
        canvas.flush(my);
    }
    if bits.overran() {
        // The data ended (or a marker came) before the last MCU: cut short or corrupt.
        return Err(Declined::Truncated);
    }
    Ok(canvas.finish())
}

impl Channel<'_> {
    /// Entropy-decodes one block, and writes its samples into the sampler's strip at `at`.
    /// `coef` is all zeros on entry and on return.
    #[inline]
    fn block(
        &mut self,
        bits: &mut Bits,
        s: &mut Sampler,
        coef: &mut [f32; 64],
        at: usize,
    ) -> Option<()> {
        bits.refill();
        self.pred = self.pred.wrapping_add(self.dc.decode_dc(bits)?);
        coef[0] = self.pred as f32 * s.quant[0];
        // The zigzag position of the last kept coefficient that is non-zero.
        let mut last = 0;
        let mut k = 1;
        while k < 64 {
            if bits.count < 32 {
                bits.refill();
            }
            let (run, value) = self.ac.decode_ac(bits)?;
            if value == 0 {
                if run != 15 {
                    break; // end of block
                }
                k += 16;
                continue;
            }
            k += run;
            let z = *s.keep.get(k)?;
            if z != SKIP {
                coef[usize::from(z)] = value as f32 * s.quant[k];
                last = k;
            }
            k += 1;
        }
        let (rows, cols) = s.extent[last];
        s.emit(coef, usize::from(rows), usize::from(cols), at);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode;
    use super::super::testing::{assert_matches_reference, card, encode, installed_photographs};

    #[test]
    fn matches_the_general_decoder_at_every_scale_and_sampling() {
        use jpeg_encoder::SamplingFactor as S;
        for (w, h) in [(640u32, 480u32), (333, 517), (17, 9), (1, 1)] {
            for sampling in [S::R_4_4_4, S::R_4_2_2, S::R_4_2_0, S::R_4_4_0] {
                let jpeg = encode(w, h, sampling, 0);
                // Anything wrong (a shifted block, a swapped channel) is far above this; in
                // tiny images the decoders' different chroma upsampling weighs more.
                let limit = if w < 64 { 4.0 } else { 2.0 };
                assert_matches_reference(&jpeg, &format!("{w}x{h} {sampling:?}"), limit);
            }
        }
    }

    #[test]
    fn one_scan_per_component_is_left_to_the_general_decoder() {
        // jpeg-encoder writes 4:1:1 as three scans; libjpeg never does for baseline.
        let jpeg = encode(64, 48, jpeg_encoder::SamplingFactor::R_4_1_1, 0);
        assert_eq!(jpeg.windows(2).filter(|w| w == &[0xFF, 0xDA]).count(), 3);
        assert!(decode(&jpeg, 8).is_err());
    }

    #[test]
    fn restart_intervals_and_greyscale() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(300, 200, S::R_4_2_0, 3);
        assert_matches_reference(&jpeg, "restarts", 1.5);
        let mut grey = Vec::new();
        let luma: Vec<u8> = card(123, 77).chunks_exact(3).map(|p| p[1]).collect();
        jpeg_encoder::Encoder::new(&mut grey, 85)
            .encode(&luma, 123, 77, jpeg_encoder::ColorType::Luma)
            .unwrap();
        assert_matches_reference(&grey, "greyscale", 2.0);
    }

    #[test]
    fn matches_the_general_decoder_on_installed_photographs() {
        for (name, jpeg) in installed_photographs(false) {
            assert_matches_reference(&jpeg, &name, 1.5);
        }
    }

    /// Where the restart markers of a file's scan are.
    fn restart_markers(jpeg: &[u8]) -> Vec<usize> {
        let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        (sos..jpeg.len() - 1)
            .filter(|&i| jpeg[i] == 0xFF && (0xD0..=0xD7).contains(&jpeg[i + 1]))
            .collect()
    }

    #[test]
    fn damage_stays_in_its_restart_interval_as_libjpeg_shows_it() {
        use jpeg_encoder::SamplingFactor as S;
        // 256×128 in 4:2:0: 16×8 MCUs of 16×16 pixels, a restart every 4 MCUs: 32 intervals,
        // four to a row of MCUs.
        let jpeg = encode(256, 128, S::R_4_2_0, 4);
        let clean = decode(&jpeg, 8).unwrap();
        let rst = restart_markers(&jpeg);
        assert_eq!(rst.len(), 31);
        // Which interval each pixel is in.
        let interval = |x: usize, y: usize| (y / 16 * 16 + x / 16) / 4;
        let pixels = |img: &super::super::Image| -> Vec<(usize, [u8; 3])> {
            img.data
                .chunks_exact(3)
                .enumerate()
                .map(|(i, p)| (interval(i % 256, i / 256), [p[0], p[1], p[2]]))
                .collect()
        };
        let clean_pixels = pixels(&clean);

        // A marker missing: interval 10's data runs on into 11's. Decoding interval 10 ends
        // where its MCUs end, the next marker found is RST3 (11's end), one ahead of the RST2
        // expected, so interval 11 is lost (flat grey: DC 0), and decoding resumes at 12.
        let mut missing = jpeg.clone();
        missing.drain(rst[10]..rst[10] + 2);
        let img = decode(&missing, 8).expect("resynchronised");
        for ((k, got), (_, want)) in pixels(&img).into_iter().zip(&clean_pixels) {
            match k {
                11 => assert_eq!(got, [128, 128, 128], "interval 11 is lost"),
                _ => assert_eq!(got, *want, "interval {k} is as it was"),
            }
        }

        // A marker renumbered too far off to tell (4 ahead): taken as the one expected, as
        // libjpeg does, and nothing is lost.
        let mut renumbered = jpeg.clone();
        let m = &mut renumbered[rst[20] + 1];
        *m = 0xD0 + (*m - 0xD0 + 4) % 8;
        assert_eq!(decode(&renumbered, 8).unwrap().data, clean.data);

        // Garbage inside interval 5: its MCUs from the garbage on are lost or wrong; every
        // other interval is as it was.
        let mut garbage = jpeg.clone();
        let (start, end) = (rst[4] + 2, rst[5]);
        for b in &mut garbage[start + (end - start) / 3..end - 2] {
            *b = 0x5A;
        }
        let img = decode(&garbage, 8).expect("resynchronised");
        let mut changed = 0;
        for ((k, got), (_, want)) in pixels(&img).into_iter().zip(&clean_pixels) {
            if k == 5 {
                changed += usize::from(got != *want);
            } else {
                assert_eq!(got, *want, "interval {k} is as it was");
            }
        }
        assert!(changed > 0, "the garbage shows in interval 5");

        // The data cut short (the end of the image after interval 20): refused, as without
        // restarts; a third of a picture must not be stored as the picture.
        let mut cut = jpeg[..rst[20]].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(
            decode(&cut, 8).err(),
            Some(super::super::Declined::Truncated)
        );
        assert_eq!(
            decode(&jpeg[..rst[20] - 40], 8).err(),
            Some(super::super::Declined::Truncated)
        );
    }

    #[test]
    fn damaged_files_are_left_to_the_general_decoder() {
        use jpeg_encoder::SamplingFactor as S;
        let jpeg = encode(256, 256, S::R_4_2_0, 0);
        // Cut in the middle of the entropy-coded data.
        assert!(decode(&jpeg[..jpeg.len() / 2], 4).is_err());
        // A marker in the middle of the data.
        let mut marked = jpeg.clone();
        let mid = marked.len() * 2 / 3;
        marked[mid] = 0xFF;
        marked[mid + 1] = 0xD9;
        assert!(decode(&marked, 4).is_err());
        // Any single-byte change never panics; whatever decodes has the promised size.
        for i in (0..jpeg.len()).step_by(7) {
            let mut bad = jpeg.clone();
            bad[i] ^= 0x5A;
            if let Ok(p) = decode(&bad, 2) {
                assert_eq!((p.w, p.h, p.data.len()), (64, 64, 64 * 64 * 3));
            }
        }
    }
}
