"""Format auto's signer rules (docs/url-format.md §13.5): the format option's spellings, the ops
resolved as for avif, and the 5 bytes an auto path's storage key counts more.
tests/edge-vectors.json's vectors are in test_vectors.py; srcset and picture() with auto in
test_markup.py, the Django tag in test_django.py."""

import pytest

from conftest import vectors
from rendition_sign import RenditionError, Signer, output_size, resolve

EDGE = vectors("edge-vectors.json")
KEYS = f"k1:{EDGE['keys']['k1']},k0:{EDGE['keys']['k0']}"
S = Signer(KEYS)
CHOICES = {"auto": ("avif", "webp", "jpg"), "auto-alpha": ("avif", "webp", "png")}


def vector(name):
    return next(v for v in EDGE["auto"] if v["name"] == name)


def refused(option, call, *args, **kwargs):
    with pytest.raises(RenditionError) as error:
        call(*args, **kwargs)
    assert error.value.option == option, str(error.value)
    assert str(error.value).startswith(f"{option}: ")
    return str(error.value)


def longest_source(fmt, extra):
    """The longest literal source whose path fits with format `fmt`, no ops and key k1: the
    storage key is 28 + source + key id + ops + extension bytes (§1), plus `extra` (§13.2)."""
    free = 1024 - extra - (28 + len("k1") + len("-") + len(fmt))
    return "long/" + "a" * (free - len("long/"))


# ---- The format option ----

@pytest.mark.parametrize("fmt", ["auto", "AUTO", "Auto", "aUtO"])
def test_auto_in_any_case(fmt):
    assert S.sign("photos/cat.jpg", width=640, format=fmt) == vector("auto-width")["path"]


@pytest.mark.parametrize("fmt", ["auto-alpha", "AUTO-ALPHA", "Auto-alpha"])
def test_auto_alpha_in_any_case(fmt):
    assert S.sign("icons/logo.png", width=64, format=fmt) == vector("auto-format-any-case")["path"]
    assert resolve("icons/logo.png", {"format": fmt}).format == "auto-alpha"


def test_auto_and_auto_alpha_are_different_renditions():
    auto = S.sign("icons/logo.png", width=64, format="auto")
    assert auto != vector("auto-format-any-case")["path"] and auto.endswith("/w64.auto")


@pytest.mark.parametrize("fmt", ["auto-a", "AUTO-ALPHA-X", "autoalpha", "auto_alpha", "alpha",
                                 " auto", "auto ", "auto.avif", "auto-avif", "auto-jpg", ""])
def test_other_spellings_are_refused_naming_format(fmt):
    message = refused("format", S.sign, "photos/cat.jpg", format=fmt)
    assert message == f"format: {fmt!r} is not jpg, jpeg, png, webp, gif, avif, auto, auto-alpha or json"


def test_format_must_be_text():
    refused("format", S.sign, "photos/cat.jpg", format=True)


def test_the_default_is_the_source_extension_never_auto():
    assert S.sign("photos/cat.jpg", width=640).endswith("/w640.jpg")
    assert S.sign("icons/logo.png").endswith("/-.png")
    for source in ("exports/cat.auto", "exports/logo.auto-alpha", "exports/cat.AUTO"):
        refused("format", S.sign, source)
        assert S.sign(source, format="auto").endswith("/-.auto")


def test_sign_canonical_takes_auto_lower_case_only_and_never_a_negotiated_key():
    assert S.sign_canonical("photos/cat.jpg", "w640", "auto") == vector("auto-width")["path"]
    assert S.sign_canonical("icons/logo.png", "w256_h256", "auto-alpha") == \
        vector("auto-alpha-box")["path"]
    refused("format", S.sign_canonical, "photos/cat.jpg", "w640", "AUTO")
    refused("format", S.sign_canonical, "photos/cat.jpg", "w640", "Auto-Alpha")
    refused("format", S.sign_canonical, "photos/cat.jpg", "w640", "auto-a")
    # What the edge appends is not the signer's to write: .auto is not part of an ops segment.
    refused("ops", S.sign_canonical, "photos/cat.jpg", "w640.auto", "avif")


# ---- The other options follow avif's rules ----

@pytest.mark.parametrize("fmt", ["auto", "auto-alpha"])
def test_quality_80_is_left_out_by_sign_and_refused_by_sign_canonical(fmt):
    assert S.sign("photos/cat.jpg", width=640, quality=80, format=fmt) == \
        S.sign("photos/cat.jpg", width=640, format=fmt)
    refused("ops", S.sign_canonical, "photos/cat.jpg", "w640_q80", fmt)
    refused("ops", S.sign_canonical, "photos/cat.jpg", "q80", fmt)
    for quality in (0, 101, -1, 2.5, "60", True):
        refused("quality", S.sign, "photos/cat.jpg", quality=quality, format=fmt)
    assert S.sign("photos/cat.jpg", quality=1, format=fmt).endswith(f"/q1.{fmt}")
    assert S.sign("photos/cat.jpg", quality=100, format=fmt).endswith(f"/q100.{fmt}")


def test_quality_against_the_vectors():
    assert S.sign("photos/cat.jpg", width=640, quality=80, format="auto") == \
        vector("auto-width")["path"]
    assert S.sign("photos/cat.jpg", quality=80, format="auto") == vector("auto-no-ops")["path"]
    assert S.sign("photos/cat.jpg", width=640, quality=60, format="auto") == \
        vector("auto-quality")["path"]
    # The alpha variant keeps its quality, for its AVIF and WebP choices.
    assert S.sign("icons/logo.png", width=128, quality=70, format="auto-alpha") == \
        vector("auto-alpha-quality")["path"]
    refused("quality", S.sign, "icons/logo.png", quality=70, format="png")


def test_a_white_background_is_kept():
    # An auto path may become AVIF or WebP, which keep alpha: white is jpg's default only.
    assert S.sign("icons/logo.png", background="#fff", format="auto") == \
        vector("auto-white-background")["path"]
    assert S.sign("icons/logo.png", background="FFFFFF", format="auto-alpha").endswith(
        "/bg-ffffff.auto-alpha")
    assert S.sign("icons/logo.png", background="fff", format="jpg").endswith("/-.jpg")
    assert S.sign_canonical("icons/logo.png", "bg-ffffff", "auto") == \
        vector("auto-white-background")["path"]


def test_everything_else_of_section_9_as_for_any_format():
    assert S.sign("photos/cat.jpg", width=320, blur="0.50", format="auto") == \
        vector("auto-blur-decimal")["path"]
    assert S.sign("photos/cat.jpg", width=100, dpr=1.005, flip="v", format="auto").endswith(
        "/w101_r180_flip.auto")
    for options, option in (({"width": 0}, "width"), ({"rotate": 45}, "rotate"),
                            ({"fit": "contain", "width": 1}, "fit"), ({"blur": 1.25}, "blur"),
                            ({"widht": 1}, "widht")):
        refused(option, S.sign, "photos/cat.jpg", {**options, "format": "auto"})
    refused("source", S.sign, "r/photos/cat.jpg", format="auto")


def test_output_size_is_the_same_for_every_choice():
    options = {"width": 400, "height": 400, "fit": "inside"}
    assert output_size("photos/cat.jpg", {**options, "format": "auto"}, 1600, 1200) == (400, 300)
    assert output_size("photos/cat.jpg", {**options, "format": "auto-alpha"}, 1600, 1200) == \
        output_size("photos/cat.jpg", {**options, "format": "png"}, 1600, 1200)


# ---- Length: an auto path counts as its longest negotiated key, 5 bytes more ----

def test_the_longest_auto_path_is_vector_auto_longest_path():
    v = vector("auto-longest-path")
    assert longest_source("auto", 5) == v["source"]
    assert S.sign(v["source"], v["options"]) == v["path"]
    assert len(v["path"]) - 1 + len(".avif") == 1024


@pytest.mark.parametrize("fmt", ["auto", "auto-alpha"])
def test_one_byte_over_is_refused_though_the_auto_path_and_its_choices_fit(fmt):
    fits = longest_source(fmt, 5)
    assert len(S.sign(fits, format=fmt)) - 1 == 1024 - 5
    over = fits + "a"  # its auto path would be 1,020 bytes, its .avif key 1,025
    message = refused("source", S.sign, over, format=fmt)
    assert message.endswith(f"(….{fmt}.avif) would be 1025 bytes, over 1024"), message
    refused("source", S.sign_canonical, over, "-", fmt)
    for concrete in CHOICES[fmt]:
        assert len(S.sign(over, format=concrete)) - 1 <= 1024, concrete


def test_a_source_whose_jpg_path_fits_and_whose_auto_path_would_without_the_5_bytes():
    source = longest_source("jpg", 1)  # 989 bytes
    assert len(S.sign(source, format="jpg")) - 1 == 1023
    # /-.auto is one byte longer than /-.jpg: 1,024 bytes, S3's limit, but its .avif key is 1,029.
    for fmt in ("auto", "AUTO", "auto-alpha"):
        refused("source", S.sign, source, format=fmt)
    refused("source", S.sign_canonical, source, "-", "auto")
