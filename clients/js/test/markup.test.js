// srcset(), picture() and outputSize(): the markup read back with a strict parser, every URL
// checked against sign(), and the width/height arithmetic against src/plan.rs's own tables.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  createAsyncSigner, createSigner, outputSize, picture, RenditionError, sign, srcset,
} from 'rendition-sign';

// A strict reader for the markup picture() writes: a run of tags and nothing else, every
// attribute value double-quoted, entities only for the five escaped characters. Anything else
// (an unescaped quote or '&', a stray '<', text between tags) fails the test that reads it.
const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

function decode(raw) {
  if (/[<>'"]/.test(raw)) throw new Error(`unescaped character in attribute value ${raw}`);
  return raw.replace(/&[^;]*;?/g, (entity) => {
    if (!(entity in ENTITIES)) throw new Error(`unknown or broken entity ${entity} in ${raw}`);
    return ENTITIES[entity];
  });
}

function parseTags(html) {
  const tag = /<(\/?)([a-z]+)((?: [a-z][a-z0-9_:.-]*(?:="[^"]*")?)*)>/y;
  const tags = [];
  let at = 0;
  while (at < html.length) {
    tag.lastIndex = at;
    const m = tag.exec(html);
    if (!m) throw new Error(`not a tag at ${at}: ${html.slice(at, at + 60)}`);
    const attrs = {};
    for (const a of m[3].matchAll(/ ([a-z][a-z0-9_:.-]*)(?:="([^"]*)")?/g)) {
      if (a[1] in attrs) throw new Error(`attribute ${a[1]} twice in ${m[0]}`);
      attrs[a[1]] = a[2] === undefined ? true : decode(a[2]);
    }
    tags.push({ name: m[2], close: m[1] === '/', attrs });
    at = tag.lastIndex;
  }
  return tags;
}

/** A srcset value → [[url, descriptor]]. */
function candidates(srcset) {
  return srcset.split(', ').map((c) => {
    const [url, descriptor, ...more] = c.split(' ');
    if (more.length) throw new Error(`candidate with more than a URL and a descriptor: ${c}`);
    return [url, descriptor];
  });
}

const keys = 'k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210';
const s = createSigner({ keys });
const refused = (option) => (e) => e instanceof RenditionError && e.option === option;

/** picture()'s output as {sources, img}, checking the element structure on the way. */
function readPicture(html) {
  const tags = parseTags(html);
  assert.equal(tags[0].name, 'picture');
  assert.deepEqual(tags.slice(-2).map((t) => [t.name, t.close]), [['img', false], ['picture', true]]);
  const sources = tags.slice(1, -2);
  for (const t of sources) assert.deepEqual([t.name, t.close], ['source', false]);
  return { sources: sources.map((t) => t.attrs), img: tags[tags.length - 2].attrs };
}

/** picture()'s output for format auto: exactly one <img>, no <picture> and no <source>. */
function readImg(html) {
  const tags = parseTags(html);
  assert.deepEqual(tags.map((t) => [t.name, t.close]), [['img', false]], html);
  return tags[0].attrs;
}

describe('outputSize follows src/plan.rs', () => {
  // plan.rs: output_sizes_for_every_fit_and_one_sided_sizes.
  const plain = [
    [400, null, 'cover', [1600, 1200], [400, 300]],
    [null, 300, 'cover', [1600, 1200], [400, 300]],
    [null, null, 'cover', [1600, 1200], [1600, 1200]],
    [333, null, 'cover', [1000, 1000], [333, 333]],
    [400, 400, 'cover', [1600, 1200], [400, 400]],
    [400, 400, 'contain', [1600, 1200], [400, 400]],
    [400, 400, 'fill', [1600, 1200], [400, 400]],
    [400, 400, 'inside', [1600, 1200], [400, 300]],
    [400, 400, 'outside', [1600, 1200], [533, 400]],
    [3200, 100, 'inside', [1600, 1200], [133, 100]],
    [10, 10, 'contain', [1000, 1], [1, 1]],
    [10, 1, 'contain', [1000, 1], [10, 1]],
    [1, null, 'cover', [1000, 1], [1, 1]],
  ];
  // plan.rs: outputs_are_never_larger_than_the_source_unless_enlarge_is_asked.
  const capped = [
    [1920, null, 'cover', [1280, 853], [1280, 853], [1920, 1280]],
    [null, 2000, 'cover', [1280, 853], [1280, 853], [3001, 2000]],
    [2000, 1000, 'cover', [1280, 853], [1280, 640], [2000, 1000]],
    [2000, 1000, 'contain', [1280, 853], [1280, 640], [2000, 1000]],
    [2000, 1000, 'fill', [1280, 853], [1280, 640], [2000, 1000]],
    [1000, 1000, 'cover', [1280, 853], [853, 853], [1000, 1000]],
    [2000, 1000, 'inside', [1280, 853], [1280, 853], [1501, 1000]],
    [2000, 1000, 'outside', [1280, 853], [1280, 853], [2000, 1333]],
    [640, 2000, 'outside', [1280, 853], [1280, 853], [3001, 2000]],
    [640, 360, 'cover', [1280, 853], [640, 360], [640, 360]],
    [1280, null, 'cover', [1280, 853], [1280, 853], [1280, 853]],
  ];
  const size = (o) => {
    const { width, height } = outputSize('photos/cat.jpg', o.options, ...o.source);
    return [width, height];
  };
  for (const [width, height, fit, source, out] of plain) {
    test(`${width}x${height} ${fit} of ${source}`, () => {
      const options = { width, height, fit: width && height ? fit : null };
      assert.deepEqual(size({ options, source }), out);
    });
  }
  for (const [width, height, fit, source, kept, enlarged] of capped) {
    test(`${width}x${height} ${fit} of ${source}, then enlarged`, () => {
      const options = { width, height, fit: width && height ? fit : null };
      assert.deepEqual(size({ options, source }), kept);
      assert.deepEqual(size({ options: { ...options, enlarge: true }, source }), enlarged);
    });
  }
  test('a quarter turn swaps the source sides; a vertical flip (a half turn) does not', () => {
    assert.deepEqual(size({ options: { width: 400, rotate: 90 }, source: [1600, 1200] }), [400, 533]);
    assert.deepEqual(size({ options: { width: 400, rotate: -90 }, source: [1600, 1200] }), [400, 533]);
    assert.deepEqual(size({ options: { width: 400, flip: 'v' }, source: [1600, 1200] }), [400, 300]);
  });
  test('halves round up, as the renderer\'s f64 rounding does', () => {
    assert.deepEqual(size({ options: { width: 2 }, source: [4, 5] }), [2, 3]);
    assert.deepEqual(size({ options: { height: 5, enlarge: true }, source: [1, 2] }), [3, 5]);
  });
  test('dpr multiplies before the cap', () => {
    assert.deepEqual(size({ options: { width: 400, dpr: 2 }, source: [1600, 1200] }), [800, 600]);
    assert.deepEqual(size({ options: { width: 400, dpr: 8 }, source: [1600, 1200] }), [1600, 1200]);
  });
  test('the source size is whole pixels, both sides', () => {
    assert.throws(() => outputSize('a.jpg', {}, 0, 10), refused('sourceWidth'));
    assert.throws(() => outputSize('a.jpg', {}, 10, 2.5), refused('sourceHeight'));
    assert.throws(() => outputSize('a.jpg', { widht: 1 }, 10, 10), refused('widht'));
  });
});

describe('srcset', () => {
  test('widths, as rendition sign --srcset writes them', () => {
    const set = candidates(s.srcset('photos/cat.jpg', [320, 640], { format: 'webp' }));
    assert.deepEqual(set, [
      [s.sign('photos/cat.jpg', { width: 320, format: 'webp' }), '320w'],
      ['/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp', '640w'], // vector width-only
    ]);
    assert.equal(s.srcset('photos/cat.jpg', '320, 640', { format: 'webp' }), s.srcset('photos/cat.jpg', [320, 640], { format: 'webp' }));
  });
  test('a box keeps its aspect ratio at every width (height rounded half up)', () => {
    const set = candidates(s.srcset('photos/cat.jpg', [320, 641], { width: 640, height: 360 }));
    assert.equal(set[0][0], s.sign('photos/cat.jpg', { width: 320, height: 180 }));
    assert.equal(set[1][0], s.sign('photos/cat.jpg', { width: 641, height: 361 })); // 360.5625
  });
  test('densities multiply dpr exactly and keep a minimal descriptor', () => {
    const set = candidates(s.srcset('photos/cat.jpg', ['1x', '1.50x', '2x'], { width: 300, dpr: '1.005' }));
    assert.deepEqual(set.map(([, d]) => d), ['1x', '1.5x', '2x']);
    assert.equal(set[0][0], s.sign('photos/cat.jpg', { width: 302 })); // 301.5 rounds up
    assert.equal(set[1][0], s.sign('photos/cat.jpg', { width: 452 })); // 452.25
    assert.equal(set[2][0], s.sign('photos/cat.jpg', { width: 603 })); // 603
  });
  test('with the source size: real widths, and no second URL for the same pixels', () => {
    const set = candidates(s.srcset('photos/cat.jpg', [640, 1280, 1920, 2560], { format: 'webp', sourceWidth: 1280, sourceHeight: 853 }));
    assert.deepEqual(set, [
      [s.sign('photos/cat.jpg', { width: 640, format: 'webp' }), '640w'],
      [s.sign('photos/cat.jpg', { width: 1280, format: 'webp' }), '1280w'],
    ]);
    const boxed = candidates(s.srcset('photos/cat.jpg', [1000, 2000], { width: 2, height: 1, sourceWidth: 1280, sourceHeight: 853 }));
    assert.deepEqual(boxed, [
      [s.sign('photos/cat.jpg', { width: 1000, height: 500 }), '1000w'],
      [s.sign('photos/cat.jpg', { width: 1280, height: 640 }), '1280w'],
    ]);
    const dense = candidates(s.srcset('photos/cat.jpg', ['1x', '2x', '3x'], { width: 500, sourceWidth: 800, sourceHeight: 600 }));
    assert.deepEqual(dense.map(([, d]) => d), ['1x', '2x']); // 3x gives the 800 of 2x again
  });
  test('what rendition sign --srcset refuses', () => {
    assert.throws(() => s.srcset('a.jpg', [320, '2x'], { width: 100 }), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', ['2x'], {}), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', [320], { dpr: 2 }), refused('dpr'));
    assert.throws(() => s.srcset('a.jpg', [320], { width: 100 }), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', [], {}), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', ['320px'], {}), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', ['2ex'], { width: 1 }), refused('srcset'));
    assert.throws(() => s.srcset('a.jpg', [0], {}), refused('width'));
    assert.throws(() => s.srcset('a.jpg', [320], { rotate: 45 }), refused('rotate'));
  });
  test('format auto: the same candidates as any format, one URL per width for every browser', () => {
    const set = candidates(s.srcset('photos/cat.jpg', [320, 640], { format: 'auto' }));
    assert.deepEqual(set, [
      [s.sign('photos/cat.jpg', { width: 320, format: 'auto' }), '320w'],
      ['/r/photos/cat.jpg/k1.K7TTVGRZD0YEmoZhf9QT0Q/w640.auto', '640w'], // edge vector auto-width
    ]);
    assert.ok(set.every(([url]) => url.endsWith('.auto')));
    const capped = candidates(s.srcset('photos/cat.jpg', [640, 1920], { format: 'AUTO', quality: 60, sourceWidth: 1280, sourceHeight: 853 }));
    assert.deepEqual(capped, [
      ['/r/photos/cat.jpg/k1.ifvdjQudtvBdNA3nuH5MAA/w640_q60.auto', '640w'], // edge vector auto-quality
      [s.sign('photos/cat.jpg', { width: 1280, quality: 60, format: 'auto' }), '1280w'],
    ]);
    const dense = candidates(s.srcset('icons/logo.png', ['1x', '2x'], { width: 64, format: 'Auto-Alpha' }));
    assert.deepEqual(dense, [
      ['/r/icons/logo.png/k1.i6a35-WlGmmrn8H48kzc_A/w64.auto-alpha', '1x'], // edge vector auto-format-any-case
      [s.sign('icons/logo.png', { width: 128, format: 'auto-alpha' }), '2x'],
    ]);
    assert.throws(() => s.srcset('photos/cat.jpg', [320], { format: 'auto-a' }), refused('format'));
    assert.throws(() => s.srcset('photos/cat.jpg', [320], { format: 'auto', quality: 0 }), refused('quality'));
  });

  test('base is the CDN origin, with or without its trailing slash', () => {
    const cdn = createSigner({ keys, base: 'https://cdn.example.com/' });
    assert.equal(cdn.sign('photos/cat.jpg', { width: 640 }), `https://cdn.example.com${s.sign('photos/cat.jpg', { width: 640 })}`);
    assert.ok(cdn.srcset('photos/cat.jpg', [320, 640]).split(', ').every((c) => c.startsWith('https://cdn.example.com/r/')));
    assert.throws(() => createSigner({ keys, base: 'https://cdn.example.com/?x=1' }), refused('base'));
  });
});

describe('picture', () => {
  const params = {
    widths: [320, 640, 1280, 1920],
    sizes: '(min-width: 60em) 50vw, 100vw',
    alt: 'Tom & "Jerry" <3 \'cheese\'',
    sourceWidth: 1280,
    sourceHeight: 853,
    quality: 70,
  };

  test('AVIF and WebP sources, a JPEG img, every URL signed as sign() signs it', () => {
    const { sources, img } = readPicture(s.picture('photos/cat.jpg', params));
    assert.deepEqual(sources.map((a) => a.type), ['image/avif', 'image/webp']);
    for (const [attrs, format] of [[sources[0], 'avif'], [sources[1], 'webp'], [img, 'jpg']]) {
      assert.equal(attrs.sizes, params.sizes);
      assert.deepEqual(candidates(attrs.srcset), [320, 640, 1280].map((w) => [
        s.sign('photos/cat.jpg', { width: w, quality: 70, format }), `${w}w`,
      ]));
    }
    assert.equal(img.src, s.sign('photos/cat.jpg', { width: 1280, quality: 70, format: 'jpg' }));
    assert.equal(img.alt, params.alt);
    assert.deepEqual([img.width, img.height, img.loading, img.decoding], ['1280', '853', 'lazy', 'async']);
  });

  test('width and height follow the box, the fit and the cap', () => {
    const attrs = (p) => {
      const { img } = readPicture(s.picture('photos/cat.jpg', { alt: '', sizes: '100vw', ...p }));
      return [img.width, img.height];
    };
    const photo = { sourceWidth: 1280, sourceHeight: 853 };
    assert.deepEqual(attrs({ widths: [400, 800], width: 16, height: 9, ...photo }), ['800', '450']);
    assert.deepEqual(attrs({ widths: [400, 2000], width: 16, height: 9, ...photo }), ['1280', '720']);
    assert.deepEqual(attrs({ widths: [400, 2000], width: 16, height: 9, enlarge: true, ...photo }), ['2000', '1125']);
    assert.deepEqual(attrs({ widths: [400, 800], width: 1, height: 1, fit: 'inside', ...photo }), ['800', '533']);
    assert.deepEqual(attrs({ widths: [600], width: 1, height: 1, fit: 'contain', ...photo }), ['600', '600']);
    // A portrait shot sideways: rotated a quarter turn it is 853 wide, 1280 high.
    assert.deepEqual(attrs({ widths: [400, 2000], rotate: 90, ...photo }), ['853', '1280']);
    // Without the source size: a box has its own size, a width alone does not say the height.
    assert.deepEqual(attrs({ widths: [400, 800], width: 4, height: 3 }), ['800', '600']);
    assert.deepEqual(attrs({ widths: [400, 800] }), [undefined, undefined]);
  });

  test('densities: a fixed CSS size, no sizes, the 1x size as width and height', () => {
    const html = s.picture('avatars/ada.png', {
      densities: ['1x', '2x'], width: 64, height: 64, alt: 'Ada', formats: ['webp'],
    });
    const { sources, img } = readPicture(html);
    assert.deepEqual(candidates(img.srcset), [
      [s.sign('avatars/ada.png', { width: 64, height: 64 }), '1x'],
      [s.sign('avatars/ada.png', { width: 64, height: 64, dpr: 2 }), '2x'],
    ]);
    assert.ok(img.src.endsWith('/w128_h128.png'));
    assert.equal(sources.length, 1);
    assert.equal(sources[0].sizes, undefined);
    assert.deepEqual([img.width, img.height, img.sizes], ['64', '64', undefined]);
    const small = readPicture(s.picture('avatars/ada.png', {
      densities: '1x,2x', width: 64, alt: '', sourceWidth: 100, sourceHeight: 50,
    })).img;
    assert.deepEqual([small.width, small.height], ['64', '32']);
    assert.deepEqual(candidates(small.srcset).map(([, d]) => d), ['1x', '2x']);
  });

  test('a PNG source falls back to PNG, and quality goes only to the lossy formats', () => {
    const { sources, img } = readPicture(s.picture('logos/brand.png', { widths: [200], sizes: '200px', alt: 'Brand', quality: 60 }));
    assert.ok(sources.every((a) => /_q60\.(avif|webp) 200w$/.test(a.srcset)), JSON.stringify(sources));
    assert.ok(img.src.endsWith('/w200.png'), img.src);
    assert.ok(readPicture(s.picture('photos/cat.jpg', { widths: [200], sizes: '200px', alt: '', fallback: 'PNG' })).img.src.endsWith('/w200.png'));
  });

  test('attributes: added, replaced, removed, escaped', () => {
    const { img } = readPicture(s.picture('photos/cat.jpg', {
      widths: [320], sizes: '320px', alt: '',
      attributes: { class: 'hero "big"', loading: 'eager', decoding: null, fetchpriority: 'high', hidden: true, width: 10 },
    }));
    assert.equal(img.class, 'hero "big"');
    assert.equal(img.loading, 'eager');
    assert.equal(img.decoding, undefined);
    assert.equal(img.hidden, true);
    assert.equal(img.width, '10');
    assert.throws(() => s.picture('a.jpg', { widths: [1], sizes: '1px', alt: '', attributes: { src: 'x' } }), refused('attributes'));
    assert.throws(() => s.picture('a.jpg', { widths: [1], sizes: '1px', alt: '', attributes: { 'on"click': 'x' } }), refused('attributes'));
  });

  test('a base with an ampersand is escaped in every URL', () => {
    const html = createSigner({ keys, base: 'https://cdn.example.com/a&b' }).picture('photos/cat.jpg', { widths: [320], sizes: '320px', alt: '' });
    assert.ok(!html.includes('a&b'));
    assert.ok(readPicture(html).img.src.startsWith('https://cdn.example.com/a&b/r/'));
  });

  test('what it refuses, naming the parameter', () => {
    const base = { widths: [320], sizes: '100vw', alt: '' };
    assert.throws(() => s.picture('a.jpg', { ...base, sizes: undefined }), refused('sizes'));
    assert.throws(() => s.picture('a.jpg', { ...base, alt: undefined }), refused('alt'));
    assert.throws(() => s.picture('a.jpg', { ...base, densities: ['2x'] }), refused('widths'));
    assert.throws(() => s.picture('a.jpg', { alt: '' }), refused('widths'));
    assert.throws(() => s.picture('a.jpg', { densities: ['1x'], sizes: '1px', alt: '', width: 1 }), refused('sizes'));
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'webp' }), refused('format'));
    assert.throws(() => s.picture('a.jpg', { ...base, formats: ['webp', 'tiff'] }), refused('formats'));
    assert.throws(() => s.picture('a.jpg', { ...base, formats: ['jpg'] }), refused('formats'));
    assert.throws(() => s.picture('a.jpg', { ...base, widht: 3 }), refused('widht'));
    assert.throws(() => s.picture('a.jpg', { ...base, sourceWidth: 100 }), refused('sourceHeight'));
    assert.throws(() => s.picture('r/a.jpg', base), refused('source'));
  });

  test('format auto: one <img>, no <picture>, every URL an auto path', () => {
    const img = readImg(s.picture('photos/cat.jpg', { ...params, format: 'auto' }));
    assert.deepEqual(Object.keys(img), ['src', 'srcset', 'sizes', 'width', 'height', 'alt', 'loading', 'decoding']);
    assert.deepEqual(candidates(img.srcset), [320, 640, 1280].map((w) => [
      s.sign('photos/cat.jpg', { width: w, quality: 70, format: 'auto' }), `${w}w`,
    ]));
    assert.equal(img.src, s.sign('photos/cat.jpg', { width: 1280, quality: 70, format: 'auto' }));
    assert.ok(img.src.endsWith('/w1280_q70.auto'), img.src);
    assert.deepEqual([img.sizes, img.alt, img.width, img.height, img.loading, img.decoding],
      [params.sizes, params.alt, '1280', '853', 'lazy', 'async']);
    // The same <img> as the <picture>'s, with auto URLs: the picture's other attributes unchanged.
    const { img: pictured } = readPicture(s.picture('photos/cat.jpg', params));
    assert.deepEqual({ ...img, src: null, srcset: null }, { ...pictured, src: null, srcset: null });
  });

  test('format auto-alpha, any case: quality for the AVIF and WebP choices, densities, attributes', () => {
    const img = readImg(s.picture('icons/logo.png', {
      densities: ['1x', '2x'], width: 128, quality: 70, alt: 'Logo', format: 'AUTO-ALPHA',
      attributes: { class: 'logo' },
    }));
    assert.deepEqual(candidates(img.srcset), [
      ['/r/icons/logo.png/k1.tN-M9jraQetfeNNA2-rIUw/w128_q70.auto-alpha', '1x'], // edge vector auto-alpha-quality
      [s.sign('icons/logo.png', { width: 256, quality: 70, format: 'auto-alpha' }), '2x'],
    ]);
    assert.ok(img.src.endsWith('/w256_q70.auto-alpha'), img.src);
    // Without the source's size a width alone doesn't say the height: no width and height.
    assert.deepEqual([img.width, img.height, img.sizes, img.class], [undefined, undefined, undefined, 'logo']);
    const boxed = readImg(s.picture('icons/logo.png', { densities: '1x', width: 64, height: 64, alt: '', format: 'auto-alpha' }));
    assert.deepEqual([boxed.width, boxed.height], ['64', '64']);
    assert.equal(boxed.src, s.sign('icons/logo.png', { width: 64, height: 64, format: 'auto-alpha' }));
  });

  test('format auto: what it refuses, naming the parameter', () => {
    const base = { widths: [320], sizes: '100vw', alt: '' };
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto', formats: ['webp'] }), refused('formats'));
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto', fallback: 'jpg' }), refused('fallback'));
    for (const format of ['auto-a', 'AUTO-ALPHA-X', 'autoalpha', 'tiff', 3]) {
      assert.throws(() => s.picture('a.jpg', { ...base, format }), refused('format'), format);
    }
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto-a' }), /"auto-a" is not auto or auto-alpha/);
    // A concrete format still means <picture> markup, formats and fallback.
    for (const format of ['webp', 'JPEG', 'avif']) {
      assert.throws(() => s.picture('a.jpg', { ...base, format }), refused('format'), format);
    }
    for (const f of ['auto', 'Auto-Alpha']) {
      assert.throws(() => s.picture('a.jpg', { ...base, formats: ['avif', f] }), refused('formats'), f);
      assert.throws(() => s.picture('a.jpg', { ...base, fallback: f }), refused('fallback'), f);
    }
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto', quality: 101 }), refused('quality'));
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto', sizes: undefined }), refused('sizes'));
    assert.throws(() => s.picture('a.jpg', { ...base, format: 'auto', attributes: { src: 'x' } }), refused('attributes'));
    // Unset is unset: null or undefined format is <picture> markup as before.
    assert.ok(s.picture('a.jpg', { ...base, format: null }).startsWith('<picture>'));
    assert.ok(s.picture('a.jpg', { ...base, format: undefined }).startsWith('<picture>'));
  });

  test('format auto: the async signer and the top-level function write the same <img>', async () => {
    const auto = { ...params, format: 'auto' };
    assert.equal(await createAsyncSigner({ keys }).picture('photos/cat.jpg', auto), s.picture('photos/cat.jpg', auto));
    assert.equal(picture('photos/cat.jpg', auto, { keys }), s.picture('photos/cat.jpg', auto));
  });

  test('the async signer and the top-level functions write the same', async () => {
    const a = createAsyncSigner({ keys });
    assert.equal(await a.picture('photos/cat.jpg', params), s.picture('photos/cat.jpg', params));
    assert.equal(await a.srcset('photos/cat.jpg', ['1x', '2x'], { width: 10 }), s.srcset('photos/cat.jpg', ['1x', '2x'], { width: 10 }));
    assert.equal(picture('photos/cat.jpg', params, { keys }), s.picture('photos/cat.jpg', params));
    assert.equal(srcset('photos/cat.jpg', [1, 2], {}, { keys }), s.srcset('photos/cat.jpg', [1, 2]));
    assert.equal(sign('photos/cat.jpg', { width: 640, format: 'webp' }, { keys }), '/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp');
    await assert.rejects(a.picture('photos/cat.jpg', { ...params, alt: 1 }), refused('alt'));
  });
});
