import type { Key, Options } from './index.js';

/** What Next passes to an image loader. */
export interface ImageLoaderProps {
  src: string;
  width: number;
  quality?: number;
}

export interface LoaderConfig {
  /** Default: process.env.RENDITION_KEYS, read at the first call. */
  keys?: string | ReadonlyArray<Key>;
  /** Default: process.env.RENDITION_BASE, or none. */
  base?: string;
  /**
   * Default: webp. auto (or auto-alpha, for images that may be transparent) signs one URL per
   * width that the CDN (or `rendition serve`) answers with AVIF, WebP or JPEG (PNG) by Accept.
   */
  format?: string;
  /** Signer options for every URL; not width, height, dpr or format. */
  options?: Omit<Options, 'width' | 'height' | 'dpr' | 'format'>;
}

export function createLoader(config?: LoaderConfig): (props: ImageLoaderProps) => string;

/** Server side or at build time only: it signs with RENDITION_KEYS. */
declare const renditionLoader: (props: ImageLoaderProps) => string;
export default renditionLoader;
