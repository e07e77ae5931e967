"""The signer rules of docs/url-format.md: key lists (§9.2), source keys (§4), options as people
write them → the canonical ops segment (§9), and the signed path (§5).

Pure: no I/O and nothing read from the environment. tests/signer-vectors.json and
tests/vectors.json pin every rule byte for byte, as they do for the renderer (Rust) and the
JavaScript client, and tests/edge-vectors.json those of format auto (§13). Format json is the
info request (§14).
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

SIGNING_TAG = "rendition:v2"
MIN_SECRET_BYTES = 16
MAX_STORAGE_KEY_BYTES = 1024
SIGNATURE_CHARS = 22  # 16 bytes of base64url
MAX_SIDE = 65535
MAX_DPR = 8
MAX_DECIMAL_PLACES = 17
MAX_BLUR_TENTHS, MAX_SHARPEN_TENTHS = 1000, 100
DEFAULT_QUALITY = 80
FORMATS = ("jpg", "png", "webp", "gif", "avif")
LOSSY = ("jpg", "webp", "avif")  # the formats that take a quality
# Format auto (§13): the edge (or `rendition serve`) picks one of its choices per request from
# Accept. The ops follow avif's rules (§13.2), and the storage key counts as the longest
# negotiated key, the path with `.avif` (or `.webp`) appended: 5 bytes more.
AUTO_CHOICES = {"auto": ("avif", "webp", "jpg"), "auto-alpha": ("avif", "webp", "png")}
AUTO_FORMATS = tuple(AUTO_CHOICES)
AUTO_EXTRA_BYTES = 5
# The info request (§14): a JSON description of the source (its size as displayed, format, alpha
# and a placeholder), signed and stored like a rendition. Its ops are a version at most.
INFO = "json"
FITS = ("cover", "contain", "fill", "inside", "outside")
GRAVITIES = ("n", "ne", "e", "se", "s", "sw", "w", "nw", "smart")
OPTIONS = ("width", "height", "dpr", "fit", "enlarge", "gravity", "quality", "background",
           "rotate", "flip", "blur", "sharpen", "version", "etag", "format")

ALNUM = re.compile(r"[A-Za-z0-9]+")
LITERAL = re.compile(r"[A-Za-z0-9._/-]+")
UINT = re.compile(r"0|[1-9][0-9]*")
DECIMAL = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")  # digits and at most one '.'
# Rust's str::trim (the renderer reads RENDITION_KEYS with it) trims Unicode White_Space, which
# is not what str.strip() trims (that adds U+001C-U+001F).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

Number = Union[int, float, str, decimal.Decimal]


class RenditionError(ValueError):
    """Every refusal. The message starts with the option at fault, which `option` holds."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option


def b64url(data: bytes) -> str:
    """base64url without padding: the canonical form of §5."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _alnum(text: Any, most: int) -> bool:
    return isinstance(text, str) and len(text) <= most and ALNUM.fullmatch(text) is not None


# ---- Keys (§9.2) ----

@dataclass(frozen=True)
class Key:
    """One signing key. The secret stays out of repr(), so it stays out of logs and tracebacks."""
    id: str
    secret: bytes = field(repr=False)


def parse_keys(spec: str) -> List[Key]:
    """A key list `ID:SECRET[,ID:SECRET…]`, the format of RENDITION_KEYS, → keys; the first signs.
    Each secret is the UTF-8 bytes of its text, never base64-decoded."""
    if not isinstance(spec, str):
        raise RenditionError("keys", f"{spec!r} is not a key list (ID:SECRET,…)")
    keys: List[Key] = []
    for number, raw in enumerate(spec.split(","), 1):
        item = raw.strip(WHITE_SPACE)
        if not item:
            continue
        if ":" not in item:  # not quoted: without its ':' it may well be a bare secret
            raise RenditionError("keys", f"item {number} has no ':' (ID:SECRET)")
        key_id, secret = (part.strip(WHITE_SPACE) for part in item.split(":", 1))
        if not _alnum(key_id, 16):
            raise RenditionError("keys", f"id {key_id!r} is not 1 to 16 ASCII letters and digits")
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise RenditionError("keys", f"the secret of {key_id} is under {MIN_SECRET_BYTES} bytes")
        if any(key.id == key_id for key in keys):
            raise RenditionError("keys", f"id {key_id} is listed twice")
        keys.append(Key(key_id, secret.encode("utf-8")))
    if not keys:
        raise RenditionError("keys", "the list has no key")
    return keys


# ---- Source keys (§4) ----

def check_source(source: Any) -> None:
    if not isinstance(source, str):
        raise RenditionError("source", f"{source!r} is not text")
    if not source or source.startswith("/"):
        raise RenditionError("source", f"{source!r} is empty or starts with /")
    # Unicode general category Cc: U+0000-U+001F and U+007F-U+009F.
    if any(c < "\x20" or "\x7f" <= c <= "\x9f" for c in source):
        raise RenditionError("source", f"{source!r} has a control character")
    # A lone surrogate (from a bad decode with surrogateescape) has no UTF-8 form.
    if any("\ud800" <= c <= "\udfff" for c in source):
        raise RenditionError("source", f"{source!r} is not valid Unicode text")
    if any(segment in ("", ".", "..") for segment in source.split("/")):
        raise RenditionError("source", f"{source!r} has an empty, . or .. segment")


def encode_source(source: str) -> str:
    """Literal when every byte is in [A-Za-z0-9._/-], else '!' + base64url of the UTF-8 bytes."""
    return source if LITERAL.fullmatch(source) else "!" + b64url(source.encode("utf-8"))


# ---- Exact decimals (§9: dpr, blur, sharpen, srcset densities) ----

class Exact(NamedTuple):
    """digits / 10**places, exactly."""
    digits: int
    places: int

    def __str__(self) -> str:
        """The minimal text: 2, 1.5, 0.25 (never 2.0)."""
        text = str(self.digits).rjust(self.places + 1, "0")
        whole, fraction = text[:len(text) - self.places], text[len(text) - self.places:]
        fraction = fraction.rstrip("0")
        return f"{whole}.{fraction}" if fraction else whole

    def times(self, other: "Exact") -> "Exact":
        digits, places = self.digits * other.digits, self.places + other.places
        while places and digits % 10 == 0:
            digits, places = digits // 10, places - 1
        return Exact(digits, places)


def exact_decimal(name: str, value: Any) -> Exact:
    """A number or its text → its exact value. A float is read from its shortest round-trip
    text, repr(x), taken by value whatever its notation (1e-06 is 0.000001)."""
    if isinstance(value, bool):
        raise RenditionError(name, f"{value!r} is not a number")
    if isinstance(value, (float, decimal.Decimal)):
        text = format(decimal.Decimal(repr(value) if isinstance(value, float) else value), "f")
    elif isinstance(value, (int, str)):
        text = str(value)
    else:
        raise RenditionError(name, f"{value!r} is not a number")
    if not DECIMAL.fullmatch(text):  # nan and inf stay letters, a sign stays a sign
        raise RenditionError(name, f"{text!r} is not a plain decimal (digits and one '.')")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > MAX_DECIMAL_PLACES:
        raise RenditionError(name, f"{text} has over {MAX_DECIMAL_PLACES} decimal places")
    return Exact(int(whole + fraction or "0"), len(fraction))


# ---- Options → canonical ops (§9) ----

class Ops(NamedTuple):
    """What the output size depends on (§8): sides in pixels, fit, enlarge, rotation."""
    width: Optional[int]
    height: Optional[int]
    fit: str
    enlarge: bool
    rotate: int


class Resolved(NamedTuple):
    """A rendition in canonical form: its ops segment ('-' for none), extension and geometry."""
    segment: str
    format: str
    ops: Ops


_KINDS = {int: "an integer", str: "text", bool: "true or false"}


def _typed(opt: Mapping[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """opt[name], or `default` when unset, refused unless a `kind`; a bool is not an integer."""
    value = opt.get(name, default)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RenditionError(name, f"{value!r} is not {_KINDS[kind]}")
    return value


def _sigma_token(name: str, value: Any, max_tenths: int) -> str:
    """blur and sharpen: a whole number of tenths, 0.1 to the maximum, in its minimal text."""
    exact = exact_decimal(name, value)
    if exact.places > 1:
        raise RenditionError(name, f"{value!r} is not a multiple of 0.1")
    tenths = exact.digits * 10 if exact.places == 0 else exact.digits
    if not 1 <= tenths <= max_tenths:
        raise RenditionError(name, f"{value!r} is not 0.1 to {max_tenths // 10}")
    return name + str(Exact(tenths, 1))


def is_auto(ext: Any) -> bool:
    """True for auto and auto-alpha (§13), the formats chosen per request from Accept."""
    return ext in AUTO_FORMATS


def _output_format(source: str, opt: Mapping[str, Any]) -> str:
    """The format option, else the source key's extension; jpeg is jpg; any case. The option may
    also be auto or auto-alpha (§13.5), or json for the info request (§14.3), never the default:
    a source named `….auto` or `….json` has no format."""
    if "format" in opt:
        name = _typed(opt, "format", str).lower()
        name = "jpg" if name == "jpeg" else name
        if name not in FORMATS and not is_auto(name) and name != INFO:
            raise RenditionError("format", f"{opt['format']!r} is not jpg, jpeg, png, webp, gif, "
                                           "avif, auto, auto-alpha or json")
        return name
    name = source.rsplit(".", 1)[1].lower() if "." in source else ""
    name = "jpg" if name == "jpeg" else name
    if name not in FORMATS:
        raise RenditionError("format", f"none given and extension {name!r} is not jpg, jpeg, png, "
                                       "webp, gif or avif")
    return name


def _gravity(text: str) -> Optional[str]:
    """The g- token's value, or None for centre; a focal point equal to a name is the name."""
    g = text.lower()
    if g in ("centre", "center", "c"):
        return None
    if g in GRAVITIES:
        return g
    x, dash, y = g.partition("-")
    if not (dash and UINT.fullmatch(x) and UINT.fullmatch(y)):
        raise RenditionError("gravity", f"{text!r} is not n ne e se s sw w nw smart centre or X-Y")
    if int(x) > 100 or int(y) > 100:
        raise RenditionError("gravity", f"focal point {text!r} is not in percent (0 to 100)")
    thirds = {"0": 0, "50": 1, "100": 2}
    if x in thirds and y in thirds:  # both 0, 50 or 100: exactly where a name (or centre) puts it
        return (("n", "", "s")[thirds[y]] + ("w", "", "e")[thirds[x]]) or None
    return g


def resolve(source: str, options: Optional[Mapping[str, Any]] = None) -> Resolved:
    """Options as people write them → the canonical rendition (its format jpg, png, webp, gif,
    avif, auto, auto-alpha or json). Raises a RenditionError naming the option at fault for anything
    the server would refuse. None counts as unset."""
    options = {} if options is None else options
    if not isinstance(options, Mapping):
        raise RenditionError("options", f"{options!r} is not a mapping of options")
    for name in options:
        if name not in OPTIONS:
            raise RenditionError(str(name), "unknown option")
    opt = {name: value for name, value in options.items() if value is not None}
    check_source(source)
    if source.startswith("r/"):
        raise RenditionError("source", f"{source!r} is under r/, and renditions cannot be sources")
    ext = _output_format(source, opt)
    if ext == INFO:
        # §14.3: the answer describes the source as stored, whatever a rendition would do to it.
        for name in OPTIONS[:OPTIONS.index("version")]:
            if name in opt:
                raise RenditionError(name, "an info request (format json) describes the source; "
                                           "it takes no option but version or etag")
    # auto and auto-alpha take the rules of avif, which like them takes a quality and may keep
    # transparency (§13.2): q1-100 with q80 left out, and bg-ffffff kept (white is jpg's default).
    rules = "avif" if is_auto(ext) else ext
    tokens: List[str] = []
    sizes: Dict[str, Optional[int]] = {"width": None, "height": None}

    dpr = exact_decimal("dpr", opt["dpr"]) if "dpr" in opt else Exact(1, 0)
    scale = 10 ** dpr.places
    if dpr.digits == 0 or dpr.digits > MAX_DPR * scale:
        raise RenditionError("dpr", f"{opt['dpr']!r} is not above 0 and at most {MAX_DPR}")
    sides = [name for name in ("width", "height") if name in opt]
    for name in sides:
        css = _typed(opt, name, int)
        if css < 1:
            raise RenditionError(name, f"{css} is not a size; leave it out to keep the aspect ratio")
        # round(css × dpr), halves up, in integers: ⌊(2 × css × digits + scale) / (2 × scale)⌋.
        pixels = max(1, (2 * css * dpr.digits + scale) // (2 * scale))
        if pixels > MAX_SIDE:
            raise RenditionError(name, f"{css} × dpr is {pixels}, over {MAX_SIDE}")
        sizes[name] = pixels
        tokens.append(f"{name[0]}{pixels}")
    boxed = len(sides) == 2

    fit = _typed(opt, "fit", str, "cover").lower()
    if fit not in FITS:
        raise RenditionError("fit", f"{opt['fit']!r} is not one of {', '.join(FITS)}")
    if fit != "cover":
        if not boxed:
            raise RenditionError("fit", f"{fit} needs both width and height")
        tokens.append(f"fit-{fit}")
    enlarge = _typed(opt, "enlarge", bool, False)
    if enlarge:
        if not sides:
            raise RenditionError("enlarge", "needs a width or a height")
        tokens.append("enlarge")
    gravity = _gravity(_typed(opt, "gravity", str, "centre"))
    if gravity:
        if not boxed or fit not in ("cover", "contain"):
            raise RenditionError("gravity", "needs width, height and fit cover or contain")
        if gravity == "smart" and fit != "cover":
            raise RenditionError("gravity", "smart works with fit cover only")
        tokens.append(f"g-{gravity}")

    if "quality" in opt:
        quality = _typed(opt, "quality", int)
        if rules not in LOSSY:
            raise RenditionError("quality", f"does not apply to {ext}")
        if not 1 <= quality <= 100:
            raise RenditionError("quality", f"{quality} is not 1 to 100")
        if quality != DEFAULT_QUALITY:
            tokens.append(f"q{quality}")
    if "background" in opt:
        given = _typed(opt, "background", str)
        colour = (given[1:] if given.startswith("#") else given).lower()
        colour = "".join(c * 2 for c in colour) if len(colour) == 3 else colour
        if not re.fullmatch(r"[0-9a-f]{6}", colour):
            raise RenditionError("background", f"{given!r} is not 3 or 6 hex digits")
        if not (rules == "jpg" and colour == "ffffff"):  # white is jpg's default
            tokens.append(f"bg-{colour}")

    degrees = _typed(opt, "rotate", int, 0)
    if degrees % 90:
        raise RenditionError("rotate", f"{degrees} is not a multiple of 90")
    flip = _typed(opt, "flip", str, "").lower()
    if "flip" in opt and flip not in ("h", "v", "hv", "vh"):
        raise RenditionError("flip", f"{opt['flip']!r} is not h, v or hv")
    if flip in ("v", "hv", "vh"):  # a vertical flip is a half turn plus a mirror (§9.1)
        degrees += 180
    degrees %= 360
    if degrees:
        tokens.append(f"r{degrees}")
    if flip in ("h", "v"):
        tokens.append("flip")
    if "blur" in opt:
        tokens.append(_sigma_token("blur", opt["blur"], MAX_BLUR_TENTHS))
    if "sharpen" in opt:
        tokens.append(_sigma_token("sharpen", opt["sharpen"], MAX_SHARPEN_TENTHS))

    if "version" in opt and "etag" in opt:
        raise RenditionError("etag", "give either version or etag, not both")
    for name in ("version", "etag"):
        if name in opt:
            version = _typed(opt, name, str)
            if name == "etag":  # W/"…", "…" and multipart "…-3": keep the letters and digits
                version = re.sub(r"^W/", "", version).replace('"', "").replace("-", "")
            if not _alnum(version, 64):
                raise RenditionError(name, f"{version!r} is not 1 to 64 ASCII letters and digits")
            tokens.append(f"v{version}")
    ops = Ops(sizes["width"], sizes["height"], fit, enlarge, degrees)
    return Resolved("_".join(tokens) or "-", ext, ops)


# ---- A canonical ops segment, checked (§3, §7) ----

# Tokens by prefix, in the order the verifier recognises them (§3): the option each comes from
# and how its value reads back (None: a whole-word token and the value it stands for).
_TOKENS: Sequence[Tuple[str, str, Any]] = (
    ("fit-", "fit", str), ("enlarge", "enlarge", None), ("g-", "gravity", str),
    ("bg-", "background", str), ("flip", "flip", None), ("blur", "blur", str),
    ("sharpen", "sharpen", str), ("w", "width", int), ("h", "height", int), ("q", "quality", int),
    ("r", "rotate", int), ("v", "version", str),
)
_WHOLE = {"enlarge": True, "flip": "h"}


def check_canonical(source: str, segment: str, ext: str) -> Resolved:
    """Checks that `segment` + `ext` is exactly the canonical rendition of some options, the way
    the verifier does (§7: the request must print back to the same path): the tokens are read
    back into options and resolve() must write them again byte for byte. So w0640, q80,
    h360_w640 or bg-FF8800 are refused here instead of signed and refused by the server."""
    if not isinstance(segment, str) or not isinstance(ext, str):
        raise RenditionError("ops", f"{segment!r}.{ext!r} is not an ops segment and a format")
    opt: Dict[str, Any] = {"format": ext}
    if segment != "-":
        for token in segment.split("_"):
            entry = next((t for t in _TOKENS if (token == t[0] if t[1] in _WHOLE
                                                  else token.startswith(t[0]))), None)
            if entry is None:
                raise RenditionError("ops", f"{token!r} is not a token (segment {segment!r})")
            prefix, name, read = entry
            if name in opt:
                raise RenditionError("ops", f"{token!r} repeats {name} (segment {segment!r})")
            text = token[len(prefix):]
            if read is int and not re.fullmatch(r"[0-9]+", text):
                raise RenditionError("ops", f"{token!r} does not end in a number (segment {segment!r})")
            opt[name] = _WHOLE[name] if read is None else read(text)
    canonical = resolve(source, opt)
    if canonical.format != ext:
        raise RenditionError("format", f"{ext!r} is not an extension; the canonical one is {canonical.format}")
    if canonical.segment != segment:
        raise RenditionError("ops", f"{segment!r} is not canonical; it is written {canonical.segment!r}")
    return canonical


# ---- Signing (§5) ----

def signing_message(key: Key, source: str, resolved: Resolved) -> bytes:
    """What the signature is the HMAC of (§5): rendition:v2 LF key-id LF source-text LF ops.ext."""
    last = f"{resolved.segment}.{resolved.format}"
    return f"{SIGNING_TAG}\n{key.id}\n{encode_source(source)}\n{last}".encode("utf-8")


def sign_path(key: Key, source: str, resolved: Resolved) -> str:
    """The path `/r/<source-text>/<key-id>.<signature>/<ops>.<ext>` of a resolved rendition.
    Refuses (naming `source`) a path over 1,024 bytes, an auto path counting as its longest
    negotiated key, 5 bytes more (§13.2)."""
    source_text = encode_source(source)
    last = f"{resolved.segment}.{resolved.format}"
    storage_key_bytes = len(f"r/{source_text}/{key.id}./{last}") + SIGNATURE_CHARS  # all ASCII
    if is_auto(resolved.format):
        negotiated = storage_key_bytes + AUTO_EXTRA_BYTES
        if negotiated > MAX_STORAGE_KEY_BYTES:
            raise RenditionError("source", f"the path's negotiated key (….{resolved.format}.avif) "
                                           f"would be {negotiated} bytes, over {MAX_STORAGE_KEY_BYTES}")
    elif storage_key_bytes > MAX_STORAGE_KEY_BYTES:
        raise RenditionError("source", f"the path would be {storage_key_bytes} bytes, over {MAX_STORAGE_KEY_BYTES}")
    message = signing_message(key, source, resolved)
    tag = hmac.new(key.secret, message, hashlib.sha256).digest()[:16]
    return f"/r/{source_text}/{key.id}.{b64url(tag)}/{last}"


def config_keys(keys: Union[str, Sequence[Key]]) -> List[Key]:
    """A key list in RENDITION_KEYS's format, or parse_keys()'s result."""
    if isinstance(keys, str):
        return parse_keys(keys)
    if (isinstance(keys, Sequence) and keys
            and all(isinstance(k, Key) and _alnum(k.id, 16) and len(k.secret) >= MIN_SECRET_BYTES
                    for k in keys)):
        return list(keys)
    raise RenditionError("keys", "give a key list ID:SECRET[,ID:SECRET…] (RENDITION_KEYS's format) "
                                 "or parse_keys()'s result")


def config_base(base: Optional[str]) -> str:
    """The CDN origin put before every path, without its trailing '/'."""
    if base is None:
        return ""
    if not isinstance(base, str) or re.search(r"[?#\s\"'<>]", base):
        raise RenditionError("base", f"{base!r} is not an origin such as https://cdn.example.com")
    return base.rstrip("/")
