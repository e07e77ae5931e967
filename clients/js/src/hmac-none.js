// Runtimes without node:crypto (edge runtimes, browsers) have only Web Crypto, whose HMAC is
// async: createSigner() refuses there, and createAsyncSigner() works.
export const hmacSync = null;

export const subtle = globalThis.crypto?.subtle ?? null;
