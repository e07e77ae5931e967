// The edge function against every path vector (tests/vectors.json) and format auto's vectors
// (tests/edge-vectors.json), run as CloudFront would run it (runtime.mjs): valid paths pass
// unchanged or rewritten, each invalid one is answered at the edge with its status, and the
// signature check and the store behave as docs/url-format.md §13 and the README say.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { edgeVectors, load, ring, vectors, viewerRequest } from './runtime.mjs';

const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const checking = load({ check: true, keys: ring });

/** The request the handler let through, or a failure showing the response it gave instead. */
function passed(out, uri) {
  assert.ok(out.uri, `${uri} was answered ${out.statusCode}: ${out.body && out.body.data}`);
  return out;
}

/** Asserts `out` is the edge's refusal with `status`, shaped like the origin's own. */
function refused(out, status, uri) {
  assert.equal(out.statusCode, status, `${uri}: ${out.uri ? 'passed' : out.body.data}`);
  assert.equal(out.statusDescription, status === 400 ? 'Bad Request' : 'Forbidden');
  assert.equal(out.headers['cache-control'].value, 'public, max-age=60');
  assert.equal(out.headers['content-type'].value, 'text/plain; charset=utf-8');
  assert.equal(out.headers['x-content-type-options'].value, 'nosniff');
  assert.equal(out.headers['x-rendition'].value, 'edge');
  assert.equal(out.headers['x-rendition-error'].value, status === 400 ? 'bad_request' : 'forbidden');
  assert.equal(out.body.encoding, 'text');
  assert.match(out.body.data, new RegExp(`^${status} (bad request|forbidden): .+\\n$`));
}

test('the vector files hold every kind of vector', () => {
  for (const list of [vectors.valid, vectors.invalid, edgeVectors.auto, edgeVectors.invalid, edgeVectors.accept]) {
    assert.ok(Array.isArray(list) && list.length > 0);
  }
  assert.deepEqual(edgeVectors.keys, vectors.keys, 'both files are signed with one key ring');
});

describe('tests/vectors.json, checked at the edge', () => {
  for (const v of vectors.valid) {
    test(`valid ${v.name} passes unchanged`, async () => {
      const reads = checking.store.reads;
      const out = passed(await checking.run(viewerRequest(v.path, CHROME)), v.path);
      assert.equal(out.uri, v.path);
      assert.equal(checking.store.reads, reads + 1, 'one store read per request');
    });
  }
  for (const v of vectors.invalid) {
    test(`invalid ${v.name} is refused with ${v.status}`, async () => {
      const reads = checking.store.reads;
      refused(await checking.run(viewerRequest(v.path, CHROME)), v.status, v.path);
      // A malformed path is refused before the store is read; a forged one needs the keys.
      assert.equal(checking.store.reads, reads + (v.status === 403 ? 1 : 0));
    });
  }
});

describe('tests/edge-vectors.json: format auto', () => {
  for (const v of edgeVectors.auto) {
    test(`${v.name}: the auto path is rewritten to its negotiated key`, async () => {
      for (const [accept, ext] of [[CHROME, 'avif'], ['image/webp,*/*', 'webp'], ['*/*', v.format === 'auto' ? 'jpg' : 'png']]) {
        const out = passed(await checking.run(viewerRequest(v.path, accept)), v.path);
        assert.equal(out.uri, v.negotiated[ext], `Accept: ${accept}`);
      }
    });
    test(`${v.name}: each negotiated key passes unchanged`, async () => {
      assert.deepEqual(Object.keys(v.negotiated).sort(), (v.format === 'auto' ? ['avif', 'jpg', 'webp'] : ['avif', 'png', 'webp']));
      for (const path of Object.values(v.negotiated)) {
        const out = passed(await checking.run(viewerRequest(path, CHROME)), path);
        assert.equal(out.uri, path, 'a negotiated key is never negotiated again');
      }
    });
  }
  for (const v of edgeVectors.invalid) {
    test(`invalid ${v.name} is refused with ${v.status}`, async () => {
      refused(await checking.run(viewerRequest(v.path, CHROME)), v.status, v.path);
    });
  }
  test('the longest auto path is exactly at the limit', () => {
    const longest = edgeVectors.auto.find((v) => v.name === 'auto-longest-path');
    assert.equal(longest.negotiated.avif.length - 1, 1024);
    const tooLong = edgeVectors.invalid.find((v) => v.name === 'auto-over-long-negotiated-jpg');
    assert.equal(tooLong.path.length - 1, 1024, 'a 1,024-byte .jpg key is still refused: its .avif twin is not');
  });
});

describe('any change to a valid path is refused', () => {
  // Every single-character change of every valid path, at every position: each must be refused
  // (a change that keeps the path well formed breaks the signature), never let through.
  const alphabet = 'aAzZ09-_.!/';
  const paths = [...vectors.valid.map((v) => v.path), ...edgeVectors.auto.flatMap((v) => [v.path, ...Object.values(v.negotiated)])];
  test(`${paths.length} paths, each character replaced`, async () => {
    let tried = 0;
    for (const path of paths) {
      for (let i = 3; i < path.length; i++) {
        for (const c of alphabet) {
          if (c === path[i]) continue;
          const changed = path.slice(0, i) + c + path.slice(i + 1);
          const out = await checking.run(viewerRequest(changed, CHROME));
          assert.ok(out.statusCode === 400 || out.statusCode === 403, `${changed} was let through`);
          tried++;
        }
      }
    }
    assert.ok(tried > 10000, `${tried} changes tried`);
  });
});

describe('the key ring in the store', () => {
  const path = vectors.valid.find((v) => v.name === 'older-key-k0').path;
  const k1 = vectors.valid.find((v) => v.name === 'width-only').path;

  test('is read as RENDITION_KEYS is: items and parts trimmed, empty items skipped, any order', async () => {
    const spaced = ` k0 : ${vectors.keys.k0} ,, k1:${vectors.keys.k1} `;
    const f = load({ keys: spaced });
    passed(await f.run(viewerRequest(path)), path);
    passed(await f.run(viewerRequest(k1)), k1);
  });
  test('a key id that is not in it is refused with 403, and so is one whose secret differs', async () => {
    refused(await load({ keys: `k1:${vectors.keys.k1}` }).run(viewerRequest(path)), 403, path);
    refused(await load({ keys: `k0:${vectors.keys.k1}` }).run(viewerRequest(path)), 403, path);
    refused(await load({ keys: `k0${vectors.keys.k0}` }).run(viewerRequest(path)), 403, 'an item without a colon names no key');
  });
  test('a secret may hold colons: the item splits at its first', async () => {
    // Signed by docs/reference_signer.py's rules: the HMAC key is everything after the first ':'.
    const secret = 'a:b:0123456789abcdef';
    const f = load({ keys: `k7:${secret}` });
    const { createHmac } = await import('node:crypto');
    const message = 'rendition:v2\nk7\nphotos/cat.jpg\nw64.webp';
    const tag = createHmac('sha256', secret).update(message).digest().subarray(0, 16).toString('base64url');
    const signed = `/r/photos/cat.jpg/k7.${tag}/w64.webp`;
    passed(await f.run(viewerRequest(signed)), signed);
  });
  test('an empty store lets every path through to the origin, which verifies it', async () => {
    const f = load({ keys: undefined });
    const forged = vectors.invalid.find((v) => v.name === 'tampered-signature');
    passed(await f.run(viewerRequest(forged.path)), forged.path);
    const auto = edgeVectors.auto[0];
    assert.equal(passed(await f.run(viewerRequest(auto.path, CHROME))).uri, auto.negotiated.avif);
    // Malformed paths need no keys to be refused.
    refused(await f.run(viewerRequest(vectors.invalid.find((v) => v.status === 400).path)), 400);
  });
  test('a store that fails to answer lets the path through too', async () => {
    const f = load({ keys: ring, broken: true });
    const forged = vectors.invalid.find((v) => v.name === 'tampered-ops');
    passed(await f.run(viewerRequest(forged.path)), forged.path);
    assert.equal(f.store.reads, 1);
  });
  test('the function names no store: the one associated with it is used', async () => {
    const f = load({ keys: ring });
    await f.run(viewerRequest(k1));
    assert.deepEqual(f.store.kvsIds, [undefined]);
  });
});

describe('EdgeSignatureCheck=false', () => {
  const off = load({ check: false, keys: ring });
  test('every path of both files passes, forged or malformed, and the store is never read', async () => {
    for (const v of [...vectors.valid, ...vectors.invalid, ...edgeVectors.invalid.filter((i) => !/\.auto(-alpha)?$/.test(i.path))]) {
      const out = passed(await off.run(viewerRequest(v.path, CHROME)), v.path);
      assert.equal(out.uri, v.path);
    }
    assert.equal(off.store.reads, 0);
  });
  test('auto paths are negotiated all the same, forged ones included', async () => {
    for (const v of edgeVectors.auto) {
      assert.equal(passed(await off.run(viewerRequest(v.path, 'image/webp'))).uri, v.negotiated.webp);
    }
    const forged = edgeVectors.invalid.find((v) => v.name === 'auto-tampered-ops');
    assert.equal(passed(await off.run(viewerRequest(forged.path, undefined))).uri, `${forged.path}.jpg`);
    assert.equal(off.store.reads, 0);
  });
});

describe('the info request (.json, docs/url-format.md §14)', () => {
  const info = vectors.valid.filter((v) => v.format === 'json');
  const off = load({ check: false, keys: ring });
  test('info paths pass unchanged, whatever Accept says, checked or not', async () => {
    assert.deepEqual(info.map((v) => v.name), ['info', 'info-versioned', 'info-encoded-source']);
    for (const v of info) {
      for (const f of [checking, off]) {
        for (const accept of [CHROME, 'application/json', undefined]) {
          const event = viewerRequest(v.path, accept);
          assert.deepEqual(passed(await f.run(event), v.path), event.request, 'never negotiated');
        }
      }
    }
  });
  test('the invalid info vectors are refused as the origin refuses them', () => {
    assert.deepEqual(vectors.invalid.filter((v) => /\.json$/i.test(v.path)).map((v) => [v.name, v.status]), [
      ['info-with-width', 400], ['info-with-quality', 400], ['info-upper-case', 400], ['info-negotiated', 400],
    ]);
  });
  test('a signature never crosses between an image and the info request', async () => {
    const { createHmac } = await import('node:crypto');
    const tag = (last) => createHmac('sha256', vectors.keys.k1).update(`rendition:v2\nk1\nphotos/cat.jpg\n${last}`)
      .digest().subarray(0, 16).toString('base64url');
    refused(await checking.run(viewerRequest(`/r/photos/cat.jpg/k1.${tag('-.jpg')}/-.json`)), 403);
    refused(await checking.run(viewerRequest(`/r/photos/cat.jpg/k1.${tag('-.json')}/-.jpg`)), 403);
    // Any operation but a version is refused before the signature, even a correctly signed one.
    for (const ops of ['r90', 'v1_v2', 'w64_v1', 'flip', 'enlarge']) {
      refused(await checking.run(viewerRequest(`/r/photos/cat.jpg/k1.${tag(`${ops}.json`)}/${ops}.json`)), 400, ops);
    }
    passed(await checking.run(viewerRequest(`/r/photos/cat.jpg/k1.${tag('vA1.json')}/vA1.json`)));
  });
});

describe('the request CloudFront gets back', () => {
  test('only the uri of an auto path changes; headers, query string and cookies are kept', async () => {
    const v = edgeVectors.auto[0];
    const event = viewerRequest(v.path, CHROME);
    event.request.querystring = { x: { value: '1' } };
    event.request.cookies = { id: { value: 'a' } };
    const out = await checking.run(event);
    assert.deepEqual(out, { ...event.request, uri: v.negotiated.avif });
  });
  test('a path that merely ends in auto-like text is not negotiated', async () => {
    const off = load({ check: false });
    for (const uri of ['/r/a.jpg/k1.AAAAAAAAAAAAAAAAAAAAAA/w64.autox', '/r/a.auto/k1.AAAAAAAAAAAAAAAAAAAAAA/w64',
      '/r/a.jpg/k1.AAAAAAAAAAAAAAAAAAAAAA/w64.constructor', '/r/a.jpg/k1.AAAAAAAAAAAAAAAAAAAAAA/w64.AUTO']) {
      assert.equal((await off.run(viewerRequest(uri, CHROME))).uri, uri);
    }
  });
});
