// The signer rules of docs/url-format.md, with no I/O and no crypto: key lists (§9.2), source
// keys (§4), options as people write them → the canonical ops segment (§9), and the §5 message
// whose HMAC makes the signature. index.js adds the HMAC, sync (node:crypto) or async (Web
// Crypto); both sign exactly what prepare() returns, so the two can never disagree on a path.
// tests/signer-vectors.json and tests/vectors.json pin every rule here byte for byte, and
// tests/edge-vectors.json those of format auto (§13). Format json is the info request (§14).

const SIGNING_TAG = 'rendition:v2';
const MIN_SECRET_BYTES = 16;
const MAX_STORAGE_KEY_BYTES = 1024;
const SIGNATURE_CHARS = 22; // 16 bytes of base64url
const MAX_SIDE = 65535;
const MAX_DPR = 8n;
const MAX_DECIMAL_PLACES = 17;
const MAX_BLUR_TENTHS = 1000;
const MAX_SHARPEN_TENTHS = 100;
const DEFAULT_QUALITY = 80;
export const FORMATS = ['jpg', 'png', 'webp', 'gif', 'avif'];
export const LOSSY = ['jpg', 'webp', 'avif']; // the formats that take a quality
// Format auto (§13): the edge (or `rendition serve`) picks one of its choices per request from
// Accept. The ops follow avif's rules (§13.2), and the storage key counts as the longest
// negotiated key, the path with `.avif` (or `.webp`) appended: 5 bytes more.
export const AUTO_CHOICES = { auto: ['avif', 'webp', 'jpg'], 'auto-alpha': ['avif', 'webp', 'png'] };
export const AUTO_FORMATS = Object.keys(AUTO_CHOICES);
const AUTO_EXTRA_BYTES = 5;
// The info request (§14): a JSON description of the source (its size as displayed, format,
// alpha and a placeholder), signed and stored like a rendition. Its ops are a version at most.
export const INFO = 'json';
const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'];
const GRAVITIES = ['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw', 'smart'];
export const OPTIONS = [
  'width', 'height', 'dpr', 'fit', 'enlarge', 'gravity', 'quality', 'background', 'rotate',
  'flip', 'blur', 'sharpen', 'version', 'etag', 'format',
];

const ALNUM = /^[A-Za-z0-9]+$/;
const LITERAL = /^[A-Za-z0-9._/-]+$/;
const UINT = /^(?:0|[1-9][0-9]*)$/;
const DECIMAL = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/; // digits and at most one '.'
// Rust's str::trim (the renderer reads RENDITION_KEYS with it) trims Unicode White_Space, which
// is neither JavaScript's \s (that adds U+FEFF) nor Python's str.strip().
const WHITE_SPACE = '[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
const TRIM = new RegExp(`^${WHITE_SPACE}|${WHITE_SPACE}$`, 'g');

/** Every refusal: the message starts with the option at fault, which `option` also holds. */
export class RenditionError extends Error {
  constructor(option, message) {
    super(`${option}: ${message}`);
    this.name = 'RenditionError';
    this.option = option;
  }
}

function fail(option, message) {
  throw new RenditionError(option, message);
}

/** A value as an error message quotes it. */
export function show(value) {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const utf8 = new TextEncoder();

/** base64url without padding: the canonical form of §5. btoa exists in every runtime we aim at. */
function b64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function isAlnum(text, most) {
  return typeof text === 'string' && text.length <= most && ALNUM.test(text);
}

// ---- Keys (§9.2) ----

/**
 * A key list `ID:SECRET[,ID:SECRET…]`, the format of RENDITION_KEYS, → [{id, secret}] with the
 * secret as its UTF-8 bytes (never base64-decoded). The first key signs.
 */
export function parseKeys(spec) {
  if (typeof spec !== 'string') fail('keys', `${show(spec)} is not a key list (ID:SECRET,…)`);
  const keys = [];
  for (const raw of spec.split(',')) {
    const item = raw.replace(TRIM, '');
    if (item === '') continue;
    const colon = item.indexOf(':');
    // The item is not quoted: without its ':' it may well be a bare secret.
    if (colon < 0) fail('keys', `item ${keys.length + 1} has no ':' (ID:SECRET)`);
    const id = item.slice(0, colon).replace(TRIM, '');
    const secret = utf8.encode(item.slice(colon + 1).replace(TRIM, ''));
    if (!isAlnum(id, 16)) fail('keys', `id ${show(id)} is not 1 to 16 ASCII letters and digits`);
    if (secret.length < MIN_SECRET_BYTES) {
      fail('keys', `the secret of ${id} is under ${MIN_SECRET_BYTES} bytes`);
    }
    if (keys.some((key) => key.id === id)) fail('keys', `id ${id} is listed twice`);
    keys.push(Object.freeze({ id, secret }));
  }
  if (keys.length === 0) fail('keys', 'the list has no key');
  return keys;
}

// ---- Source keys (§4) ----

export function checkSource(source) {
  if (typeof source !== 'string') fail('source', `${show(source)} is not text`);
  if (source === '' || source.startsWith('/')) {
    fail('source', `${show(source)} is empty or starts with /`);
  }
  // Unicode general category Cc: U+0000-U+001F and U+007F-U+009F.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(source)) {
    fail('source', `${show(source)} has a control character`);
  }
  // A lone surrogate has no UTF-8 form: TextEncoder would sign U+FFFD in its place.
  if (/\p{Cs}/u.test(source)) fail('source', `${show(source)} is not valid Unicode text`);
  if (source.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    fail('source', `${show(source)} has an empty, . or .. segment`);
  }
}

/** Literal when every byte is in [A-Za-z0-9._/-], else '!' + base64url of the UTF-8 bytes. */
export function encodeSource(source) {
  return LITERAL.test(source) ? source : `!${b64url(utf8.encode(source))}`;
}

// ---- Exact decimals (§9: dpr, blur, sharpen, srcset densities) ----

/** The plain decimal text of a JavaScript number: its shortest round-trip text, String(x),
 * taken by value whatever its notation (1e-6 is 0.000001, 1e+21 is 1 and 21 zeros). */
function numberText(x) {
  const text = String(x);
  const m = /^([0-9]+)(?:\.([0-9]+))?e([+-][0-9]+)$/.exec(text);
  if (!m) return text; // plain already, or NaN, Infinity or negative: refused by the caller
  const digits = m[1] + (m[2] || '');
  const point = m[1].length + Number(m[3]); // where the point falls within digits
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * A number or decimal text → {digits, places} (a BigInt and a count), exactly digits / 10^places,
 * with no trailing zeros after the point. BigInt because 17 decimal places overflow a double.
 */
export function exactDecimal(name, value) {
  let text;
  if (typeof value === 'number') text = numberText(value);
  else if (typeof value === 'string') text = value;
  else fail(name, `${show(value)} is not a number`);
  if (!DECIMAL.test(text)) fail(name, `${show(text)} is not a plain decimal (digits and one '.')`);
  const [whole, fraction = ''] = text.split('.');
  const places = fraction.replace(/0+$/, '');
  if (places.length > MAX_DECIMAL_PLACES) {
    fail(name, `${text} has over ${MAX_DECIMAL_PLACES} decimal places`);
  }
  return { digits: BigInt(whole + places || '0'), places: places.length };
}

/** The minimal text of an exact decimal: 2, 1.5, 0.25. */
export function decimalText({ digits, places }) {
  const text = digits.toString().padStart(places + 1, '0');
  const whole = text.slice(0, text.length - places);
  const fraction = text.slice(text.length - places).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** a × b, exactly, in minimal form. */
export function timesDecimal(a, b) {
  let digits = a.digits * b.digits;
  let places = a.places + b.places;
  while (places > 0 && digits % 10n === 0n) {
    digits /= 10n;
    places -= 1;
  }
  return { digits, places };
}

// ---- Options → canonical ops (§9) ----

const KINDS = {
  int: ['an integer', (v) => typeof v === 'number' && Number.isInteger(v)],
  str: ['text', (v) => typeof v === 'string'],
  bool: ['true or false', (v) => typeof v === 'boolean'],
};

/** opt[name], or `fallback` when unset, refused unless of `kind`. */
function typed(opt, name, kind, fallback) {
  const value = name in opt ? opt[name] : fallback;
  const [what, ok] = KINDS[kind];
  if (!ok(value)) fail(name, `${show(value)} is not ${what}`);
  return value;
}

/** blur and sharpen: a whole number of tenths, 0.1 to the maximum, in its minimal text. */
function sigmaToken(name, value, maxTenths) {
  const { digits, places } = exactDecimal(name, value);
  if (places > 1) fail(name, `${show(value)} is not a multiple of 0.1`);
  const tenths = places === 0 ? digits * 10n : digits;
  if (tenths < 1n || tenths > BigInt(maxTenths)) {
    fail(name, `${show(value)} is not 0.1 to ${maxTenths / 10}`);
  }
  return name + decimalText({ digits: tenths, places: 1 });
}

/** True for auto and auto-alpha (§13), the formats chosen per request from Accept. */
export function isAuto(format) {
  return AUTO_FORMATS.includes(format);
}

/**
 * The format option, else the source key's extension; jpeg is jpg; any case. The option may
 * also be auto or auto-alpha (§13.5), or json for the info request (§14.3), never the default:
 * a source named `….auto` or `….json` has no format.
 */
function outputFormat(source, opt) {
  if ('format' in opt) {
    let name = typed(opt, 'format', 'str').toLowerCase();
    if (name === 'jpeg') name = 'jpg';
    if (!FORMATS.includes(name) && !isAuto(name) && name !== INFO) {
      fail('format', `${show(opt.format)} is not jpg, jpeg, png, webp, gif, avif, auto, auto-alpha or json`);
    }
    return name;
  }
  let name = source.includes('.') ? source.slice(source.lastIndexOf('.') + 1).toLowerCase() : '';
  if (name === 'jpeg') name = 'jpg';
  if (!FORMATS.includes(name)) {
    fail('format', `none given and extension ${show(name)} is not jpg, jpeg, png, webp, gif or avif`);
  }
  return name;
}

/** The g- token's value, or null for centre; a focal point equal to a name is the name (§3). */
function gravityValue(text) {
  const g = text.toLowerCase();
  if (g === 'centre' || g === 'center' || g === 'c') return null;
  if (GRAVITIES.includes(g)) return g;
  const dash = g.indexOf('-');
  const [x, y] = dash < 0 ? ['', ''] : [g.slice(0, dash), g.slice(dash + 1)];
  if (!UINT.test(x) || !UINT.test(y)) {
    fail('gravity', `${show(text)} is not n ne e se s sw w nw smart centre or X-Y`);
  }
  if (Number(x) > 100 || Number(y) > 100) {
    fail('gravity', `focal point ${show(text)} is not in percent (0 to 100)`);
  }
  const thirds = { 0: 0, 50: 1, 100: 2 };
  if (x in thirds && y in thirds) {
    // Both coordinates 0, 50 or 100 place the region exactly like a name (or centre).
    const name = ['n', '', 's'][thirds[y]] + ['w', '', 'e'][thirds[x]];
    return name || null;
  }
  return g;
}

/**
 * Options as people write them → the canonical rendition: `segment` (the ops segment, '-' for
 * none), `format` (the extension: jpg, png, webp, gif, avif, auto, auto-alpha or json) and `ops`
 * (the sizes in pixels, fit, enlarge and rotation that the output size depends on, §8). Throws a
 * RenditionError naming the option at fault for anything the server would refuse. null and
 * undefined values count as unset.
 */
export function resolve(source, options = {}) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('options', `${show(options)} is not an object of options`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTIONS.includes(name)) fail(name, 'unknown option');
  }
  const opt = {};
  for (const [name, value] of Object.entries(options)) {
    if (value !== null && value !== undefined) opt[name] = value;
  }
  checkSource(source);
  if (source.startsWith('r/')) {
    fail('source', `${show(source)} is under r/, and renditions cannot be sources`);
  }
  const format = outputFormat(source, opt);
  if (format === INFO) {
    // §14.3: the answer describes the source as stored, whatever a rendition would do to it.
    for (const name of OPTIONS.slice(0, OPTIONS.indexOf('version'))) {
      if (name in opt) {
        fail(name, 'an info request (format json) describes the source; it takes no option but version or etag');
      }
    }
  }
  // auto and auto-alpha take the rules of avif, which like them takes a quality and may keep
  // transparency (§13.2): q1-100 with q80 left out, and bg-ffffff kept (white is jpg's default).
  const rules = isAuto(format) ? 'avif' : format;
  const tokens = [];
  const ops = { width: null, height: null, fit: 'cover', enlarge: false, rotate: 0 };

  const dpr = 'dpr' in opt ? exactDecimal('dpr', opt.dpr) : { digits: 1n, places: 0 };
  const scale = 10n ** BigInt(dpr.places);
  if (dpr.digits === 0n || dpr.digits > MAX_DPR * scale) {
    fail('dpr', `${show(opt.dpr)} is not above 0 and at most ${MAX_DPR}`);
  }
  const sides = ['width', 'height'].filter((name) => name in opt);
  for (const name of sides) {
    const css = typed(opt, name, 'int');
    if (css < 1) fail(name, `${css} is not a size; leave it out to keep the aspect ratio`);
    // round(css × dpr), halves up, in integers: ⌊(2 × css × digits + scale) / (2 × scale)⌋.
    let pixels = (2n * BigInt(css) * dpr.digits + scale) / (2n * scale);
    if (pixels < 1n) pixels = 1n;
    if (pixels > BigInt(MAX_SIDE)) fail(name, `${css} × dpr is ${pixels}, over ${MAX_SIDE}`);
    ops[name] = Number(pixels);
    tokens.push(`${name[0]}${pixels}`);
  }
  const boxed = sides.length === 2;

  const fit = typed(opt, 'fit', 'str', 'cover').toLowerCase();
  if (!FITS.includes(fit)) fail('fit', `${show(opt.fit)} is not one of ${FITS.join(', ')}`);
  if (fit !== 'cover') {
    if (!boxed) fail('fit', `${fit} needs both width and height`);
    tokens.push(`fit-${fit}`);
  }
  ops.fit = fit;
  if (typed(opt, 'enlarge', 'bool', false)) {
    if (sides.length === 0) fail('enlarge', 'needs a width or a height');
    tokens.push('enlarge');
    ops.enlarge = true;
  }
  const gravity = gravityValue(typed(opt, 'gravity', 'str', 'centre'));
  if (gravity) {
    if (!boxed || (fit !== 'cover' && fit !== 'contain')) {
      fail('gravity', 'needs width, height and fit cover or contain');
    }
    if (gravity === 'smart' && fit !== 'cover') fail('gravity', 'smart works with fit cover only');
    tokens.push(`g-${gravity}`);
  }

  if ('quality' in opt) {
    const quality = typed(opt, 'quality', 'int');
    if (!LOSSY.includes(rules)) fail('quality', `does not apply to ${format}`);
    if (quality < 1 || quality > 100) fail('quality', `${quality} is not 1 to 100`);
    if (quality !== DEFAULT_QUALITY) tokens.push(`q${quality}`);
  }
  if ('background' in opt) {
    const given = typed(opt, 'background', 'str');
    let colour = (given.startsWith('#') ? given.slice(1) : given).toLowerCase();
    if (colour.length === 3) colour = [...colour].map((c) => c + c).join('');
    if (!/^[0-9a-f]{6}$/.test(colour)) fail('background', `${show(given)} is not 3 or 6 hex digits`);
    if (!(rules === 'jpg' && colour === 'ffffff')) tokens.push(`bg-${colour}`); // jpg's default
  }

  let degrees = typed(opt, 'rotate', 'int', 0);
  if (degrees % 90 !== 0) fail('rotate', `${degrees} is not a multiple of 90`);
  const flip = typed(opt, 'flip', 'str', '').toLowerCase();
  if ('flip' in opt && !['h', 'v', 'hv', 'vh'].includes(flip)) {
    fail('flip', `${show(opt.flip)} is not h, v or hv`);
  }
  if (flip === 'v' || flip === 'hv' || flip === 'vh') degrees += 180; // a half turn + a mirror (§9.1)
  degrees = ((degrees % 360) + 360) % 360;
  if (degrees !== 0) tokens.push(`r${degrees}`);
  ops.rotate = degrees;
  if (flip === 'h' || flip === 'v') tokens.push('flip');
  if ('blur' in opt) tokens.push(sigmaToken('blur', opt.blur, MAX_BLUR_TENTHS));
  if ('sharpen' in opt) tokens.push(sigmaToken('sharpen', opt.sharpen, MAX_SHARPEN_TENTHS));

  if ('version' in opt && 'etag' in opt) fail('etag', 'give either version or etag, not both');
  for (const name of ['version', 'etag']) {
    if (!(name in opt)) continue;
    let version = typed(opt, name, 'str');
    if (name === 'etag') {
      // W/"…", "…" and multipart "…-3": keep the letters and digits.
      version = version.replace(/^W\//, '').replace(/"/g, '').replace(/-/g, '');
    }
    if (!isAlnum(version, 64)) {
      fail(name, `${show(version)} is not 1 to 64 ASCII letters and digits`);
    }
    tokens.push(`v${version}`);
  }
  return { segment: tokens.join('_') || '-', format, ops };
}

// ---- A canonical ops segment, checked (§3, §7) ----

// Tokens by prefix, in the order the verifier recognises them (§3): the option each one comes
// from, and how its value reads back.
const TOKENS = [
  ['fit-', 'fit', (v) => v],
  ['enlarge', 'enlarge', null],
  ['g-', 'gravity', (v) => v],
  ['bg-', 'background', (v) => v],
  ['flip', 'flip', null],
  ['blur', 'blur', (v) => v],
  ['sharpen', 'sharpen', (v) => v],
  ['w', 'width', Number],
  ['h', 'height', Number],
  ['q', 'quality', Number],
  ['r', 'rotate', Number],
  ['v', 'version', (v) => v],
];
const WHOLE = { enlarge: true, flip: 'h' }; // whole-word tokens and the option value they mean

/**
 * Checks that `segment` + `format` is exactly the canonical rendition of some options, the way
 * the verifier does (§7: the request must print back to the same path): the tokens are read
 * back into options, and resolve() must write them again byte for byte. So w0640, q80, h360_w640
 * or bg-FF8800 are refused here, not signed and then refused by the server with a 400.
 */
export function checkCanonical(source, segment, format) {
  if (typeof segment !== 'string' || typeof format !== 'string') {
    fail('ops', `${show(segment)}.${show(format)} is not an ops segment and a format`);
  }
  const opt = { format };
  if (segment !== '-') {
    for (const token of segment.split('_')) {
      const entry = TOKENS.find(([prefix, name]) =>
        name in WHOLE ? token === prefix : token.startsWith(prefix));
      if (!entry) fail('ops', `${show(token)} is not a token (segment ${show(segment)})`);
      const [prefix, name, read] = entry;
      if (name in opt) fail('ops', `${show(token)} repeats ${name} (segment ${show(segment)})`);
      const text = token.slice(prefix.length);
      if (read === Number && !/^[0-9]+$/.test(text)) {
        fail('ops', `${show(token)} does not end in a number (segment ${show(segment)})`);
      }
      opt[name] = read ? read(text) : WHOLE[name];
    }
  }
  const canonical = resolve(source, opt);
  if (canonical.format !== format) {
    fail('format', `${show(format)} is not an extension; the canonical one is ${canonical.format}`);
  }
  if (canonical.segment !== segment) {
    fail('ops', `${show(segment)} is not canonical; it is written ${show(canonical.segment)}`);
  }
  return canonical;
}

// ---- Signing (§5) ----

/**
 * Everything of a signed path but the signature: the key that signs, the message to MAC and
 * how to finish the path with the tag. Refuses (naming `source`) a path over 1,024 bytes, an
 * auto path counting as its longest negotiated key, 5 bytes more (§13.2).
 */
export function prepare(key, source, resolved) {
  const sourceText = encodeSource(source);
  const last = `${resolved.segment}.${resolved.format}`;
  const prefix = `/r/${sourceText}/${key.id}.`;
  const storageKeyBytes = prefix.length - 1 + SIGNATURE_CHARS + 1 + last.length; // all ASCII
  if (isAuto(resolved.format)) {
    const negotiated = storageKeyBytes + AUTO_EXTRA_BYTES;
    if (negotiated > MAX_STORAGE_KEY_BYTES) {
      fail('source', `the path's negotiated key (….${resolved.format}.avif) would be ${negotiated} bytes, `
        + `over ${MAX_STORAGE_KEY_BYTES}`);
    }
  } else if (storageKeyBytes > MAX_STORAGE_KEY_BYTES) {
    fail('source', `the path would be ${storageKeyBytes} bytes, over ${MAX_STORAGE_KEY_BYTES}`);
  }
  return {
    key,
    message: utf8.encode(`${SIGNING_TAG}\n${key.id}\n${sourceText}\n${last}`),
    finish: (mac) => `${prefix}${b64url(mac.subarray(0, 16))}/${last}`,
  };
}

/** The keys of a signer's config: a key list (RENDITION_KEYS's format) or parseKeys()'s result. */
export function configKeys(keys) {
  if (typeof keys === 'string') return parseKeys(keys);
  const valid = Array.isArray(keys) && keys.length > 0 && keys.every(
    (k) => k && isAlnum(k.id, 16) && k.secret instanceof Uint8Array
      && k.secret.length >= MIN_SECRET_BYTES,
  );
  if (!valid) {
    fail('keys', 'give a key list ID:SECRET[,ID:SECRET…] (RENDITION_KEYS\'s format) or parseKeys()\'s result');
  }
  return keys;
}

/** The CDN origin put before every path, without its trailing '/'. */
export function configBase(base) {
  if (base === undefined || base === null) return '';
  if (typeof base !== 'string' || /[?#\s"'<>]/.test(base)) {
    fail('base', `${show(base)} is not an origin such as https://cdn.example.com`);
  }
  return base.replace(/\/+$/, '');
}
