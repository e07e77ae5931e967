// rendition's viewer-request function: CloudFront Functions, runtime cloudfront-js-2.0, on the
// r/* behaviours of template.yaml. It runs before the cache lookup, on hits too, so it must stay
// small and fast. Spec: docs/url-format.md §7 (checks), §13 (format auto) and §14 (the info
// request, .json, which passes through like any concrete format); README: "Checking
// signatures at the edge", "Format auto". template.yaml holds a copy of this file (edge/embed.py).
// Only what the runtime documents: let/const, arrow functions, async/await, crypto's createHmac
// with a hex digest and the cloudfront module's key value store; no Buffer, no for-of, no
// backquote strings (CloudFormation's !Sub would read their dollar-brace).
import crypto from 'crypto';
import cf from 'cloudfront';

// CloudFormation replaces the placeholder with "true" or "false" (parameter EdgeSignatureCheck).
// Off, the function only negotiates auto paths and lets the origin judge every path.
const CHECK = '${EdgeSignatureCheck}' === 'true';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// Token prefixes of the ops segment in their one canonical order (§3).
const TOKENS = ['w', 'h', 'fit-', 'enlarge', 'g-', 'q', 'bg-', 'r', 'flip', 'blur', 'sharpen', 'v'];
const FORMATS = ['jpg', 'png', 'webp', 'gif', 'avif', 'auto', 'auto-alpha', 'json'];
// What each auto format may become, best first; the last is for viewers that name neither.
const CHOICES = { auto: ['avif', 'webp', 'jpg'], 'auto-alpha': ['avif', 'webp', 'png'] };

async function handler(event) {
  const request = event.request;
  const uri = request.uri;
  if (CHECK) {
    const refusal = await verify(uri);
    if (refusal) return refusal;
  }
  // The rewrite happens before the cache key is made, so the cache holds at most three objects
  // per auto path, never one per Accept header.
  const ext = uri.slice(uri.lastIndexOf('.') + 1);
  if (ext === 'auto' || ext === 'auto-alpha') request.uri = uri + '.' + negotiate(request.headers.accept, ext);
  return request;
}

// AVIF, else WebP, else the fallback. Only an explicit image/avif or image/webp counts: browsers
// send image/* and */* for formats they can't decode. q=0 refuses; any other q is a yes, since
// the order of preference is ours (smaller files first), not the viewer's.
function negotiate(header, ext) {
  const values = !header ? [] : header.multiValue ? header.multiValue.map((h) => h.value) : [header.value];
  const q = {};
  values.join(',').split(',').forEach((range) => {
    const params = range.split(';');
    const type = params[0].trim().toLowerCase();
    let weight = 1;
    for (let i = 1; i < params.length; i++) {
      const p = params[i];
      const eq = p.indexOf('=');
      const v = eq < 0 ? '' : p.slice(eq + 1);
      // A malformed weight counts as a refusal: the fallback is the one choice that never fails.
      if ((eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase() === 'q') weight = /^\s*(0(\.\d{0,3})?|1(\.0{0,3})?)\s*$/.test(v) ? +v : 0;
    }
    if (!(type in q) || weight < q[type]) q[type] = weight;
  });
  return q['image/avif'] > 0 ? 'avif' : q['image/webp'] > 0 ? 'webp' : CHOICES[ext][2];
}

// A refusal response, or null to let the request through.
async function verify(path) {
  const p = parse(path);
  if (typeof p === 'string') return refuse(400, p);
  let ring;
  try {
    // The whole key ring is one entry, in RENDITION_KEYS's format: one read per request, and an
    // absent entry (a store nobody filled yet, or unreadable) lets the request through to the
    // origin, which verifies every path it renders anyway.
    ring = await cf.kvs().get('keys');
  } catch (e) {
    return null;
  }
  const secret = findKey(String(ring), p.id);
  if (secret === null) return refuse(403, 'unknown key id');
  const mac = crypto.createHmac('sha256', secret).update(p.message).digest('hex');
  // Compare all 16 bytes whatever differs first, so the time taken says nothing of the tag.
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= parseInt(mac.substr(2 * i, 2), 16) ^ p.tag[i];
  return diff ? refuse(403, 'signature does not match') : null;
}

// ID:SECRET[,ID:SECRET...], split and trimmed like RENDITION_KEYS (§6); null when id is absent.
function findKey(ring, id) {
  const items = ring.split(',');
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const colon = item.indexOf(':');
    if (colon > 0 && item.slice(0, colon).trim() === id) return item.slice(colon + 1).trim();
  }
  return null;
}

// §7's checks up to the key lookup, in its order: the reason for a 400 as text, or the key id,
// the 16-byte tag and the signed message. Auto paths come in two forms: the one pages link to
// (<ops>.auto) and the negotiated one stored in the bucket (<ops>.auto.avif), which is signed
// as its auto form.
function parse(path) {
  if (!path.startsWith('/r/')) return 'render paths start with /r/';
  const rest = path.slice(3);
  if (/[^A-Za-z0-9._!\/-]/.test(rest)) return 'only A-Z a-z 0-9 - _ . ! and / are allowed';
  const last = rest.lastIndexOf('/');
  const before = rest.lastIndexOf('/', last - 1);
  if (before < 1) return 'the path is /r/<source>/<key-id>.<signature>/<ops>.<ext>';
  const source = rest.slice(0, before);
  const segment = rest.slice(before + 1, last);
  const file = rest.slice(last + 1);
  const dot = segment.indexOf('.');
  const id = segment.slice(0, dot);
  if (dot < 0 || !/^[A-Za-z0-9]{1,16}$/.test(id)) return 'the key id is 1 to 16 letters and digits';
  const tag = segment.length - dot === 23 && b64(segment.slice(dot + 1));
  if (!tag) return 'the signature is 22 base64url characters';
  const extDot = file.lastIndexOf('.');
  if (extDot < 0) return 'the last segment is <ops>.<ext>';
  let ops = file.slice(0, extDot);
  const ext = file.slice(extDot + 1);
  let format = ext;
  // The storage key's length, counted for an auto path as its longest negotiated key (+5).
  let length = path.length - 1;
  const auto = /\.(auto(-alpha)?)$/.exec(ops);
  if (auto) {
    format = auto[1];
    ops = ops.slice(0, auto.index);
    length -= ext.length + 1;
    if (CHOICES[format].indexOf(ext) < 0) return format + ' is never negotiated to ' + ext;
  } else if (FORMATS.indexOf(format) < 0) {
    return 'the format is jpg, png, webp, gif, avif, auto, auto-alpha or json';
  }
  if (CHOICES[format]) length += 5;
  if (length > 1024) return 'the path is over the 1024-byte key limit';
  const why = checkOps(ops, format);
  if (why) return why;
  let key = source;
  if (source[0] === '!') {
    const bytes = b64(source.slice(1));
    if (!bytes) return 'the encoded source is not canonical base64url';
    if (/^[A-Za-z0-9._\/-]*$/.test(String.fromCharCode.apply(null, bytes))) return 'the source needs no encoding';
    key = utf8(bytes);
    if (key === null) return 'the encoded source is not UTF-8 without control characters';
  } else if (source.indexOf('!') >= 0) {
    return '! only starts an encoded source';
  }
  if (/(^|\/)\.{0,2}(\/|$)/.test(key)) return 'the source has an empty, . or .. segment';
  return { id: id, tag: tag, message: 'rendition:v2\n' + id + '\n' + source + '\n' + ops + '.' + format };
}

// §3: tokens known, in order, once each, minimal numbers, no default written, meaningful for
// the format. The reason as text, or '' when the segment is canonical.
function checkOps(segment, format) {
  if (segment === '-') return '';
  const o = {};
  const tokens = segment.split('_');
  let next = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    let rank = -1;
    for (let j = 0; j < TOKENS.length; j++) {
      if (token.startsWith(TOKENS[j]) && (rank < 0 || TOKENS[j].length > TOKENS[rank].length)) rank = j;
    }
    if (rank < next) return 'unknown, repeated or out-of-order operation ' + token;
    next = rank + 1;
    // An info request describes the source as stored: a version is all it takes (§14.1).
    if (format === 'json' && rank !== 11) return 'an info request takes no operation but a version';
    const v = token.slice(TOKENS[rank].length);
    const n = /^(0|[1-9][0-9]*)$/.test(v) ? +v : -1;
    let ok;
    switch (rank) {
      case 0: case 1: ok = n >= 1 && n <= 65535; break;
      case 2: ok = ['contain', 'fill', 'inside', 'outside'].indexOf(v) >= 0; break;
      case 4: ok = gravity(v); break;
      case 5: ok = n >= 1 && n <= 100 && n !== 80 && format !== 'png' && format !== 'gif'; break;
      case 6: ok = /^[0-9a-f]{6}$/.test(v) && !(v === 'ffffff' && format === 'jpg'); break;
      case 7: ok = n === 90 || n === 180 || n === 270; break;
      case 9: ok = tenths(v) >= 1 && tenths(v) <= 1000; break;
      case 10: ok = tenths(v) >= 1 && tenths(v) <= 100; break;
      case 11: ok = /^[A-Za-z0-9]{1,64}$/.test(v); break;
      default: ok = v === ''; // enlarge, flip: flags
    }
    if (!ok) return 'operation ' + token + ' is not canonical for ' + format;
    o[rank] = v;
  }
  const box = 0 in o && 1 in o;
  if (2 in o && !box) return 'fit needs w and h';
  if (3 in o && !(0 in o || 1 in o)) return 'enlarge needs w or h';
  if (4 in o && (!box || o[2] && o[2] !== 'contain' || o[4] === 'smart' && 2 in o)) {
    return 'gravity needs w, h and fit cover or contain (smart: cover)';
  }
  return '';
}

// A g- value: a name, or a focal point X-Y in percent that no name places the same way.
function gravity(v) {
  if (['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw', 'smart'].indexOf(v) >= 0) return true;
  const m = /^(0|[1-9][0-9]?|100)-(0|[1-9][0-9]?|100)$/.exec(v);
  return !!m && !(/^(0|50|100)$/.test(m[1]) && /^(0|50|100)$/.test(m[2]));
}

// A decimal with at most one non-zero decimal digit, in tenths; -1 when not minimal.
function tenths(v) {
  const m = /^(0|[1-9][0-9]*)(\.[1-9])?$/.exec(v);
  return m ? +m[1] * 10 + (m[2] ? +m[2][1] : 0) : -1;
}

// Canonical base64url without padding (§5) to bytes; null when any other spelling.
function b64(text) {
  if (text.length % 4 === 1) return null;
  const bytes = [];
  let bits = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const v = B64.indexOf(text[i]);
    if (v < 0) return null;
    bits = ((bits << 6) | v) & 0xfff;
    n += 6;
    if (n >= 8) {
      n -= 8;
      bytes.push((bits >> n) & 255);
    }
  }
  return bits & ((1 << n) - 1) ? null : bytes;
}

// Bytes to text when they are UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF)
// and hold no control character (Unicode Cc, §4); null otherwise.
function utf8(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i++];
    const more = c < 0x80 ? 0 : c < 0xc2 ? -1 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf5 ? 3 : -1;
    if (more < 0) return null;
    let cp = more ? c & (63 >> more) : c;
    for (let k = 0; k < more; k++) {
      const d = bytes[i++];
      if ((d & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (d & 63);
    }
    if ((more === 2 && (cp < 0x800 || cp >> 11 === 27)) || (more === 3 && (cp < 0x10000 || cp > 0x10ffff))) return null;
    if (cp < 32 || (cp >= 127 && cp < 160)) return null;
    text += String.fromCodePoint(cp);
  }
  return text;
}

// What rendition's origin answers for the same path: a short text, its code, and 60 s in any
// cache (CloudFront never caches what a viewer-request function answers; browsers may).
function refuse(status, why) {
  const bad = status === 400;
  return {
    statusCode: status,
    statusDescription: bad ? 'Bad Request' : 'Forbidden',
    headers: {
      'cache-control': { value: 'public, max-age=60' },
      'content-type': { value: 'text/plain; charset=utf-8' },
      'x-content-type-options': { value: 'nosniff' },
      'x-rendition': { value: 'edge' },
      'x-rendition-error': { value: bad ? 'bad_request' : 'forbidden' },
    },
    body: { encoding: 'text', data: status + (bad ? ' bad request: ' : ' forbidden: ') + why + '\n' },
  };
}
