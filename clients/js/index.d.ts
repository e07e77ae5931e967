// Types for rendition-sign. The option names are the signer rules of docs/url-format.md §9.

/** Options for one rendition, as a person writes them; unset (or null) is the default. */
export interface Options {
  /** Output width in CSS pixels, multiplied by dpr; at least 1. */
  width?: number | null;
  /** Output height in CSS pixels, multiplied by dpr; at least 1. */
  height?: number | null;
  /** Device pixel ratio, 0 < dpr ≤ 8, in exact decimal arithmetic (a number or its text). */
  dpr?: number | string | null;
  /** cover (default), contain, fill, inside or outside; any case. The others need both sides. */
  fit?: string | null;
  /** Allow an output larger than the source; needs a width or a height. */
  enlarge?: boolean | null;
  /** centre (default), n ne e se s sw w nw, smart, or "X-Y" in percent; any case. */
  gravity?: string | null;
  /** 1–100 for jpg, webp and avif (80 is the default and is left out). */
  quality?: number | null;
  /** 3 or 6 hex digits, with or without #, any case. */
  background?: string | null;
  /** Clockwise degrees, a multiple of 90 (negative and ≥ 360 fold). */
  rotate?: number | null;
  /** h (left-right), v (top-bottom) or hv; any case. */
  flip?: string | null;
  /** Gaussian blur sigma, 0.1–100, a whole number of tenths (a number or its text). */
  blur?: number | string | null;
  /** Unsharp-mask sigma, 0.1–10, a whole number of tenths (a number or its text). */
  sharpen?: number | string | null;
  /** Source version token: 1–64 ASCII letters and digits. */
  version?: string | null;
  /** The source's ETag as S3 returns it ("…", W/"…", "…-3"); becomes the version token. */
  etag?: string | null;
  /**
   * jpg (or jpeg), png, webp, gif or avif, auto or auto-alpha, or json; any case. Default: the
   * source key's extension (never auto, never json).
   *
   * `auto` and `auto-alpha` (spec §13) sign one URL that the edge function (or `rendition
   * serve`) answers with AVIF, WebP or JPEG by the browser's Accept header; `auto-alpha` falls
   * back to PNG instead of JPEG, so use it for images that may be transparent. The other
   * options follow avif's rules (quality 1–100, a white background kept). For product feeds
   * and anything that needs a URL's extension to name its content type, sign a concrete format.
   *
   * `json` (spec §14) signs the info request: the source's size as displayed, format, alpha and
   * a placeholder, as JSON (`Info`). It takes no option but `version` or `etag`; any other is
   * refused, naming it. `signInfo()` signs it too.
   */
  format?: 'jpg' | 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'auto' | 'auto-alpha' | 'json' | (string & {}) | null;
}

/** The options of an info request: a version (or an ETag) at most. */
export interface InfoOptions {
  version?: string | null;
  etag?: string | null;
  /** json (any case) or unset. */
  format?: 'json' | (string & {}) | null;
}

/** What an info request answers (spec §14.2); later revisions may add members. */
export interface Info {
  /** The source's size as displayed: after its EXIF orientation. */
  width: number;
  height: number;
  /** jpeg, png, webp or gif, from the source's bytes. */
  format?: string;
  /** Whether any pixel of the first frame is not fully opaque. */
  alpha?: boolean;
  /** Frames in the source; more than 1 when animated. */
  frames?: number;
  /** The ThumbHash, standard base64 with padding. */
  thumbhash?: string;
  /** The ThumbHash decoded to a small PNG, as a data URL (data:image/png;base64,…). */
  placeholder?: string;
  [member: string]: unknown;
}

/** The source's size as displayed (after its EXIF orientation), in pixels: both or neither. */
export interface SourceSize {
  sourceWidth?: number | null;
  sourceHeight?: number | null;
}

/** srcset items: widths in device pixels (320, "640") or densities ("1x", "1.5x"), not both. */
export type SrcsetItems = ReadonlyArray<number | string> | string;

export interface PictureParams extends Omit<Options, 'format'>, SourceSize {
  /**
   * auto or auto-alpha (any case) for one <img>, no <picture>: its URLs serve every browser, the
   * CDN picking AVIF, WebP or JPEG (PNG for auto-alpha) from Accept. Leave it out for <picture>
   * markup (`formats` and `fallback`); a concrete format is refused.
   */
  format?: 'auto' | 'auto-alpha' | (string & {}) | null;
  /** Widths in device pixels, chosen by `sizes`. Give widths or densities. */
  widths?: ReadonlyArray<number | string> | string | null;
  /** Densities ("1x", "2x") for an image of a fixed CSS size (width and/or height). */
  densities?: ReadonlyArray<string> | string | null;
  /** The sizes attribute; needed with widths, refused with densities. */
  sizes?: string | null;
  /** The alt text: "" for a decorative image. */
  alt: string;
  /** The <source> formats, in order of preference. Default ["avif", "webp"]. Not with format auto. */
  formats?: ReadonlyArray<string> | string | null;
  /** The <img> format. Default: png for .png sources, gif for .gif, else jpg. Not with format auto. */
  fallback?: string | null;
  /**
   * More <img> attributes (class, loading, fetchpriority…): true writes a bare attribute, false
   * or null leaves it out (loading="lazy" and decoding="async" are written unless replaced).
   * With a placeholder, a `style` given here follows the placeholder's declarations.
   */
  attributes?: Readonly<Record<string, string | number | boolean | null | undefined>> | null;
  /**
   * The info request's answer (spec §14.2), parsed or as its JSON text: its width and height
   * stand for sourceWidth and sourceHeight when those are not given, and its placeholder is
   * painted behind the <img> (not for a source with alpha, where it would show through).
   */
  info?: Info | string | null;
  /**
   * A placeholder to paint behind the <img> until the image arrives, replacing info's: an image
   * data URL in base64 (data:image/png;base64,…); anything else is refused. The <img> gets
   * style="background-position:center;background-size:cover;background-image:url(…)".
   */
  placeholder?: string | null;
}

export interface Key {
  readonly id: string;
  readonly secret: Uint8Array;
}

export interface Config {
  /** A key list in RENDITION_KEYS's format, ID:SECRET[,ID:SECRET…] (the first signs), or parseKeys()'s result. */
  keys: string | ReadonlyArray<Key>;
  /** The CDN origin put before every path, such as https://cdn.example.com. Default: none. */
  base?: string | null;
}

export interface Signer {
  /** The id of the key that signs. */
  readonly keyId: string;
  /** The URL of one rendition. */
  sign(source: string, options?: Options): string;
  /** The URL of the source's info request (format json): its size, format, alpha and placeholder. */
  signInfo(source: string, options?: InfoOptions | null): string;
  /** The URL of a canonical ops segment and extension ("w640_h360", "webp" or "auto"), checked as the server does. */
  signCanonical(source: string, ops: string, format: string): string;
  /** A srcset attribute value. */
  srcset(source: string, items: SrcsetItems, options?: Options & SourceSize): string;
  /** <picture> markup (one <img> with format auto or auto-alpha), its attributes escaped. */
  picture(source: string, params: PictureParams): string;
}

/** Signer with the same methods, returning promises (Web Crypto). */
export interface AsyncSigner {
  readonly keyId: string;
  sign(source: string, options?: Options): Promise<string>;
  signInfo(source: string, options?: InfoOptions | null): Promise<string>;
  signCanonical(source: string, ops: string, format: string): Promise<string>;
  srcset(source: string, items: SrcsetItems, options?: Options & SourceSize): Promise<string>;
  picture(source: string, params: PictureParams): Promise<string>;
}

/** Every refusal; the message starts with the option at fault, which `option` holds. */
export class RenditionError extends Error {
  readonly option: string;
}

/** Signs with node:crypto (Node, Deno, Bun); throws where the runtime lacks it. */
export function createSigner(config: Config): Signer;
/** Signs with Web Crypto: Node, Deno, Bun, edge runtimes. */
export function createAsyncSigner(config: Config): AsyncSigner;

export function sign(source: string, options: Options | undefined, config: Config): string;
export function signInfo(source: string, options: InfoOptions | null | undefined, config: Config): string;
export function srcset(source: string, items: SrcsetItems, options: (Options & SourceSize) | undefined, config: Config): string;
export function picture(source: string, params: PictureParams, config: Config): string;

/** Parses a key list ID:SECRET[,ID:SECRET…]; the secrets are their UTF-8 bytes. */
export function parseKeys(spec: string): Key[];

/** The canonical ops segment and extension of `options` for `source`, without signing. */
export function resolve(source: string, options?: Options): {
  segment: string;
  format: 'jpg' | 'png' | 'webp' | 'gif' | 'avif' | 'auto' | 'auto-alpha' | 'json';
  ops: {
    width: number | null;
    height: number | null;
    fit: 'cover' | 'contain' | 'fill' | 'inside' | 'outside';
    enlarge: boolean;
    rotate: 0 | 90 | 180 | 270;
  };
};

/** The size in pixels of the rendition `options` ask for, from a source displayed sourceWidth × sourceHeight. */
export function outputSize(source: string, options: Options, sourceWidth: number, sourceHeight: number): {
  width: number;
  height: number;
};

/**
 * The style picture() gives an <img> to paint a placeholder:
 * `background-position:center;background-size:cover;background-image:url(<dataUrl>)`. Throws a
 * RenditionError naming `placeholder` unless dataUrl is an image data URL in base64.
 */
export function placeholderStyle(dataUrl: string): string;

/** Text made safe inside a double-quoted HTML attribute. */
export function escapeHtml(text: unknown): string;
