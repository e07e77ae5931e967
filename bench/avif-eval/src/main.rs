//! Encodes 8-bit PNGs to AVIF with one candidate encoder and prints one CSV line per encode:
//! `encoder,speed,quality,threads,file,ms,cpu_ms,bytes`: wall and process CPU time, each the
//! median of `--runs` encodes (the pixels are decoded once, before timing). CPU time is the
//! steadier figure on a shared machine; with one thread it is the wall time of an idle one.
//!
//!     avif-eval ravif|image|aom --speed S --quality Q[,Q...] [--threads N] [--runs R] OUTDIR PNG...
//!
//! Outputs are OUTDIR/q<Q>/<stem>.avif.

use std::path::Path;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let encoder = args.next().expect("encoder: ravif or aom");
    let (mut speed, mut qualities, mut threads, mut runs) = (6u8, vec![80u8], 1usize, 1usize);
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag value");
        match a.as_str() {
            "--speed" => speed = val().parse().unwrap(),
            "--quality" => qualities = val().split(',').map(|q| q.parse().unwrap()).collect(),
            "--threads" => threads = val().parse().unwrap(),
            "--runs" => runs = val().parse().unwrap(),
            _ => rest.push(a),
        }
    }
    let out_dir = Path::new(&rest[0]);
    for input in &rest[1..] {
        let img = image::open(input).expect("decode png").into_rgb8();
        let (w, h) = img.dimensions();
        let stem = Path::new(input).file_stem().unwrap().to_string_lossy();
        for &q in &qualities {
            let (mut times, mut cpu_times) = (Vec::new(), Vec::new());
            let mut bytes = Vec::new();
            for _ in 0..runs {
                let (t, c) = (Instant::now(), cpu_ms());
                bytes = match encoder.as_str() {
                    "ravif" => ravif_encode(img.as_raw(), w, h, speed, q, threads),
                    "aom" => aom_encode(img.as_raw(), w, h, speed, q, threads),
                    "image" => image_encode(img.as_raw(), w, h, speed, q, threads),
                    other => panic!("unknown encoder {other}"),
                };
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                cpu_times.push(cpu_ms() - c);
            }
            times.sort_by(f64::total_cmp);
            cpu_times.sort_by(f64::total_cmp);
            let dir = out_dir.join(format!("q{q}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{stem}.avif")), &bytes).unwrap();
            println!(
                "{encoder},{speed},{q},{threads},{stem},{:.1},{:.1},{}",
                times[times.len() / 2],
                cpu_times[cpu_times.len() / 2],
                bytes.len()
            );
        }
    }
}

/// CPU time of the whole process (every thread), in milliseconds.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

fn ravif_encode(rgb: &[u8], w: u32, h: u32, speed: u8, q: u8, threads: usize) -> Vec<u8> {
    let pixels: Vec<ravif::RGB8> = rgb
        .chunks_exact(3)
        .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
        .collect();
    ravif::Encoder::new()
        .with_quality(f32::from(q))
        .with_speed(speed)
        .with_bit_depth(ravif::BitDepth::Eight)
        .with_num_threads(Some(threads))
        .encode_rgb(ravif::Img::new(&pixels[..], w as usize, h as usize))
        .expect("ravif encode")
        .avif_file
}

/// The image crate's AVIF encoder: ravif with its 8-bit setting and alpha quality = quality.
#[cfg(feature = "image-avif")]
fn image_encode(rgb: &[u8], w: u32, h: u32, speed: u8, q: u8, threads: usize) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut out = Vec::new();
    image::codecs::avif::AvifEncoder::new_with_speed_quality(&mut out, speed, q)
        .with_num_threads(Some(threads))
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("image avif encode");
    out
}

#[cfg(not(feature = "image-avif"))]
fn image_encode(_: &[u8], _: u32, _: u32, _: u8, _: u8, _: usize) -> Vec<u8> {
    panic!("built without the image-avif feature")
}

#[cfg(not(feature = "aom"))]
fn aom_encode(_: &[u8], _: u32, _: u32, _: u8, _: u8, _: usize) -> Vec<u8> {
    panic!("built without the aom feature")
}

/// libavif 1.0 with libaom: 8-bit 4:4:4 (as ravif), `quality` on libavif's 0..100 scale.
#[cfg(feature = "aom")]
fn aom_encode(rgb: &[u8], w: u32, h: u32, speed: u8, q: u8, threads: usize) -> Vec<u8> {
    use libavif_sys as a;
    unsafe {
        let image = a::avifImageCreate(w, h, 8, a::AVIF_PIXEL_FORMAT_YUV444);
        let mut px: a::avifRGBImage = std::mem::zeroed();
        a::avifRGBImageSetDefaults(&mut px, image);
        px.format = a::AVIF_RGB_FORMAT_RGB;
        px.pixels = rgb.as_ptr() as *mut u8;
        px.rowBytes = w * 3;
        assert_eq!(a::avifImageRGBToYUV(image, &px), a::AVIF_RESULT_OK);
        let enc = a::avifEncoderCreate();
        (*enc).codecChoice = a::AVIF_CODEC_CHOICE_AOM;
        (*enc).speed = i32::from(speed);
        (*enc).quality = i32::from(q);
        (*enc).maxThreads = threads as i32;
        let mut out: a::avifRWData = std::mem::zeroed();
        let r = a::avifEncoderWrite(enc, image, &mut out);
        assert_eq!(r, a::AVIF_RESULT_OK, "libavif encode");
        let bytes = std::slice::from_raw_parts(out.data, out.size).to_vec();
        a::avifRWDataFree(&mut out);
        a::avifEncoderDestroy(enc);
        a::avifImageDestroy(image);
        bytes
    }
}
