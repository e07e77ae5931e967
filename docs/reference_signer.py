#!/usr/bin/env python3
"""Reference signer for rendition render paths, written from docs/url-format.md alone.

Standard library only (hmac, hashlib, base64). Run it to check it against the test vectors:

    python3 docs/reference_signer.py [path/to/vectors.json]

It signs every valid vector in tests/vectors.json and compares with the expected path.
`sign` expects `ops_segment` already canonical (see "The ops segment" in the spec); it checks
everything else it is given.
"""

import base64
import hashlib
import hmac
import json
import os
import sys

SIGNING_TAG = "rendition:v1"
SIGNATURE_BYTES = 16
MAX_KEY_BYTES = 1024
MIN_SECRET_BYTES = 16
EXTENSIONS = ("jpg", "png", "webp", "gif", "avif")

_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LITERAL = _ALNUM | frozenset(b"-_./")


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def check_key_id(key_id: str) -> None:
    raw = key_id.encode("utf-8")
    if not 1 <= len(raw) <= 16 or not all(b in _ALNUM for b in raw):
        raise ValueError("key id must be 1 to 16 ASCII letters and digits")


def check_source(source: str) -> None:
    if not source:
        raise ValueError("empty source key")
    if source.startswith("/"):
        raise ValueError("source key must not start with /")
    # Unicode general category Cc: U+0000-U+001F and U+007F-U+009F.
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in source):
        raise ValueError("source key has a control character")
    for seg in source.split("/"):
        if seg in ("", ".", ".."):
            raise ValueError("source key has an empty, . or .. segment")


def encode_source(source: str) -> str:
    """Literal if every byte is in [A-Za-z0-9._/-], else '!' + base64url of the UTF-8 bytes."""
    raw = source.encode("utf-8")
    if all(b in _LITERAL for b in raw):
        return source
    return "!" + b64url(raw)


def signing_message(key_id: str, tail: str) -> str:
    return f"{SIGNING_TAG}\n{key_id}\n{tail}"


def sign(key_id: str, secret, ops_segment: str, source: str, ext: str) -> str:
    """The canonical signed path of one rendition.

    secret: the key's secret, as bytes or as the string from RENDITION_KEYS (UTF-8 encoded).
    ops_segment: the canonical ops segment ("-" for none), e.g. "w640_h360_g-ne".
    source: the decoded source key, e.g. "photos/cat.jpg" or "my photos/été.jpg".
    ext: jpg, png, webp, gif or avif.
    """
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError("secret must be at least 16 bytes")
    check_key_id(key_id)
    check_source(source)
    if ext not in EXTENSIONS:
        raise ValueError("extension must be one of jpg, png, webp, gif, avif")
    if not ops_segment:
        raise ValueError("empty ops segment: use - for no operations")
    tail = f"{ops_segment}/{encode_source(source)}.{ext}"
    tag = hmac.new(secret, signing_message(key_id, tail).encode("utf-8"), hashlib.sha256)
    path = f"/r/{key_id}.{b64url(tag.digest()[:SIGNATURE_BYTES])}/{tail}"
    if len(path.encode("utf-8")) - 1 > MAX_KEY_BYTES:
        raise ValueError("path is over the 1024-byte key limit")
    return path


def main(argv) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    file = argv[1] if len(argv) > 1 else os.path.join(here, "..", "tests", "vectors.json")
    with open(file, encoding="utf-8") as f:
        vectors = json.load(f)
    keys = vectors["keys"]
    passed = failed = 0
    for v in vectors["valid"]:
        try:
            got = sign(v["key_id"], keys[v["key_id"]], v["ops"], v["source"], v["format"])
        except ValueError as e:
            got = f"error: {e}"
        if got == v["path"]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {v['name']}:\n  expected {v['path']}\n  got      {got}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
