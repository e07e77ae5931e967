//! Colour: which model a frame's components are in, and JPEG's YCbCr → RGB conversion.

/// How the three components of a frame are to be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ColorModel {
    Grey,
    YCbCr,
    Rgb,
}

/// Converts one row of JPEG YCbCr samples to RGB (see [`ycc_pixel`]).
pub(crate) fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((o, &y), &cb), &cr) in out.as_chunks_mut::<3>().0.iter_mut().zip(y).zip(cb).zip(cr) {
        *o = ycc_pixel(y, cb, cr);
    }
}

/// One JPEG YCbCr sample as RGB: JFIF's full-range BT.601 matrix, in 16-bit fixed point as
/// libjpeg does it.
#[inline(always)]
pub(crate) fn ycc_pixel(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    add_chroma(y, chroma_offsets(cb, cr))
}

/// What a chroma sample adds to luma to give R, G and B (see [`ycc_pixel`]), for pixels that
/// share the sample.
#[inline(always)]
pub(crate) fn chroma_offsets(cb: u8, cr: u8) -> [i32; 3] {
    const ONE_HALF: i32 = 1 << 15;
    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
    [
        (91_881 * cr + ONE_HALF) >> 16,
        (-22_554 * cb - 46_802 * cr + ONE_HALF) >> 16,
        (116_130 * cb + ONE_HALF) >> 16,
    ]
}

/// RGB from luma and [`chroma_offsets`].
#[inline(always)]
pub(crate) fn add_chroma(y: u8, offsets: [i32; 3]) -> [u8; 3] {
    let y = i32::from(y);
    let [r, g, b] = offsets;
    let px = |o: i32| (y + o).clamp(0, 255) as u8;
    [px(r), px(g), px(b)]
}
