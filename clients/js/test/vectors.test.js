// Every vector of tests/vectors.json and tests/signer-vectors.json (docs/url-format.md §11),
// and the auto and invalid vectors of tests/edge-vectors.json (format auto, §13.6), through the
// sync signer (node:crypto) and the async one (Web Crypto).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { createAsyncSigner, createSigner, parseKeys, RenditionError, resolve } from 'rendition-sign';
import { prepare } from '../src/core.js';

const read = (name) => JSON.parse(readFileSync(new URL(`../../../tests/${name}`, import.meta.url), 'utf8'));
const paths = read('vectors.json');
const signer = read('signer-vectors.json');
const edge = read('edge-vectors.json');

const kinds = [
  ['sync', (keys) => createSigner({ keys }), (f) => f()],
  ['async', (keys) => createAsyncSigner({ keys }), async (f) => f()],
];

/** The RenditionError that `f` throws or rejects with, or null when it returns a value. */
async function refusal(f) {
  try {
    await f();
    return null;
  } catch (e) {
    if (!(e instanceof RenditionError)) throw e;
    return e;
  }
}

/** Splits a path from the right as the verifier does (§1): source text, key id, ops, extension. */
function parts(path) {
  const rest = path.slice(3); // after "/r/" (or whatever a wrong prefix put there)
  const lastSlash = rest.lastIndexOf('/');
  const last = rest.slice(lastSlash + 1);
  const sigSlash = rest.lastIndexOf('/', lastSlash - 1);
  const signature = rest.slice(sigSlash + 1, lastSlash);
  const sourceText = sigSlash < 0 ? '' : rest.slice(0, sigSlash);
  const dot = last.lastIndexOf('.');
  const source = sourceText.startsWith('!')
    ? Buffer.from(sourceText.slice(1), 'base64url').toString('utf8')
    : sourceText;
  return {
    source,
    keyId: signature.includes('.') ? signature.slice(0, signature.indexOf('.')) : '',
    ops: dot < 0 ? last : last.slice(0, dot),
    format: dot < 0 ? '' : last.slice(dot + 1),
  };
}

test('the vector files hold every kind of vector', () => {
  for (const [name, list] of [['valid', paths.valid], ['invalid', paths.invalid], ['sign', signer.sign],
    ['refuse', signer.refuse], ['key_lists', signer.key_lists], ['auto', edge.auto],
    ['edge invalid', edge.invalid]]) {
    assert.ok(Array.isArray(list) && list.length > 0, `${name} vectors are missing`);
  }
  assert.deepEqual(edge.keys, paths.keys, 'tests/edge-vectors.json is signed with the key ring of tests/vectors.json');
});

/** A path refused by the verifier must never come out of signCanonical() given its parts. */
async function neverWritten(v, make, run) {
  const p = parts(v.path);
  const secret = paths.keys[p.keyId];
  const keys = secret ? `${p.keyId}:${secret}` : `k1:${paths.keys.k1}`; // no secret: sign with one we have
  let written;
  try {
    written = await run(() => make(keys).signCanonical(p.source, p.ops, p.format));
  } catch (e) {
    assert.ok(e instanceof RenditionError, `${e}`);
    return;
  }
  assert.notEqual(written, v.path);
  assert.ok(written.endsWith(`/${p.ops}.${p.format}`), `${p.ops}.${p.format} rewritten: ${written}`);
}

describe('tests/edge-vectors.json: the signed message and the resolved ops', () => {
  for (const v of edge.auto) {
    test(`auto ${v.name}`, () => {
      const resolved = resolve(v.source, v.options);
      assert.deepEqual([resolved.segment, resolved.format], [v.ops, v.format]);
      const [key] = parseKeys(`${v.key_id}:${edge.keys[v.key_id]}`);
      assert.equal(new TextDecoder().decode(prepare(key, v.source, resolved).message), v.message);
    });
  }
});

for (const [kind, make, run] of kinds) {
  describe(`${kind}: tests/vectors.json`, () => {
    for (const v of paths.valid) {
      test(`valid ${v.name}`, async () => {
        const s = make(`${v.key_id}:${paths.keys[v.key_id]}`);
        assert.equal(await run(() => s.signCanonical(v.source, v.ops, v.format)), v.path);
      });
    }
    // A signer must never write a path the verifier refuses. Most 400 vectors carry a correct
    // HMAC over their own non-canonical text, so a signer that signed whatever it was given
    // would write exactly them: signing each one's parts must be refused or give another path,
    // and never by rewriting the ops it was given (w0640 is refused, not signed as w640).
    for (const v of paths.invalid) {
      test(`invalid ${v.name} (${v.status}) is never written`, () => neverWritten(v, make, run));
    }
  });

  describe(`${kind}: tests/edge-vectors.json (format auto)`, () => {
    // Each auto vector's options sign to its path, and so do its resolved ops and format.
    for (const v of edge.auto) {
      test(`auto ${v.name}`, async () => {
        const s = make(`${v.key_id}:${edge.keys[v.key_id]}`);
        assert.equal(await run(() => s.sign(v.source, v.options)), v.path);
        assert.equal(await run(() => s.signCanonical(v.source, v.ops, v.format)), v.path);
      });
    }
    // Negotiated keys (…/w640.auto.avif) are the edge's to make, never a signer's; and the
    // rest of these paths are refused by the verifier.
    for (const v of edge.invalid) {
      test(`invalid ${v.name} (${v.status}) is never written`, () => neverWritten(v, make, run));
    }
  });

  describe(`${kind}: tests/signer-vectors.json`, () => {
    const s = make(signer.keys);
    for (const v of signer.sign) {
      test(`sign ${v.name}`, async () => {
        assert.equal(await run(() => s.sign(v.source, v.options)), v.path);
      });
    }
    for (const v of signer.refuse) {
      test(`refuse ${v.name}`, async () => {
        const e = await refusal(() => run(() => s.sign(v.source, v.options)));
        assert.ok(e, `signed instead of refusing ${JSON.stringify(v.options)}`);
        assert.equal(e.option, v.option, e.message);
        assert.ok(e.message.startsWith(`${v.option}: `), e.message);
      });
    }
    for (const v of signer.key_lists) {
      test(`key list ${v.name}`, async () => {
        if (v.error) {
          assert.throws(() => parseKeys(v.spec), (e) => e instanceof RenditionError && e.option === 'keys');
          assert.throws(() => make(v.spec), RenditionError);
          return;
        }
        assert.deepEqual(parseKeys(v.spec).map((k) => k.id), v.ids);
        assert.equal(await run(() => make(v.spec).sign('photos/cat.jpg', { width: 640, format: 'webp' })), v.path);
      });
    }
  });
}

test('a key list error never quotes a secret', () => {
  const secret = 'no-colon-so-this-may-be-a-bare-secret';
  assert.throws(() => parseKeys(`k1:0123456789abcdef0123456789abcdef,${secret}`),
    (e) => e instanceof RenditionError && !e.message.includes(secret) && /item 2/.test(e.message));
});
