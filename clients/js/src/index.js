// rendition-sign: signed rendition URLs for sites, with srcset and <picture> helpers.
//
// createSigner() signs synchronously with node:crypto (Node, Deno, Bun); createAsyncSigner()
// signs with Web Crypto, whose HMAC is async, and so works in edge runtimes too. Both take the
// same config and have the same methods, and both sign what core.js prepares, so a path never
// depends on which one made it. The top-level sign(), srcset() and picture() are the sync ones
// for a single call.

import { hmacSync, subtle } from '#hmac';
import {
  checkCanonical, configBase, configKeys, INFO, parseKeys, prepare, resolve, RenditionError, show,
} from './core.js';
import { escapeHtml, outputSize, picturePlan, placeholderStyle, srcsetPlan } from './markup.js';

export { RenditionError, escapeHtml, outputSize, parseKeys, placeholderStyle, resolve };

/** signInfo()'s options: the info request's own (version or etag), its format json (§14.3). */
function infoOptions(options) {
  if (options === null || options === undefined) return { format: INFO };
  if (typeof options !== 'object' || Array.isArray(options)) return options; // resolve() says why
  const format = options.format;
  if (format !== undefined && format !== null && (typeof format !== 'string' || format.toLowerCase() !== INFO)) {
    throw new RenditionError('format', `${show(format)}: signInfo() signs the info request, whose format is json`);
  }
  return { ...options, format: INFO };
}

function configured(config) {
  if (config === null || typeof config !== 'object') {
    throw new RenditionError('keys', 'give a config: { keys: RENDITION_KEYS\'s value, base: the CDN origin }');
  }
  return { key: configKeys(config.keys)[0], base: configBase(config.base) };
}

/** The same methods around one way of signing a prepared request (sync or async). */
function methods(key, signOne, all) {
  const one = (source, resolved) => signOne(prepare(key, source, resolved));
  return Object.freeze({
    keyId: key.id,
    sign: (source, options = {}) => one(source, resolve(source, options)),
    signInfo: (source, options = {}) => one(source, resolve(source, infoOptions(options))),
    signCanonical: (source, ops, format) => one(source, checkCanonical(source, ops, format)),
    srcset: (source, items, options = {}) => all(srcsetPlan(source, items, options), one),
    picture: (source, params) => all(picturePlan(source, params), one),
  });
}

/** A signer whose methods return strings, signing with node:crypto. */
export function createSigner(config) {
  if (!hmacSync) {
    throw new Error('rendition-sign: createSigner() signs with node:crypto, which this runtime lacks; use createAsyncSigner() (Web Crypto)');
  }
  const { key, base } = configured(config);
  const signOne = (p) => base + p.finish(hmacSync(key.secret, p.message));
  return methods(key, signOne, (plan, one) => plan.render(plan.requests.map((r) => one(r.source, r.resolved))));
}

/** A signer whose methods return promises, signing with Web Crypto (crypto.subtle). */
export function createAsyncSigner(config) {
  if (!subtle) throw new Error('rendition-sign: this runtime has no Web Crypto (crypto.subtle) to sign with');
  const { key, base } = configured(config);
  // Imported once per signer; HMAC keys cannot be used for anything but signing.
  const cryptoKey = subtle.importKey('raw', key.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signOne = async (p) => base + p.finish(new Uint8Array(await subtle.sign('HMAC', await cryptoKey, p.message)));
  const all = async (plan, one) => plan.render(await Promise.all(plan.requests.map((r) => one(r.source, r.resolved))));
  // Refusals reject the promise instead of throwing, like any other failure of an async call.
  const m = methods(key, signOne, all);
  const later = (f) => async (...args) => f(...args);
  return Object.freeze({
    keyId: m.keyId,
    sign: later(m.sign),
    signInfo: later(m.signInfo),
    signCanonical: later(m.signCanonical),
    srcset: later(m.srcset),
    picture: later(m.picture),
  });
}

/** The signed URL of one rendition: `base` + `/r/<source>/<key-id>.<signature>/<ops>.<ext>`. */
export function sign(source, options, config) {
  return createSigner(config).sign(source, options);
}

/**
 * The signed URL of the source's info request (§14): JSON with its size as displayed, format,
 * alpha and a placeholder. Options: version or etag at most.
 */
export function signInfo(source, options, config) {
  return createSigner(config).signInfo(source, options);
}

/** A srcset attribute value: widths (320, 640) or densities ("1x", "2x"). */
export function srcset(source, items, options, config) {
  return createSigner(config).srcset(source, items, options);
}

/**
 * <picture> markup: AVIF and WebP <source> elements and a JPEG (or PNG) <img>; or, with format
 * auto or auto-alpha, one <img> whose URLs the CDN negotiates (spec §13.5).
 */
export function picture(source, params, config) {
  return createSigner(config).picture(source, params);
}
