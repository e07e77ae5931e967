//! The encoder against two decoders (ours and jpeg-decoder) and against jpeg-encoder, the
//! encoder it replaced, on the same pixels.

use super::*;
use crate::render::jpeg::testing::card;

/// jpeg-decoder's decode, RGB.
fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().expect("jpeg-decoder reads the file");
    let info = d.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (usize::from(info.width), usize::from(info.height), px)
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = se / a.len() as f64;
    if mse == 0.0 {
        return 99.0;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// A photograph-like test image: smooth light, a textured surface, edges, saturated colour.
fn scene(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        f64::from(state % 32) - 16.0
    };
    let (fw, fh) = (f64::from(w), f64::from(h));
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (f64::from(x) / fw, f64::from(y) / fh);
            let light = 60.0 + 120.0 * (u * 3.0 + v * 2.0).sin().abs();
            let stripes = if ((u * 40.0).sin() * (v * 25.0).cos()) > 0.3 {
                40.0
            } else {
                0.0
            };
            let grain = noise() * 0.6;
            let disc = ((u - 0.6).powi(2) + (v - 0.4).powi(2)) < 0.04;
            let base = light + stripes + grain;
            let px = if disc {
                [220.0 + grain, 40.0 + grain, 30.0 + grain]
            } else {
                [base, base * 0.9 + 10.0 * v, base * 0.7 + 60.0 * u]
            };
            out.extend(px.map(|c| c.round().clamp(0.0, 255.0) as u8));
        }
    }
    out
}

fn reference_encode(rgb: &[u8], w: u32, h: u32, quality: u8, subsample: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_optimized_huffman_tables(true);
    enc.set_sampling_factor(if subsample {
        jpeg_encoder::SamplingFactor::R_4_2_0
    } else {
        jpeg_encoder::SamplingFactor::R_4_4_4
    });
    enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    enc.encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[test]
fn every_size_decodes_to_the_pixels_in_both_decoders() {
    let sizes = [
        (1, 1),
        (2, 2),
        (7, 3),
        (8, 8),
        (9, 17),
        (16, 16),
        (17, 9),
        (33, 65),
        (100, 1),
        (1, 100),
        (127, 45),
    ];
    for (w, h) in sizes {
        let rgb = card(w, h);
        for subsample in [true, false] {
            let jpeg = encode_rgb(&rgb, w, h, 92, subsample).unwrap();
            let label = format!("{w}x{h} subsample {subsample}");
            let (dw, dh, px) = decode(&jpeg);
            assert_eq!((dw, dh), (w as usize, h as usize), "{label}");
            let ours = crate::render::jpeg::decode(&jpeg, 8).unwrap();
            assert_eq!((ours.w, ours.h), (w, h), "{label}");
            // The card's fine pattern (2×3 px checks) is hard at 4:2:0 on tiny images; the
            // bound is what jpeg-encoder's file of the same pixels gives in the same decoder,
            // less half a decibel.
            let reference = reference_encode(&rgb, w, h, 92, subsample);
            let (got, want) = (psnr(&px, &rgb), psnr(&decode(&reference).2, &rgb));
            assert!(
                got > want - 0.5,
                "{label}: {got:.2} dB, jpeg-encoder {want:.2}"
            );
            // (jpeg-encoder writes 4:4:4 as three scans, which our decoder leaves to another.)
            let want = match crate::render::jpeg::decode(&reference, 8) {
                Ok(theirs) => psnr(&theirs.data, &rgb),
                Err(_) => want,
            };
            let got = psnr(&ours.data, &rgb);
            assert!(
                got > want - 0.5,
                "{label}, our decoder: {got:.2} dB against {want:.2}"
            );
        }
    }
}

#[test]
fn every_quality_decodes_and_quality_buys_accuracy() {
    let (w, h) = (48, 40);
    let rgb = scene(w, h, 3);
    let mut last_psnr = 0.0;
    for quality in 1..=100u8 {
        for subsample in [true, false] {
            let jpeg = encode_rgb(&rgb, w, h, quality, subsample).unwrap();
            let (_, _, px) = decode(&jpeg);
            let p = psnr(&px, &rgb);
            if !subsample {
                // Not strictly monotonic step by step (rounding), but never by much.
                assert!(
                    p > last_psnr - 0.5,
                    "q{quality}: {p:.2} after {last_psnr:.2}"
                );
                last_psnr = last_psnr.max(p);
            }
        }
    }
    assert!(last_psnr > 40.0, "{last_psnr}");
    let at = |q| psnr(&decode(&encode_rgb(&rgb, w, h, q, true).unwrap()).2, &rgb);
    assert!(at(10) < at(50) && at(50) < at(90) && at(90) < at(100));
}

#[test]
fn writes_what_jpeg_encoder_writes_in_size_and_accuracy() {
    // The same pixels through both encoders: the same tables (Annex K scaled by quality),
    // so the files should match in size and in error, within what the two DCTs' rounding
    // moves.
    for (w, h, seed) in [(640, 480, 1), (333, 517, 2), (1024, 683, 3)] {
        let rgb = scene(w, h, seed);
        for (quality, subsample) in [(80, true), (60, true), (92, false)] {
            let ours = encode_rgb(&rgb, w, h, quality, subsample).unwrap();
            let theirs = reference_encode(&rgb, w, h, quality, subsample);
            let ratio = ours.len() as f64 / theirs.len() as f64;
            let (p_ours, p_theirs) = (psnr(&decode(&ours).2, &rgb), psnr(&decode(&theirs).2, &rgb));
            let label = format!("{w}x{h} q{quality} subsample {subsample}");
            assert!(
                (0.97..=1.03).contains(&ratio),
                "{label}: {ratio:.4} of the bytes"
            );
            assert!(
                p_ours > p_theirs - 0.1,
                "{label}: {p_ours:.3} dB against {p_theirs:.3}"
            );
        }
    }
}

/// Luma and averaged chroma computed here the way [`RgbSource`] computes them.
fn planes(rgb: &[u8], w: usize, h: usize) -> (Vec<u8>, Vec<u8>) {
    let px = rgb.as_chunks::<3>().0;
    let (mut y, mut cb, mut cr) = (vec![0; w * h], vec![0; w * h], vec![0; w * h]);
    to_ycc(px, &mut y, &mut cb, &mut cr);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut cbcr = Vec::with_capacity(cw * ch * 2);
    for cy in 0..ch {
        for cx in 0..cw {
            let at = |plane: &[u8], dx: usize, dy: usize| {
                u32::from(plane[(2 * cy + dy).min(h - 1) * w + (2 * cx + dx).min(w - 1)])
            };
            for plane in [&cb, &cr] {
                let sum = at(plane, 0, 0) + at(plane, 1, 0) + at(plane, 0, 1) + at(plane, 1, 1);
                cbcr.push(((sum + 1 + (cx as u32 & 1)) >> 2) as u8);
            }
        }
    }
    (y, cbcr)
}

#[test]
fn planes_and_pixels_make_the_same_file() {
    // Byte for byte when the image is whole MCUs; otherwise the padding past the right and
    // bottom edges differs (pixels repeat the last pixel, planes the last chroma sample),
    // and the decoded image barely.
    for (w, h) in [(64, 48), (32, 16), (16, 16), (33, 17), (1, 1), (250, 3)] {
        let rgb = scene(w, h, 9);
        let (y, cbcr) = planes(&rgb, w as usize, h as usize);
        let from_planes = encode_ycc(&y, &cbcr, w, h, 75).unwrap();
        let from_pixels = encode_rgb(&rgb, w, h, 75, true).unwrap();
        if w % 16 == 0 && h % 16 == 0 {
            assert_eq!(from_planes, from_pixels, "{w}x{h}");
        } else {
            let p = psnr(&decode(&from_planes).2, &decode(&from_pixels).2);
            assert!(p > 35.0, "{w}x{h}: {p:.2} dB between them");
        }
    }
}

#[test]
fn refuses_sizes_a_jpeg_cannot_have_and_mismatched_buffers() {
    assert!(encode_rgb(&[], 0, 5, 80, true).is_err());
    assert!(encode_rgb(&[0; 3], 1, 1, 80, true).is_ok());
    assert!(encode_rgb(&[0; 6], 1, 1, 80, true).is_err());
    assert!(encode_rgb(&vec![0; 65536 * 3], 65536, 1, 80, true).is_err());
    assert!(encode_ycc(&[0; 4], &[0; 2], 2, 2, 80).is_ok());
    assert!(encode_ycc(&[0; 4], &[0; 4], 2, 2, 80).is_err());
}

#[test]
fn extremes_stay_within_baseline() {
    // Black and white checkerboards at quality 100: the largest coefficients baseline
    // can code, and DC differences of the full range.
    let (w, h) = (64u32, 64u32);
    let rgb: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            let v = if (x / 8 + y / 8) % 2 == 0 {
                [0u8; 3]
            } else {
                [255; 3]
            };
            if (x + y) % 2 == 0 && x >= 32 {
                [255, 0, 255]
            } else {
                v
            }
        })
        .collect();
    for subsample in [true, false] {
        let jpeg = encode_rgb(&rgb, w, h, 100, subsample).unwrap();
        let reference = reference_encode(&rgb, w, h, 100, subsample);
        let (got, want) = (
            psnr(&decode(&jpeg).2, &rgb),
            psnr(&decode(&reference).2, &rgb),
        );
        assert!(
            got > want - 0.5,
            "subsample {subsample}: {got:.2} dB against {want:.2}"
        );
        if !subsample {
            // At 4:4:4 and quality 100 only the colour conversion's rounding is left.
            assert!(got > 40.0, "{got:.2} dB");
        }
    }
}

#[test]
fn installed_photographs_match_jpeg_encoder() {
    // Real photographs, where available: decoded and scaled to about 1600 px, then encoded
    // by both encoders at the renderer's default quality.
    for (name, jpeg) in crate::render::jpeg::testing::installed_photographs(false)
        .into_iter()
        .take(2)
    {
        let img = crate::render::jpeg::decode(&jpeg, 4).unwrap();
        let ours = encode_rgb(&img.data, img.w, img.h, 80, true).unwrap();
        let theirs = reference_encode(&img.data, img.w, img.h, 80, true);
        let ratio = ours.len() as f64 / theirs.len() as f64;
        let p_ours = psnr(&decode(&ours).2, &img.data);
        let p_theirs = psnr(&decode(&theirs).2, &img.data);
        assert!(
            (0.97..=1.03).contains(&ratio),
            "{name}: {ratio:.4} of the bytes"
        );
        assert!(
            p_ours > p_theirs - 0.1,
            "{name}: {p_ours:.3} dB against {p_theirs:.3}"
        );
    }
}

#[test]
fn the_nonzero_mask_is_in_zigzag_order() {
    // Random sparse blocks in the quantiser's (transposed) order: bit k of the mask is set
    // exactly when zigzag coefficient k, read through ZIGZAG_TRANSPOSED, is not zero.
    let mut seed = 5u32;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 16
    };
    for case in 0..2000 {
        let q: [i16; 64] = std::array::from_fn(|_| {
            if next() % 8 < case % 9 {
                (next() % 41) as i16 - 20
            } else {
                0
            }
        });
        let want = (0..64).fold(0u64, |m, k| {
            m | u64::from(q[usize::from(ZIGZAG_TRANSPOSED[k])] != 0) << k
        });
        assert_eq!(nonzero_zigzag(&q), want, "case {case}");
    }
}

#[test]
fn tokens_from_the_quantiser_order_equal_tokens_from_zigzag_order() {
    // The encoder's path (the quantiser's transposed order, read through ZIGZAG_TRANSPOSED
    // where the mask says) against the block first copied into zigzag order and read in
    // order: the same tokens, counts and DC prediction.
    let in_order: [u8; 64] = std::array::from_fn(|k| k as u8);
    let mut seed = 11u32;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 16
    };
    let (mut prev_a, mut prev_b) = (0, 0);
    let (mut tokens_a, mut tokens_b) = (Vec::new(), Vec::new());
    let (mut freq_a, mut freq_b) = (entropy::Frequencies::default(), Default::default());
    for case in 0..2000 {
        let q: [i16; 64] = std::array::from_fn(|i| {
            // Dense, sparse, and blocks whose last coefficient (zigzag 63) is set.
            if (case % 5 == 0 && i == 63) || next() % 8 < case % 9 {
                (next() % 2047) as i16 - 1023
            } else {
                0
            }
        });
        let zz: [i16; 64] = std::array::from_fn(|k| q[usize::from(ZIGZAG_TRANSPOSED[k])]);
        let zz_mask = (0..64).fold(0u64, |m, k| m | u64::from(zz[k] != 0) << k);
        let q_mask = nonzero_zigzag(&q);
        entropy::tokenize(
            &q,
            &ZIGZAG_TRANSPOSED,
            q_mask,
            &mut prev_a,
            &mut tokens_a,
            &mut freq_a,
        );
        entropy::tokenize(
            &zz,
            &in_order,
            zz_mask,
            &mut prev_b,
            &mut tokens_b,
            &mut freq_b,
        );
        assert_eq!(tokens_a, tokens_b, "case {case}");
        assert_eq!(prev_a, prev_b);
    }
    assert_eq!((freq_a.dc, freq_a.ac), (freq_b.dc, freq_b.ac));
}
