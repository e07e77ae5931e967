//! The demo folder: a few generated source images and a gallery page of signed URLs.
//!
//! `rendition serve` with no `--dir` creates (or reuses) `./rendition-demo`, writes the
//! samples once, and rewrites `index.html` at every start with URLs signed by the current key.
//! The page checks itself: when every image has loaded it writes a JSON report of natural
//! sizes against the expected ones into `#report`, which the browser test reads. The
//! playground (`playground.rs`) is written next to it at every start too.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use rendition::ops::{Fit, Format, Gravity, Ops, Rgb, Rotation, Tenths};
use rendition::plan::{Orientation, Plan, Rect};
use rendition::request::KeyRing;
use rendition::{render, Limits};

use crate::playground::Signing;

/// File (hidden, so never served) holding the demo's generated development key.
pub const DEV_KEY_FILE: &str = ".rendition-dev-key";

/// The demo sources: key, stored size, EXIF orientation, what it shows.
const SAMPLES: [(&str, u32, u32, u8, &str); 3] = [
    ("sources/landscape.jpg", 2400, 1600, 1, "a 2400x1600 JPEG"),
    (
        "sources/portrait.jpg",
        1800,
        1200,
        6,
        "a 1200x1800 portrait stored sideways with EXIF orientation 6",
    ),
    (
        "sources/badge.png",
        900,
        900,
        1,
        "a 900x900 PNG with transparency",
    ),
];

/// Reads the demo key, or makes one. Returns the key ring and the key as `ID:SECRET`, which
/// the playground page signs with.
pub fn dev_keys(dir: &Path) -> anyhow::Result<(KeyRing, String)> {
    let path = dir.join(DEV_KEY_FILE);
    let spec = match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_string(),
        Err(_) => {
            let spec = crate::new_key("dev")?;
            std::fs::write(&path, &spec).with_context(|| format!("writing {}", path.display()))?;
            spec
        }
    };
    let keys = KeyRing::from_spec(&spec)
        .with_context(|| format!("reading the key in {}", path.display()))?;
    Ok((keys, spec))
}

/// Where the demo looks for a real photograph (Debian's wallpaper packages, which the tests
/// install): a photo shows the renderer better than a generated landscape.
const PHOTO_FOLDER: &str = "/usr/share/backgrounds";
/// The key the photograph is copied to.
const PHOTO_KEY: &str = "sources/photo.jpg";

/// A landscape JPEG of 0.2–3 MB from [`PHOTO_FOLDER`], photographs first.
fn installed_photo() -> Option<std::path::PathBuf> {
    let mut photos: Vec<_> = std::fs::read_dir(PHOTO_FOLDER)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let jpeg = p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg"));
            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            jpeg && (200_000..=3_000_000).contains(&size)
        })
        .collect();
    // Photographs first (the Ubuntu wallpapers are named `Title_by_Author.jpg`), then by name.
    photos.sort_by_key(|p| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        (!name.contains("_by_"), name)
    });
    photos.into_iter().find(|p| {
        std::fs::read(p)
            .ok()
            .and_then(|b| render::probe(&b, &Limits::default()).ok())
            .is_some_and(|probe| probe.width > probe.height && probe.orientation.is_identity())
    })
}

/// The demo's sources, as keys with what they show: a photograph when one is installed (else
/// a generated landscape), a sideways portrait with an EXIF orientation, a transparent PNG.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = SAMPLES
        .iter()
        .map(|(k, _, _, _, d)| (k.to_string(), d.to_string()))
        .collect();
    if dir.join(PHOTO_KEY).exists() {
        out[0] = (
            PHOTO_KEY.to_string(),
            format!("a photograph copied from {PHOTO_FOLDER}"),
        );
    }
    out
}

/// Creates the sample sources that are missing and (re)writes `index.html` and the playground,
/// whose page signs as `playground` says (with the development key, or not at all).
pub fn prepare(dir: &Path, keys: &KeyRing, playground: &Signing) -> anyhow::Result<()> {
    if !dir.join(PHOTO_KEY).exists() {
        if let Some(photo) = installed_photo() {
            std::fs::create_dir_all(dir.join("sources"))?;
            std::fs::copy(&photo, dir.join(PHOTO_KEY))
                .with_context(|| format!("copying {}", photo.display()))?;
        }
    }
    for (i, (key, w, h, orientation, _)) in SAMPLES.into_iter().enumerate() {
        let path = dir.join(key);
        // The photograph, when there is one, takes the generated landscape's place.
        if path.exists() || (i == 0 && dir.join(PHOTO_KEY).exists()) {
            continue;
        }
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        let bytes = match key.rsplit_once('.').map(|(_, e)| e) {
            Some("png") => badge_png(w, h),
            _ => landscape_jpeg(w, h, orientation),
        };
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let page = index_html(dir, keys)?;
    std::fs::write(dir.join("index.html"), page).context("writing index.html")?;
    // The playground starts with the photograph (or the generated landscape).
    crate::playground::write(dir, playground, &sources(dir)[0].0)
}

/// One entry of the gallery.
struct Tile {
    source: usize,
    ops: Ops,
    format: Format,
    caption: &'static str,
}

fn tiles() -> Vec<Tile> {
    let o = |w: Option<u32>, h: Option<u32>| Ops {
        width: w,
        height: h,
        ..Ops::default()
    };
    vec![
        Tile {
            source: 0,
            ops: o(Some(320), None),
            format: Format::Webp,
            caption: "320 wide, WebP",
        },
        Tile {
            source: 0,
            ops: o(Some(320), None),
            format: Format::Avif,
            caption: "320 wide, AVIF",
        },
        Tile {
            source: 0,
            ops: o(Some(320), Some(320)),
            format: Format::Jpeg,
            caption: "320x320 cover, centre",
        },
        Tile {
            source: 0,
            ops: Ops {
                gravity: Gravity::NorthEast,
                ..o(Some(320), Some(160))
            },
            format: Format::Jpeg,
            caption: "320x160 cover, north-east",
        },
        Tile {
            source: 0,
            ops: Ops {
                gravity: Gravity::Smart,
                ..o(Some(160), Some(320))
            },
            format: Format::Webp,
            caption: "160x320 cover, smart crop",
        },
        Tile {
            source: 0,
            ops: Ops {
                fit: Fit::Contain,
                background: Some(Rgb([34, 34, 34])),
                ..o(Some(320), Some(320))
            },
            format: Format::Png,
            caption: "320x320 contain on grey",
        },
        Tile {
            source: 0,
            ops: Ops {
                fit: Fit::Fill,
                ..o(Some(320), Some(120))
            },
            format: Format::Jpeg,
            caption: "320x120 fill (stretched)",
        },
        Tile {
            source: 0,
            ops: Ops {
                fit: Fit::Inside,
                ..o(Some(320), Some(320))
            },
            format: Format::Gif,
            caption: "inside 320x320, GIF",
        },
        Tile {
            source: 1,
            ops: o(None, Some(320)),
            format: Format::Jpeg,
            caption: "EXIF-rotated portrait, 320 high",
        },
        Tile {
            source: 1,
            ops: Ops {
                gravity: Gravity::Focal { x: 50, y: 20 },
                ..o(Some(240), Some(240))
            },
            format: Format::Webp,
            caption: "240x240, focal point 50%/20%",
        },
        Tile {
            source: 2,
            ops: o(Some(240), None),
            format: Format::Png,
            caption: "PNG keeps transparency",
        },
        Tile {
            source: 2,
            ops: o(Some(240), None),
            format: Format::Avif,
            caption: "AVIF keeps transparency",
        },
        Tile {
            source: 2,
            ops: Ops {
                background: Some(Rgb([255, 238, 170])),
                ..o(Some(240), None)
            },
            format: Format::Jpeg,
            caption: "flattened onto a colour, JPEG",
        },
        Tile {
            source: 0,
            ops: Ops {
                rotate: Rotation::R90,
                flip: true,
                quality: Some(60),
                ..o(Some(200), None)
            },
            format: Format::Jpeg,
            caption: "rotated 90, mirrored, q60",
        },
        Tile {
            source: 0,
            ops: Ops {
                blur: Some(Tenths(40)),
                ..o(Some(320), None)
            },
            format: Format::Webp,
            caption: "blur 4",
        },
        Tile {
            source: 0,
            ops: Ops {
                sharpen: Some(Tenths(15)),
                ..o(Some(320), None)
            },
            format: Format::Jpeg,
            caption: "sharpen 1.5",
        },
    ]
}

fn index_html(dir: &Path, keys: &KeyRing) -> anyhow::Result<String> {
    let sources = sources(dir);
    // Each source's displayed size, from its own header (the photograph's is not known here).
    let mut sizes = Vec::new();
    for (key, _) in &sources {
        let bytes = std::fs::read(dir.join(key)).with_context(|| format!("reading {key}"))?;
        let probe = render::probe(&bytes, &Limits::default())
            .map_err(|e| anyhow::anyhow!("{key}: {}", e.message()))?;
        sizes.push((probe.width, probe.height, probe.orientation));
    }
    let mut figures = String::new();
    for t in tiles() {
        let key = &sources[t.source].0;
        let (w, h, orientation) = sizes[t.source];
        let user = Orientation {
            quarter_turns: t.ops.rotate.quarter_turns(),
            mirror: t.ops.flip,
        };
        let (dw, dh) = orientation.then(user).apply_size(w, h);
        let plan = Plan::new(&t.ops, dw, dh, &Limits::default())?;
        let url = keys.sign_new(key, t.ops.clone(), t.format)?;
        let _ = writeln!(
            figures,
            r#"<figure><img src="{url}" width="{pw}" height="{ph}" data-w="{pw}" data-h="{ph}" alt="{cap}"><figcaption>{cap} <span class="how"></span><br><a href="{url}"><code>{url}</code></a></figcaption></figure>"#,
            pw = plan.width,
            ph = plan.height,
            cap = t.caption,
        );
    }
    let sources: String = sources
        .iter()
        .zip(&sizes)
        .map(|((k, d), (w, h, o))| {
            let (dw, dh) = o.apply_size(*w, *h);
            format!("<li><code>{k}</code>: {d}, {dw}x{dh}</li>")
        })
        .collect();
    Ok(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rendition demo</title>
<style>
body {{ font: 15px/1.4 system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }}
main {{ display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }}
figure {{ margin: 0; padding: .5rem; background: #fff; border: 1px solid #ddd; }}
figure img {{ display: block; background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0/16px 16px; }}
figcaption {{ font-size: 13px; margin-top: .4rem; max-width: 320px; }}
figcaption a {{ color: #555; text-decoration: none; }}
figcaption code {{ display: block; margin-top: .2rem; font-size: 11px; overflow-wrap: anywhere; }}
.how {{ color: #0a6; white-space: nowrap; }}
code {{ font-size: 12px; color: #555; }}
.note {{ background: #fff3cd; padding: .6rem 1rem; border: 1px solid #e0c97f; }}
</style>
</head>
<body>
<h1>rendition demo</h1>
<p class="note">These URLs are signed with a development key generated for this demo
(<code>{key_file}</code> in this folder, or <code>RENDITION_KEYS</code> if set). Outside the demo,
<code>rendition serve --dir DIR</code> needs <code>RENDITION_KEYS</code>.</p>
<p><a href="{playground}">The playground</a>: pick a source and options, and see the signed URL,
the <code>srcset</code> and <code>&lt;picture&gt;</code> markup and the result.</p>
<p>Each image below is rendered the first time it is asked for, written into this folder under
the requested path (the URL under it), and served as a plain file from then on: the green note
says which it was this time, and the size of the file. Reload to see them all served as files.
Sources:</p>
<ul>{sources}</ul>
<main>
{figures}</main>
<pre id="report" hidden></pre>
<script>
// How each image was answered (the server's Server-Timing header: rendered, or served as a
// file) and its size, under the image; and a self-check for the browser test: every image
// loaded, at the size the URL asked for.
addEventListener("load", () => {{
  const imgs = [...document.querySelectorAll("main img")];
  const results = imgs.map(i => {{
    const entry = performance.getEntriesByName(i.currentSrc)[0];
    const timing = entry && entry.serverTiming.find(t => t.name === "rendition");
    const how = timing ? timing.description : "";
    const bytes = entry ? entry.encodedBodySize : 0;
    const kb = (bytes / 1024).toFixed(1) + " KiB";
    i.parentElement.querySelector(".how").textContent =
      how === "hit" ? `served as a file, ${{kb}}`
      : how ? `${{how}} in ${{Math.round(timing.duration)}} ms, ${{kb}}` : kb;
    return {{
      src: i.getAttribute("src"),
      ok: i.complete && i.naturalWidth === +i.dataset.w && i.naturalHeight === +i.dataset.h,
      natural: [i.naturalWidth, i.naturalHeight],
      expected: [+i.dataset.w, +i.dataset.h],
      how,
      bytes,
    }};
  }});
  const ok = results.filter(r => r.ok).length;
  document.getElementById("report").textContent = JSON.stringify({{ ok, total: results.length, results }});
  document.title = `rendition demo: ${{ok}}/${{results.length}} images ok`;
}});
</script>
</body>
</html>
"#,
        key_file = DEV_KEY_FILE,
        playground = crate::playground::PAGE,
    ))
}

/// Value noise: smooth, deterministic texture for the sample photos.
fn noise(x: f32, y: f32, seed: u32) -> f32 {
    let hash = |ix: i32, iy: i32| -> f32 {
        let mut h =
            (ix as u32).wrapping_mul(374_761_393) ^ (iy as u32).wrapping_mul(668_265_263) ^ seed;
        h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
        (h ^ (h >> 16)) as f32 / u32::MAX as f32
    };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let (ix, iy) = (x0 as i32, y0 as i32);
    let top = hash(ix, iy) * (1.0 - sx) + hash(ix + 1, iy) * sx;
    let bottom = hash(ix, iy + 1) * (1.0 - sx) + hash(ix + 1, iy + 1) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// A synthetic landscape: sky, sun, layered hills with texture. With an orientation other
/// than 1 the picture is stored turned so that the EXIF tag brings it upright.
fn landscape_jpeg(w: u32, h: u32, exif_orientation: u8) -> Vec<u8> {
    // Paint upright in displayed coordinates, then store it turned.
    let o = Orientation::from_exif(exif_orientation);
    let (dw, dh) = o.apply_size(w, h);
    let (fw, fh) = (dw as f32, dh as f32);
    let mut upright = vec![0u8; (dw * dh * 3) as usize];
    for y in 0..dh {
        for x in 0..dw {
            let (u, v) = (x as f32 / fw, y as f32 / fh);
            let mut c = [0.35 + 0.4 * v, 0.55 + 0.3 * v, 0.95 - 0.1 * v];
            let (sx, sy) = (u - 0.72, (v - 0.25) * fh / fw);
            if (sx * sx + sy * sy).sqrt() < 0.06 {
                c = [1.0, 0.85, 0.4];
            }
            for (layer, base) in [(0u32, 0.55f32), (1, 0.68), (2, 0.8)] {
                let ridge = base + 0.08 * noise(u * 6.0 + layer as f32 * 10.0, 0.5, layer) - 0.04;
                if v > ridge {
                    let t = noise(u * 80.0, v * 80.0, 7 + layer) * 0.25;
                    let shade = 0.3 + 0.2 * layer as f32;
                    c = [0.15 + t, shade + t, 0.12 + t * 0.5];
                }
            }
            let i = ((y * dw + x) * 3) as usize;
            for k in 0..3 {
                upright[i + k] = (c[k].clamp(0.0, 1.0) * 255.0) as u8;
            }
        }
    }
    // Store it turned by the inverse of the display transform, so the EXIF tag undoes it.
    let mut stored = vec![0u8; upright.len()];
    for y in 0..dh {
        for x in 0..dw {
            let pixel = Rect {
                x: f64::from(x),
                y: f64::from(y),
                w: 1.0,
                h: 1.0,
            };
            let at = o.rect_to_stored(pixel, (f64::from(w), f64::from(h)));
            let (from, to) = (
                ((y * dw + x) * 3) as usize,
                ((at.y as u32 * w + at.x as u32) * 3) as usize,
            );
            stored[to..to + 3].copy_from_slice(&upright[from..from + 3]);
        }
    }
    let mut out = rendition::render::encode_jpeg(&stored, w, h, 90).expect("encodes");
    if exif_orientation != 1 {
        // An APP1 segment after JFIF's APP0: "Exif", a big-endian TIFF header, one IFD entry.
        let mut app1 =
            b"\xFF\xE1\0\x22Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        app1.extend_from_slice(&[exif_orientation, 0, 0, 0, 0, 0, 0]);
        let after_app0 = 4 + usize::from(u16::from_be_bytes([out[4], out[5]]));
        out.splice(after_app0..after_app0, app1);
    }
    out
}

/// A round badge with soft edges on a transparent background.
fn badge_png(w: u32, h: u32) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut data = Vec::with_capacity((w * h * 4) as usize);
    let (cx, cy, r) = (w as f32 / 2.0, h as f32 / 2.0, w.min(h) as f32 * 0.45);
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            let alpha = ((r - d) / 3.0).clamp(0.0, 1.0);
            let ring = ((d / r * 6.0).floor() as u32).is_multiple_of(2);
            let c = if ring { [220, 60, 90] } else { [250, 200, 70] };
            data.extend_from_slice(&[c[0], c[1], c[2], (alpha * 255.0) as u8]);
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&data, w, h, image::ExtendedColorType::Rgba8)
        .expect("encodes");
    out
}
