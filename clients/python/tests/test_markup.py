"""srcset(), picture() and output_size(): the markup read back by html.parser, every URL checked
against sign(), and the width/height arithmetic against src/plan.rs's own tables."""

import pytest

from conftest import KEYS, candidates, read_img, read_picture
from rendition_sign import Html, RenditionError, Signer, output_size, picture, srcset

S = Signer(KEYS)


def refused(option, call, *args, **kwargs):
    with pytest.raises(RenditionError) as error:
        call(*args, **kwargs)
    assert error.value.option == option, str(error.value)


# src/plan.rs: output_sizes_for_every_fit_and_one_sided_sizes.
PLAIN = [
    (400, None, "cover", (1600, 1200), (400, 300)),
    (None, 300, "cover", (1600, 1200), (400, 300)),
    (None, None, "cover", (1600, 1200), (1600, 1200)),
    (333, None, "cover", (1000, 1000), (333, 333)),
    (400, 400, "cover", (1600, 1200), (400, 400)),
    (400, 400, "contain", (1600, 1200), (400, 400)),
    (400, 400, "fill", (1600, 1200), (400, 400)),
    (400, 400, "inside", (1600, 1200), (400, 300)),
    (400, 400, "outside", (1600, 1200), (533, 400)),
    (3200, 100, "inside", (1600, 1200), (133, 100)),
    (10, 10, "contain", (1000, 1), (1, 1)),
    (10, 1, "contain", (1000, 1), (10, 1)),
    (1, None, "cover", (1000, 1), (1, 1)),
]
# src/plan.rs: outputs_are_never_larger_than_the_source_unless_enlarge_is_asked.
CAPPED = [
    (1920, None, "cover", (1280, 853), (1280, 853), (1920, 1280)),
    (None, 2000, "cover", (1280, 853), (1280, 853), (3001, 2000)),
    (2000, 1000, "cover", (1280, 853), (1280, 640), (2000, 1000)),
    (2000, 1000, "contain", (1280, 853), (1280, 640), (2000, 1000)),
    (2000, 1000, "fill", (1280, 853), (1280, 640), (2000, 1000)),
    (1000, 1000, "cover", (1280, 853), (853, 853), (1000, 1000)),
    (2000, 1000, "inside", (1280, 853), (1280, 853), (1501, 1000)),
    (2000, 1000, "outside", (1280, 853), (1280, 853), (2000, 1333)),
    (640, 2000, "outside", (1280, 853), (1280, 853), (3001, 2000)),
    (640, 360, "cover", (1280, 853), (640, 360), (640, 360)),
    (1280, None, "cover", (1280, 853), (1280, 853), (1280, 853)),
]


def size(options, source):
    return tuple(output_size("photos/cat.jpg", options, *source))


@pytest.mark.parametrize("width, height, fit, source, out", PLAIN)
def test_output_size(width, height, fit, source, out):
    assert size({"width": width, "height": height, "fit": fit if width and height else None},
                source) == out


@pytest.mark.parametrize("width, height, fit, source, kept, enlarged", CAPPED)
def test_output_size_is_capped_unless_enlarged(width, height, fit, source, kept, enlarged):
    options = {"width": width, "height": height, "fit": fit if width and height else None}
    assert size(options, source) == kept
    assert size({**options, "enlarge": True}, source) == enlarged


def test_output_size_turns_and_dpr():
    assert size({"width": 400, "rotate": 90}, (1600, 1200)) == (400, 533)
    assert size({"width": 400, "rotate": -90}, (1600, 1200)) == (400, 533)
    assert size({"width": 400, "flip": "v"}, (1600, 1200)) == (400, 300)  # a half turn
    assert size({"width": 400, "dpr": 2}, (1600, 1200)) == (800, 600)
    assert size({"width": 400, "dpr": 8}, (1600, 1200)) == (1600, 1200)
    # Halves round up, as the renderer's f64 rounding does, where Python's round() gives the
    # even neighbour: 2.5 is 3, not 2.
    assert size({"width": 2}, (4, 5)) == (2, 3)
    assert size({"height": 5, "enlarge": True}, (1, 2)) == (3, 5)


def test_output_size_needs_the_source_in_whole_pixels():
    refused("source_width", output_size, "a.jpg", {}, 0, 10)
    refused("source_height", output_size, "a.jpg", {}, 10, 2.5)
    refused("widht", output_size, "a.jpg", {"widht": 1}, 10, 10)


def test_srcset_widths_as_rendition_sign_writes_them():
    assert candidates(S.srcset("photos/cat.jpg", [320, 640], format="webp")) == [
        (S.sign("photos/cat.jpg", width=320, format="webp"), "320w"),
        ("/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp", "640w"),  # vector width-only
    ]
    assert S.srcset("photos/cat.jpg", "320, 640", {"format": "webp"}) == \
        S.srcset("photos/cat.jpg", [320, 640], format="webp")


def test_srcset_box_keeps_its_aspect_ratio():
    got = candidates(S.srcset("photos/cat.jpg", [320, 641], width=640, height=360))
    assert got[0][0] == S.sign("photos/cat.jpg", width=320, height=180)
    assert got[1][0] == S.sign("photos/cat.jpg", width=641, height=361)  # 360.5625


def test_srcset_densities_multiply_dpr_exactly():
    got = candidates(S.srcset("photos/cat.jpg", ["1x", "1.50x", "2x"], width=300, dpr="1.005"))
    assert [d for _, d in got] == ["1x", "1.5x", "2x"]
    assert [u for u, _ in got] == [S.sign("photos/cat.jpg", width=w) for w in (302, 452, 603)]


def test_srcset_with_the_source_size():
    photo = {"source_width": 1280, "source_height": 853}
    assert candidates(S.srcset("photos/cat.jpg", [640, 1280, 1920, 2560], format="webp", **photo)) == [
        (S.sign("photos/cat.jpg", width=640, format="webp"), "640w"),
        (S.sign("photos/cat.jpg", width=1280, format="webp"), "1280w"),
    ]
    assert candidates(S.srcset("photos/cat.jpg", [1000, 2000], width=2, height=1, **photo)) == [
        (S.sign("photos/cat.jpg", width=1000, height=500), "1000w"),
        (S.sign("photos/cat.jpg", width=1280, height=640), "1280w"),
    ]
    dense = S.srcset("photos/cat.jpg", "1x,2x,3x", width=500, source_width=800, source_height=600)
    assert [d for _, d in candidates(dense)] == ["1x", "2x"]


def test_srcset_refusals():
    refused("srcset", S.srcset, "a.jpg", [320, "2x"], width=100)
    refused("srcset", S.srcset, "a.jpg", ["2x"])
    refused("dpr", S.srcset, "a.jpg", [320], dpr=2)
    refused("srcset", S.srcset, "a.jpg", [320], width=100)
    refused("srcset", S.srcset, "a.jpg", [])
    refused("srcset", S.srcset, "a.jpg", ["320px"])
    refused("srcset", S.srcset, "a.jpg", [True])
    refused("width", S.srcset, "a.jpg", [0])
    refused("rotate", S.srcset, "a.jpg", [320], rotate=45)


def test_srcset_of_auto_paths():
    # The same candidates as any format: one URL per width, for every browser.
    assert candidates(S.srcset("photos/cat.jpg", [320, 640], format="auto")) == [
        (S.sign("photos/cat.jpg", width=320, format="auto"), "320w"),
        ("/r/photos/cat.jpg/k1.K7TTVGRZD0YEmoZhf9QT0Q/w640.auto", "640w"),  # edge vector auto-width
    ]
    capped = S.srcset("photos/cat.jpg", [640, 1920], format="AUTO", quality=60, source_width=1280,
                      source_height=853)
    assert candidates(capped) == [
        ("/r/photos/cat.jpg/k1.ifvdjQudtvBdNA3nuH5MAA/w640_q60.auto", "640w"),  # auto-quality
        (S.sign("photos/cat.jpg", width=1280, quality=60, format="auto"), "1280w"),
    ]
    dense = S.srcset("icons/logo.png", ["1x", "2x"], width=64, format="Auto-Alpha")
    assert candidates(dense) == [
        ("/r/icons/logo.png/k1.i6a35-WlGmmrn8H48kzc_A/w64.auto-alpha", "1x"),  # auto-format-any-case
        (S.sign("icons/logo.png", width=128, format="auto-alpha"), "2x"),
    ]
    refused("format", S.srcset, "photos/cat.jpg", [320], format="auto-a")
    refused("quality", S.srcset, "photos/cat.jpg", [320], format="auto", quality=0)


def test_base_is_the_cdn_origin():
    cdn = Signer(KEYS, base="https://cdn.example.com/")
    assert cdn.sign("photos/cat.jpg", width=640) == \
        "https://cdn.example.com" + S.sign("photos/cat.jpg", width=640)
    assert all(c.startswith("https://cdn.example.com/r/")
               for c in cdn.srcset("photos/cat.jpg", [320, 640]).split(", "))
    refused("base", Signer, KEYS, base="https://cdn.example.com/?x=1")


PARAMS = {
    "widths": [320, 640, 1280, 1920],
    "sizes": "(min-width: 60em) 50vw, 100vw",
    "alt": "Tom & \"Jerry\" <3 'cheese'",
    "source_width": 1280,
    "source_height": 853,
    "quality": 70,
}


def test_picture_sources_and_img_signed_as_sign_signs():
    markup = S.picture("photos/cat.jpg", PARAMS)
    assert isinstance(markup, Html) and markup.__html__() == str(markup)
    sources, img = read_picture(markup)
    assert [a["type"] for a in sources] == ["image/avif", "image/webp"]
    for attrs, fmt in ((sources[0], "avif"), (sources[1], "webp"), (img, "jpg")):
        assert attrs["sizes"] == PARAMS["sizes"]
        assert candidates(attrs["srcset"]) == [
            (S.sign("photos/cat.jpg", width=w, quality=70, format=fmt), f"{w}w")
            for w in (320, 640, 1280)]
    assert img["src"] == S.sign("photos/cat.jpg", width=1280, quality=70, format="jpg")
    assert img["alt"] == PARAMS["alt"]
    assert (img["width"], img["height"], img["loading"], img["decoding"]) == \
        ("1280", "853", "lazy", "async")


def attrs(**params):
    _, img = read_picture(S.picture("photos/cat.jpg", alt="", sizes="100vw", **params))
    return img.get("width"), img.get("height")


def test_picture_width_and_height_follow_box_fit_and_cap():
    photo = {"source_width": 1280, "source_height": 853}
    assert attrs(widths=[400, 800], width=16, height=9, **photo) == ("800", "450")
    assert attrs(widths=[400, 2000], width=16, height=9, **photo) == ("1280", "720")
    assert attrs(widths=[400, 2000], width=16, height=9, enlarge=True, **photo) == ("2000", "1125")
    assert attrs(widths=[400, 800], width=1, height=1, fit="inside", **photo) == ("800", "533")
    assert attrs(widths=[600], width=1, height=1, fit="contain", **photo) == ("600", "600")
    assert attrs(widths=[400, 2000], rotate=90, **photo) == ("853", "1280")
    assert attrs(widths=[400, 800], width=4, height=3) == ("800", "600")
    assert attrs(widths=[400, 800]) == (None, None)


def test_picture_densities():
    sources, img = read_picture(S.picture("avatars/ada.png", densities=["1x", "2x"], width=64,
                                          height=64, alt="Ada", formats=["webp"]))
    assert candidates(img["srcset"]) == [
        (S.sign("avatars/ada.png", width=64, height=64), "1x"),
        (S.sign("avatars/ada.png", width=64, height=64, dpr=2), "2x"),
    ]
    assert img["src"].endswith("/w128_h128.png")
    assert len(sources) == 1 and "sizes" not in sources[0]
    assert (img["width"], img["height"], img.get("sizes")) == ("64", "64", None)
    _, small = read_picture(S.picture("avatars/ada.png", densities="1x,2x", width=64, alt="",
                                      source_width=100, source_height=50))
    assert (small["width"], small["height"]) == ("64", "32")


def test_picture_png_fallback_and_quality_for_lossy_formats_only():
    sources, img = read_picture(S.picture("logos/brand.png", widths=[200], sizes="200px",
                                          alt="Brand", quality=60))
    assert all(a["srcset"].endswith(("_q60.avif 200w", "_q60.webp 200w")) for a in sources)
    assert img["src"].endswith("/w200.png")
    _, img = read_picture(S.picture("photos/cat.jpg", widths=[200], sizes="200px", alt="",
                                    fallback="PNG"))
    assert img["src"].endswith("/w200.png")


def test_picture_attributes_added_replaced_removed_escaped():
    _, img = read_picture(S.picture("photos/cat.jpg", widths=[320], sizes="320px", alt="",
                                    attributes={"class": 'hero "big"', "loading": "eager",
                                                "decoding": None, "hidden": True, "width": 10}))
    assert img["class"] == 'hero "big"' and img["loading"] == "eager"
    assert "decoding" not in img and img["hidden"] is None and img["width"] == "10"
    refused("attributes", S.picture, "a.jpg", widths=[1], sizes="1px", alt="",
            attributes={"src": "x"})
    refused("attributes", S.picture, "a.jpg", widths=[1], sizes="1px", alt="",
            attributes={'on"click': "x"})


def test_picture_escapes_a_base_with_an_ampersand():
    markup = Signer(KEYS, base="https://cdn.example.com/a&b").picture(
        "photos/cat.jpg", widths=[320], sizes="320px", alt="")
    assert "a&b" not in markup
    assert read_picture(markup)[1]["src"].startswith("https://cdn.example.com/a&b/r/")


def test_picture_refusals():
    base = {"widths": [320], "sizes": "100vw", "alt": ""}
    refused("sizes", S.picture, "a.jpg", {**base, "sizes": None})
    refused("alt", S.picture, "a.jpg", {**base, "alt": None})
    refused("widths", S.picture, "a.jpg", {**base, "densities": ["2x"]})
    refused("widths", S.picture, "a.jpg", alt="")
    refused("sizes", S.picture, "a.jpg", densities=["1x"], sizes="1px", alt="", width=1)
    refused("format", S.picture, "a.jpg", {**base, "format": "webp"})
    refused("formats", S.picture, "a.jpg", {**base, "formats": ["webp", "tiff"]})
    refused("formats", S.picture, "a.jpg", {**base, "formats": ["jpg"]})
    refused("widht", S.picture, "a.jpg", {**base, "widht": 3})
    refused("source_height", S.picture, "a.jpg", {**base, "source_width": 100})
    refused("source", S.picture, "r/a.jpg", base)


def test_picture_auto_is_one_img():
    markup = S.picture("photos/cat.jpg", PARAMS, format="auto")
    assert isinstance(markup, Html)
    img = read_img(markup)
    assert list(img) == ["src", "srcset", "sizes", "width", "height", "alt", "loading", "decoding"]
    assert candidates(img["srcset"]) == [
        (S.sign("photos/cat.jpg", width=w, quality=70, format="auto"), f"{w}w")
        for w in (320, 640, 1280)]
    assert img["src"] == S.sign("photos/cat.jpg", width=1280, quality=70, format="auto")
    assert img["src"].endswith("/w1280_q70.auto")
    assert (img["sizes"], img["alt"], img["width"], img["height"], img["loading"],
            img["decoding"]) == (PARAMS["sizes"], PARAMS["alt"], "1280", "853", "lazy", "async")
    # The <picture>'s own <img>, with auto URLs: its other attributes unchanged.
    _, pictured = read_picture(S.picture("photos/cat.jpg", PARAMS))
    assert {**img, "src": None, "srcset": None} == {**pictured, "src": None, "srcset": None}


def test_picture_auto_alpha_any_case_densities_and_attributes():
    img = read_img(S.picture("icons/logo.png", densities=["1x", "2x"], width=128, quality=70,
                             alt="Logo", format="AUTO-ALPHA", attributes={"class": "logo"}))
    assert candidates(img["srcset"]) == [
        ("/r/icons/logo.png/k1.tN-M9jraQetfeNNA2-rIUw/w128_q70.auto-alpha", "1x"),  # auto-alpha-quality
        (S.sign("icons/logo.png", width=256, quality=70, format="auto-alpha"), "2x"),
    ]
    assert img["src"].endswith("/w256_q70.auto-alpha")
    # Without the source's size a width alone doesn't say the height: no width and height.
    assert (img.get("width"), img.get("height"), img.get("sizes"), img["class"]) ==         (None, None, None, "logo")
    boxed = read_img(S.picture("icons/logo.png", densities="1x", width=64, height=64, alt="",
                               format="auto-alpha"))
    assert (boxed["width"], boxed["height"]) == ("64", "64")
    assert boxed["src"] == S.sign("icons/logo.png", width=64, height=64, format="auto-alpha")


def test_picture_auto_refusals():
    base = {"widths": [320], "sizes": "100vw", "alt": ""}
    refused("formats", S.picture, "a.jpg", {**base, "format": "auto", "formats": ["webp"]})
    refused("fallback", S.picture, "a.jpg", {**base, "format": "auto", "fallback": "jpg"})
    for fmt in ("auto-a", "AUTO-ALPHA-X", "autoalpha", "tiff", 3):
        refused("format", S.picture, "a.jpg", {**base, "format": fmt})
    with pytest.raises(RenditionError, match="'auto-a' is not auto or auto-alpha"):
        S.picture("a.jpg", {**base, "format": "auto-a"})
    # A concrete format still means <picture> markup, formats and fallback.
    for fmt in ("webp", "JPEG", "avif"):
        refused("format", S.picture, "a.jpg", {**base, "format": fmt})
    for fmt in ("auto", "Auto-Alpha"):
        refused("formats", S.picture, "a.jpg", {**base, "formats": ["avif", fmt]})
        refused("fallback", S.picture, "a.jpg", {**base, "fallback": fmt})
    refused("quality", S.picture, "a.jpg", {**base, "format": "auto", "quality": 101})
    refused("sizes", S.picture, "a.jpg", {**base, "format": "auto", "sizes": None})
    refused("attributes", S.picture, "a.jpg", {**base, "format": "auto", "attributes": {"src": "x"}})
    # Unset is unset: a None format is <picture> markup as before.
    assert S.picture("a.jpg", {**base, "format": None}).startswith("<picture>")


def test_module_functions_match_the_signer():
    assert picture("photos/cat.jpg", PARAMS, keys=KEYS) == S.picture("photos/cat.jpg", PARAMS)
    assert srcset("photos/cat.jpg", [1, 2], keys=KEYS) == S.srcset("photos/cat.jpg", [1, 2])
    assert picture("photos/cat.jpg", PARAMS, keys=KEYS, format="auto") == \
        S.picture("photos/cat.jpg", PARAMS, format="auto")
