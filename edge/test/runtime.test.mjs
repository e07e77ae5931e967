// What CloudFront Functions allows, checked on the code it gets: the 10 KB size limit, the two
// modules and the language features cloudfront-js-2.0 documents, and that the runtime of
// runtime.mjs really lacks what the real one lacks (a test that used Node's would prove little).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { deployed, load, source } from './runtime.mjs';

// "Maximum size of a function: 10 KB" (CloudFront quotas), counted here as 10,240 bytes with the
// longer of the two substitutions of the placeholder.
const MAX_BYTES = 10 * 1024;

test('the deployed code fits CloudFront Functions\' 10 KB, with room to spare', () => {
  const bytes = Buffer.byteLength(deployed().replaceAll('${EdgeSignatureCheck}', 'false'));
  assert.ok(bytes <= MAX_BYTES, `${bytes} bytes`);
  assert.ok(bytes <= 0.9 * MAX_BYTES, `${bytes} bytes: under 10% headroom left, look before adding`);
});

test('the deployed code is the source without its comment-only and blank lines', () => {
  const expected = source().split('\n').filter((line) => line.trim() && !line.trim().startsWith('//')).join('\n') + '\n';
  assert.equal(deployed(), expected, 'run python3 edge/embed.py');
});

test('dropping whole lines is safe: no string spans lines (no backquotes, no line continuations)', () => {
  // Outside a string, a line that is blank or only a // comment means nothing to the code.
  assert.doesNotMatch(source(), /`|\\\n/);
});

test('CloudFormation substitutes one placeholder, EdgeSignatureCheck, and nothing else', () => {
  assert.deepEqual(deployed().match(/\$\{[^}]*\}/g), ['${EdgeSignatureCheck}']);
});

test('only language features cloudfront-js-2.0 documents', () => {
  const code = deployed();
  // Not in the runtime's documented feature lists, though Node has them.
  const unsupported = [
    [/\bfor\s*\([^;)]*\bof\b/, 'for-of'],
    [/\?\./, 'optional chaining'],
    [/\?\?/, 'nullish coalescing'],
    [/\.\.\./, 'spread or rest'],
    [/\bclass\b/, 'classes'],
    [/\bBuffer\b/, 'Buffer (in the runtime, but the code has no need of it)'],
    [/\b(setTimeout|setInterval|setImmediate|fetch|process|eval|Function)\b/, 'what the runtime forbids'],
  ];
  for (const [pattern, what] of unsupported) assert.doesNotMatch(code, pattern, what);
  const imports = code.match(/^import .*$/gm);
  assert.deepEqual(imports, ["import crypto from 'crypto';", "import cf from 'cloudfront';"]);
});

test('the test runtime has none of Node\'s globals', () => {
  const f = load();
  for (const name of ['process', 'require', 'module', 'Buffer', 'setTimeout', 'setImmediate', 'fetch', 'TextEncoder', 'URL']) {
    assert.equal(f.evaluate(`typeof ${name}`), 'undefined', name);
  }
  assert.equal(f.evaluate('typeof handler'), 'function');
  assert.equal(f.evaluate('typeof decodeURIComponent'), 'function', 'the language\'s own built-ins are there');
});

test('the test runtime refuses other modules, algorithms and digest encodings', () => {
  const other = "import fs from 'fs';\nasync function handler(event) { return event.request; }\n";
  assert.throws(() => load({ code: other }), /no module fs/);
  const md = "import crypto from 'crypto';\nconst x = crypto.createHmac('sha512', 'k');\nasync function handler(e) { return e.request; }\n";
  assert.throws(() => load({ code: md }), /no sha512/);
  const latin = "import crypto from 'crypto';\nconst x = crypto.createHmac('sha256', 'k').digest('latin1');\nasync function handler(e) { return e.request; }\n";
  assert.throws(() => load({ code: latin }), /no latin1 digest/);
});
