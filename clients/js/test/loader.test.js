// The next/image loader: Next's contract ({ src, width, quality }) => URL, keys from the
// environment, and the refusals that keep the secret on the server.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import renditionLoader, { createLoader } from 'rendition-sign/loader';
import { createSigner, RenditionError } from 'rendition-sign';
import * as hmacNode from '../src/hmac-node.js';
import * as hmacNone from '../src/hmac-none.js';

const keys = 'k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210';
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  delete globalThis.window;
  delete globalThis.document;
});

test('the default loader signs WebP at the width Next asks, with RENDITION_KEYS and RENDITION_BASE', () => {
  process.env.RENDITION_KEYS = keys;
  process.env.RENDITION_BASE = 'https://cdn.example.com';
  // Read at the first call, so this test owns the default loader's first call.
  assert.equal(renditionLoader({ src: 'photos/cat.jpg', width: 640 }),
    'https://cdn.example.com/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp'); // vector width-only
  // Next's src usually looks like a path: the leading / is not part of the source key.
  assert.equal(renditionLoader({ src: '/photos/cat.jpg', width: 640, quality: 80 }),
    'https://cdn.example.com/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp');
  assert.equal(renditionLoader({ src: 'photos/cat.jpg', width: 320, quality: 60 }),
    `https://cdn.example.com${createSigner({ keys }).sign('photos/cat.jpg', { width: 320, quality: 60, format: 'webp' })}`);
});

test('createLoader: its own keys, base, format and options', () => {
  const loader = createLoader({ keys, base: '', format: 'png', options: { sharpen: 0.5 } });
  // Next passes its quality whatever the format; png takes none.
  assert.equal(loader({ src: 'logos/brand.png', width: 200, quality: 75 }),
    createSigner({ keys }).sign('logos/brand.png', { width: 200, sharpen: 0.5, format: 'png' }));
  assert.throws(() => loader({ src: 'logos/brand.png', width: 0 }), (e) => e instanceof RenditionError && e.option === 'width');
  for (const option of ['width', 'height', 'dpr', 'format']) {
    assert.throws(() => createLoader({ keys, options: { [option]: 2 } }), (e) => e instanceof RenditionError && e.option === option);
  }
});

test('without RENDITION_KEYS it says where the key must be, and never to make it public', () => {
  delete process.env.RENDITION_KEYS;
  assert.throws(() => createLoader()({ src: 'photos/cat.jpg', width: 640 }),
    /RENDITION_KEYS is not set.*NEXT_PUBLIC_/);
});

test('in a browser it refuses before it reads any key', () => {
  process.env.RENDITION_KEYS = keys;
  globalThis.window = {};
  globalThis.document = {};
  assert.throws(() => createLoader({ keys })({ src: 'photos/cat.jpg', width: 640 }),
    /must not run in a browser.*getImageProps/);
});

test('the runtime without node:crypto gets the same exports, sync signing turned off', () => {
  assert.deepEqual(Object.keys(hmacNone).sort(), Object.keys(hmacNode).sort());
  assert.equal(hmacNone.hmacSync, null);
  assert.equal(typeof hmacNode.hmacSync, 'function');
});
