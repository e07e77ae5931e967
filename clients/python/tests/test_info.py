"""The info request (docs/url-format.md §14): format json and sign_info(), and the placeholder that
picture() paints behind its <img> from the info's answer or a data URL, never anything else. The
vectors of tests/vectors.json and tests/signer-vectors.json run in test_vectors.py."""

import json
import re

import pytest

from conftest import KEYS
from rendition_sign import RenditionError, Signer, picture, placeholder_style, resolve, sign_info

S = Signer(KEYS)

# A 1×1 PNG, standard base64 with padding, as the server writes placeholders.
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ"
       "/pLvAAAAAElFTkSuQmCC")
STYLE = f"background-position:center;background-size:cover;background-image:url({PNG})"
# What the server answers (§14.2), with a member this client doesn't know.
INFO = {"alpha": False, "format": "jpeg", "frames": 1, "height": 300, "width": 400,
        "thumbhash": "HAkOFZpwh4eAeYiXh3iHiNAwDPh4", "placeholder": PNG, "later": "ignored"}
PARAMS = {"widths": [200, 400, 800], "sizes": "100vw", "alt": "A cat"}


def refused(option, call, *args, says=None, **kwargs):
    with pytest.raises(RenditionError) as error:
        call(*args, **kwargs)
    assert error.value.option == option, str(error.value)
    assert says is None or says in str(error.value), str(error.value)
    return error.value


def img(markup):
    """The <img> tag's attributes in order, values as written."""
    tag = re.search(r"<img( [^>]*)>", str(markup))
    assert tag, markup
    return re.findall(r' ([a-z]+)="([^"]*)"', tag.group(1))


def style(markup):
    return dict(img(markup)).get("style")


# ---- format json ----

def test_format_json_any_case_never_the_default_version_or_etag_only():
    assert S.sign("photos/cat.jpg", format="json") == \
        "/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json"
    assert S.sign("photos/cat.jpg", format="Json", version="3f2a9c") == \
        "/r/photos/cat.jpg/k1.NKwGDyFio8yqbNAvosARAA/v3f2a9c.json"
    assert resolve("photos/cat.jpg", {"format": "json", "etag": '"abc-2"'}).segment == "vabc2"
    refused("format", S.sign, "data/cat.json")
    assert S.sign("photos/cat.jpg", format="json", width=None) == S.sign("photos/cat.jpg", format="json")


@pytest.mark.parametrize("name, value", [
    ("width", 640), ("height", 480), ("dpr", 2), ("fit", "cover"), ("enlarge", False),
    ("gravity", "centre"), ("quality", 80), ("background", "fff"), ("rotate", 0), ("flip", "h"),
    ("blur", 1), ("sharpen", 1)])
def test_format_json_refuses_every_other_option_naming_it(name, value):
    refused(name, S.sign, "photos/cat.jpg", {"format": "json", name: value},
            says="an info request (format json) describes the source")


def test_sign_canonical_takes_a_version_alone_lower_case():
    assert S.sign_canonical("photos/cat.jpg", "v3f2a9c", "json") == \
        "/r/photos/cat.jpg/k1.NKwGDyFio8yqbNAvosARAA/v3f2a9c.json"
    refused("width", S.sign_canonical, "photos/cat.jpg", "w640", "json")
    refused("format", S.sign_canonical, "photos/cat.jpg", "-", "JSON")
    refused("ops", S.sign_canonical, "photos/cat.jpg", "-.auto", "json")


def test_sign_info():
    path = "/r/photos/cat.jpg/k1.vnki0egWlMb818TrjmMtqA/v5d41402abc4b2a76b9719d911017c592.json"
    etag = 'W/"5d41402abc4b2a76b9719d911017c592"'  # vector info-etag
    assert S.sign_info("photos/cat.jpg", etag=etag) == path
    assert S.sign_info("photos/cat.jpg", {"etag": etag, "format": "JSON"}) == path
    assert sign_info("photos/cat.jpg", keys=KEYS, base="https://cdn.example.com/") == \
        "https://cdn.example.com/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json"
    refused("format", S.sign_info, "photos/cat.jpg", format="webp")
    refused("width", S.sign_info, "photos/cat.jpg", width=10)


def test_srcset_and_picture_refuse_format_json_naming_format():
    refused("format", S.srcset, "photos/cat.jpg", [320, 640], format="json", says="sign_info()")
    refused("width", S.srcset, "photos/cat.jpg", ["1x", "2x"], format="json", width=10)
    refused("format", S.picture, "photos/cat.jpg", widths=[320], sizes="1px", alt="",
            format="JSON", says="sign_info()")


# ---- the placeholder ----

def test_info_gives_the_size_and_the_placeholder_as_the_img_background():
    with_info = S.picture("photos/cat.jpg", PARAMS, info=INFO)
    plain = S.picture("photos/cat.jpg", PARAMS, source_width=400, source_height=300)
    assert with_info == plain.replace('decoding="async"', f'decoding="async" style="{STYLE}"')
    assert [name for name, _ in img(with_info)] == [
        "src", "srcset", "sizes", "width", "height", "alt", "loading", "decoding", "style"]
    assert dict(img(with_info))["width"] == "400"  # 800 is more than the source has
    assert S.picture("photos/cat.jpg", PARAMS, info=json.dumps(INFO)) == with_info
    assert S.picture("photos/cat.jpg", PARAMS, info=json.dumps(INFO).encode()) == with_info
    assert placeholder_style(PNG) == STYLE


def test_source_size_wins_over_info_and_placeholder_over_its_placeholder():
    other = "data:image/jpeg;base64,/9j/4AAQ"
    markup = S.picture("photos/cat.jpg", PARAMS, info=INFO, source_width=1600,
                       source_height=1200, placeholder=other)
    assert dict(img(markup))["width"] == "800"
    assert style(markup) == \
        f"background-position:center;background-size:cover;background-image:url({other})"


def test_a_placeholder_alone_with_format_auto_and_with_densities():
    auto = S.picture("photos/cat.jpg", PARAMS, format="auto", placeholder=PNG)
    assert auto.startswith("<img ") and style(auto) == STYLE
    fixed = S.picture("photos/cat.jpg", width=300, densities=["1x", "2x"], alt="", info=INFO)
    assert (dict(img(fixed))["width"], dict(img(fixed))["height"]) == ("300", "225")
    assert style(fixed) == STYLE


def test_info_without_placeholder_and_a_transparent_source_give_the_size_alone():
    bare = {k: v for k, v in INFO.items() if k != "placeholder"}
    assert style(S.picture("photos/cat.jpg", PARAMS, info=bare)) is None
    # Behind a transparent image the placeholder would show through for good, once it loaded.
    logo = S.picture("icons/logo.png", PARAMS, info={**INFO, "alpha": True})
    assert style(logo) is None and dict(img(logo))["height"] == "300"
    # Given on its own, a placeholder is the caller's choice.
    assert style(S.picture("icons/logo.png", PARAMS, info={**INFO, "alpha": True},
                           placeholder=PNG)) == STYLE


def test_the_pages_own_style_follows_the_placeholders_declarations():
    markup = S.picture("photos/cat.jpg", PARAMS, info=INFO,
                       attributes={"class": "hero", "style": "max-width:100%"})
    assert img(markup)[-2:] == [("style", f"{STYLE};max-width:100%"), ("class", "hero")]
    for none in ("", None, False):
        assert style(S.picture("photos/cat.jpg", PARAMS, info=INFO, attributes={"style": none})) == STYLE
    own = S.picture("photos/cat.jpg", PARAMS, attributes={"class": "hero", "style": "x"})
    assert img(own)[-2:] == [("class", "hero"), ("style", "x")]
    refused("attributes", S.picture, "photos/cat.jpg", PARAMS, info=INFO, attributes={"style": 3})


ATTEMPTS = [
    "data:image/png;base64,abc)",  # leaves url()
    "data:image/png;base64,abc);background:url(https://tracker.example/x",
    'data:image/png;base64,"><script>alert(1)</script>',
    "data:image/png;base64,abc'",
    "data:image/png;base64,ab cd",
    "data:image/png;base64,abc\n",
    "data:image/png;base64,abc<",
    "data:image/png;base64,abc\\29",
    "data:image/png;base64,",
    "data:image/png,iVBOR",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "data:text/html;base64,PHNjcmlwdD4=",
    "DATA:image/png;base64,iVBOR",
    "https://example.com/p.png",
    "javascript:alert(1)",
    "",
    42,
    True,
    b"data:image/png;base64,iVBOR",
]


@pytest.mark.parametrize("bad", ATTEMPTS, ids=range(len(ATTEMPTS)))
def test_only_an_image_data_url_in_base64_gets_in(bad):
    refused("placeholder", S.picture, "photos/cat.jpg", PARAMS, placeholder=bad)
    refused("info", S.picture, "photos/cat.jpg", PARAMS, info={**INFO, "placeholder": bad})


def test_placeholder_refusals_quote_a_long_value_in_part():
    refused("placeholder", placeholder_style, "x)")
    e = refused("placeholder", S.picture, "photos/cat.jpg", PARAMS, placeholder=PNG + ")" + "A" * 5000)
    assert len(str(e)) < 300


@pytest.mark.parametrize("bad", ['{"width": 400', "[]", [], 7, {"width": 400},
                                 {"width": 0, "height": 3}, {"width": 4.5, "height": 3},
                                 {"width": "400", "height": "300"}, {"width": True, "height": 3}])
def test_info_must_be_the_info_requests_answer(bad):
    refused("info", S.picture, "photos/cat.jpg", PARAMS, info=bad)


def test_a_half_given_source_size_is_still_refused():
    refused("source_height", S.picture, "photos/cat.jpg", PARAMS, info=INFO, source_width=10)


def test_the_top_level_function_writes_the_same():
    params = {**PARAMS, "info": INFO, "format": "auto-alpha"}
    assert picture("icons/logo.png", params, keys=KEYS) == S.picture("icons/logo.png", params)
