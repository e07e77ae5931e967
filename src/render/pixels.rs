//! Operations on the small, resized pixels: orientation, padding onto the canvas, flattening
//! alpha, blur and sharpen.

use super::Pixels;
use crate::ops::{Format, Rgb};
use crate::plan::{Orientation, Plan};

/// Applies a dihedral transform to (small, already resized) pixels.
pub(super) fn reorient(src: Pixels, o: Orientation) -> Pixels {
    if o.is_identity() {
        return src;
    }
    let (w, h, c) = (src.w as usize, src.h as usize, src.channels as usize);
    let (ow, oh) = o.apply_size(src.w, src.h);
    let (ow_us, oh_us) = (ow as usize, oh as usize);
    let mut out = vec![0u8; src.data.len()];
    for y in 0..h {
        for x in 0..w {
            let (mut dx, dy) = match o.quarter_turns % 4 {
                0 => (x, y),
                1 => (h - 1 - y, x),
                2 => (w - 1 - x, h - 1 - y),
                _ => (y, w - 1 - x),
            };
            if o.mirror {
                dx = ow_us - 1 - dx;
            }
            debug_assert!(dx < ow_us && dy < oh_us);
            let s = (y * w + x) * c;
            let d = (dy * ow_us + dx) * c;
            out[d..d + c].copy_from_slice(&src.data[s..s + c]);
        }
    }
    Pixels::new(ow, oh, src.channels, out)
}

/// Places the resized image on the plan's canvas, filled with the background (or transparent
/// where the format allows and no background was asked for).
pub(super) fn pad(img: Pixels, plan: &Plan, background: Option<Rgb>, format: Format) -> Pixels {
    let transparent = background.is_none() && format.has_alpha();
    let channels = if transparent { 4 } else { img.channels };
    let fill: [u8; 4] = match background {
        Some(Rgb([r, g, b])) => [r, g, b, 255],
        None if transparent => [0, 0, 0, 0],
        None => [255, 255, 255, 255],
    };
    let img = if channels == 4 { to_rgba(img) } else { img };
    let (cw, ch, c) = (plan.width as usize, plan.height as usize, channels as usize);
    let mut data: Vec<u8> = fill[..c]
        .iter()
        .copied()
        .cycle()
        .take(cw * ch * c)
        .collect();
    let (ox, oy) = (plan.offset.0 as usize, plan.offset.1 as usize);
    let row = img.w as usize * c;
    for y in 0..img.h as usize {
        let d = ((oy + y) * cw + ox) * c;
        data[d..d + row].copy_from_slice(&img.data[y * row..(y + 1) * row]);
    }
    Pixels::new(plan.width, plan.height, channels, data)
}

fn to_rgba(img: Pixels) -> Pixels {
    if img.channels == 4 {
        return img;
    }
    let data = img
        .data
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Pixels::new(img.w, img.h, 4, data)
}

/// Removes the alpha channel: blends onto the background when the format has no alpha or a
/// background was asked for, and drops it unchanged when every pixel is opaque anyway.
pub(super) fn flatten(img: Pixels, background: Option<Rgb>, format: Format) -> Pixels {
    if img.channels != 4 {
        return img;
    }
    let opaque = img.data.chunks_exact(4).all(|p| p[3] == 255);
    if !opaque && background.is_none() && format.has_alpha() {
        return img;
    }
    let Rgb(bg) = background.unwrap_or(Rgb::WHITE);
    let data = img
        .data
        .chunks_exact(4)
        .flat_map(|p| {
            let a = u32::from(p[3]);
            [0, 1, 2]
                .map(|i| ((u32::from(p[i]) * a + u32::from(bg[i]) * (255 - a) + 127) / 255) as u8)
        })
        .collect();
    Pixels::new(img.w, img.h, 3, data)
}

pub(super) fn blur(img: Pixels, sigma: f32) -> Pixels {
    with_buffer(img, |b| match b {
        Buf::Rgb(i) => Buf::Rgb(image::imageops::fast_blur(&i, sigma)),
        Buf::Rgba(i) => Buf::Rgba(image::imageops::fast_blur(&i, sigma)),
    })
}

pub(super) fn sharpen(img: Pixels, sigma: f32) -> Pixels {
    with_buffer(img, |b| match b {
        Buf::Rgb(i) => Buf::Rgb(image::imageops::unsharpen(&i, sigma, 1)),
        Buf::Rgba(i) => Buf::Rgba(image::imageops::unsharpen(&i, sigma, 1)),
    })
}

enum Buf {
    Rgb(image::RgbImage),
    Rgba(image::RgbaImage),
}

/// Runs an `image` crate operation on our pixels without copying them.
fn with_buffer(img: Pixels, f: impl FnOnce(Buf) -> Buf) -> Pixels {
    let (w, h) = (img.w, img.h);
    let buf = if img.channels == 4 {
        Buf::Rgba(image::RgbaImage::from_raw(w, h, img.data).expect("sized"))
    } else {
        Buf::Rgb(image::RgbImage::from_raw(w, h, img.data).expect("sized"))
    };
    match f(buf) {
        Buf::Rgb(i) => Pixels::new(w, h, 3, i.into_raw()),
        Buf::Rgba(i) => Pixels::new(w, h, 4, i.into_raw()),
    }
}
