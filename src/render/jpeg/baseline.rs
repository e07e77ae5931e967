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
                        if ch.block(&mut bits, sampler, &mut coef, at).is_none() {
                            return Err(bits.declined());
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
        let size = self.dc.decode(bits)?;
        if size > 11 {
            return None;
        }
        self.pred += bits.receive_extend(size);
        coef[0] = self.pred as f32 * s.quant[0];
        // Rows and columns of coefficients that hold a non-zero value.
        let (mut rows, mut cols) = (1, 1);
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
                rows = rows.max(usize::from(z) / 8 + 1);
                cols = cols.max(usize::from(z) % 8 + 1);
            }
            k += 1;
        }
        s.emit(coef, rows, cols, at);
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
