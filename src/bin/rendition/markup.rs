//! `rendition sign --srcset` and `--picture`: srcset candidates and `<picture>` markup, with
//! the info request's placeholder (§14) as the `<img>`'s background.
//!
//! Follows the JavaScript client's `clients/js/src/markup.js` rule for rule (`candidates`,
//! `picturePlan`, `infoOf`, `checkPlaceholder`, `placeholderStyle`, `escapeHtml`), so for the
//! same inputs both print the same text; only the errors name flags (`--sizes`) where the
//! JavaScript names options (`sizes`). Output sizes come
//! from the renderer's own geometry ([`Plan::new`]), which the JavaScript follows to the pixel.

use std::collections::HashSet;

use anyhow::{bail, Context as _, Result};
use rendition::auto::Output;
use rendition::limits::Limits;
use rendition::ops::{div_round, Fit, Ops};
use rendition::options::{Decimal, Options};
use rendition::plan::Plan;

/// A size in pixels: the source's as displayed (after its EXIF orientation), or an output's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// `--source-size WxH`: whole pixels, both above 0.
pub fn source_size(text: &str) -> Result<Size> {
    let side = |v: &str| -> Option<u32> {
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse().ok().filter(|&n| n > 0)
    };
    match text.split_once(['x', 'X']).map(|(w, h)| (side(w), side(h))) {
        Some((Some(width), Some(height))) => Ok(Size { width, height }),
        _ => bail!(
            "--source-size: {text:?} is not WIDTHxHEIGHT in pixels, such as 4032x3024 (the \
             source's size as displayed, after its EXIF orientation)"
        ),
    }
}

/// What `--picture` takes from the info request's answer (§14.2, `--info`): the source's size
/// as displayed, and its placeholder unless the source has alpha (the placeholder would show
/// through the image's transparent pixels once it is loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub size: Size,
    pub placeholder: Option<String>,
}

/// `--info`: the info request's answer as JSON text, read from `name` (for the errors). Members
/// it doesn't use are ignored, as the spec asks of readers; the ones it uses are checked: width
/// and height whole pixels above 0, alpha true or false when present, and the placeholder an
/// image data URL in base64 when present (even with alpha, as the JavaScript checks it).
pub fn info(name: &str, text: &str) -> Result<Info> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "--info: {name} is not JSON ({e}): give the info request's answer, as `rendition \
             render --format json` writes it or the CDN serves it for a -.json path"
        )
    })?;
    let Some(info) = value.as_object() else {
        bail!("--info: {name} is not the info request's answer (an object with width and height)");
    };
    let side = |side: &str| -> Result<u32> {
        let value = info.get(side);
        value
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0)
            .with_context(|| {
                let shown = value.map_or("missing".to_string(), |v| v.to_string());
                format!("--info: {name}: its {side} ({shown}) is not a size in pixels")
            })
    };
    let size = Size {
        width: side("width")?,
        height: side("height")?,
    };
    let alpha = match info.get("alpha") {
        None => false,
        Some(serde_json::Value::Bool(alpha)) => *alpha,
        Some(other) => bail!("--info: {name}: its alpha ({other}) is not true or false"),
    };
    let placeholder = match info.get("placeholder") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(url)) => {
            check_placeholder(&format!("--info: {name}: its placeholder"), url)?;
            Some(url.clone())
        }
        Some(other) => bail!(
            "--info: {name}: its placeholder ({other}) is not an image data URL in base64 \
             (data:image/png;base64,…)"
        ),
    };
    Ok(Info {
        size,
        placeholder: placeholder.filter(|_| !alpha),
    })
}

/// The image types a placeholder data URL may name, as the JavaScript's check.
const PLACEHOLDER_TYPES: [&str; 5] = ["png", "jpeg", "gif", "webp", "avif"];

/// A placeholder goes into a style attribute, so only what can't leave CSS's `url()` nor the
/// attribute is taken: `data:image/<type>;base64,` and nothing but base64 after it (the
/// JavaScript's `^data:image\/(?:png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]+={0,2}$`).
pub fn check_placeholder(what: &str, value: &str) -> Result<()> {
    let data = value
        .strip_prefix("data:image/")
        .and_then(|rest| {
            PLACEHOLDER_TYPES
                .iter()
                .find_map(|t| rest.strip_prefix(t)?.strip_prefix(";base64,"))
        })
        .filter(|data| {
            let body = data.trim_end_matches('=');
            data.len() - body.len() <= 2
                && !body.is_empty()
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        });
    if data.is_none() {
        let shown = if value.chars().count() > 40 {
            format!("{:?}…", value.chars().take(40).collect::<String>())
        } else {
            format!("{value:?}")
        };
        bail!(
            "{what}: {shown} is not an image data URL in base64 (data:image/png;base64,…), the \
             one kind of placeholder put in a style attribute"
        );
    }
    Ok(())
}

/// The style that paints a placeholder (a checked data URL) behind the `<img>` until the image
/// covers it: centred and scaled to cover the box, as the renditions crop by default. The
/// JavaScript's `placeholderStyle` and the Python client's `placeholder_style` write the same.
fn placeholder_style(data_url: &str) -> String {
    format!("background-position:center;background-size:cover;background-image:url({data_url})")
}

/// One srcset candidate, resolved and ready to sign.
pub struct Candidate {
    pub ops: Ops,
    pub output: Output,
    /// `640w` or `2x`.
    descriptor: String,
    /// The number in the descriptor, to find the largest candidate.
    value: Decimal,
    /// The output size, when the source's size is known.
    rendered: Option<Size>,
}

enum Item {
    Width(u32),
    Density(Decimal),
}

/// The source's sides as the ops see them: a quarter turn swaps them.
fn displayed(ops: &Ops, size: Size) -> (u32, u32) {
    if ops.rotate.quarter_turns() % 2 == 1 {
        (size.height, size.width)
    } else {
        (size.width, size.height)
    }
}

/// The size the renderer gives `ops` for a source displayed as `size`. Geometry only: the
/// output limits are the renderer's to apply (they are configurable), as in the JavaScript.
fn rendered_size(ops: &Ops, size: Size) -> Result<Size> {
    let unlimited = Limits {
        max_output_side: u32::MAX,
        max_output_pixels: u64::MAX,
        ..Limits::default()
    };
    let (w, h) = displayed(ops, size);
    let plan = Plan::new(ops, w, h, &unlimited).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    Ok(Size {
        width: plan.width,
        height: plan.height,
    })
}

/// Cover, contain and fill make exactly their box when the source is large enough (§8).
fn box_of(ops: &Ops) -> Option<Size> {
    match (ops.width, ops.height, ops.fit) {
        (Some(width), Some(height), Fit::Cover | Fit::Contain | Fit::Fill) => {
            Some(Size { width, height })
        }
        _ => None,
    }
}

/// Widths (`320`) or densities (`2x`), and a refusal of a mix.
fn parse_items(items: &[String]) -> Result<(Vec<Item>, bool)> {
    let mut parsed = Vec::new();
    for item in items {
        let item = item.trim();
        if let Some(d) = item.strip_suffix('x') {
            let density: Decimal = d.parse().map_err(|e: rendition_sign::Error| {
                anyhow::anyhow!("--srcset {item:?}: {}", e.message())
            })?;
            parsed.push(Item::Density(density));
        } else {
            let width = Some(item)
                .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|i| i.parse::<u32>().ok())
                .with_context(|| format!("--srcset: {item:?} is not a width or a density"))?;
            parsed.push(Item::Width(width));
        }
    }
    let densities = parsed
        .iter()
        .filter(|p| matches!(p, Item::Density(_)))
        .count();
    if densities != 0 && densities != parsed.len() {
        bail!("--srcset: use widths (320,640) or densities (1x,2x), not both in one srcset");
    }
    Ok((parsed, densities > 0))
}

/// The srcset candidates of `items` for `options`: widths replace the width (a box keeps its
/// aspect ratio, so both sides or neither) and take no dpr; densities multiply dpr exactly and
/// need a size to multiply. With the source's size, a width the source can't give is signed as
/// the size it gives, each width descriptor is the width the renderer produces, and a candidate
/// that repeats an earlier one's pixels is left out.
pub fn candidates(
    source: &str,
    items: &[String],
    options: &Options,
    size: Option<Size>,
) -> Result<Vec<Candidate>> {
    let (parsed, densities) = parse_items(items)?;
    // The options themselves, checked before any arithmetic on them.
    options.resolve(source)?;
    if densities && options.width.is_none() && options.height.is_none() {
        bail!("--srcset: densities need a --width or --height to multiply");
    }
    if !densities && options.dpr.is_some() {
        bail!("--srcset: widths are in device pixels already; leave out --dpr (or use densities: 1x,2x)");
    }
    if !densities && options.width.is_some() != options.height.is_some() {
        bail!(
            "--srcset: the widths replace --width; leave out --width and --height, or give both \
             to keep a box's aspect ratio"
        );
    }
    let dpr = match &options.dpr {
        Some(dpr) => dpr
            .0
            .parse::<Decimal>()
            .map_err(|e| anyhow::anyhow!("dpr: {}", e.message()))?,
        None => Decimal::integer(1),
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for item in parsed {
        let mut o = options.clone();
        let (mut descriptor, mut value) = match &item {
            Item::Density(d) => {
                o.dpr = Some(dpr.times(d)?.into());
                (format!("{d}x"), *d)
            }
            Item::Width(width) => {
                // With a box, keep its aspect ratio at every width.
                if let (Some(w), Some(h)) = (options.width, options.height) {
                    let scaled = div_round(u128::from(h) * u128::from(*width), u128::from(w));
                    o.height = Some(u32::try_from(scaled.max(1)).unwrap_or(u32::MAX));
                }
                o.width = Some(*width);
                (format!("{width}w"), Decimal::integer(*width))
            }
        };
        let (mut ops, mut output) = o.resolve(source)?;
        let mut rendered = None;
        if let Some(size) = size {
            let width_item = matches!(item, Item::Width(_));
            if width_item {
                // A width the source can't give is signed as the size it gives: the same pixels
                // under the URL that asking for that size directly makes, stored once.
                let (sw, sh) = displayed(&ops, size);
                let (w, h) = ops.requested_size(sw, sh);
                if (w, h) != (ops.width, ops.height) {
                    o.width = w;
                    if h.is_some() {
                        o.height = h;
                    }
                    (ops, output) = o.resolve(source)?;
                }
            }
            let r = rendered_size(&ops, size)?;
            if width_item {
                descriptor = format!("{}w", r.width);
                value = Decimal::integer(r.width);
            }
            let same = if width_item {
                descriptor.clone()
            } else {
                format!("{}x{}", r.width, r.height)
            };
            if !seen.insert(same) {
                continue;
            }
            rendered = Some(r);
        }
        out.push(Candidate {
            ops,
            output,
            descriptor,
            value,
            rendered,
        });
    }
    Ok(out)
}

/// A srcset attribute value: each candidate's signed URL and its descriptor.
pub fn srcset(list: &[Candidate], sign: &impl Fn(&Candidate) -> Result<String>) -> Result<String> {
    let items: Vec<String> = list
        .iter()
        .map(|c| Ok(format!("{} {}", sign(c)?, c.descriptor)))
        .collect::<Result<_>>()?;
    Ok(items.join(", "))
}

/// Text made safe inside a double-quoted HTML attribute (and in text).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// ` name="value"` for each attribute that has a value, in order.
fn attributes(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|v| format!(" {name}=\"{}\"", escape_html(v)))
        })
        .collect()
}

const FORMATS: [&str; 5] = ["jpg", "png", "webp", "gif", "avif"];
const AUTO: [&str; 2] = ["auto", "auto-alpha"];

fn mime(format: &str) -> &'static str {
    match format {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        _ => "image/avif",
    }
}

/// A `<source>` or fallback format, as the extension: any case, `jpeg` is `jpg`.
fn format_name(flag: &str, value: &str) -> Result<String> {
    let name = value.trim().to_ascii_lowercase();
    let format = if name == "jpeg" { "jpg".into() } else { name };
    if AUTO.contains(&format.as_str()) {
        bail!(
            "{flag}: {value:?} is not a <source> or fallback format: give --format {format} for \
             one <img> that the CDN negotiates"
        );
    }
    if !FORMATS.contains(&format.as_str()) {
        bail!("{flag}: {value:?} is not jpg, png, webp, gif or avif");
    }
    Ok(format)
}

/// A PNG or GIF source may be transparent (or animated): its fallback keeps its format.
fn default_fallback(source: &str) -> &'static str {
    let ext = source.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "png",
        "gif" => "gif",
        _ => "jpg",
    }
}

/// `--picture`'s own flags.
pub struct PictureArgs<'a> {
    pub sizes: Option<&'a str>,
    pub alt: Option<&'a str>,
    pub formats: Option<&'a [String]>,
    pub fallback: Option<&'a str>,
    /// `--source-size`: the source's size, which wins over `info`'s.
    pub size: Option<Size>,
    /// `--info`, already read.
    pub info: Option<Info>,
    /// `--placeholder`: gives or replaces `info`'s placeholder.
    pub placeholder: Option<&'a str>,
}

/// `<picture>` markup: one `<source>` per format of `--formats` and an `<img>` in the fallback
/// format, all with the same candidates, and `width`/`height` from the source's size (§8) so
/// the page reserves the image's space. With `--format auto` or `auto-alpha`, one `<img>`
/// whose URLs the CDN negotiates (§13.5). `--info` gives the source's size when
/// `--source-size` doesn't, and a placeholder, which `--placeholder` gives or replaces: the
/// `<img>` paints it as its background until the image arrives.
pub fn picture(
    source: &str,
    items: &[String],
    options: &Options,
    args: &PictureArgs,
    sign: &impl Fn(&Candidate) -> Result<String>,
) -> Result<String> {
    let auto = match &options.format {
        None => None,
        Some(f) => {
            let name = f.to_ascii_lowercase();
            if AUTO.contains(&name.as_str()) {
                Some(name)
            } else if FORMATS.contains(&name.as_str()) || name == "jpeg" {
                bail!(
                    "--format: --picture makes one rendition per format, so it takes no --format \
                     {f}: give --formats (the <source> elements) and --fallback (the <img>), or \
                     --format auto or auto-alpha for one <img>"
                );
            } else {
                bail!(
                    "--format: {f:?} is not auto or auto-alpha, the formats --picture takes \
                     (--formats and --fallback make <picture> markup)"
                );
            }
        }
    };
    if let Some(auto) = &auto {
        for (flag, given) in [
            ("--formats", args.formats.is_some()),
            ("--fallback", args.fallback.is_some()),
        ] {
            if given {
                bail!(
                    "{flag}: --format {auto} writes one <img>, which the CDN negotiates; {flag} \
                     is for <picture> markup"
                );
            }
        }
    }
    let (_, densities) = parse_items(items)?;
    let sizes = args.sizes;
    if !densities && sizes.is_none_or(|s| s.trim().is_empty()) {
        bail!(
            "--sizes: is needed with widths: it tells the browser how wide the image shows \
             (\"100vw\" when it spans the viewport)"
        );
    }
    if densities && sizes.is_some() {
        bail!("--sizes: applies to widths only; densities are chosen by the screen");
    }
    let Some(alt) = args.alt else {
        bail!("--alt: is needed with --picture: describe the image, or give --alt \"\" when it is decorative");
    };
    let formats: Vec<String> = match (&auto, args.formats) {
        (Some(_), _) => Vec::new(),
        (None, None) => vec!["avif".into(), "webp".into()],
        (None, Some(list)) => list
            .iter()
            .filter(|f| !f.trim().is_empty())
            .map(|f| format_name("--formats", f))
            .collect::<Result<_>>()?,
    };
    let fallback = match &auto {
        Some(auto) => auto.clone(),
        None => format_name(
            "--fallback",
            args.fallback.unwrap_or(default_fallback(source)),
        )?,
    };
    for (i, f) in formats.iter().enumerate() {
        if formats.iter().position(|g| g == f) != Some(i) {
            bail!("--formats: {f} is listed twice");
        }
        if *f == fallback {
            bail!("--formats: {f} is the fallback <img> already");
        }
    }
    // As the JavaScript: --source-size before info's size; --placeholder before info's.
    let size = args.size.or(args.info.as_ref().map(|i| i.size));
    let placeholder = match args.placeholder {
        Some(url) => {
            check_placeholder("--placeholder", url)?;
            Some(url)
        }
        None => args.info.as_ref().and_then(|i| i.placeholder.as_deref()),
    };
    // Quality means nothing to png and gif: it applies to the lossy formats only. Auto formats
    // take it (auto-alpha's PNG choice ignores it).
    let for_format = |format: &str| {
        let mut o = options.clone();
        o.format = Some(format.to_string());
        if matches!(format, "png" | "gif") {
            o.quality = None;
        }
        o
    };
    let sets: Vec<Vec<Candidate>> = formats
        .iter()
        .chain([&fallback])
        .map(|f| candidates(source, items, &for_format(f), size))
        .collect::<Result<_>>()?;

    let img = sets.last().expect("the fallback's set");
    // The first of the largest, as the JavaScript's reduce finds it.
    let mut largest = &img[0];
    for c in &img[1..] {
        if c.value > largest.value {
            largest = c;
        }
    }
    // width and height: the size the <img> shows at. With widths, the largest candidate's (CSS
    // scales it down to the layout, keeping its aspect ratio); with densities, the 1x size.
    let shown = if !densities {
        largest.rendered.or_else(|| box_of(&largest.ops))
    } else {
        let mut css = for_format(&fallback);
        css.dpr = None;
        let (ops, _) = css.resolve(source)?;
        match size {
            Some(size) => Some(rendered_size(&ops, size)?),
            None => box_of(&ops),
        }
    };
    let mut srcsets = Vec::new();
    for set in &sets {
        srcsets.push(srcset(set, sign)?);
    }
    let mut html = String::new();
    if auto.is_none() {
        html.push_str("<picture>");
        for (format, set) in formats.iter().zip(&srcsets) {
            html.push_str(&format!(
                "<source{}>",
                attributes(&[
                    ("type", Some(mime(format).to_string())),
                    ("srcset", Some(set.clone())),
                    ("sizes", sizes.map(str::to_string)),
                ])
            ));
        }
    }
    html.push_str(&format!(
        "<img{}>",
        attributes(&[
            ("src", Some(sign(largest)?)),
            ("srcset", srcsets.last().cloned()),
            ("sizes", sizes.map(str::to_string)),
            ("width", shown.map(|s| s.width.to_string())),
            ("height", shown.map(|s| s.height.to_string())),
            ("alt", Some(alt.to_string())),
            ("loading", Some("lazy".into())),
            ("decoding", Some("async".into())),
            ("style", placeholder.map(placeholder_style)),
        ])
    ));
    if auto.is_none() {
        html.push_str("</picture>");
    }
    Ok(html)
}
