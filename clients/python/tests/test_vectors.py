"""Every vector of tests/vectors.json and tests/signer-vectors.json (docs/url-format.md §11), and
the auto and invalid vectors of tests/edge-vectors.json (format auto, §13.6)."""

import base64

import pytest

from conftest import vectors
from rendition_sign import RenditionError, Signer, parse_keys, resolve, sign
from rendition_sign.signer import signing_message

PATHS = vectors("vectors.json")
SIGNER = vectors("signer-vectors.json")
SIGNER_KEYS = SIGNER["keys"]
EDGE = vectors("edge-vectors.json")


def by_name(kind):
    return pytest.mark.parametrize("v", kind, ids=[v["name"] for v in kind])


def test_the_vector_files_hold_every_kind_of_vector():
    for name, kind in (("valid", PATHS["valid"]), ("invalid", PATHS["invalid"]),
                       ("sign", SIGNER["sign"]), ("refuse", SIGNER["refuse"]),
                       ("key_lists", SIGNER["key_lists"]), ("auto", EDGE["auto"]),
                       ("edge invalid", EDGE["invalid"])):
        assert isinstance(kind, list) and kind, f"{name} vectors are missing"
    assert EDGE["keys"] == PATHS["keys"], "edge-vectors.json is signed with vectors.json's key ring"


@by_name(PATHS["valid"])
def test_valid_path(v):
    signer = Signer(f"{v['key_id']}:{PATHS['keys'][v['key_id']]}")
    assert signer.sign_canonical(v["source"], v["ops"], v["format"]) == v["path"]


def parts(path):
    """Splits a path from the right as the verifier does (§1): source, key id, ops, extension.
    An encoded source is decoded leniently (padding or stray bits allowed), as a careless signer
    would, to see that the signer still writes its canonical form, not the vector's."""
    rest = path[3:]  # after "/r/" (or whatever a wrong prefix put there)
    head, _, last = rest.rpartition("/")
    source, _, signature = head.rpartition("/")
    ops, dot, ext = last.rpartition(".")
    if source.startswith("!"):
        encoded = source[1:].rstrip("=")
        source = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8", "replace")
    key_id = signature.partition(".")[0] if "." in signature else ""
    return source, key_id, (ops if dot else last), ext


@by_name(PATHS["invalid"])
def test_invalid_path_is_never_written(v):
    # A signer must never write a path the verifier refuses. Most 400 vectors carry a correct
    # HMAC over their own non-canonical text, so a signer that signed whatever it was given
    # would write exactly them: signing each one's parts must be refused or give another path,
    # and never by rewriting the ops it was given (w0640 is refused, not signed as w640).
    never_written(v)


@by_name(EDGE["auto"])
def test_auto(v):
    signer = Signer(f"{v['key_id']}:{EDGE['keys'][v['key_id']]}")
    assert signer.sign(v["source"], v["options"]) == v["path"]
    assert signer.sign(v["source"], **v["options"]) == v["path"]
    assert sign(v["source"], v["options"], keys=f"{v['key_id']}:{EDGE['keys'][v['key_id']]}") == v["path"]
    assert signer.sign_canonical(v["source"], v["ops"], v["format"]) == v["path"]
    resolved = resolve(v["source"], v["options"])
    assert (resolved.segment, resolved.format) == (v["ops"], v["format"])
    assert signing_message(signer.key, v["source"], resolved) == v["message"].encode("utf-8")


@by_name(EDGE["invalid"])
def test_edge_invalid_path_is_never_written(v):
    # Negotiated keys (…/w640.auto.avif) are the edge's to make, never a signer's; and the rest
    # of these paths are refused by the verifier.
    never_written(v)


def never_written(v):
    """Signing the parts of a path the verifier refuses is refused, or writes another path."""
    source, key_id, ops, ext = parts(v["path"])
    secret = PATHS["keys"].get(key_id)
    signer = Signer(f"{key_id}:{secret}" if secret else f"k1:{PATHS['keys']['k1']}")
    try:
        written = signer.sign_canonical(source, ops, ext)
    except RenditionError:
        return
    assert written != v["path"]
    assert written.endswith(f"/{ops}.{ext}"), f"{ops}.{ext} rewritten: {written}"


@by_name(SIGNER["sign"])
def test_sign(v):
    assert Signer(SIGNER_KEYS).sign(v["source"], v["options"]) == v["path"]
    assert sign(v["source"], v["options"], keys=SIGNER_KEYS) == v["path"]


@by_name(SIGNER["sign"])
def test_sign_with_keyword_options(v):
    assert Signer(SIGNER_KEYS).sign(v["source"], **v["options"]) == v["path"]


@by_name(SIGNER["refuse"])
def test_refuse(v):
    with pytest.raises(RenditionError) as refused:
        Signer(SIGNER_KEYS).sign(v["source"], v["options"])
    assert refused.value.option == v["option"], str(refused.value)
    assert str(refused.value).startswith(f"{v['option']}: ")


@by_name(SIGNER["key_lists"])
def test_key_list(v):
    if v.get("error"):
        with pytest.raises(RenditionError) as refused:
            parse_keys(v["spec"])
        assert refused.value.option == "keys"
        with pytest.raises(RenditionError):
            Signer(v["spec"])
        return
    assert [key.id for key in parse_keys(v["spec"])] == v["ids"]
    assert Signer(v["spec"]).sign("photos/cat.jpg", width=640, format="webp") == v["path"]


def test_secrets_stay_out_of_messages_and_reprs():
    secret = "no-colon-so-this-may-be-a-bare-secret"
    with pytest.raises(RenditionError) as refused:
        parse_keys(f"k1:0123456789abcdef0123456789abcdef,{secret}")
    assert secret not in str(refused.value) and "item 2" in str(refused.value)
    signer = Signer("k1:0123456789abcdef0123456789abcdef")
    assert "0123456789abcdef" not in repr(signer) + repr(parse_keys(SIGNER_KEYS))
