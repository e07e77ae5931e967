//! Encodes a synthetic image so the linker keeps the encoder code; prints output sizes.
fn main() {
    let q: u8 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(80);
    let (w, h) = (96u32, 64u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();

    #[cfg(feature = "current")]
    {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, q);
        enc.set_optimized_huffman_tables(true);
        enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        println!("jpeg {}", out.len());
    }
    #[cfg(feature = "je07")]
    {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder_07::Encoder::new(&mut out, q);
        enc.set_optimized_huffman_tables(true);
        enc.set_chroma_subsampling_method(jpeg_encoder_07::ChromaSubsamplingMethod::Average);
        enc.encode(&rgb, w as u16, h as u16, jpeg_encoder_07::ColorType::Rgb)
            .unwrap();
        println!("jpeg {}", out.len());
    }
    #[cfg(feature = "mozjpeg")]
    {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(w as usize, h as usize);
        c.set_quality(f32::from(q));
        let mut s = c.start_compress(Vec::new()).unwrap();
        s.write_scanlines(&rgb).unwrap();
        println!("jpeg {}", s.finish().unwrap().len());
    }
    let m = webp::Encoder::from_rgb(&rgb, w, h)
        .encode_simple(false, f32::from(q))
        .unwrap();
    println!("webp {}", m.len());
}
