// A next/image loader that signs rendition URLs: Next calls it as ({ src, width, quality }) =>
// URL for every width of an image's srcset (https://nextjs.org/docs/app/api-reference/config/next-config-js/images).
//
// It signs with the secret in RENDITION_KEYS, so it must only ever run on the server or at build
// time, never in a browser: anyone who has the secret can sign any rendition of any source.
// Use it through getImageProps() in a Server Component (App Router), or in getStaticProps /
// getServerSideProps (Pages Router), never as images.loaderFile, whose loader Next also runs in
// the browser when <Image> hydrates. README.md explains the choices.

import { createSigner, RenditionError } from 'rendition-sign';

const env = (name) => globalThis.process?.env?.[name];

/**
 * A loader with its own settings. Defaults: keys from RENDITION_KEYS and base from
 * RENDITION_BASE, both read at the first call (at build time for a static page), and WebP.
 * `options` are signer options for every URL, such as sharpen or version; not width (Next gives
 * one per srcset entry), height or dpr (Next's widths are device pixels, and a fixed height
 * would change the aspect ratio from one width to the next), nor format (its own parameter).
 */
export function createLoader({ keys, base, format = 'webp', options = {} } = {}) {
  for (const name of ['width', 'height', 'dpr', 'format']) {
    if (options[name] !== undefined && options[name] !== null) {
      throw new RenditionError(name, 'Next gives the width of each URL; a loader takes no width, height, dpr or format option (format is createLoader\'s own parameter)');
    }
  }
  // Next passes an image's quality prop, when it has one, whatever the format; png and gif
  // take none, so it is left out for them. auto and auto-alpha take one (spec §13.2).
  const lossy = ['jpg', 'jpeg', 'webp', 'avif', 'auto', 'auto-alpha'].includes(String(format).toLowerCase());
  let signer = null;
  return function renditionLoader({ src, width, quality }) {
    if (typeof window !== 'undefined' && typeof document !== 'undefined') {
      throw new Error('rendition-sign/loader: this loader signs with a secret key and must not run in a browser; call getImageProps() in a Server Component (or at build time) instead of using it as images.loaderFile');
    }
    if (signer === null) {
      const spec = keys ?? env('RENDITION_KEYS');
      if (!spec) {
        throw new Error('rendition-sign/loader: RENDITION_KEYS is not set where the page is rendered (the server, or the build for a static page); never give it a NEXT_PUBLIC_ name or put it in next.config.js "env", both of which copy it into the browser bundle');
      }
      signer = createSigner({ keys: spec, base: base ?? env('RENDITION_BASE') ?? '' });
    }
    // Next's src is often written like a path ("/photos/cat.jpg"); a source key has no leading /.
    const source = typeof src === 'string' && src.startsWith('/') ? src.slice(1) : src;
    return signer.sign(source, { ...options, format, width, quality: lossy ? quality : null });
  };
}

/** The loader with the defaults: RENDITION_KEYS, RENDITION_BASE and WebP. */
export default createLoader();
