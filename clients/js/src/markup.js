// What a page needs around the signed paths: the size an output will have (§8 of
// docs/url-format.md), srcset candidates (the rules of `rendition sign --srcset`), and <picture>
// markup, or one <img> for format auto (§13.5), with the info request's placeholder (§14) as
// its background. Each helper returns a plan, the renditions to sign and how to write the result
// from their URLs, so index.js signs them sync or async with the same code around it.

import {
  FORMATS, INFO, LOSSY, RenditionError, decimalText, exactDecimal, isAuto, resolve, show,
  timesDecimal,
} from './core.js';

const U32_MAX = 4294967295;
const MIME = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };
// Box fits whose output is exactly the box when the source is large enough (§8).
const BOX_FITS = ['cover', 'contain', 'fill'];

function fail(option, message) {
  throw new RenditionError(option, message);
}

/** round(n / d), halves up, exact: ⌊(2n + d) / 2d⌋ (crates/sign's div_round). */
function divRound(n, d) {
  return Number((2n * BigInt(n) + BigInt(d)) / (2n * BigInt(d)));
}

/** plan.rs's `scaled`: f64 rounding (halves away from zero), then at least 1. */
function scaled(v) {
  return Math.min(Math.max(Math.round(v), 1), U32_MAX);
}

/** The source's sides as the ops see them: a quarter turn swaps them. */
function displayed(ops, sourceWidth, sourceHeight) {
  return ops.rotate === 90 || ops.rotate === 270 ? [sourceHeight, sourceWidth] : [sourceWidth, sourceHeight];
}

/**
 * The width and height the ops ask for, capped to a W×H source unless they say enlarge
 * (Ops::requested_size in crates/sign): one side is capped at the source's, and a cover,
 * contain or fill box larger than the source shrinks by the smaller of W / w and H / h, exactly,
 * keeping its aspect ratio. Inside and outside keep their box (their scale is capped instead).
 */
function requestedSize(ops, W, H) {
  const [w, h] = [ops.width, ops.height];
  if (ops.enlarge) return [w, h];
  if (w !== null && h !== null) {
    if (!BOX_FITS.includes(ops.fit) || (w <= W && h <= H)) return [w, h];
    const [num, den] = W * h <= H * w ? [W, w] : [H, h];
    return [Math.max(1, divRound(w * num, den)), Math.max(1, divRound(h * num, den))];
  }
  return [w === null ? null : Math.min(w, W), h === null ? null : Math.min(h, H)];
}

/**
 * The output size of resolved ops (resolve()'s `ops`) for a source displayed W×H (after its EXIF
 * orientation). Follows src/plan.rs operation by operation, in the same double-precision
 * arithmetic where it uses it, so the result is the renderer's to the pixel.
 */
export function renderedSize(ops, sourceWidth, sourceHeight) {
  const [W, H] = displayed(ops, sourceWidth, sourceHeight);
  const [w, h] = requestedSize(ops, W, H);
  if (w === null && h === null) return { width: W, height: H };
  if (h === null) return { width: w, height: scaled((H * w) / W) };
  if (w === null) return { width: scaled((W * h) / H), height: h };
  const [sx, sy] = [w / W, h / H];
  const limit = (s) => (ops.enlarge ? s : Math.min(s, 1));
  if (ops.fit === 'inside') {
    const s = limit(Math.min(sx, sy));
    return { width: Math.min(scaled(W * s), w), height: Math.min(scaled(H * s), h) };
  }
  if (ops.fit === 'outside') {
    const s = limit(Math.max(sx, sy));
    const [ow, oh] = [scaled(W * s), scaled(H * s)];
    return ops.enlarge
      ? { width: Math.max(ow, w), height: Math.max(oh, h) }
      : { width: Math.min(ow, W), height: Math.min(oh, H) };
  }
  return { width: w, height: h }; // cover and fill are the box; contain pads to it
}

/** sourceWidth and sourceHeight: both or neither, whole pixels. */
function sourceSize(params) {
  const { sourceWidth: width, sourceHeight: height } = params;
  if ((width ?? null) === null && (height ?? null) === null) return null;
  for (const [name, value] of [['sourceWidth', width], ['sourceHeight', height]]) {
    if (!Number.isInteger(value) || value < 1 || value > U32_MAX) {
      fail(name, `${show(value)} is not a size in pixels (give sourceWidth and sourceHeight together)`);
    }
  }
  return { width, height };
}

/** The output size of `options` for `source`, a sourceWidth × sourceHeight image as displayed. */
export function outputSize(source, options, sourceWidth, sourceHeight) {
  const size = sourceSize({ sourceWidth, sourceHeight }) ?? fail('sourceWidth', 'is needed');
  return renderedSize(resolve(source, options).ops, size.width, size.height);
}

/** Splits `params` into the helper's own names and the signer options (checked by resolve). */
function split(params, own, label) {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    fail(label, `${show(params)} is not an object of options`);
  }
  const mine = {};
  const options = {};
  for (const [name, value] of Object.entries(params)) {
    if (own.includes(name)) mine[name] = value;
    else options[name] = value;
  }
  return [mine, options];
}

/**
 * The srcset candidates of `items` (widths such as 320, or densities such as "2x"), with the rules
 * of `rendition sign --srcset`: widths replace the width (a box keeps its aspect ratio, so both
 * sides or neither) and take no dpr; densities multiply dpr exactly and need a size to multiply.
 * With the source's size each candidate gets its real output size: a width descriptor says the
 * width the renderer will produce, and candidates that would produce the same image as an
 * earlier one are dropped (a 1920 asked of a 1280-pixel photo is the 1280 one again).
 */
function candidates(source, items, options, size, label) {
  const list = typeof items === 'string' ? items.split(',') : items;
  if (!Array.isArray(list) || list.length === 0) {
    fail(label, 'give widths (320, 640) or densities ("1x", "2x")');
  }
  const parsed = list.map((item) => {
    const text = typeof item === 'string' ? item.trim() : null;
    if (Number.isInteger(item) || (text !== null && /^[0-9]+$/.test(text))) {
      return { width: Number(item) };
    }
    if (text !== null && text.endsWith('x')) return { density: exactDecimal(label, text.slice(0, -1)) };
    return fail(label, `${show(item)} is not a width (320) or a density ("2x")`);
  });
  // The options themselves, checked before any arithmetic on them.
  if (resolve(source, options).format === INFO) {
    fail('format', 'json is the info request, one URL that describes the source: sign it with signInfo(); srcsets and <picture> are made of renditions');
  }
  const has = (name) => options[name] !== undefined && options[name] !== null;
  const densities = parsed.filter((p) => p.density).length;
  if (densities > 0 && densities !== parsed.length) {
    fail(label, 'use widths (320, 640) or densities ("1x", "2x"), not both');
  }
  if (densities > 0 && !has('width') && !has('height')) {
    fail(label, 'densities need a width or a height to multiply');
  }
  if (densities === 0 && has('dpr')) {
    fail('dpr', 'widths are in device pixels already; leave out dpr (or use densities: "1x", "2x")');
  }
  if (densities === 0 && has('width') !== has('height')) {
    fail(label, 'the widths replace width; leave out width and height, or give both to keep a box\'s aspect ratio');
  }
  const dpr = has('dpr') ? exactDecimal('dpr', options.dpr) : { digits: 1n, places: 0 };
  const seen = new Set();
  const out = [];
  for (const p of parsed) {
    let opts;
    let descriptor;
    let value;
    if (p.density) {
      opts = { ...options, dpr: decimalText(timesDecimal(dpr, p.density)) };
      descriptor = `${decimalText(p.density)}x`;
      value = Number(decimalText(p.density));
    } else {
      opts = { ...options, width: p.width };
      if (has('width')) opts.height = Math.max(1, divRound(options.height * p.width, options.width));
      descriptor = `${p.width}w`;
      value = p.width;
    }
    let resolved = resolve(source, opts);
    let rendered = null;
    if (size) {
      if (!p.density) {
        // A width the source can't give is signed as the size it gives: the same pixels under
        // the URL that asking for that size directly makes, so the bucket holds them once.
        const [W, H] = displayed(resolved.ops, size.width, size.height);
        const [w, h] = requestedSize(resolved.ops, W, H);
        if (w !== resolved.ops.width || h !== resolved.ops.height) {
          resolved = resolve(source, { ...opts, width: w, ...(h === null ? {} : { height: h }) });
        }
      }
      rendered = renderedSize(resolved.ops, size.width, size.height);
      if (!p.density) {
        descriptor = `${rendered.width}w`;
        value = rendered.width;
      }
      const same = p.density ? `${rendered.width}x${rendered.height}` : descriptor;
      if (seen.has(same)) continue;
      seen.add(same);
    }
    out.push({ source, resolved, descriptor, value, rendered });
  }
  return out;
}

const SRCSET_PARAMS = ['sourceWidth', 'sourceHeight'];

/** srcset(): the candidates to sign, and the attribute value made of their URLs. */
export function srcsetPlan(source, items, params = {}) {
  const [mine, options] = split(params, SRCSET_PARAMS, 'options');
  const list = candidates(source, items, options, sourceSize(mine), 'srcset');
  return {
    requests: list,
    render: (urls) => list.map((c, i) => `${urls[i]} ${c.descriptor}`).join(', '),
  };
}

// A placeholder (§14.2) goes into a style attribute, so only what can't leave CSS's url() nor
// the attribute is taken: an image data URL in base64, nothing but base64 characters after it.
const PLACEHOLDER = /^data:image\/(?:png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * The style that paints a placeholder (a data URL) behind the <img> until the image covers it:
 * centred and scaled to cover the box, as the renditions crop by default. Longhands, so a
 * background colour from the page's own CSS stays. `rendition sign --picture` and the Python
 * client write the same text.
 */
export function placeholderStyle(dataUrl) {
  return `background-position:center;background-size:cover;background-image:url(${checkPlaceholder('placeholder', dataUrl)})`;
}

function checkPlaceholder(label, value) {
  if (typeof value !== 'string' || !PLACEHOLDER.test(value)) {
    const quoted = typeof value === 'string' && value.length > 40 ? `${show(value.slice(0, 40))}…` : show(value);
    fail(label, `${quoted} is not an image data URL in base64 (data:image/png;base64,…), the one kind of placeholder put in a style attribute`);
  }
  return value;
}

/**
 * picture()'s `info`: the info request's answer (§14.2), parsed or as its JSON text → the
 * source's size as displayed and its placeholder (null when it has none, or when the source has
 * alpha: the placeholder would show through the image's transparent pixels once it is loaded).
 * Members it doesn't use are ignored, as the spec asks of readers.
 */
function infoOf(value) {
  let info = value;
  if (typeof value === 'string') {
    try {
      info = JSON.parse(value);
    } catch {
      fail('info', 'is not JSON: give the info request\'s answer, parsed or as its text');
    }
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    fail('info', `${show(value)} is not the info request's answer (an object with width and height)`);
  }
  for (const name of ['width', 'height']) {
    if (!Number.isInteger(info[name]) || info[name] < 1 || info[name] > U32_MAX) {
      fail('info', `its ${name} ${show(info[name])} is not a size in pixels`);
    }
  }
  const has = info.placeholder !== undefined && info.placeholder !== null;
  const placeholder = has ? checkPlaceholder('info', info.placeholder) : null;
  return { width: info.width, height: info.height, placeholder: info.alpha === true ? null : placeholder };
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside a double-quoted HTML attribute (and in text, for that matter). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function attributes(pairs) {
  return pairs
    .filter(([, value]) => value !== false && value !== null && value !== undefined)
    .map(([name, value]) => (value === true ? ` ${name}` : ` ${name}="${escapeHtml(value)}"`))
    .join('');
}

const PICTURE_PARAMS = [
  'widths', 'densities', 'sizes', 'alt', 'formats', 'fallback', 'sourceWidth', 'sourceHeight',
  'attributes', 'info', 'placeholder',
];
// Attributes that picture() writes from its parameters, which `attributes` cannot replace.
const OWN_ATTRIBUTES = ['src', 'srcset', 'sizes', 'alt', 'type'];

function formatName(label, value) {
  const name = typeof value === 'string' ? value.trim().toLowerCase() : value;
  const format = name === 'jpeg' ? 'jpg' : name;
  if (isAuto(format)) {
    fail(label, `${show(value)} is not a <source> or fallback format: give format: ${show(format)} for one <img> that the CDN negotiates`);
  }
  if (!FORMATS.includes(format)) fail(label, `${show(value)} is not jpg, png, webp, gif or avif`);
  return format;
}

/**
 * picture()'s `format`: unset for <picture> markup, or auto or auto-alpha (any case) for one
 * <img> whose URLs the CDN negotiates (§13.5). Returns the auto format, or null.
 */
function autoFormat(value) {
  if (value === undefined || value === null) return null;
  const name = typeof value === 'string' ? value.toLowerCase() : value;
  if (isAuto(name)) return name;
  if (name === INFO) {
    fail('format', 'json is the info request, one URL that describes the source: sign it with signInfo(), and give its answer to picture() as info');
  }
  if (FORMATS.includes(name) || name === 'jpeg') {
    fail('format', 'picture() makes one rendition per format: give formats (the <source> elements) and fallback (the <img>), or format "auto" or "auto-alpha" for one <img>');
  }
  return fail('format', `${show(value)} is not auto or auto-alpha, the formats picture() takes (formats and fallback make <picture> markup)`);
}

/** A PNG or GIF source may be transparent (or animated): its fallback keeps its format. */
function defaultFallback(source) {
  const ext = source.slice(source.lastIndexOf('.') + 1).toLowerCase();
  return ext === 'png' || ext === 'gif' ? ext : 'jpg';
}

/**
 * picture(): one <source> per format in `formats` (AVIF, then WebP, by default) and an <img> in
 * the fallback format, all at the same widths or densities, with width and height attributes
 * computed from the source's size (§8) so the page reserves the image's space before it loads.
 * With format auto or auto-alpha, one <img> instead: its URLs serve every browser (§13.5).
 * `info` (the info request's answer, §14.2) gives the source's size when sourceWidth and
 * sourceHeight don't, and a placeholder, which `placeholder` (a data URL) gives or replaces:
 * the <img> paints it as its background (placeholderStyle) until the image arrives.
 */
export function picturePlan(source, params) {
  const [mine, options] = split(params, PICTURE_PARAMS, 'options');
  const auto = autoFormat(options.format);
  if (auto) {
    for (const name of ['formats', 'fallback']) {
      if (mine[name] !== undefined && mine[name] !== null) {
        fail(name, `format ${show(auto)} writes one <img>, which the CDN negotiates; ${name} is for <picture> markup`);
      }
    }
  }
  const hasWidths = mine.widths !== undefined && mine.widths !== null;
  const hasDensities = mine.densities !== undefined && mine.densities !== null;
  if (hasWidths === hasDensities) {
    fail('widths', 'give widths (chosen by sizes) or densities (a fixed size), one of the two');
  }
  const sizes = mine.sizes ?? null;
  if (hasWidths && (typeof sizes !== 'string' || sizes.trim() === '')) {
    fail('sizes', 'is needed with widths: it tells the browser how wide the image shows ("100vw" when it spans the viewport)');
  }
  if (hasDensities && sizes !== null) fail('sizes', 'applies to widths only; densities are chosen by the screen');
  if (typeof mine.alt !== 'string') {
    fail('alt', `${show(mine.alt)} is not text: describe the image, or give "" when it is decorative`);
  }
  let formats = auto ? [] : mine.formats ?? ['avif', 'webp'];
  if (typeof formats === 'string') formats = formats.split(',').filter((f) => f.trim() !== '');
  if (!Array.isArray(formats)) fail('formats', `${show(formats)} is not a list of formats`);
  formats = formats.map((f) => formatName('formats', f));
  const fallback = auto ?? formatName('fallback', mine.fallback ?? defaultFallback(source));
  for (const [i, f] of formats.entries()) {
    if (formats.indexOf(f) !== i) fail('formats', `${f} is listed twice`);
    if (f === fallback) fail('formats', `${f} is the fallback <img> already`);
  }
  const extra = mine.attributes ?? {};
  if (typeof extra !== 'object' || Array.isArray(extra)) {
    fail('attributes', `${show(extra)} is not an object of <img> attributes`);
  }
  for (const [name, value] of Object.entries(extra)) {
    if (!/^[A-Za-z][A-Za-z0-9_:.-]*$/.test(name)) fail('attributes', `${show(name)} is not an attribute name`);
    if (OWN_ATTRIBUTES.includes(name.toLowerCase())) {
      fail('attributes', `${name} is written from picture()'s own parameters`);
    }
    if (!['string', 'number', 'boolean'].includes(typeof value) && value !== null && value !== undefined) {
      fail('attributes', `${name}: ${show(value)} is not text, a number or true/false`);
    }
  }
  const info = mine.info === undefined || mine.info === null ? null : infoOf(mine.info);
  const size = sourceSize(mine) ?? (info && { width: info.width, height: info.height });
  const placeholder = mine.placeholder === undefined || mine.placeholder === null
    ? info && info.placeholder
    : checkPlaceholder('placeholder', mine.placeholder);
  let style = placeholder ? placeholderStyle(placeholder) : null;
  const others = { ...extra };
  const styleName = Object.keys(extra).find((name) => name.toLowerCase() === 'style');
  if (style && styleName !== undefined) {
    // The page's own declarations come after the placeholder's, so they win.
    const own = extra[styleName];
    if (own !== undefined && own !== null && own !== false && typeof own !== 'string') {
      fail('attributes', `${styleName}: ${show(own)} is not text, to follow the placeholder's declarations`);
    }
    if (typeof own === 'string' && own.trim() !== '') style = `${style};${own}`;
    delete others[styleName];
  }
  const items = hasWidths ? mine.widths : mine.densities;
  const label = hasWidths ? 'widths' : 'densities';
  // Quality means nothing to png and gif: it applies to the lossy formats only. Auto formats
  // take it (auto-alpha's PNG choice ignores it).
  const forFormat = (format) => ({
    ...options, format, quality: LOSSY.includes(format) || isAuto(format) ? options.quality : null,
  });
  const sets = [...formats, fallback].map((format) => candidates(source, items, forFormat(format), size, label));

  const img = sets[sets.length - 1];
  const largest = img.reduce((a, b) => (b.value > a.value ? b : a));
  // width and height: the size the <img> shows at. With widths, the largest candidate's (CSS
  // scales it down to the layout, keeping its aspect ratio); with densities, the 1x size.
  let box = null;
  if (hasWidths) {
    box = largest.rendered;
    if (!box && largest.resolved.ops.width !== null && largest.resolved.ops.height !== null
      && BOX_FITS.includes(largest.resolved.ops.fit)) {
      box = { width: largest.resolved.ops.width, height: largest.resolved.ops.height };
    }
  } else {
    const css = resolve(source, { ...forFormat(fallback), dpr: null }).ops;
    if (size) box = renderedSize(css, size.width, size.height);
    else if (css.width !== null && css.height !== null && BOX_FITS.includes(css.fit)) {
      box = { width: css.width, height: css.height };
    }
  }
  const requests = sets.flat();
  return {
    requests,
    render(urls) {
      let at = 0;
      const srcsets = sets.map((set) => set.map((c) => `${urls[at++]} ${c.descriptor}`).join(', '));
      const sources = formats.map((format, i) => `<source${attributes([
        ['type', MIME[format]], ['srcset', srcsets[i]], ['sizes', sizes],
      ])}>`);
      const imgAttributes = {
        src: urls[requests.indexOf(largest)],
        srcset: srcsets[srcsets.length - 1],
        sizes,
        width: box && box.width,
        height: box && box.height,
        alt: mine.alt,
        loading: 'lazy',
        decoding: 'async',
        ...(style ? { style } : {}), // without a placeholder, an own style keeps its place
        ...others,
      };
      const tag = `<img${attributes(Object.entries(imgAttributes))}>`;
      return auto ? tag : `<picture>${sources.join('')}${tag}</picture>`;
    },
  };
}
