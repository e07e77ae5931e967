//! Smart crop: where the kept region goes along its free axis, chosen on the decoded source.

use super::Decoded;
use crate::plan::Rect;

/// Slides the region along its free axis to the position whose luminance histogram has the
/// highest entropy: the busiest part of the picture, usually the subject.
pub(super) fn smart_region(img: &Decoded, region: Rect) -> Rect {
    let (w, h) = img.size();
    let horizontal = region.w < f64::from(w) - 0.5;
    let vertical = region.h < f64::from(h) - 0.5;
    if !horizontal && !vertical {
        return region;
    }
    // Work on a coarse luminance grid of at most 128 cells along the free axis.
    let len = if horizontal { w } else { h } as usize;
    let cells = len.min(128);
    let bins = 32usize;
    let mut hist = vec![0u32; cells * bins];
    let (w, h) = (w as usize, h as usize);
    let step = (w * h / 65_536).max(1);
    for i in (0..w * h).step_by(step) {
        let (x, y) = (i % w, i / w);
        let along = if horizontal { x } else { y };
        let cell = along * cells / len;
        let luma = img.luma(i);
        hist[cell * bins + (luma as usize * bins / 256)] += 1;
    }
    let (window_len, total_len) = if horizontal {
        (region.w, w as f64)
    } else {
        (region.h, h as f64)
    };
    let window = ((window_len / total_len * cells as f64).round() as usize).clamp(1, cells);
    let mut best = (f64::MIN, 0usize);
    for start in 0..=cells - window {
        let mut h = vec![0u32; bins];
        for cell in start..start + window {
            for b in 0..bins {
                h[b] += hist[cell * bins + b];
            }
        }
        let n: u32 = h.iter().sum();
        let entropy = if n == 0 {
            0.0
        } else {
            h.iter()
                .filter(|&&v| v > 0)
                .map(|&v| {
                    let p = f64::from(v) / f64::from(n);
                    -p * p.log2()
                })
                .sum()
        };
        // Prefer the window nearest the middle among equals, like centre gravity would.
        let centred = (start as f64 + window as f64 / 2.0 - cells as f64 / 2.0).abs();
        let score = entropy - centred * 1e-9;
        if score > best.0 {
            best = (score, start);
        }
    }
    let offset = (best.1 as f64 / cells as f64 * total_len).clamp(0.0, total_len - window_len);
    if horizontal {
        Rect {
            x: offset,
            ..region
        }
    } else {
        Rect {
            y: offset,
            ..region
        }
    }
}
