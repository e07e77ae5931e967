//! Encoder benchmark for rendition: encodes the cached 512 px RGB inputs with every candidate
//! compiled into this build, at every requested quality, and records bytes and encode time.
//!
//! encbench IN_DIR OUT_DIR RESULTS.jsonl [--q 30,40,..] [--reps N] [--only a,b] [--list]
//! (`--only` keeps candidates named exactly so, or whose name ends in /a, /b ...)
//!
//! * IN_DIR: binary PPMs (bench/encoders/prep.py makes them)
//! * OUT_DIR: each encoded file is written to OUT_DIR/<candidate>/q<q>/<image>.<ext>
//!   (bench/encoders/analyze.py decodes them and computes SSIM against the PPM)
//! * RESULTS.jsonl: one line per (candidate, q, image) is appended
//!
//! Timing: one untimed warm-up encode, then N timed encodes in this thread; the median wall time
//! and the median thread CPU time (CLOCK_THREAD_CPUTIME_ID) are recorded. Every encoder runs
//! single-threaded (libwebp thread_level 0, libjpeg/mozjpeg have no threads).
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Img {
    name: String,
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

type EncFn = Box<dyn Fn(&Img, u8) -> Vec<u8>>;

struct Cand {
    name: String,
    ext: &'static str,
    enc: EncFn,
}

fn cand(
    name: impl Into<String>,
    ext: &'static str,
    enc: impl Fn(&Img, u8) -> Vec<u8> + 'static,
) -> Cand {
    Cand {
        name: name.into(),
        ext,
        enc: Box::new(enc),
    }
}

// ---------------------------------------------------------------- JPEG: jpeg-encoder, image, mozjpeg
#[cfg(feature = "jpeg")]
mod jpeg {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// Exactly what rendition's src/render/encode.rs does: quality q, optimized Huffman tables, the crate's
    /// default sampling (4:2:0 below q90, 4:4:4 from q90 up), baseline.
    fn je(
        img: &Img,
        q: u8,
        sampling: Option<SamplingFactor>,
        progressive: bool,
        opt: bool,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out, q);
        enc.set_optimized_huffman_tables(opt);
        if let Some(s) = sampling {
            enc.set_sampling_factor(s);
        }
        enc.set_progressive(progressive);
        enc.encode(&img.rgb, img.w as u16, img.h as u16, ColorType::Rgb)
            .unwrap();
        out
    }

    #[derive(Clone, Copy)]
    enum Moz {
        /// mozjpeg's defaults (JCP_MAX_COMPRESSION): trellis quantisation, progressive with
        /// optimised scans, optimised Huffman, quant table 3 (ImageMagick), 4:2:0.
        Default,
        /// Same, but sequential (baseline) instead of progressive.
        Baseline,
        /// Same as Default with 4:4:4.
        Default444,
        /// JCP_FASTEST (libjpeg-turbo-compatible: no trellis, baseline, Annex K tables)
        /// plus optimised Huffman tables (like jpeg-encoder in rendition).
        Fast,
    }

    fn moz(img: &Img, q: u8, mode: Moz) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        if let Moz::Fast = mode {
            c.set_fastest_defaults();
            c.set_optimize_coding(true);
        }
        if let Moz::Baseline = mode {
            c.set_optimize_scans(false); // clears the progressive scan script
        }
        c.set_size(img.w as usize, img.h as usize);
        c.set_quality(f32::from(q));
        if let Moz::Default444 = mode {
            c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
        }
        let mut s = c
            .start_compress(Vec::with_capacity(img.rgb.len() / 8))
            .unwrap();
        s.write_scanlines(&img.rgb).unwrap();
        s.finish().unwrap()
    }

    /// mozjpeg through its C API, for settings the `mozjpeg` wrapper hides.
    /// `max`: mozjpeg's default profile (JCP_MAX_COMPRESSION: quant table 3, progressive with
    /// optimised scans) with trellis quantisation switched off. `!max`: JCP_FASTEST
    /// (libjpeg-turbo's defaults) + optimised Huffman + libjpeg's simple progressive script.
    fn moz_raw(img: &Img, q: u8, max: bool) -> Vec<u8> {
        use mozjpeg_sys::*;
        unsafe {
            let mut err: jpeg_error_mgr = std::mem::zeroed();
            let mut cinfo: jpeg_compress_struct = std::mem::zeroed();
            cinfo.common.err = jpeg_std_error(&mut err); // errors exit(): fine for a benchmark
            jpeg_CreateCompress(
                &mut cinfo,
                JPEG_LIB_VERSION,
                std::mem::size_of::<jpeg_compress_struct>(),
            );
            cinfo.image_width = img.w;
            cinfo.image_height = img.h;
            cinfo.input_components = 3;
            cinfo.in_color_space = J_COLOR_SPACE::JCS_RGB;
            if !max {
                jpeg_c_set_int_param(
                    &mut cinfo,
                    J_INT_PARAM::JINT_COMPRESS_PROFILE,
                    JCP_FASTEST as c_int,
                );
            }
            jpeg_set_defaults(&mut cinfo);
            if max {
                jpeg_c_set_bool_param(&mut cinfo, JBOOLEAN_TRELLIS_QUANT, 0);
                jpeg_c_set_bool_param(&mut cinfo, JBOOLEAN_TRELLIS_QUANT_DC, 0);
            } else {
                cinfo.optimize_coding = 1;
                jpeg_simple_progression(&mut cinfo);
            }
            jpeg_set_quality(&mut cinfo, c_int::from(q), 0);
            let mut buf: *mut u8 = std::ptr::null_mut();
            let mut size: c_ulong = 0;
            jpeg_mem_dest(&mut cinfo, &mut buf, &mut size);
            jpeg_start_compress(&mut cinfo, 1);
            let stride = img.w as usize * 3;
            while (cinfo.next_scanline as usize) < img.h as usize {
                let row = img.rgb.as_ptr().add(cinfo.next_scanline as usize * stride);
                let rows = [row];
                jpeg_write_scanlines(&mut cinfo, rows.as_ptr() as JSAMPARRAY, 1);
            }
            jpeg_finish_compress(&mut cinfo);
            let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
            jpeg_destroy_compress(&mut cinfo);
            libc::free(buf.cast());
            out
        }
    }

    fn image_rs(img: &Img, q: u8) -> Vec<u8> {
        use image::ImageEncoder as _;
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .write_image(&img.rgb, img.w, img.h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// jpeg-encoder 0.7 with rendition's settings; `avg` selects its new box-averaged chroma
    /// downsampling (0.6 and 0.7's default take the top-left pixel of each 2x2 block).
    #[cfg(feature = "je07")]
    fn je07(img: &Img, q: u8, avg: bool) -> Vec<u8> {
        use jpeg_encoder_07 as je7;
        let mut out = Vec::new();
        let mut enc = je7::Encoder::new(&mut out, q);
        enc.set_optimized_huffman_tables(true);
        if avg {
            enc.set_chroma_subsampling_method(je7::ChromaSubsamplingMethod::Average);
        }
        enc.encode(&img.rgb, img.w as u16, img.h as u16, je7::ColorType::Rgb)
            .unwrap();
        out
    }

    #[cfg(feature = "je07")]
    pub fn candidates_je07() -> Vec<Cand> {
        vec![
            cand("jpeg-encoder-0.7", "jpg", |i, q| je07(i, q, false)),
            cand("jpeg-encoder-0.7/avg", "jpg", |i, q| je07(i, q, true)),
        ]
    }

    pub fn candidates() -> Vec<Cand> {
        use SamplingFactor::{F_1_1, F_2_2};
        vec![
            cand("jpeg-encoder", "jpg", |i, q| je(i, q, None, false, true)),
            cand("jpeg-encoder/420", "jpg", |i, q| {
                je(i, q, Some(F_2_2), false, true)
            }),
            cand("jpeg-encoder/444", "jpg", |i, q| {
                je(i, q, Some(F_1_1), false, true)
            }),
            cand("jpeg-encoder/prog", "jpg", |i, q| {
                je(i, q, None, true, true)
            }),
            cand("jpeg-encoder/stdhuff", "jpg", |i, q| {
                je(i, q, None, false, false)
            }),
            cand("mozjpeg", "jpg", |i, q| moz(i, q, Moz::Default)),
            cand("mozjpeg/baseline", "jpg", |i, q| moz(i, q, Moz::Baseline)),
            cand("mozjpeg/444", "jpg", |i, q| moz(i, q, Moz::Default444)),
            cand("mozjpeg/fast", "jpg", |i, q| moz(i, q, Moz::Fast)),
            cand("mozjpeg/notrellis", "jpg", |i, q| moz_raw(i, q, true)),
            cand("mozjpeg/fast-prog", "jpg", |i, q| moz_raw(i, q, false)),
            cand("image", "jpg", image_rs),
        ]
    }
}

// ---------------------------------------------------------------- JPEG: libjpeg-turbo (turbojpeg crate)
#[cfg(feature = "turbo")]
mod turbo {
    use super::*;
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

    fn tj(img: &Img, q: u8, sub: Subsamp, progressive: bool, opt: bool) -> Vec<u8> {
        let mut c = Compressor::new().unwrap();
        c.set_quality(i32::from(q)).unwrap();
        c.set_subsamp(sub).unwrap();
        c.set_optimize(opt).unwrap();
        c.set_progressive(progressive).unwrap();
        let image = Image {
            pixels: &img.rgb[..],
            width: img.w as usize,
            pitch: img.w as usize * 3,
            height: img.h as usize,
            format: PixelFormat::RGB,
        };
        c.compress_to_vec(image).unwrap()
    }

    pub fn candidates() -> Vec<Cand> {
        vec![
            cand("turbojpeg", "jpg", |i, q| {
                tj(i, q, Subsamp::Sub2x2, false, true)
            }),
            cand("turbojpeg/444", "jpg", |i, q| {
                tj(i, q, Subsamp::None, false, true)
            }),
            cand("turbojpeg/prog", "jpg", |i, q| {
                tj(i, q, Subsamp::Sub2x2, true, true)
            }),
            cand("turbojpeg/stdhuff", "jpg", |i, q| {
                tj(i, q, Subsamp::Sub2x2, false, false)
            }),
        ]
    }
}

// ---------------------------------------------------------------- WebP (libwebp 1.3.1 or 1.6.0)
#[cfg(any(feature = "webp13", feature = "webp16"))]
mod wp {
    use super::*;
    #[cfg(feature = "webp13")]
    use libwebp_sys as sys;
    #[cfg(all(feature = "webp16", not(feature = "webp13")))]
    use libwebp_sys_new as sys;
    use sys::{WebPConfig, WebPPreset};

    /// The libwebp build this binary links, as a name prefix.
    pub fn tag() -> String {
        let v = unsafe { sys::WebPGetEncoderVersion() };
        let sse41 = if cfg!(feature = "sse41") {
            "+sse41"
        } else {
            ""
        };
        format!("libwebp{}.{}.{}{sse41}", v >> 16, (v >> 8) & 0xff, v & 0xff)
    }

    /// WebPEncode of an RGB buffer the way the `webp` crate does it (ARGB picture import,
    /// WebPMemoryWriter), with an explicit config. Import is inside the timed region, as in
    /// `encode_simple`.
    pub fn encode(img: &Img, cfg: &WebPConfig) -> Vec<u8> {
        unsafe {
            assert!(sys::WebPValidateConfig(cfg) != 0, "invalid WebPConfig");
            let mut pic = sys::WebPPicture::new().unwrap();
            pic.use_argb = 1;
            pic.width = img.w as i32;
            pic.height = img.h as i32;
            assert!(sys::WebPPictureImportRGB(&mut pic, img.rgb.as_ptr(), img.w as i32 * 3) != 0);
            let mut ww = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
            sys::WebPMemoryWriterInit(ww.as_mut_ptr());
            pic.writer = Some(sys::WebPMemoryWrite);
            pic.custom_ptr = ww.as_mut_ptr().cast();
            let ok = sys::WebPEncode(cfg, &mut pic);
            let mut ww = ww.assume_init();
            assert!(ok != 0, "WebPEncode failed: {:?}", pic.error_code);
            let out = std::slice::from_raw_parts(ww.mem, ww.size).to_vec();
            sys::WebPMemoryWriterClear(&mut ww);
            sys::WebPPictureFree(&mut pic);
            out
        }
    }

    fn with(q: u8, f: impl Fn(&mut WebPConfig)) -> WebPConfig {
        let mut c = WebPConfig::new().unwrap(); // WEBP_PRESET_DEFAULT: method 4, sns 50, filter 60, segments 4
        c.quality = f32::from(q);
        f(&mut c);
        c
    }

    pub fn candidates() -> Vec<Cand> {
        let t = tag();
        let mut v = Vec::new();
        #[cfg(feature = "webp13")]
        v.push(cand(format!("{t}/encode_simple"), "webp", |i, q| {
            // Exactly rendition's call.
            let m = webp::Encoder::from_rgb(&i.rgb, i.w, i.h)
                .encode_simple(false, f32::from(q))
                .unwrap();
            m.to_vec()
        }));
        for m in 0..=6 {
            v.push(cand(format!("{t}/m{m}"), "webp", move |i, q| {
                encode(i, &with(q, |c| c.method = m))
            }));
        }
        type Knob = (&'static str, fn(&mut WebPConfig));
        // autofilter=1 is left out: at q75 it took 8.5x the time of m4 for the same bytes.
        let knobs: [Knob; 8] = [
            ("m4-sharpyuv", |c| c.use_sharp_yuv = 1),
            ("m4-sns0", |c| c.sns_strength = 0),
            ("m4-sns25", |c| c.sns_strength = 25),
            ("m4-sns80", |c| c.sns_strength = 80),
            ("m4-filter20", |c| c.filter_strength = 20),
            ("m4-seg1", |c| c.segments = 1),
            ("m2-sns0", |c| {
                c.method = 2;
                c.sns_strength = 0
            }),
            ("m6-sharpyuv", |c| {
                c.method = 6;
                c.use_sharp_yuv = 1
            }),
        ];
        for (name, f) in knobs {
            v.push(cand(format!("{t}/{name}"), "webp", move |i, q| {
                encode(i, &with(q, f))
            }));
        }
        v.push(cand(format!("{t}/preset-photo"), "webp", |i, q| {
            let c =
                WebPConfig::new_with_preset(WebPPreset::WEBP_PRESET_PHOTO, f32::from(q)).unwrap();
            encode(i, &c)
        }));
        v
    }
}

// ---------------------------------------------------------------- driver
fn read_ppm(path: &Path) -> Img {
    let data = fs::read(path).unwrap();
    // P6 <ws> W <ws> H <ws> MAXVAL <single ws> data; comments start with '#'.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data[i] == b'#' {
            while data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let s = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[s..i]).into_owned());
    }
    assert_eq!(fields[0], "P6", "{}: not a binary PPM", path.display());
    assert_eq!(fields[3], "255");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let rgb = data[i + 1..].to_vec();
    assert_eq!(rgb.len(), (w * h * 3) as usize);
    Img {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        w,
        h,
        rgb,
    }
}

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn all_candidates() -> Vec<Cand> {
    #[allow(unused_mut)]
    let mut v: Vec<Cand> = Vec::new();
    #[cfg(feature = "jpeg")]
    v.extend(jpeg::candidates());
    #[cfg(feature = "je07")]
    v.extend(jpeg::candidates_je07());
    #[cfg(feature = "turbo")]
    v.extend(turbo::candidates());
    #[cfg(any(feature = "webp13", feature = "webp16"))]
    v.extend(wp::candidates());
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let mut qs: Vec<u8> = vec![30, 40, 50, 60, 65, 70, 75, 80, 85, 90, 95, 98];
    let mut reps = 5usize;
    let mut only: Vec<String> = Vec::new();
    let mut list = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--q" => {
                qs = it
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|s| s.parse().unwrap())
                    .collect()
            }
            "--reps" => reps = it.next().unwrap().parse().unwrap(),
            "--only" => only = it.next().unwrap().split(',').map(String::from).collect(),
            "--list" => list = true,
            _ => pos.push(a.clone()),
        }
    }
    let mut cands = all_candidates();
    if !only.is_empty() {
        // An entry matches a whole name, or the part after its '/' ("m4" matches "libwebp1.6.0/m4").
        cands.retain(|c| {
            only.iter()
                .any(|o| c.name == *o || c.name.ends_with(&format!("/{o}")))
        });
    }
    if list {
        for c in &cands {
            println!("{}", c.name);
        }
        return;
    }
    assert!(
        pos.len() == 3,
        "usage: encbench IN_DIR OUT_DIR RESULTS.jsonl [--q ..] [--reps N] [--only ..]"
    );
    assert!(reps >= 1 && reps <= 50);
    let (in_dir, out_dir, results) = (
        PathBuf::from(&pos[0]),
        PathBuf::from(&pos[1]),
        PathBuf::from(&pos[2]),
    );
    let mut paths: Vec<PathBuf> = fs::read_dir(&in_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ppm"))
        .collect();
    paths.sort();
    let imgs: Vec<Img> = paths.iter().map(|p| read_ppm(p)).collect();
    assert!(!imgs.is_empty(), "no .ppm in {}", in_dir.display());
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results)
        .unwrap();
    eprintln!(
        "{} candidates x {} qualities x {} images, {reps} reps",
        cands.len(),
        qs.len(),
        imgs.len()
    );

    // Order: quality, image, candidate, so slow drift in machine load hits all candidates alike.
    for &q in &qs {
        let t0 = Instant::now();
        for img in &imgs {
            for c in &cands {
                let first = (c.enc)(img, q); // warm-up, also the file we keep
                let (mut wall, mut cpu) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
                for _ in 0..reps {
                    let (t, c0) = (Instant::now(), cpu_ns());
                    let out = (c.enc)(img, q);
                    let (c1, dt) = (cpu_ns(), t.elapsed());
                    wall.push(dt.as_nanos() as u64);
                    cpu.push(c1 - c0);
                    assert_eq!(out.len(), first.len(), "{} is not deterministic", c.name);
                    std::hint::black_box(out);
                }
                let dir = out_dir
                    .join(c.name.replace('/', "__"))
                    .join(format!("q{q}"));
                fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("{}.{}", img.name, c.ext));
                fs::write(&file, &first).unwrap();
                let mut line = String::new();
                write!(
                    line,
                    "{{\"cand\":\"{}\",\"q\":{q},\"image\":\"{}\",\"w\":{},\"h\":{},\"bytes\":{},\"wall_ns\":{},\"cpu_ns\":{},\"reps\":{reps},\"file\":\"{}\"}}",
                    c.name,
                    img.name,
                    img.w,
                    img.h,
                    first.len(),
                    median(&mut wall),
                    median(&mut cpu),
                    file.display()
                )
                .unwrap();
                writeln!(log, "{line}").unwrap();
            }
        }
        eprintln!("q{q} done in {:.1}s", t0.elapsed().as_secs_f64());
    }
}
