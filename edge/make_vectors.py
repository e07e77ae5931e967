#!/usr/bin/env python3
"""Writes tests/edge-vectors.json: format auto's test vectors (docs/url-format.md §13).

    python3 edge/make_vectors.py           # (re)writes tests/edge-vectors.json
    python3 edge/make_vectors.py --check   # exits 1 when the file is not what this writes

Signed with docs/reference_signer.py's own functions (imported, not copied), so these vectors
and tests/vectors.json can't disagree on the message, the HMAC or the encodings. The reference
signer knows only the five concrete formats; the one rule auto adds is applied here: an auto
path is signed exactly like any other, with `auto` or `auto-alpha` as its extension, and its
negotiated keys carry that signature unchanged.
"""

import hashlib
import hmac
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPOSITORY, "docs"))
import reference_signer as ref  # noqa: E402  (docs/ is not a package)

OUT = os.path.join(REPOSITORY, "tests", "edge-vectors.json")
AUTO = {"auto": ["avif", "webp", "jpg"], "auto-alpha": ["avif", "webp", "png"]}


def keys() -> dict:
    """The key ring of tests/vectors.json, so one RENDITION_KEYS verifies both files."""
    with open(os.path.join(REPOSITORY, "tests", "vectors.json"), encoding="utf-8") as f:
        return json.load(f)["keys"]


def mac(secret: str, key_id: str, source_text: str, last: str) -> str:
    """The signature of any text (§5), canonical or not: what a signer with the key would write."""
    message = ref.signing_message(key_id, source_text, *last.rsplit(".", 1))
    tag = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return ref.b64url(tag[: ref.SIGNATURE_BYTES])


def auto_options(source: str, options: dict) -> tuple:
    """(ops, format) for options whose format is auto or auto-alpha, any case (§13.4): the ops
    follow the rules of avif, the concrete format that, like auto, takes a quality and may keep
    transparency."""
    fmt = options["format"].lower()
    assert fmt in AUTO, fmt
    ops, _ = ref.resolve(source, {**options, "format": "avif"})
    return ops, fmt


def auto_vector(ring: dict, name: str, key_id: str, source: str, options: dict) -> dict:
    ops, fmt = auto_options(source, options)
    text = ref.encode_source(source)
    signature = mac(ring[key_id], key_id, text, f"{ops}.{fmt}")
    path = f"/r/{text}/{key_id}.{signature}/{ops}.{fmt}"
    assert len(path) - 1 + 5 <= ref.MAX_STORAGE_KEY_BYTES, name  # §13.2: the longest negotiated key fits
    return {
        "name": name,
        "key_id": key_id,
        "source": source,
        "options": options,
        "ops": ops,
        "format": fmt,
        "message": ref.signing_message(key_id, text, ops, fmt),
        "path": path,
        "negotiated": {ext: f"{path}.{ext}" for ext in AUTO[fmt]},
    }


def longest_source(ops: str, fmt: str) -> str:
    """A literal source key whose auto path is exactly at the limit: its .avif key is 1,024 bytes."""
    free = ref.MAX_STORAGE_KEY_BYTES - 5 - (28 + len("k1") + len(ops) + len(fmt))
    return "long/" + "a" * (free - len("long/"))


def auto_vectors(ring: dict) -> list:
    cases = [
        ("auto-width", "k1", "photos/cat.jpg", {"width": 640, "format": "auto"}),
        ("auto-no-ops", "k1", "photos/cat.jpg", {"format": "auto"}),
        ("auto-alpha-box", "k1", "icons/logo.png", {"width": 256, "height": 256, "format": "auto-alpha"}),
        ("auto-quality", "k1", "photos/cat.jpg", {"width": 640, "quality": 60, "format": "auto"}),
        # Quality is kept for auto-alpha: it applies to the AVIF and WebP choices, not to PNG.
        ("auto-alpha-quality", "k1", "icons/logo.png", {"width": 128, "quality": 70, "format": "auto-alpha"}),
        # White is jpg's default only: an auto path may turn out AVIF or WebP, which keep alpha.
        ("auto-white-background", "k1", "icons/logo.png", {"background": "#fff", "format": "auto"}),
        ("auto-blur-decimal", "k1", "photos/cat.jpg", {"width": 320, "blur": 0.5, "format": "auto"}),
        ("auto-encoded-source", "k1", "my photos/été.jpg", {"width": 300, "format": "auto"}),
        ("auto-everything", "k1", "photos/cat.jpg", {
            "width": 640, "height": 360, "fit": "contain", "enlarge": True, "gravity": "nw",
            "quality": 65, "background": "123456", "rotate": 270, "flip": "h", "blur": 1.2,
            "sharpen": 0.3, "version": "v2", "format": "auto"}),
        ("auto-format-any-case", "k1", "icons/logo.png", {"width": 64, "format": "Auto-Alpha"}),
        ("auto-older-key-k0", "k0", "photos/cat.jpg", {"width": 640, "format": "auto"}),
        ("auto-longest-path", "k1", longest_source("-", "auto"), {"format": "auto"}),
    ]
    return [auto_vector(ring, *case) for case in cases]


def invalid_vectors(ring: dict) -> list:
    k1 = ring["k1"]
    cat = "photos/cat.jpg"

    def signed(last: str, source: str = cat, key_id: str = "k1", secret: str = k1) -> str:
        """The path of `last`, signed over its own text."""
        return f"/r/{source}/{key_id}.{mac(secret, key_id, source, last)}/{last}"

    def signed_as(last: str, signed_last: str, source: str = cat) -> str:
        """The path of `last` carrying the signature of another last segment."""
        return f"/r/{source}/k1.{mac(k1, 'k1', source, signed_last)}/{last}"

    too_long = longest_source("-", "auto") + "a"
    return [
        # Malformed or not canonical (400), each with a correct HMAC over its auto form.
        (400, "auto-never-png", signed_as("w640.auto.png", "w640.auto"), "auto is negotiated to avif, webp or jpg"),
        (400, "auto-alpha-never-jpg", signed_as("w640.auto-alpha.jpg", "w640.auto-alpha"),
         "auto-alpha is negotiated to avif, webp or png"),
        (400, "auto-never-gif", signed_as("w640.auto.gif", "w640.auto"), "gif is never a negotiated format"),
        (400, "auto-negotiated-to-auto", signed_as("w640.auto.auto", "w640.auto"), "a negotiated key names a concrete format"),
        (400, "auto-negotiated-jpeg", signed_as("w640.auto.jpeg", "w640.auto"), "the extension is jpg, not jpeg"),
        (400, "auto-negotiated-empty", signed_as("w640.auto.", "w640.auto"), "the negotiated extension is empty"),
        (400, "auto-upper-case", signed("w640.AUTO"), "extensions are lower case"),
        (400, "auto-alpha-abbreviated", signed("w640.auto-a"), "the alpha variant is auto-alpha"),
        (400, "auto-default-quality", signed("q80.auto"), "q80 is the default of every auto choice"),
        (400, "auto-empty-ops", signed(".auto"), "empty ops segment (no operations is -)"),
        (400, "auto-marker-twice", signed_as("w640.auto.auto.avif", "w640.auto.auto"), "one auto marker at most"),
        (400, "auto-over-long-path", signed("-.auto", too_long),
         "its .avif and .webp keys would be 1,025 bytes, over S3's limit"),
        (400, "auto-over-long-negotiated-jpg", signed_as("-.auto.jpg", "-.auto", too_long),
         "a 1,024-byte key, but its .avif sibling would be 1,025 bytes"),
        # Well formed, not authorised (403).
        (403, "auto-signature-on-concrete-path", signed_as("w640.avif", "w640.auto"),
         "an auto signature covers <ops>.auto.avif, never <ops>.avif"),
        (403, "concrete-signature-on-negotiated-path", signed_as("w640.auto.avif", "w640.avif"),
         "a w640.avif signature does not make w640.auto.avif"),
        (403, "auto-swapped-for-auto-alpha", signed_as("w640.auto-alpha", "w640.auto"),
         "the signature covers the fallback: auto and auto-alpha are different renditions"),
        (403, "auto-negotiated-as-auto-alpha", signed_as("w640.auto-alpha.avif", "w640.auto"),
         "an auto signature presented as auto-alpha"),
        (403, "auto-tampered-ops", signed_as("w641.auto", "w640.auto"), "w640 changed to w641, signature kept"),
        (403, "auto-negotiated-tampered-ops", signed_as("w641.auto.webp", "w640.auto"),
         "w640 changed to w641 in a negotiated key, signature kept"),
        (403, "auto-unknown-key-id", signed("w640.auto", key_id="k9", secret=k1),
         "key id k9 is not in the key ring (signed with k1's secret)"),
    ]


# Accept headers as browsers send them for <img>, and edge cases of the header's grammar. The
# expected choice is the same for `rendition serve` (§13.3). "accept" is one header's value, a
# list when the header is repeated, or null when there is none.
ACCEPT = [
    ("chrome", "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "avif",
     "current Chrome"),
    ("chrome-edge-121-mdn", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif",
     "MDN, List of default Accept values: Chrome and Edge 121 and later"),
    ("chrome-before-85", "image/webp,image/apng,image/*,*/*;q=0.8", "webp",
     "Chrome without AVIF: image/* must not count as AVIF"),
    ("firefox-128", "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5", "avif",
     "MDN: Firefox 128 and later"),
    ("firefox-92-127", "image/avif,image/webp,*/*", "avif", "MDN: Firefox 92 to 127"),
    ("firefox-65-91", "image/webp,*/*", "webp", "MDN: Firefox 65 to 91"),
    ("safari-14-15", "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", "webp",
     "MDN: Safari since macOS Big Sur, before AVIF (Safari 14 and 15)"),
    ("safari-16", "image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
     "avif", "requests of Safari 16.2 (macOS) and 16.6 (iOS): WebP listed first, AVIF still chosen"),
    ("safari-17",
     "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,"
     "image/svg+xml,image/*;q=0.8,*/*;q=0.5", "avif", "a request of Safari 17.6 (macOS)"),
    ("safari-before-big-sur", "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", None,
     "MDN: Safari before macOS Big Sur"),
    ("edge-edgehtml", "image/png, image/svg+xml, image/jxr, image/*;q=0.8, */*;q=0.5", None,
     "Edge 12-18 (EdgeHTML, Edge/13.10586): no WebP, spaces after the commas"),
    ("curl", "*/*", None, "curl's default"),
    ("googlebot-image", "*/*", None, "Googlebot-Image/1.0: Google describes its crawlers' Accept as */*"),
    ("no-header", None, None, "no Accept header at all"),
    ("empty-header", "", None, "an empty Accept header"),
    ("image-wildcard-only", "image/*", None, "image/* promises no particular format"),
    ("avif-refused", "image/avif;q=0,image/webp,*/*", "webp", "q=0 means not acceptable"),
    ("avif-and-webp-refused", "image/avif;q=0, image/webp;q=0, image/*", None, "both refused"),
    ("avif-refused-long-form", "image/avif;q=0.000,image/webp", "webp", "q=0.000 is zero too"),
    ("avif-low-weight", "image/avif;q=0.001", "avif", "any weight above zero accepts"),
    ("webp-preferred-by-weight", "image/avif;q=0.5,image/webp", "avif",
     "weights only refuse: AVIF is smaller, so the server's order decides"),
    ("case-and-spaces", "Image/AVIF ; Q=0.5", "avif", "media types and q are case-insensitive"),
    ("malformed-weight", "image/avif;q=high,image/webp", "webp", "a malformed q counts as a refusal"),
    ("weight-over-one", "image/avif;q=2,image/webp", "webp", "q=2 is malformed (qvalues are 0 to 1)"),
    ("refused-and-accepted", "image/avif,image/avif;q=0,image/webp", "webp", "a refusal anywhere wins"),
    ("weight-with-two-equals", "image/avif;q=0.5=1,image/webp", "webp",
     "q=0.5=1 is malformed (the value is everything after the first =)"),
    ("lookalike-types", "image/avif-sequence,image/webpx,image/avif2", None, "only the exact types count"),
    ("repeated-headers", ["image/webp,*/*", "image/avif"], "avif",
     "two Accept headers (CloudFront: multiValue) are read as one list"),
]


def accept_vectors() -> list:
    rows = []
    for name, accept, best, note in ACCEPT:
        rows.append({
            "name": name,
            "accept": accept,
            "auto": best or "jpg",
            "auto-alpha": best or "png",
            "note": note,
        })
    return rows


def vectors() -> dict:
    ring = keys()
    return {
        "description": (
            "Format auto (docs/url-format.md §13), generated by edge/make_vectors.py. The key ring "
            "is tests/vectors.json's: RENDITION_KEYS=k1:<keys.k1>,k0:<keys.k0>. Each `auto` vector: "
            "signing (key_id, source, options) must give `path` (ops and format resolved from "
            "options; message is what is signed), `path` must verify, and so must each of its "
            "`negotiated` keys, the path with .avif, .webp, .jpg or .png appended. Each `invalid` "
            "vector must be refused with `status`. Each `accept` vector: for that Accept header "
            "(a list: the header repeated; null: absent), an auto path becomes `auto`'s choice "
            "and an auto-alpha path `auto-alpha`'s."
        ),
        "keys": ring,
        "auto": auto_vectors(ring),
        "invalid": [
            {"name": name, "path": path, "status": status, "reason": reason}
            for status, name, path, reason in invalid_vectors(ring)
        ],
        "accept": accept_vectors(),
    }


def main(argv: list) -> int:
    text = json.dumps(vectors(), indent=2, ensure_ascii=False) + "\n"
    if argv[1:] == ["--check"]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{os.path.relpath(OUT)} is stale: run python3 edge/make_vectors.py", file=sys.stderr)
                return 1
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
