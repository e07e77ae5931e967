// The info request (docs/url-format.md §14): format json and signInfo(), and the placeholder that
// picture() paints behind its <img> from the info's answer or a data URL, never anything else.
// The vectors of tests/vectors.json and tests/signer-vectors.json run in vectors.test.js.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  createAsyncSigner, createSigner, picture, placeholderStyle, RenditionError, resolve, signInfo,
} from 'rendition-sign';

const keys = 'k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210';
const s = createSigner({ keys });
const refused = (option, says) => (e) => e instanceof RenditionError && e.option === option
  && (says === undefined || e.message.includes(says));

// A 1×1 PNG, standard base64 with padding, as the server writes placeholders.
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const STYLE = `background-position:center;background-size:cover;background-image:url(${PNG})`;
// What the server answers (§14.2), with a member this client doesn't know.
const INFO = {
  alpha: false, format: 'jpeg', frames: 1, height: 300, width: 400,
  thumbhash: 'HAkOFZpwh4eAeYiXh3iHiNAwDPh4', placeholder: PNG, later: 'ignored',
};

/** The one <img> tag of some markup, and its attributes in order, values as written. */
function img(html) {
  const m = /<img( [^>]*)>/.exec(html);
  assert.ok(m, html);
  return [...m[1].matchAll(/ ([a-z]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]);
}

const style = (html) => Object.fromEntries(img(html)).style;

describe('format json: the info request', () => {
  test('any case, never the default, the version or etag its only options', () => {
    assert.equal(s.sign('photos/cat.jpg', { format: 'json' }), '/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json');
    assert.equal(s.sign('photos/cat.jpg', { format: 'Json', version: '3f2a9c' }),
      '/r/photos/cat.jpg/k1.NKwGDyFio8yqbNAvosARAA/v3f2a9c.json');
    assert.deepEqual(resolve('photos/cat.jpg', { format: 'json', etag: '"abc-2"' }).segment, 'vabc2');
    assert.throws(() => s.sign('data/cat.json'), refused('format'));
    // null is unset, as everywhere.
    assert.equal(s.sign('photos/cat.jpg', { format: 'json', width: null }), s.sign('photos/cat.jpg', { format: 'json' }));
  });

  test('every other option is refused, naming it, defaults and dpr included', () => {
    const options = {
      width: 640, height: 480, dpr: 2, fit: 'cover', enlarge: false, gravity: 'centre', quality: 80,
      background: 'fff', rotate: 0, flip: 'h', blur: 1, sharpen: 1,
    };
    for (const [name, value] of Object.entries(options)) {
      assert.throws(() => s.sign('photos/cat.jpg', { format: 'json', [name]: value }),
        refused(name, 'an info request (format json) describes the source'), name);
    }
  });

  test('signCanonical takes - or a version alone, lower case', () => {
    assert.equal(s.signCanonical('photos/cat.jpg', 'v3f2a9c', 'json'), '/r/photos/cat.jpg/k1.NKwGDyFio8yqbNAvosARAA/v3f2a9c.json');
    assert.throws(() => s.signCanonical('photos/cat.jpg', 'w640', 'json'), refused('width'));
    assert.throws(() => s.signCanonical('photos/cat.jpg', '-', 'JSON'), refused('format'));
    assert.throws(() => s.signCanonical('photos/cat.jpg', '-.auto', 'json'), refused('ops'));
  });

  test('signInfo signs format json, sync, async and alone', async () => {
    const path = '/r/photos/cat.jpg/k1.vnki0egWlMb818TrjmMtqA/v5d41402abc4b2a76b9719d911017c592.json';
    const etag = 'W/"5d41402abc4b2a76b9719d911017c592"'; // vector info-etag
    assert.equal(s.signInfo('photos/cat.jpg', { etag }), path);
    assert.equal(s.signInfo('photos/cat.jpg', { etag, format: 'JSON' }), path);
    assert.equal(await createAsyncSigner({ keys }).signInfo('photos/cat.jpg', { etag }), path);
    assert.equal(signInfo('photos/cat.jpg', null, { keys, base: 'https://cdn.example.com/' }),
      'https://cdn.example.com/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json');
    assert.throws(() => s.signInfo('photos/cat.jpg', { format: 'webp' }), refused('format'));
    assert.throws(() => s.signInfo('photos/cat.jpg', { width: 10 }), refused('width'));
    await assert.rejects(createAsyncSigner({ keys }).signInfo('photos/cat.jpg', { dpr: 2 }), refused('dpr'));
  });

  test('srcset and picture are made of renditions: format json is refused, naming format', () => {
    assert.throws(() => s.srcset('photos/cat.jpg', [320, 640], { format: 'json' }), refused('format', 'signInfo()'));
    assert.throws(() => s.srcset('photos/cat.jpg', ['1x', '2x'], { format: 'json', width: 10 }), refused('width'));
    assert.throws(() => s.picture('photos/cat.jpg', { widths: [320], sizes: '1px', alt: '', format: 'JSON' }),
      refused('format', 'signInfo()'));
  });
});

describe('picture: the placeholder', () => {
  const params = { widths: [200, 400, 800], sizes: '100vw', alt: 'A cat' };

  test('info gives the source size and the placeholder, painted as the <img> background', () => {
    const withInfo = s.picture('photos/cat.jpg', { ...params, info: INFO });
    const plain = s.picture('photos/cat.jpg', { ...params, sourceWidth: 400, sourceHeight: 300 });
    // The same markup as with the source size, the style added after decoding.
    assert.equal(withInfo, plain.replace('decoding="async"', `decoding="async" style="${STYLE}"`));
    assert.deepEqual(img(withInfo).map(([name]) => name),
      ['src', 'srcset', 'sizes', 'width', 'height', 'alt', 'loading', 'decoding', 'style']);
    assert.equal(Object.fromEntries(img(withInfo)).width, '400'); // 800 is more than the source has
    // The JSON text works as well as the parsed object.
    assert.equal(s.picture('photos/cat.jpg', { ...params, info: JSON.stringify(INFO) }), withInfo);
    assert.equal(placeholderStyle(PNG), STYLE);
  });

  test('sourceWidth and sourceHeight win over info\'s size; placeholder over info\'s', () => {
    const other = 'data:image/jpeg;base64,/9j/4AAQ';
    const html = s.picture('photos/cat.jpg', {
      ...params, info: INFO, sourceWidth: 1600, sourceHeight: 1200, placeholder: other,
    });
    assert.equal(Object.fromEntries(img(html)).width, '800');
    assert.equal(style(html), `background-position:center;background-size:cover;background-image:url(${other})`);
  });

  test('a placeholder alone, with the format auto <img> and with densities', () => {
    const auto = s.picture('photos/cat.jpg', { ...params, format: 'auto', placeholder: PNG });
    assert.ok(auto.startsWith('<img '), auto);
    assert.equal(style(auto), STYLE);
    const fixed = s.picture('photos/cat.jpg', { width: 300, densities: ['1x', '2x'], alt: '', info: INFO });
    assert.deepEqual([Object.fromEntries(img(fixed)).width, Object.fromEntries(img(fixed)).height], ['300', '225']);
    assert.equal(style(fixed), STYLE);
  });

  test('an info without a placeholder gives the size alone; a transparent source\'s is left out', () => {
    const { placeholder, ...bare } = INFO;
    assert.equal(style(s.picture('photos/cat.jpg', { ...params, info: bare })), undefined);
    // Behind a transparent image the placeholder would show through for good, once it loaded.
    const logo = s.picture('icons/logo.png', { ...params, info: { ...INFO, alpha: true } });
    assert.equal(style(logo), undefined);
    assert.equal(Object.fromEntries(img(logo)).height, '300');
    // Given on its own, a placeholder is the caller's choice.
    assert.equal(style(s.picture('icons/logo.png', { ...params, info: { ...INFO, alpha: true }, placeholder: PNG })), STYLE);
  });

  test('the page\'s own style follows the placeholder\'s declarations', () => {
    const html = s.picture('photos/cat.jpg', { ...params, info: INFO, attributes: { class: 'hero', style: 'max-width:100%' } });
    assert.deepEqual(img(html).slice(-2), [['style', `${STYLE};max-width:100%`], ['class', 'hero']]);
    for (const none of ['', null, false]) {
      assert.equal(style(s.picture('photos/cat.jpg', { ...params, info: INFO, attributes: { style: none } })), STYLE);
    }
    // Without a placeholder an own style stays where it was given.
    const own = s.picture('photos/cat.jpg', { ...params, attributes: { class: 'hero', style: 'x' } });
    assert.deepEqual(img(own).slice(-2), [['class', 'hero'], ['style', 'x']]);
    assert.throws(() => s.picture('photos/cat.jpg', { ...params, info: INFO, attributes: { style: 3 } }), refused('attributes'));
  });

  test('only an image data URL in base64 is taken: no CSS or HTML gets in', () => {
    const attempts = [
      'data:image/png;base64,abc)', // leaves url()
      'data:image/png;base64,abc);background:url(https://tracker.example/x',
      'data:image/png;base64,"><script>alert(1)</script>',
      "data:image/png;base64,abc'",
      'data:image/png;base64,ab cd',
      'data:image/png;base64,abc\n',
      'data:image/png;base64,abc<',
      'data:image/png;base64,abc\\29',
      'data:image/png;base64,',
      'data:image/png,iVBOR',
      'data:image/svg+xml;base64,PHN2Zz4=',
      'data:text/html;base64,PHNjcmlwdD4=',
      'DATA:image/png;base64,iVBOR',
      'https://example.com/p.png',
      'javascript:alert(1)',
      '',
      42,
      true,
      { toString: () => PNG },
    ];
    for (const bad of attempts) {
      assert.throws(() => s.picture('photos/cat.jpg', { ...params, placeholder: bad }), refused('placeholder'), String(bad));
      assert.throws(() => s.picture('photos/cat.jpg', { ...params, info: { ...INFO, placeholder: bad } }), refused('info'), String(bad));
    }
    assert.throws(() => placeholderStyle('x)'), refused('placeholder'));
    // A long refused value is quoted in part, not whole.
    assert.throws(() => s.picture('photos/cat.jpg', { ...params, placeholder: `${PNG})${'A'.repeat(5000)}` }),
      (e) => e.option === 'placeholder' && e.message.length < 300);
  });

  test('info must be the info request\'s answer', () => {
    for (const bad of ['{"width": 400', '[]', [], 7, { width: 400 }, { width: 0, height: 3 }, { width: 4.5, height: 3 },
      { width: '400', height: '300' }]) {
      assert.throws(() => s.picture('photos/cat.jpg', { ...params, info: bad }), refused('info'), JSON.stringify(bad));
    }
    // A half-given source size is still refused.
    assert.throws(() => s.picture('photos/cat.jpg', { ...params, info: INFO, sourceWidth: 10 }), refused('sourceHeight'));
  });

  test('the async signer and the top-level function write the same', async () => {
    const p = { ...params, info: INFO, format: 'auto-alpha' };
    const html = s.picture('icons/logo.png', p);
    assert.equal(await createAsyncSigner({ keys }).picture('icons/logo.png', p), html);
    assert.equal(picture('icons/logo.png', p, { keys }), html);
  });
});
