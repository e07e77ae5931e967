// Format negotiation (docs/url-format.md §13.3): the Accept headers real browsers, tools and
// crawlers send, and the corners of the header's grammar, from tests/edge-vectors.json, which
// `rendition serve` is held to as well. Each runs through the whole function, with the
// signature check on and off: the choice never depends on it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { edgeVectors, load, ring, viewerRequest } from './runtime.mjs';

const auto = edgeVectors.auto.find((v) => v.name === 'auto-width');
const alpha = edgeVectors.auto.find((v) => v.name === 'auto-alpha-box');

for (const check of [true, false]) {
  describe(`Accept, EdgeSignatureCheck=${check}`, () => {
    const f = load({ check, keys: ring });
    for (const v of edgeVectors.accept) {
      test(`${v.name}: auto → ${v.auto}, auto-alpha → ${v['auto-alpha']}`, async () => {
        assert.equal((await f.run(viewerRequest(auto.path, v.accept))).uri, auto.negotiated[v.auto], v.note);
        assert.equal((await f.run(viewerRequest(alpha.path, v.accept))).uri, alpha.negotiated[v['auto-alpha']], v.note);
      });
    }
  });
}

test('the table covers the browsers and clients the issue names', () => {
  const names = edgeVectors.accept.map((v) => v.name);
  for (const name of ['chrome', 'firefox-128', 'safari-16', 'safari-17', 'edge-edgehtml', 'curl', 'googlebot-image', 'no-header']) {
    assert.ok(names.includes(name), name);
  }
  const choice = (name) => edgeVectors.accept.find((v) => v.name === name).auto;
  assert.equal(choice('chrome'), 'avif');
  assert.equal(choice('safari-14-15'), 'webp', 'image/* must not be read as AVIF');
  assert.equal(choice('edge-edgehtml'), 'jpg');
  assert.equal(choice('avif-refused'), 'webp');
});
