#!/usr/bin/env python3
"""Reference signer for rendition render paths, version 2, written from docs/url-format.md.

Standard library only. `resolve` turns options as people write them into the canonical ops
segment and extension (spec §9), `sign` makes the signed path (§5) and `parse_keys` reads a
key list (§9.2). Every refusal is a ValueError whose message starts with the option at fault.
It knows the five image formats and the info request (format json, §14); format auto (§13) is
edge/make_vectors.py's to add.

    ops, ext = resolve("photos/cat.jpg", {"width": 320, "dpr": 2, "format": "webp"})
    path = sign("k1", secret, ops, "photos/cat.jpg", ext)  # /r/photos/cat.jpg/k1.…/w640.webp

    python3 docs/reference_signer.py [vectors.json [signer-vectors.json]]
    python3 docs/reference_signer.py --self-test   # only the worked examples of spec §10

The first form checks both vector files (default: tests/ next to this script), ends with the
line `N passed, M failed` and exits non-zero on any failure.
"""

import base64
import decimal
import hashlib
import hmac
import json
import os
import re
import sys

SIGNING_TAG = "rendition:v2"
SIGNATURE_BYTES, MIN_SECRET_BYTES, MAX_STORAGE_KEY_BYTES = 16, 16, 1024
MAX_SIDE, MAX_DPR, MAX_DECIMAL_PLACES = 65535, 8, 17
MAX_BLUR_TENTHS, MAX_SHARPEN_TENTHS = 1000, 100
DEFAULT_QUALITY = 80
EXTENSIONS = ("jpg", "png", "webp", "gif", "avif")
INFO = "json"  # the info request's extension (§14): the source's size, format and placeholder
LOSSY = ("jpg", "webp", "avif")  # the formats that take a quality
FITS = ("cover", "contain", "fill", "inside", "outside")
GRAVITIES = ("n", "ne", "e", "se", "s", "sw", "w", "nw", "smart")
OPTIONS = ("width", "height", "dpr", "fit", "enlarge", "gravity", "quality", "background",
           "rotate", "flip", "blur", "sharpen", "version", "etag", "format")

ALNUM = re.compile(r"[A-Za-z0-9]+")
LITERAL = re.compile(r"[A-Za-z0-9._/-]+")
UINT = re.compile(r"0|[1-9][0-9]*")
DECIMAL = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")  # digits and at most one '.'


# ---- Paths and signatures (§1, §4, §5) ----

def b64url(data: bytes) -> str:
    """base64url without padding, which is the canonical form of §5."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def is_alnum(text: str, most: int) -> bool:
    """1 to `most` ASCII letters and digits."""
    return len(text) <= most and ALNUM.fullmatch(text) is not None


def check_source(source: str) -> None:
    """The source key rules of §4."""
    if not source or source.startswith("/"):
        raise ValueError(f"source: {source!r} is empty or starts with /")
    # Unicode general category Cc: U+0000-U+001F and U+007F-U+009F.
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in source):
        raise ValueError(f"source: {source!r} has a control character")
    if any(segment in ("", ".", "..") for segment in source.split("/")):
        raise ValueError(f"source: {source!r} has an empty, . or .. segment")


def encode_source(source: str) -> str:
    """Literal if every byte is in [A-Za-z0-9._/-], else '!' + base64url of the UTF-8 bytes."""
    if LITERAL.fullmatch(source):
        return source
    return "!" + b64url(source.encode("utf-8"))


def signing_message(key_id: str, source_text: str, ops_segment: str, ext: str) -> str:
    return f"{SIGNING_TAG}\n{key_id}\n{source_text}\n{ops_segment}.{ext}"


def sign(key_id: str, secret, ops_segment: str, source: str, ext: str) -> str:
    """The path `/r/<source-text>/<key-id>.<signature>/<ops>.<ext>`. `secret` is bytes or text
    (its UTF-8 bytes, §6); `ops_segment` is canonical ("-" for none, see resolve()); `source`
    is the decoded object key, e.g. "photos/cat.jpg" or "my photos/été.jpg"."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"secret: must be at least {MIN_SECRET_BYTES} bytes")
    if not is_alnum(key_id, 16):
        raise ValueError(f"key id: {key_id!r} is not 1 to 16 ASCII letters and digits")
    check_source(source)
    if ext not in EXTENSIONS + (INFO,):
        raise ValueError(f"format: extension {ext!r} is not one of {', '.join(EXTENSIONS)}, {INFO}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", ops_segment):
        raise ValueError(f"ops: {ops_segment!r} is not an ops segment (- for no operations)")
    if ext == INFO and not re.fullmatch(r"-|v[A-Za-z0-9]{1,64}", ops_segment):
        raise ValueError(f"ops: an info request's ops are - or a version alone, not {ops_segment!r}")
    source_text = encode_source(source)
    message = signing_message(key_id, source_text, ops_segment, ext).encode("utf-8")
    tag = hmac.new(secret, message, hashlib.sha256).digest()
    path = f"/r/{source_text}/{key_id}.{b64url(tag[:SIGNATURE_BYTES])}/{ops_segment}.{ext}"
    if len(path) - 1 > MAX_STORAGE_KEY_BYTES:  # all ASCII, so characters are bytes
        raise ValueError(f"source: the path would be over {MAX_STORAGE_KEY_BYTES} bytes")
    return path


def parse_keys(spec: str) -> list:
    """A key list `ID:SECRET[,ID:SECRET…]` (§9.2) → [(id, secret bytes)]; the first signs."""
    keys = []
    for item in (item.strip() for item in spec.split(",")):
        if not item:
            continue
        if ":" not in item:
            raise ValueError(f"keys: item {item!r} has no ':'")
        key_id, secret = (part.strip() for part in item.split(":", 1))
        if not is_alnum(key_id, 16):
            raise ValueError(f"keys: id {key_id!r} is not 1 to 16 ASCII letters and digits")
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ValueError(f"keys: the secret of {key_id} is under {MIN_SECRET_BYTES} bytes")
        if key_id in dict(keys):
            raise ValueError(f"keys: id {key_id} is listed twice")
        keys.append((key_id, secret.encode("utf-8")))
    if not keys:
        raise ValueError("keys: the list has no key")
    return keys


# ---- Options → canonical ops (§9) ----

def typed(opt: dict, name: str, kind: type, default=None):
    """opt[name] (or default), refused unless a `kind`; True and False are not integers."""
    value = opt.get(name, default)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        what = {int: "an integer", str: "text", bool: "true or false"}[kind]
        raise ValueError(f"{name}: {value!r} is not {what}")
    return value


def exact_decimal(name: str, value) -> tuple:
    """A JSON number or text → (digits, places), exactly digits / 10**places. A float is read
    from its shortest round-trip text, repr(x), without repr's exponent (1e-05 is 0.00001)."""
    if isinstance(value, float):
        text = format(decimal.Decimal(repr(value)), "f")  # nan and inf stay letters
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        text = str(value)
    else:
        raise ValueError(f"{name}: {value!r} is not a number")
    if not DECIMAL.fullmatch(text):
        raise ValueError(f"{name}: {text!r} is not a plain decimal (digits and one '.')")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > MAX_DECIMAL_PLACES:
        raise ValueError(f"{name}: {text} has over {MAX_DECIMAL_PLACES} decimal places")
    return int(whole + fraction or "0"), len(fraction)


def sigma_token(name: str, value, max_tenths: int) -> str:
    """blur/sharpen: a whole number of tenths from 0.1 to the maximum, in its minimal text."""
    digits, places = exact_decimal(name, value)
    if places > 1:
        raise ValueError(f"{name}: {value} is not a multiple of 0.1")
    tenths = digits * 10 if places == 0 else digits
    if not 1 <= tenths <= max_tenths:
        raise ValueError(f"{name}: {value} is not 0.1 to {max_tenths // 10}")
    return f"{name}{tenths // 10}" + (f".{tenths % 10}" if tenths % 10 else "")


def output_format(source: str, opt: dict) -> str:
    """The format option, else the source key's extension; jpeg is jpg; any case. The option
    may also be json, the info request (§14.3), which is never the default."""
    if "format" in opt:
        name = typed(opt, "format", str).lower()
        if name == INFO:
            return name
    else:
        name = source.rsplit(".", 1)[1].lower() if "." in source else ""
    name = "jpg" if name == "jpeg" else name
    if name not in EXTENSIONS:
        given = repr(opt["format"]) if "format" in opt else f"none given and extension {name!r}"
        raise ValueError(f"format: {given} is not jpg, jpeg, png, webp, gif, avif or json")
    return name


def gravity_value(text: str):
    """The g- token's value, or None for centre; a focal point equal to a name is the name."""
    g = text.lower()
    if g in ("centre", "center", "c"):
        return None
    if g in GRAVITIES:
        return g
    x, dash, y = g.partition("-")
    if not (dash and UINT.fullmatch(x) and UINT.fullmatch(y)):
        raise ValueError(f"gravity: {text!r} is not n ne e se s sw w nw smart centre or X-Y")
    if int(x) > 100 or int(y) > 100:
        raise ValueError(f"gravity: focal point {text!r} is not in percent (0 to 100)")
    thirds = ("0", "50", "100")
    if x in thirds and y in thirds:  # places the region exactly like a name (§3)
        return (dict(zip(thirds, ("n", "", "s")))[y] + dict(zip(thirds, ("w", "", "e")))[x]
                or None)
    return g


def resolve(source: str, options: dict) -> tuple:
    """Options as people write them → (canonical ops segment, extension), per spec §9."""
    for name in options:
        if name not in OPTIONS:
            raise ValueError(f"{name}: unknown option")
    opt = {name: value for name, value in options.items() if value is not None}  # null: unset
    check_source(source)
    if source.startswith("r/"):
        raise ValueError(f"source: {source!r} is under r/, and renditions cannot be sources")
    ext = output_format(source, opt)
    tokens = []
    if ext == INFO:  # §14.3: the answer describes the source, so a version is all it takes
        for name in OPTIONS[:OPTIONS.index("version")]:
            if name in opt:
                raise ValueError(f"{name}: an info request (format json) describes the source; "
                                 "it takes no option but version or etag")

    dpr = exact_decimal("dpr", opt["dpr"]) if "dpr" in opt else (1, 0)
    if dpr[0] == 0 or dpr[0] > MAX_DPR * 10 ** dpr[1]:
        raise ValueError(f"dpr: {opt['dpr']} is not above 0 and at most {MAX_DPR}")
    sides = [name for name in ("width", "height") if name in opt]
    for name in sides:
        css = typed(opt, name, int)
        if css < 1:
            raise ValueError(f"{name}: {css} is not a size; leave it out to keep the aspect ratio")
        digits, scale = dpr[0], 10 ** dpr[1]  # round(css × dpr), halves up, in integers
        pixels = max(1, (2 * css * digits + scale) // (2 * scale))
        if pixels > MAX_SIDE:
            raise ValueError(f"{name}: {css} × dpr is {pixels}, over {MAX_SIDE}")
        tokens.append(f"{name[0]}{pixels}")
    boxed = len(sides) == 2

    fit = typed(opt, "fit", str, "cover").lower()
    if fit not in FITS:
        raise ValueError(f"fit: {opt['fit']!r} is not one of {', '.join(FITS)}")
    if fit != "cover":
        if not boxed:
            raise ValueError(f"fit: {fit} needs both width and height")
        tokens.append(f"fit-{fit}")
    if typed(opt, "enlarge", bool, False):
        if not sides:
            raise ValueError("enlarge: needs a width or a height")
        tokens.append("enlarge")
    gravity = gravity_value(typed(opt, "gravity", str, "centre"))
    if gravity:
        if not boxed or fit not in ("cover", "contain"):
            raise ValueError("gravity: needs width, height and fit cover or contain")
        if gravity == "smart" and fit != "cover":
            raise ValueError("gravity: smart works with fit cover only")
        tokens.append(f"g-{gravity}")

    if "quality" in opt:
        quality = typed(opt, "quality", int)
        if ext not in LOSSY:
            raise ValueError(f"quality: does not apply to {ext}")
        if not 1 <= quality <= 100:
            raise ValueError(f"quality: {quality} is not 1 to 100")
        if quality != DEFAULT_QUALITY:
            tokens.append(f"q{quality}")
    if "background" in opt:
        given = typed(opt, "background", str)
        colour = given.removeprefix("#").lower()
        colour = "".join(c * 2 for c in colour) if len(colour) == 3 else colour
        if not re.fullmatch(r"[0-9a-f]{6}", colour):
            raise ValueError(f"background: {given!r} is not 3 or 6 hex digits")
        if not (ext == "jpg" and colour == "ffffff"):  # white is jpg's default
            tokens.append(f"bg-{colour}")

    degrees = typed(opt, "rotate", int, 0)
    if degrees % 90:
        raise ValueError(f"rotate: {degrees} is not a multiple of 90")
    flip = typed(opt, "flip", str, "").lower()
    if "flip" in opt and flip not in ("h", "v", "hv", "vh"):
        raise ValueError(f"flip: {opt['flip']!r} is not h, v or hv")
    if flip in ("v", "hv", "vh"):  # a vertical flip is a half turn plus a mirror (§9.1)
        degrees += 180
    if degrees % 360:
        tokens.append(f"r{degrees % 360}")
    if flip in ("h", "v"):
        tokens.append("flip")
    if "blur" in opt:
        tokens.append(sigma_token("blur", opt["blur"], MAX_BLUR_TENTHS))
    if "sharpen" in opt:
        tokens.append(sigma_token("sharpen", opt["sharpen"], MAX_SHARPEN_TENTHS))

    if "version" in opt and "etag" in opt:
        raise ValueError("etag: give either version or etag, not both")
    for name in ("version", "etag"):
        if name in opt:
            version = typed(opt, name, str)
            if name == "etag":  # W/"…", "…" and multipart "…-3": keep the letters and digits
                version = version.removeprefix("W/").replace('"', "").replace("-", "")
            if not is_alnum(version, 64):
                raise ValueError(f"{name}: {version!r} is not 1 to 64 ASCII letters and digits")
            tokens.append(f"v{version}")
    return "_".join(tokens) or "-", ext


# ---- Checks ----

KEY_LIST_OPTIONS = {"width": 640, "format": "webp"}  # what key_lists vectors sign (spec §11)
EXAMPLE_KEYS = "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210"
EXAMPLES = [  # spec §10: key id, source, options, message, HMAC, path
    ("k1", "photos/cat.jpg", {"width": 640, "height": 360, "fit": "contain", "gravity": "sw",
                              "background": "#ff8800", "format": "png"},
     "rendition:v2\nk1\nphotos/cat.jpg\nw640_h360_fit-contain_g-sw_bg-ff8800.png",
     "eb463092b46f498ef93a44111c582f2c2c33d36a869bc20b63d15d8a5c76651e",
     "/r/photos/cat.jpg/k1.60YwkrRvSY75OkQRHFgvLA/w640_h360_fit-contain_g-sw_bg-ff8800.png"),
    ("k1", "my photos/été.jpg", {"format": "webp"},
     "rendition:v2\nk1\n!bXkgcGhvdG9zL8OpdMOpLmpwZw\n-.webp",
     "f39d335c90bb1e92b108cec0ca4eee8c66ab03ae117bd35d79844fad5cf7be1a",
     "/r/!bXkgcGhvdG9zL8OpdMOpLmpwZw/k1.850zXJC7HpKxCM7Ayk7ujA/-.webp"),
    ("k0", "photos/cat.jpg", {"width": 640, "height": 360},
     "rendition:v2\nk0\nphotos/cat.jpg\nw640_h360.jpg",
     "5cb5d7a914a4f018d8d96b5c1b5ffbe2f4e97d960c6757964b9ec8a5e47301ca",
     "/r/photos/cat.jpg/k0.XLXXqRSk8BjY2WtcG1_74g/w640_h360.jpg"),
]


def signed(key: tuple, source: str, options: dict) -> str:
    """The path of `options` for `source`, signed with key (id, secret)."""
    ops, ext = resolve(source, options)
    return sign(key[0], key[1], ops, source, ext)


def attempt(function, *args) -> str:
    """function(*args), or "error: …" when it refuses."""
    try:
        return function(*args)
    except ValueError as e:
        return f"error: {e}"


def self_test() -> list:
    keys = dict(parse_keys(EXAMPLE_KEYS))
    failures = []
    for key_id, source, options, message, mac, path in EXAMPLES:
        ops, ext = resolve(source, options)
        got_message = signing_message(key_id, encode_source(source), ops, ext)
        got_mac = hmac.new(keys[key_id], got_message.encode("utf-8"), hashlib.sha256).hexdigest()
        got = (got_message, got_mac, signed((key_id, keys[key_id]), source, options))
        if got != (message, mac, path):
            failures.append(f"§10 {path}:\n  got {got}")
    return [len(EXAMPLES), failures]


def check_vectors(vectors: dict) -> list:
    """tests/vectors.json: every valid vector signs to its path."""
    failures = []
    for v in vectors["valid"]:
        got = attempt(sign, v["key_id"], vectors["keys"][v["key_id"]], v["ops"], v["source"],
                      v["format"])
        if got != v["path"]:
            failures.append(f"{v['name']}:\n  expected {v['path']}\n  got      {got}")
    return [len(vectors["valid"]), failures]


def check_signer_vectors(vectors: dict) -> list:
    """tests/signer-vectors.json: the sign, refuse and key_lists vectors (spec §11)."""
    key = parse_keys(vectors["keys"])[0]
    failures = []
    for v in vectors["sign"]:
        got = attempt(signed, key, v["source"], v["options"])
        if got != v["path"]:
            failures.append(f"sign {v['name']}:\n  expected {v['path']}\n  got      {got}")
    for v in vectors["refuse"]:
        got = attempt(signed, key, v["source"], v["options"])
        if not got.startswith("error: ") or v["option"] not in got.removeprefix("error: "):
            failures.append(f"refuse {v['name']}: expected an error naming {v['option']!r},"
                            f" got {got!r}")
    for v in vectors["key_lists"]:
        try:
            keys = parse_keys(v["spec"])
        except ValueError as e:
            if not v.get("error"):
                failures.append(f"key_lists {v['name']}: refused: {e}")
            continue
        ids = [key_id for key_id, _ in keys]
        path = v.get("path") and attempt(signed, keys[0], "photos/cat.jpg", KEY_LIST_OPTIONS)
        if v.get("error") or ids != v["ids"] or path != v.get("path"):
            failures.append(f"key_lists {v['name']}: expected {v.get('ids', 'an error')}"
                            f" {v.get('path') or ''}, got {ids} {path or ''}")
    return [len(vectors["sign"]) + len(vectors["refuse"]) + len(vectors["key_lists"]), failures]


def main(argv) -> int:
    if argv[1:] == ["--self-test"]:
        results = [("spec §10 examples", self_test())]
    else:
        tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
        files = argv[1:3] + [os.path.join(tests, name) for name in
                             ("vectors.json", "signer-vectors.json")][len(argv[1:3]):]
        results = []
        for file, check in zip(files, (check_vectors, check_signer_vectors)):
            name = os.path.relpath(file)
            try:
                with open(file, encoding="utf-8") as f:
                    results.append((name, check(json.load(f))))
            except (OSError, ValueError, KeyError, TypeError) as e:
                results.append((name, [1, [f"{name} cannot be checked: {e!r}"]]))
    passed = failed = 0
    for name, (count, failures) in results:
        for failure in failures:
            print("FAIL", failure)
        print(f"# {name}: {count} checked, {len(failures)} failing")
        passed, failed = passed + count - len(failures), failed + len(failures)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
