//! Test support shared by the decoder's tests and the renderer's: a test card encoded by
//! jpeg-encoder, the reference it is checked against (jpeg-decoder, and an independent DCT
//! resampling), and the installed photographs.

use super::{decode, is_progressive};

/// A test card with a sharp edge and fine detail in luma and smooth chroma (chroma
/// upsampling differs between decoders by design; on smooth chroma they agree).
pub(crate) fn card(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| {
            (0..w).flat_map(move |x| {
                let edge = if x * 3 > w { 60.0 } else { 0.0 };
                let fine = if (x / 2 + y / 3) % 2 == 0 { 25.0 } else { 0.0 };
                let luma = 60.0 + f64::from(x * 80 / w) + edge + fine;
                let cb = f64::from(x) / f64::from(w) * 60.0 - 30.0;
                let cr = f64::from(y) / f64::from(h) * 60.0 - 30.0;
                [
                    luma + 1.402 * cr,
                    luma - 0.344_136 * cb - 0.714_136 * cr,
                    luma + 1.772 * cb,
                ]
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
            })
        })
        .collect()
}

pub(crate) fn encode(
    w: u32,
    h: u32,
    sampling: jpeg_encoder::SamplingFactor,
    restarts: u16,
) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    enc.set_sampling_factor(sampling);
    if restarts > 0 {
        enc.set_restart_interval(restarts);
    }
    enc.encode(
        &card(w, h),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    jpeg
}

/// jpeg-decoder's decode at the same scale, as RGB.
fn reference(jpeg: &[u8], eighths: usize) -> (usize, usize, Vec<u8>) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    d.read_info().unwrap();
    let info = d.info().unwrap();
    let want = |side: u16| (usize::from(side) * eighths).div_ceil(8) as u16;
    d.scale(want(info.width), want(info.height)).unwrap();
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    let px = if px.len() == w * h {
        px.iter().flat_map(|&l| [l, l, l]).collect()
    } else {
        px
    };
    (w, h, px)
}

/// The `fw`×`fh` RGB image `full` taken to `eighths`/8 the way a scaled inverse DCT does
/// it, computed independently of the decoder (in `f64`, from the definitions): each 8×8
/// block of each channel through the forward DCT, then its N×N low corner evaluated at the
/// centres of an N×N grid. Edge blocks are padded by repeating the last row and column, as
/// encoders pad them. At 1/8 this is the block average.
#[allow(clippy::needless_range_loop)] // the sums read as the formulas do
fn dct_resampled(full: &[u8], fw: usize, fh: usize, eighths: usize) -> Vec<u8> {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    let n = eighths;
    let (w, h) = ((fw * n).div_ceil(8), (fh * n).div_ceil(8));
    let c = |u: usize| if u == 0 { FRAC_1_SQRT_2 } else { 1.0 };
    // fwd[u][x]: forward 8-point basis; inv[u][i]: the same frequency at N points.
    let fwd: Vec<[f64; 8]> = (0..8)
        .map(|u| std::array::from_fn(|x| c(u) / 2.0 * (((2 * x + 1) * u) as f64 * PI / 16.0).cos()))
        .collect();
    let inv: Vec<Vec<f64>> = (0..n)
        .map(|u| {
            (0..n)
                .map(|i| c(u) / 2.0 * (((2 * i + 1) * u) as f64 * PI / (2 * n) as f64).cos())
                .collect()
        })
        .collect();
    let mut out = vec![0u8; w * h * 3];
    for by in 0..fh.div_ceil(8) {
        for bx in 0..fw.div_ceil(8) {
            for ch in 0..3 {
                let px = |x: usize, y: usize| {
                    let (x, y) = ((bx * 8 + x).min(fw - 1), (by * 8 + y).min(fh - 1));
                    f64::from(full[(y * fw + x) * 3 + ch]) - 128.0
                };
                // Forward, rows then columns, keeping the N lowest frequencies.
                let mut rows = [[0.0f64; 8]; 8];
                for (y, row) in rows.iter_mut().enumerate() {
                    for (u, r) in row.iter_mut().enumerate().take(n) {
                        *r = (0..8).map(|x| fwd[u][x] * px(x, y)).sum();
                    }
                }
                let mut coef = [[0.0f64; 8]; 8];
                for (v, crow) in coef.iter_mut().enumerate().take(n) {
                    for (u, cv) in crow.iter_mut().enumerate().take(n) {
                        *cv = (0..8).map(|y| fwd[v][y] * rows[y][u]).sum();
                    }
                }
                // Inverse at N points, rows then columns.
                let mut tmp = [[0.0f64; 8]; 8];
                for (t, crow) in tmp.iter_mut().zip(&coef).take(n) {
                    for (i, t) in t.iter_mut().enumerate().take(n) {
                        *t = (0..n).map(|u| crow[u] * inv[u][i]).sum();
                    }
                }
                for j in 0..n {
                    for i in 0..n {
                        let (x, y) = (bx * n + i, by * n + j);
                        if x < w && y < h {
                            let s: f64 = (0..n).map(|v| inv[v][j] * tmp[v][i]).sum();
                            let s = (s + 128.0).round().clamp(0.0, 255.0);
                            out[(y * w + x) * 3 + ch] = s as u8;
                        }
                    }
                }
            }
        }
    }
    out
}

fn mean_diff(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = a
        .zip(b)
        .fold((0.0, 0), |(s, n), (a, b)| (s + (a - b).abs(), n + 1));
    sum / f64::from(n.max(1))
}

fn luma(rgb: &[u8]) -> impl Iterator<Item = f64> + '_ {
    rgb.chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
}

/// Checks our decode at every scale (1/8 to 8/8) against jpeg-decoder: luma against its
/// decode at the same scale where it has one (1/8, 2/8, 4/8, 8/8: the same transform, so
/// equal up to rounding), and colour, at every scale, against its full decode resampled by
/// [`dct_resampled`] (jpeg-decoder repeats chroma samples when it scales, so its scaled
/// colour is not a reference; ours is exact within a block).
pub(crate) fn assert_matches_reference(jpeg: &[u8], label: &str, limit: f64) {
    let (fw, fh, full) = reference(jpeg, 8);
    for eighths in (1..=8).rev() {
        let ours = decode(jpeg, eighths).unwrap_or_else(|e| panic!("{label}: not decoded ({e})"));
        let (w, h) = ((fw * eighths).div_ceil(8), (fh * eighths).div_ceil(8));
        assert_eq!(
            (ours.w as usize, ours.h as usize),
            (w, h),
            "{label} {eighths}/8"
        );
        // jpeg-decoder scales by 1/2, 1/4 and 1/8 only; every scale has the resampled
        // full decode.
        let resampled = dct_resampled(&full, fw, fh, eighths);
        let theirs = match eighths {
            1 | 2 | 4 | 8 => reference(jpeg, eighths).2,
            _ => resampled.clone(),
        };
        let luma_diff = mean_diff(luma(&ours.data), luma(&theirs));
        assert!(
            luma_diff < 1.0,
            "{label} at {eighths}/8: mean luma difference {luma_diff:.2} from jpeg-decoder"
        );
        let rgb_diff = mean_diff(
            ours.data.iter().map(|&v| f64::from(v)),
            resampled.iter().map(|&v| f64::from(v)),
        );
        assert!(
            rgb_diff < limit,
            "{label} at {eighths}/8: mean difference {rgb_diff:.2} from jpeg-decoder's full decode, resampled"
        );
    }
}

/// The installed wallpaper photographs (tests/photos.rs requires them in CI) that are
/// progressive JPEGs (`true`) or baseline ones (`false`), as (name, bytes): the
/// [`PHOTOGRAPHS`] smallest files of the kind. Checking every scale against the reference
/// runs unoptimised here (about a minute per 10-megapixel photograph); every installed
/// photograph is still rendered end to end by tests/photos.rs, and compared byte for byte
/// between builds by bench/render_hashes.sh.
pub(crate) fn installed_photographs(progressive: bool) -> Vec<(String, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir("/usr/share/backgrounds") else {
        return Vec::new();
    };
    let mut photos: Vec<(String, Vec<u8>)> = (dir.flatten())
        .map(|e| e.path())
        .filter_map(|path| Some((path.display().to_string(), std::fs::read(&path).ok()?)))
        .filter(|(_, jpeg)| jpeg.starts_with(&[0xFF, 0xD8]) && is_progressive(jpeg) == progressive)
        .collect();
    photos.sort_by_key(|(name, jpeg)| (jpeg.len(), name.clone()));
    photos.truncate(PHOTOGRAPHS);
    photos
}

/// How many photographs of each kind [`installed_photographs`] gives.
const PHOTOGRAPHS: usize = 3;
