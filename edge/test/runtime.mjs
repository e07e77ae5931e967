// Runs the edge function as CloudFront Functions' cloudfront-js-2.0 runtime would, as far as
// Node can: the code CloudFront gets (template.yaml's copy, with EdgeSignatureCheck
// substituted as CloudFormation's !Sub does) in a node:vm context of its own, which has the
// language's built-ins and nothing of Node's: no process, require, Buffer, setTimeout or fetch.
// Its two imports resolve to what the runtime documents and no more: crypto's createHash and
// createHmac (md5, sha1 or sha256; digests in hex, base64 or base64url), and a cloudfront
// module whose kvs() is a key value store backed by a Map, whose get() rejects for a missing
// key as the documentation says the real one does. Events are built in the context's own realm
// from JSON, shaped like the documentation's example event. Used by the tests and edge/bench.mjs.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

export const repository = new URL('../../', import.meta.url);
const read = (path) => readFileSync(new URL(path, repository), 'utf8');

/** The function's source, edge/viewer-request.js. */
export const source = () => read('edge/viewer-request.js');

/**
 * The code template.yaml deploys: the literal block (`|`) after `FunctionCode: !Sub |`, read
 * the way YAML reads it (the block's indentation removed, one final newline). edge/embed.py
 * writes it, tests/template checks it against the source with a real YAML parser.
 */
export function deployed() {
  const lines = read('template.yaml').split('\n');
  const start = lines.findIndex((line) => /^ *FunctionCode: !Sub \|$/.test(line));
  if (start < 0) throw new Error('template.yaml has no "FunctionCode: !Sub |" block');
  const indent = lines[start + 1].match(/^ */)[0];
  const block = [];
  for (let i = start + 1; i < lines.length && lines[i].startsWith(indent) && lines[i].trim(); i++) {
    block.push(lines[i].slice(indent.length));
  }
  return block.join('\n') + '\n';
}

const ALGORITHMS = ['md5', 'sha1', 'sha256'];
const ENCODINGS = [undefined, 'hex', 'base64', 'base64url'];

/** crypto.createHash/createHmac limited to the algorithms and encodings the runtime has. */
function restricted(make) {
  return (algorithm, key) => {
    if (!ALGORITHMS.includes(algorithm)) throw new Error(`crypto: the runtime has no ${algorithm}`);
    const inner = make(algorithm, key);
    const outer = {
      update(data) {
        inner.update(data);
        return outer;
      },
      digest(encoding) {
        if (!ENCODINGS.includes(encoding)) throw new Error(`crypto: the runtime has no ${encoding} digest`);
        return inner.digest(encoding);
      },
    };
    return outer;
  };
}

/**
 * The function, loaded once. `check`: EdgeSignatureCheck. `keys`: the store's "keys" entry
 * (undefined: the store is empty). `broken`: every store read fails. `store.reads` counts reads.
 * `realm: 'node'` (edge/bench.mjs only) compiles the same code in Node's own realm instead,
 * where a node:vm context's slow global lookups don't blur timings; nothing is withheld there.
 */
export function load({ check = true, keys, broken = false, code = deployed(), realm = 'vm' } = {}) {
  const entries = new Map(keys === undefined ? [] : [['keys', keys]]);
  const store = {
    reads: 0,
    kvsIds: [],
    async get(key, options = {}) {
      store.reads++;
      if (broken) throw new Error('the key value store is unavailable');
      if (!entries.has(key)) throw new Error(`key ${key} not found`);
      const value = entries.get(key);
      return options.format === 'json' ? JSON.parse(value) : value;
    },
    async exists(key) {
      store.reads++;
      return entries.has(key);
    },
    async meta() {
      return { creationDateTime: '2024-01-01T00:00:00Z', lastUpdatedDateTime: '2024-01-01T00:00:00Z', lastUpdatedSize: 0 };
    },
  };
  const modules = {
    crypto: { createHash: restricted((a) => createHash(a)), createHmac: restricted((a, k) => createHmac(a, k)) },
    cloudfront: {
      kvs(id) {
        store.kvsIds.push(id);
        return { get: store.get, exists: store.exists, meta: store.meta };
      },
    },
  };
  let script = code.replaceAll('${EdgeSignatureCheck}', String(check));
  script = script.replace(/^import (\w+) from '([\w-]+)';$/gm, (_, name, module) => `const ${name} = __import('${module}');`);
  if (/\b(import|export|require)\b/.test(script)) throw new Error('the code loads modules other than by a leading import');
  const logs = [];
  const __import = (name) => {
    if (!Object.hasOwn(modules, name)) throw new Error(`cloudfront-js-2.0 has no module ${name}`);
    return modules[name];
  };
  if (realm === 'node') {
    const handler = new Function('__import', `${script}\nreturn handler;`)(__import);
    return { store, handler, event: viewerRequest };
  }
  const context = vm.createContext({
    __import,
    console: { log: (...args) => logs.push(args.join(' ')) },
  });
  new vm.Script(script, { filename: 'viewer-request.js' }).runInContext(context);
  const handler = context.handler;
  if (typeof handler !== 'function') throw new Error('the code defines no handler');
  // For edge/bench.mjs: a fresh event made inside the context, at the cost of an object literal.
  const event = vm.runInContext(`(uri, accept) => (${JSON.stringify(viewerRequest('URI', 'ACCEPT'))
    .replace('"URI"', 'uri').replace('"ACCEPT"', 'accept')})`, context);
  return {
    store,
    logs,
    handler,
    event,
    /** Evaluates an expression inside the function's context. */
    evaluate: (expression) => vm.runInContext(expression, context),
    /** Runs the handler on an event (built in the context's realm); plain JSON back. */
    async run(event) {
      const inside = vm.runInContext(`(${JSON.stringify(event)})`, context);
      return JSON.parse(JSON.stringify(await handler(inside)));
    },
  };
}

/**
 * A viewer-request event as the CloudFront Functions documentation shows it. `accept`: one
 * header value, a list (the header repeated: multiValue), or undefined/null for none.
 */
export function viewerRequest(uri, accept) {
  const headers = { host: { value: 'd111111abcdef8.cloudfront.net' } };
  if (Array.isArray(accept)) {
    headers.accept = { value: accept[0], multiValue: accept.map((value) => ({ value })) };
  } else if (accept !== undefined && accept !== null) {
    headers.accept = { value: accept };
  }
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'EXAMPLEntjQpEXAMPLE_SG5Z-EXAMPLEPmPfEXAMPLEu3EqEXAMPLE==',
    },
    viewer: { ip: '198.51.100.11' },
    request: { method: 'GET', uri, querystring: {}, headers, cookies: {} },
  };
}

export const vectors = JSON.parse(read('tests/vectors.json'));
export const edgeVectors = JSON.parse(read('tests/edge-vectors.json'));
/** The key ring of both vector files in RENDITION_KEYS's format, as the store holds it. */
export const ring = Object.entries(vectors.keys).map(([id, secret]) => `${id}:${secret}`).join(',');
