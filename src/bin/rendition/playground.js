// The rendition playground: options as people write them in the signers → the signed URL, the
// srcset and the <picture> markup that rendition-sign (the project's own client, served next to
// this file) makes of them, the info request's placeholder, and the rendition this server
// renders for the URL.
//
// Everything is signed here, in the browser, with createAsyncSigner (Web Crypto) and the demo's
// development key: the page holds a key only when it is that throwaway key
// (src/bin/rendition/playground.rs). The form's state lives in the URL's fragment, so a reload
// or a shared link shows the same rendition. After every update the page writes what it shows
// into #report, and `playground.settled()` answers it once the latest change has been shown;
// tests/browser.rs reads both.

import { createAsyncSigner, outputSize, RenditionError } from './rendition-sign/index.js';

const config = JSON.parse(document.getElementById('config').textContent);
const $ = (id) => document.getElementById(id);
const form = $('options');

// How long the page waits for an image or an info request before saying so: longer than the
// server's render budget (20 s by default).
const WAIT_MS = 60000;
// Typing "1280" should render w1280, not w1, w12 and w128 on the way.
const DEBOUNCE_MS = 250;
// Options the signer reads as text, exactly as typed (decimals in exact arithmetic, colours),
// and those it takes as integers.
const TEXT_OPTIONS = ['dpr', 'fit', 'background', 'flip', 'blur', 'sharpen', 'format'];
const INTEGER_OPTIONS = ['width', 'height', 'quality', 'rotate'];
// The form field that an option named by a refusal comes from, where the names differ.
const FIELD_OF = { widths: 'srcset', densities: 'srcset', sourceWidth: 'source', sourceHeight: 'source' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

let signer = null;
let generation = 0; // bumped by every change of the form
let shown = -1; // the generation the page shows
let report = {};

// ---- The form and the URL's fragment ----

/** The form as the signer's options, plus the markup's own fields. Empty fields are left out. */
function readForm() {
  const value = (name) => form.elements[name].value;
  const options = {};
  for (const name of INTEGER_OPTIONS) {
    // A number field that isn't a number reads as empty; 12.5 stays 12.5 for the signer to refuse.
    if (value(name) !== '') options[name] = Number(value(name));
  }
  for (const name of TEXT_OPTIONS) {
    if (value(name) !== '') options[name] = value(name);
  }
  const gravity = value('gravity');
  if (gravity === 'focal') options.gravity = `${value('fx')}-${value('fy')}`;
  else if (gravity !== '') options.gravity = gravity;
  if (form.elements.enlarge.checked) options.enlarge = true;
  return {
    source: value('source'),
    options: orderedOptions(options),
    srcset: value('srcset'),
    sizes: value('sizes'),
    alt: value('alt'),
  };
}

/** Options in the order of the spec's table (§9), so the calls shown read as people write them. */
function orderedOptions(options) {
  const order = ['width', 'height', 'dpr', 'fit', 'enlarge', 'gravity', 'quality', 'background',
    'rotate', 'flip', 'blur', 'sharpen', 'format'];
  return Object.fromEntries(order.filter((name) => name in options).map((name) => [name, options[name]]));
}

/** Every field that differs from empty, as `name=value&…`, for the URL's fragment. */
function fragmentOf() {
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === 'checkbox') {
      if (field.checked) params.set(field.name, '1');
    } else if (field.value !== '') {
      params.set(field.name, field.value);
    }
  }
  return params.toString();
}

/** The form from a fragment written by fragmentOf(): fields it leaves out are empty. */
function restore(fragment) {
  const params = new URLSearchParams(fragment);
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === 'checkbox') field.checked = params.get(field.name) === '1';
    else if (field.name === 'source') field.value = params.get('source') ?? field.value;
    else field.value = params.get(field.name) ?? '';
  }
  // A source that is no longer in the folder: the first one instead.
  if (form.elements.source.selectedIndex < 0) form.elements.source.selectedIndex = 0;
}

// ---- Showing refusals ----

/** A refusal under `box`, with the field it names marked; anything but a refusal is a bug. */
function refuse(error, box) {
  if (!(error instanceof RenditionError)) throw error;
  box.textContent = `The signer refuses: ${error.message}`;
  const name = FIELD_OF[error.option] ?? error.option;
  const fields = name === 'gravity' ? ['gravity', 'fx', 'fy'] : [name];
  for (const field of fields) form.elements[field]?.setAttribute('aria-invalid', 'true');
  return { option: error.option, message: error.message };
}

/** A call as a site writes it, shown above what it returns. */
function showCall(id, method, ...args) {
  const literal = (v) => {
    if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).map(([k, x]) => `${/^[a-zA-Z]+$/.test(k) ? k : literal(k)}: ${literal(x)}`);
      return entries.length ? `{ ${entries.join(', ')} }` : '{}';
    }
    return String(v);
  };
  $(id).textContent = `await rendition.${method}(${args.map(literal).join(', ')})`;
}

// ---- Images ----

/** Resolves 'load', 'error' or 'timeout' once `img` has settled. */
function settledImage(img) {
  return new Promise((resolve) => {
    const done = (how) => {
      clearTimeout(timer);
      img.removeEventListener('load', onLoad);
      img.removeEventListener('error', onError);
      resolve(how);
    };
    const onLoad = () => done('load');
    const onError = () => done('error');
    const timer = setTimeout(() => done('timeout'), WAIT_MS);
    img.addEventListener('load', onLoad);
    img.addEventListener('error', onError);
  });
}

/**
 * How the server answered `url` (the Server-Timing header's `rendition` entry: rendered, joined
 * or hit, as the gallery shows it) and its size, from Resource Timing; `cache` when the browser
 * had it already and didn't ask (renditions are immutable), with what the server said then. The
 * entry may come a moment after the load event; an image this page showed before comes from the
 * browser's memory and keeps its first entry.
 */
async function timingOf(url) {
  for (let i = 0; i < 20; i += 1) {
    const entries = performance.getEntriesByName(url);
    const entry = entries[entries.length - 1];
    if (entry) {
      const timing = entry.serverTiming.find((t) => t.name === 'rendition');
      const said = timing ? timing.description : '';
      const cached = entry.transferSize === 0 && entry.encodedBodySize > 0;
      return { how: cached ? 'cache' : said, said, ms: timing ? timing.duration : null, bytes: entry.encodedBodySize };
    }
    await sleep(50);
  }
  return { how: '', said: '', ms: null, bytes: 0 };
}

function describeTiming({ how, said, ms, bytes }) {
  if (how === 'cache') return `from the browser's cache (the server had said: ${said || 'nothing'}), ${kib(bytes)}`;
  if (how === 'hit') return `served as a file, ${kib(bytes)}`;
  if (how) return `${how} in ${Math.round(ms)} ms, ${kib(bytes)}`;
  return bytes ? kib(bytes) : 'from the browser\'s memory';
}

/** Why an image failed: a browser doesn't say, so ask the server again. */
async function explain(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
    const body = (await response.text()).trim().slice(0, 300);
    return { httpStatus: response.status, message: `the server answered ${response.status}: ${body}` };
  } catch (e) {
    return { httpStatus: null, message: `the request failed: ${e.message}` };
  }
}

// ---- The info request and its placeholder ----

// Per source: a promise of its info (cached once shown: a source's info doesn't change while the
// page is open).
const infos = new Map();

/**
 * The source's info request (`sign(source, { format: 'json' })`: its size, format and a
 * placeholder image) as { status: 'shown', url, info } or { status: 'failed', message }.
 */
function infoOf(source) {
  if (!infos.has(source)) {
    const pending = fetchInfo(source).then((info) => {
      if (info.status === 'failed') infos.delete(source);
      return info;
    });
    infos.set(source, pending);
  }
  return infos.get(source);
}

async function fetchInfo(source) {
  let url;
  try {
    url = await signer.sign(source, { format: 'json' });
  } catch (e) {
    return { status: 'failed', message: `the info request could not be signed: ${e.message}` };
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
    if (!response.ok) return { status: 'failed', url, ...(await explain(url)) };
    return { status: 'shown', url, info: await response.json() };
  } catch (e) {
    return { status: 'failed', url, message: `the info request failed: ${e.message}` };
  }
}

function showPlaceholder(placeholder) {
  const box = $('placeholder');
  box.replaceChildren();
  if (placeholder.status !== 'shown') {
    $('placeholder-note').textContent = placeholder.message;
    return;
  }
  const { info, url } = placeholder;
  const link = Object.assign(document.createElement('a'), { href: url, textContent: url });
  const image = Object.assign(document.createElement('img'), { src: info.placeholder, alt: 'the placeholder' });
  const facts = document.createElement('pre');
  facts.textContent = JSON.stringify({ ...info, placeholder: `${String(info.placeholder).slice(0, 40)}…` }, null, 1);
  $('placeholder-note').textContent = 'The info request answers the source\'s size and format and a '
    + 'placeholder (a data URL) that a page can show, as the result below does, while the image loads:';
  box.append(link, image, facts);
}

// ---- The parts of the page ----

/** The source, as the options see it (after rotate and flip), where a click sets the focal point. */
let previewKey = '';
async function showSource(state) {
  const source = config.sources.find((s) => s.key === state.source);
  $('source-about').textContent = source
    ? `${source.width}×${source.height} as displayed, ${kib(source.bytes)} ${source.format}`
    : '';
  const { rotate, flip } = state.options;
  let url;
  try {
    url = await signer.sign(state.source, { width: 480, format: 'webp', rotate, flip });
  } catch {
    url = await signer.sign(state.source, { width: 480, format: 'webp' });
  }
  const img = $('source-preview').querySelector('img');
  if (url !== previewKey) {
    previewKey = url;
    img.src = url;
  }
  const marker = $('focal');
  marker.hidden = form.elements.gravity.value !== 'focal';
  marker.style.left = `${form.elements.fx.value}%`;
  marker.style.top = `${form.elements.fy.value}%`;
}

/** The signed URL (or the signer's refusal), the source's placeholder and the rendition. */
async function showRendition(state, signed, g, r) {
  const { source, options } = state;
  showCall('sign-call', 'sign', source, options);
  // The info request depends on the source alone: its panel shows even when the options are
  // refused.
  const placeholder = await infoOf(source);
  if (g !== generation) return;
  showPlaceholder(placeholder);
  r.placeholder = { status: placeholder.status, url: placeholder.url ?? null, message: placeholder.message ?? null, info: placeholder.info ?? null };

  const link = $('url');
  $('url-box').hidden = Boolean(signed.error);
  if (signed.error) {
    r.error = refuse(signed.error, $('refusal'));
    link.removeAttribute('href');
    link.textContent = '';
    $('result').replaceChildren();
    $('result-note').textContent = 'Nothing to render: the signer refused the options.';
    return;
  }
  const { url } = signed;
  link.href = url;
  link.textContent = url;
  r.url = url;
  const s = config.sources.find((x) => x.key === source);
  const expected = outputSize(source, options, s.width, s.height);
  r.expected = [expected.width, expected.height];

  // The width and height attributes are the output size the client computes (spec §8), which
  // the rendition must have: the page keeps its layout when the image arrives. A site has the
  // placeholder when it writes the page, before the image loads: so here too.
  const img = new Image(expected.width, expected.height);
  img.alt = 'the rendition';
  const data = placeholder.status === 'shown' ? placeholder.info.placeholder : null;
  if (data) {
    img.classList.add('with-placeholder');
    img.style.backgroundImage = `url("${data}")`;
  }
  $('result').replaceChildren(img);
  $('result-note').textContent = 'loading…';
  const settled = settledImage(img);
  img.src = url;
  const how = await settled;
  img.style.backgroundImage = ''; // a transparent rendition shows the checkerboard, not the placeholder
  if (how !== 'load') {
    const why = how === 'timeout' ? { httpStatus: null, message: `no image after ${WAIT_MS / 1000} s` } : await explain(url);
    r.result = { status: 'failed', ...why };
    $('result-note').textContent = why.message;
    $('result-note').className = 'note bad';
    return;
  }
  const natural = [img.naturalWidth, img.naturalHeight];
  const timing = await timingOf(img.currentSrc);
  const ok = natural[0] === expected.width && natural[1] === expected.height;
  r.result = { status: 'loaded', ok, natural, attributes: r.expected, ...timing, placeholderShown: Boolean(data) };
  $('result-note').className = ok ? 'note good' : 'note bad';
  $('result-note').textContent = `${natural[0]} × ${natural[1]}`
    + (ok ? ', as width and height say' : `, but width and height say ${expected.width} × ${expected.height}`)
    + `; ${describeTiming(timing)}`;
}

/** The srcset value and the <picture> markup, and the markup as a browser shows it. */
async function showMarkup(state, signed, g, r) {
  const { source, options } = state;
  const s = config.sources.find((x) => x.key === source);
  const size = { sourceWidth: s.width, sourceHeight: s.height };
  const items = state.srcset;
  for (const id of ['srcset-call', 'picture-call', 'srcset-note', 'preview-note']) $(id).textContent = '';
  for (const id of ['srcset-box', 'markup-box']) $(id).hidden = true;
  $('preview').replaceChildren();
  // The same options refused once, above, are enough.
  const nothing = signed.error ? 'Nothing to sign: the signer refused the options (see the signed URL).'
    : items.trim() === '' ? 'Give srcset widths or densities for markup.' : '';
  if (nothing) {
    $('srcset-note').textContent = nothing;
    return;
  }

  const srcsetOptions = { ...options, ...size };
  showCall('srcset-call', 'srcset', source, items, srcsetOptions);
  try {
    r.srcset = await signer.srcset(source, items, srcsetOptions);
    $('srcset-text').textContent = r.srcset;
    $('srcset-box').hidden = false;
  } catch (e) {
    r.srcsetError = refuse(e, $('srcset-refusal'));
  }

  // picture() makes its own formats (AVIF and WebP <source>s, a JPEG or PNG <img>), or one <img>
  // for an auto format: a concrete format of the options is the single URL's only.
  const densities = items.split(',')[0].trim().endsWith('x');
  const params = { ...options, [densities ? 'densities' : 'widths']: items, alt: state.alt, ...size };
  if (!/^auto/.test(options.format ?? '')) delete params.format;
  if (state.sizes !== '') params.sizes = state.sizes;
  showCall('picture-call', 'picture', source, params);
  let markup;
  try {
    markup = await signer.picture(source, params);
  } catch (e) {
    r.markupError = refuse(e, $('markup-refusal'));
    return;
  }
  if (g !== generation) return;
  r.markup = markup;
  $('markup').textContent = markup;
  $('markup-box').hidden = false;

  // The markup in the page, as a browser picks from it. It loads at once wherever it lies on the
  // page (the markup shown keeps loading="lazy", which is what a site wants).
  const template = document.createElement('template');
  template.innerHTML = markup;
  const img = template.content.querySelector('img');
  img.loading = 'eager';
  const candidates = [...template.content.querySelectorAll('[srcset]')].flatMap((el) => el.getAttribute('srcset')
    .split(', ').map((c) => c.split(' ')).map(([url, descriptor]) => ({ href: new URL(url, location.href).href, descriptor })));
  const settled = settledImage(img);
  $('preview').replaceChildren(template.content);
  const how = await settled;
  if (how !== 'load') {
    const why = await explain(img.currentSrc || img.src);
    r.picture = { status: 'failed', currentSrc: img.currentSrc, ...why };
    $('preview-note').textContent = `In this page: ${why.message}`;
    return;
  }
  const chosen = candidates.find((c) => c.href === img.currentSrc);
  // naturalWidth of an image chosen by a width descriptor is in CSS pixels (its width divided
  // by the density the browser gave it); the same URL alone says its size in pixels.
  const alone = new Image();
  alone.src = img.currentSrc;
  await alone.decode().catch(() => {});
  const natural = [alone.naturalWidth, alone.naturalHeight];
  const attributes = [Number(img.getAttribute('width')), Number(img.getAttribute('height'))];
  // A width descriptor is the candidate's real width (the client knows the source's size); the
  // height follows the width and height attributes' aspect ratio, to the rounding of a pixel.
  let ok = Boolean(chosen);
  if (chosen && chosen.descriptor.endsWith('w')) {
    ok = natural[0] === parseInt(chosen.descriptor, 10)
      && Math.abs(natural[1] - (natural[0] * attributes[1]) / attributes[0]) <= 1;
  } else if (chosen) {
    const density = parseFloat(chosen.descriptor);
    ok = Math.abs(natural[0] - attributes[0] * density) <= 1 && Math.abs(natural[1] - attributes[1] * density) <= 1;
  }
  const timing = await timingOf(img.currentSrc);
  r.picture = { status: 'loaded', ok, currentSrc: img.currentSrc, descriptor: chosen?.descriptor ?? null, natural, attributes, ...timing };
  const type = candidates.length && img.currentSrc.slice(img.currentSrc.lastIndexOf('.') + 1);
  $('preview-note').className = ok ? 'note good' : 'note bad';
  $('preview-note').textContent = `In this page the browser chose the ${chosen?.descriptor ?? '?'} ${type} candidate: `
    + `${natural[0]} × ${natural[1]} (width and height say ${attributes[0]} × ${attributes[1]}); ${describeTiming(timing)}`;
}

// ---- Updating ----

async function update(g) {
  const state = readForm();
  history.replaceState(null, '', `#${fragmentOf()}`);
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
  for (const id of ['refusal', 'srcset-refusal', 'markup-refusal']) $(id).textContent = '';
  $('result-note').className = 'note';
  const r = { generation: g, fragment: location.hash, source: state.source, options: state.options, error: null };
  try {
    let signed;
    try {
      signed = { url: await signer.sign(state.source, state.options) };
    } catch (error) {
      signed = { error };
    }
    await Promise.all([showSource(state), showRendition(state, signed, g, r), showMarkup(state, signed, g, r)]);
  } catch (e) {
    // A bug, not a refusal: say it in the report rather than leave a test waiting.
    r.crash = String(e && e.stack ? e.stack : e);
    console.error(e);
  }
  if (g !== generation) return;
  report = r;
  shown = g;
  $('report').textContent = JSON.stringify(r);
}

function changed() {
  generation += 1;
  const g = generation;
  clearTimeout(changed.timer);
  changed.timer = setTimeout(() => update(g), DEBOUNCE_MS);
}

/** The report once the page shows the form's latest state (for tests and the console). */
async function settled() {
  while (shown !== generation) await sleep(50);
  return report;
}

function start() {
  window.playground = { settled, report: () => report };
  // Off, or nothing to play with: the page says why, and that is all it shows.
  const off = config.off ?? (config.sources.length === 0 ? 'There are no images in this folder\'s sources/ to play with.' : null);
  if (off) {
    $('off').hidden = false;
    $('off').textContent = off;
    report = { off };
    shown = generation;
    $('report').textContent = JSON.stringify(report);
    return;
  }
  signer = createAsyncSigner({ keys: config.keys });
  performance.setResourceTimingBufferSize(10000);
  const select = form.elements.source;
  for (const s of config.sources) select.add(new Option(s.key, s.key, false, s.key === config.first));
  if (location.hash.length > 1) restore(location.hash.slice(1));
  $('playground').hidden = false;
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  form.addEventListener('submit', (e) => e.preventDefault());
  // A fragment edited by hand, or a link to another state followed in this tab.
  addEventListener('hashchange', () => {
    restore(location.hash.slice(1));
    changed();
  });
  $('bgpick').addEventListener('input', (e) => {
    form.elements.background.value = e.target.value;
  });
  $('source-preview').addEventListener('click', (e) => {
    const box = e.currentTarget.querySelector('img').getBoundingClientRect();
    const percent = (at, from, length) => Math.min(100, Math.max(0, Math.round((100 * (at - from)) / length)));
    form.elements.fx.value = percent(e.clientX, box.left, box.width);
    form.elements.fy.value = percent(e.clientY, box.top, box.height);
    form.elements.gravity.value = 'focal';
    changed();
  });
  for (const button of document.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', async () => {
      await navigator.clipboard.writeText($(button.dataset.copy).textContent);
      button.textContent = 'copied';
      setTimeout(() => { button.textContent = 'copy'; }, 1500);
    });
  }
  changed();
}

start();
