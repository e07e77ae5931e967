// Format auto's signer rules (docs/url-format.md §13.5): the format option's spellings, the ops
// resolved as for avif, the 5 bytes an auto path's storage key counts more, and the next/image
// loader. tests/edge-vectors.json's vectors are in vectors.test.js; srcset and picture() with
// auto in markup.test.js.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { createLoader } from 'rendition-sign/loader';
import { createAsyncSigner, createSigner, outputSize, RenditionError, resolve } from 'rendition-sign';

const edge = JSON.parse(readFileSync(new URL('../../../tests/edge-vectors.json', import.meta.url), 'utf8'));
const vector = (name) => edge.auto.find((v) => v.name === name) ?? assert.fail(`no auto vector ${name}`);
const keys = `k1:${edge.keys.k1},k0:${edge.keys.k0}`;
const s = createSigner({ keys });
const refused = (option) => (e) => e instanceof RenditionError && e.option === option
  && e.message.startsWith(`${option}: `);

/** The longest literal source whose path fits with format `format` and no ops, signed by k1. */
function longestSource(format, extra) {
  // The storage key is 28 + source + key id + ops + extension bytes (§1), plus `extra` (§13.2).
  const free = 1024 - extra - (28 + 'k1'.length + '-'.length + format.length);
  return `long/${'a'.repeat(free - 'long/'.length)}`;
}

describe('the format option', () => {
  test('auto and auto-alpha in any case are the same rendition', () => {
    const width = vector('auto-width');
    for (const format of ['auto', 'AUTO', 'Auto', 'aUtO']) {
      assert.equal(s.sign('photos/cat.jpg', { width: 640, format }), width.path, format);
    }
    const alpha = vector('auto-format-any-case'); // Auto-Alpha
    for (const format of ['auto-alpha', 'AUTO-ALPHA', 'Auto-alpha']) {
      assert.equal(s.sign('icons/logo.png', { width: 64, format }), alpha.path, format);
    }
    assert.equal(resolve('photos/cat.jpg', { format: 'AUTO-ALPHA' }).format, 'auto-alpha');
  });

  test('auto and auto-alpha are different renditions', () => {
    const auto = s.sign('icons/logo.png', { width: 64, format: 'auto' });
    assert.notEqual(auto, vector('auto-format-any-case').path);
    assert.ok(auto.endsWith('/w64.auto'), auto);
  });

  test('other spellings are refused, naming the format option', () => {
    for (const format of ['auto-a', 'AUTO-ALPHA-X', 'autoalpha', 'auto_alpha', 'alpha', ' auto',
      'auto ', 'auto.avif', 'auto-avif', 'auto-jpg', '']) {
      assert.throws(() => s.sign('photos/cat.jpg', { format }), refused('format'), JSON.stringify(format));
    }
    assert.throws(() => s.sign('photos/cat.jpg', { format: 'auto-a' }), /^RenditionError: format: "auto-a" is not jpg, jpeg, png, webp, gif, avif, auto, auto-alpha or json$/);
    assert.throws(() => s.sign('photos/cat.jpg', { format: true }), refused('format'));
  });

  test('the default is the source key\'s extension, never auto', () => {
    assert.ok(s.sign('photos/cat.jpg', { width: 640 }).endsWith('/w640.jpg'));
    assert.ok(s.sign('icons/logo.png', {}).endsWith('/-.png'));
    for (const source of ['exports/cat.auto', 'exports/logo.auto-alpha', 'exports/cat.AUTO']) {
      assert.throws(() => s.sign(source, {}), refused('format'), source);
      assert.ok(s.sign(source, { format: 'auto' }).endsWith('/-.auto'), source);
    }
  });

  test('signCanonical takes auto and auto-alpha as extensions, lower case only, never a negotiated key', () => {
    assert.equal(s.signCanonical('photos/cat.jpg', 'w640', 'auto'), vector('auto-width').path);
    assert.equal(s.signCanonical('icons/logo.png', 'w256_h256', 'auto-alpha'), vector('auto-alpha-box').path);
    for (const format of ['AUTO', 'Auto-Alpha']) {
      assert.throws(() => s.signCanonical('photos/cat.jpg', 'w640', format), refused('format'), format);
    }
    assert.throws(() => s.signCanonical('photos/cat.jpg', 'w640', 'auto-a'), refused('format'));
    // What the edge appends is not the signer's to write: .auto is not part of an ops segment.
    assert.throws(() => s.signCanonical('photos/cat.jpg', 'w640.auto', 'avif'), refused('ops'));
  });
});

describe('the other options follow avif\'s rules', () => {
  test('quality 1-100; 80, the default, is left out by sign() and refused by signCanonical()', () => {
    for (const format of ['auto', 'auto-alpha']) {
      assert.equal(s.sign('photos/cat.jpg', { width: 640, quality: 80, format }),
        s.sign('photos/cat.jpg', { width: 640, format }), format);
      assert.throws(() => s.signCanonical('photos/cat.jpg', 'w640_q80', format), refused('ops'), format);
      assert.throws(() => s.signCanonical('photos/cat.jpg', 'q80', format), refused('ops'), format);
      for (const quality of [0, 101, -1, 2.5, '60']) {
        assert.throws(() => s.sign('photos/cat.jpg', { quality, format }), refused('quality'), `${format} q${quality}`);
      }
      assert.ok(s.sign('photos/cat.jpg', { quality: 1, format }).endsWith(`/q1.${format}`));
      assert.ok(s.sign('photos/cat.jpg', { quality: 100, format }).endsWith(`/q100.${format}`));
    }
    assert.equal(s.sign('photos/cat.jpg', { width: 640, quality: 80, format: 'auto' }), vector('auto-width').path);
    assert.equal(s.sign('photos/cat.jpg', { quality: 80, format: 'auto' }), vector('auto-no-ops').path);
    // The alpha variant keeps its quality for its AVIF and WebP choices (vector auto-alpha-quality).
    assert.equal(s.sign('icons/logo.png', { width: 128, quality: 70, format: 'auto-alpha' }), vector('auto-alpha-quality').path);
    // Unlike png, the format picked when a transparent image needs no auto.
    assert.throws(() => s.sign('icons/logo.png', { quality: 70, format: 'png' }), refused('quality'));
  });

  test('a white background is kept: an auto path may become AVIF or WebP, which keep alpha', () => {
    assert.equal(s.sign('icons/logo.png', { background: '#fff', format: 'auto' }), vector('auto-white-background').path);
    assert.ok(s.sign('icons/logo.png', { background: 'FFFFFF', format: 'auto-alpha' }).endsWith('/bg-ffffff.auto-alpha'));
    assert.ok(s.sign('icons/logo.png', { background: 'fff', format: 'jpg' }).endsWith('/-.jpg')); // jpg's default
    assert.equal(s.signCanonical('icons/logo.png', 'bg-ffffff', 'auto'), vector('auto-white-background').path);
  });

  test('everything else of §9 as for any format', () => {
    assert.equal(s.sign('photos/cat.jpg', { width: 320, blur: '0.50', format: 'auto' }), vector('auto-blur-decimal').path);
    assert.ok(s.sign('photos/cat.jpg', { width: 100, dpr: 1.005, flip: 'v', format: 'auto' }).endsWith('/w101_r180_flip.auto'));
    for (const [options, option] of [[{ width: 0 }, 'width'], [{ rotate: 45 }, 'rotate'],
      [{ fit: 'contain', width: 1 }, 'fit'], [{ blur: 1.25 }, 'blur'], [{ widht: 1 }, 'widht']]) {
      assert.throws(() => s.sign('photos/cat.jpg', { ...options, format: 'auto' }), refused(option), option);
    }
    assert.throws(() => s.sign('r/photos/cat.jpg', { format: 'auto' }), refused('source'));
  });

  test('outputSize: an auto path has the same size whichever choice a browser gets', () => {
    const options = { width: 400, height: 400, fit: 'inside' };
    assert.deepEqual(outputSize('photos/cat.jpg', { ...options, format: 'auto' }, 1600, 1200), { width: 400, height: 300 });
    assert.deepEqual(outputSize('photos/cat.jpg', { ...options, format: 'auto-alpha' }, 1600, 1200),
      outputSize('photos/cat.jpg', { ...options, format: 'png' }, 1600, 1200));
  });
});

describe('length: an auto path counts as its longest negotiated key, 5 bytes more', () => {
  test('the longest auto path is vector auto-longest-path', () => {
    const v = vector('auto-longest-path');
    assert.equal(longestSource('auto', 5), v.source);
    assert.equal(s.sign(v.source, v.options), v.path);
    assert.equal(v.path.length - 1 + '.avif'.length, 1024);
  });

  const CHOICES = { auto: ['avif', 'webp', 'jpg'], 'auto-alpha': ['avif', 'webp', 'png'] };
  for (const format of ['auto', 'auto-alpha']) {
    test(`${format}: refused one byte over, though the auto path itself and its choices' paths fit`, async () => {
      const fits = longestSource(format, 5);
      assert.equal(s.sign(fits, { format }).length - 1, 1024 - 5);
      const over = `${fits}a`; // its auto path would be 1,020 bytes, its .avif key 1,025
      assert.throws(() => s.sign(over, { format }), refused('source'));
      assert.throws(() => s.sign(over, { format }), new RegExp(`\\(….${format}\\.avif\\) would be 1025 bytes, over 1024$`));
      assert.throws(() => s.signCanonical(over, '-', format), refused('source'));
      await assert.rejects(createAsyncSigner({ keys }).sign(over, { format }), refused('source'));
      for (const concrete of CHOICES[format]) {
        assert.ok(s.sign(over, { format: concrete }).length - 1 <= 1024, concrete);
      }
    });
  }

  test('a source whose .jpg path fits and whose auto path would, without the 5 bytes', () => {
    const source = longestSource('jpg', 1); // 989 bytes
    assert.equal(s.sign(source, { format: 'jpg' }).length - 1, 1023);
    // /-.auto is one byte longer than /-.jpg: 1,024 bytes, S3's limit, but its .avif key is 1,029.
    for (const format of ['auto', 'AUTO', 'auto-alpha']) {
      assert.throws(() => s.sign(source, { format }), refused('source'), format);
    }
    assert.throws(() => s.signCanonical(source, '-', 'auto'), refused('source'));
  });
});

describe('the next/image loader', () => {
  test('format auto: one URL per width, Next\'s quality kept (auto takes one)', () => {
    const loader = createLoader({ keys, base: '', format: 'auto' });
    assert.equal(loader({ src: '/photos/cat.jpg', width: 640 }), vector('auto-width').path);
    assert.equal(loader({ src: 'photos/cat.jpg', width: 640, quality: 60 }), vector('auto-quality').path);
    assert.equal(createLoader({ keys, format: 'Auto-Alpha' })({ src: 'icons/logo.png', width: 128, quality: 70 }),
      vector('auto-alpha-quality').path);
    assert.throws(() => createLoader({ keys, format: 'auto-a' })({ src: 'photos/cat.jpg', width: 640 }), refused('format'));
  });
});
