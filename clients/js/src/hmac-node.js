// HMAC-SHA256 through node:crypto, for runtimes that have it (Node, Deno, Bun): the "node"
// condition of package.json's "imports" picks this file, hmac-none.js elsewhere. `subtle` is
// Node's Web Crypto, which Node 18 does not put on globalThis.
import { createHmac, webcrypto } from 'node:crypto';

export function hmacSync(secret, message) {
  return createHmac('sha256', secret).update(message).digest();
}

export const subtle = webcrypto.subtle;
