"""The Jinja2 filters and globals, rendered by a real autoescaping Jinja2 environment."""

import pytest

from conftest import KEYS, candidates, read_img, read_picture, require
from rendition_sign import RenditionError, Signer
from rendition_sign.jinja import install

jinja2 = require("jinja2")
BASE = "https://cdn.example.com"
POST = {"image": "photos/cat.jpg", "title": 'Tom & "Jerry" <3', "width": 1280, "height": 853}


@pytest.fixture
def env():
    env = jinja2.Environment(autoescape=True)
    install(env, keys=KEYS, base=BASE)
    return env


def render(env, text, **context):
    return env.from_string(text).render(**context)


def test_rendition_as_filter_and_global(env):
    url = f"{BASE}/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp"  # vector width-only
    assert render(env, '{{ post.image | rendition(width=640, format="webp") }}', post=POST) == url
    assert render(env, '{{ rendition(post.image, width=640, format="webp") }}', post=POST) == url


def test_rendition_srcset(env):
    html = render(env, '{{ post.image | rendition_srcset([320, 640], format="webp") }}', post=POST)
    assert html == Signer(KEYS, BASE).srcset("photos/cat.jpg", [320, 640], format="webp")
    assert [d for _, d in candidates(html)] == ["320w", "640w"]
    dense = render(env, '{{ rendition_srcset(post.image, "1x,2x", width=300) }}', post=POST)
    assert [d for _, d in candidates(dense)] == ["1x", "2x"]


def test_rendition_picture_is_markup_escaped_once(env):
    template = ('{{ post.image | rendition_picture(widths=[320, 640, 1920], sizes="100vw", '
                'alt=post.title, source_width=post.width, source_height=post.height, '
                'class="hero", loading="eager") }}')
    html = render(env, template, post=POST)
    assert html == Signer(KEYS, BASE).picture(
        "photos/cat.jpg", widths=[320, 640, 1920], sizes="100vw", alt=POST["title"],
        source_width=1280, source_height=853, attributes={"class": "hero", "loading": "eager"})
    sources, img = read_picture(html)
    assert img["alt"] == POST["title"] and "&amp;amp;" not in html
    assert (img["class"], img["loading"], img["width"], img["height"]) == \
        ("hero", "eager", "1280", "853")
    assert len(sources) == 2
    assert isinstance(env.filters["rendition_picture"]("a.jpg", widths=[1], sizes="1px", alt=""),
                      require("markupsafe").Markup)


def test_rendition_picture_auto_is_one_img(env):
    template = ('{{ post.image | rendition_picture(widths=[320, 640], sizes="100vw", alt=post.title, '
                'format="auto", loading="eager") }}')
    html = render(env, template, post=POST)
    assert html == Signer(KEYS, BASE).picture("photos/cat.jpg", widths=[320, 640], sizes="100vw",
                                              alt=POST["title"], format="auto",
                                              attributes={"loading": "eager"})
    img = read_img(html)
    assert img["alt"] == POST["title"] and img["loading"] == "eager" and "&amp;amp;" not in html
    assert img["src"] == BASE + "/r/photos/cat.jpg/k1.K7TTVGRZD0YEmoZhf9QT0Q/w640.auto"  # auto-width
    assert render(env, '{{ rendition(post.image, width=640, format="AUTO") }}', post=POST) == img["src"]


def test_rendition_picture_with_info_paints_its_placeholder(env):
    png = "data:image/png;base64,iVBORw0KGgo="
    post = {**POST, "info": {"width": 1280, "height": 853, "alpha": False, "placeholder": png}}
    template = ('{{ post.image | rendition_picture(widths=[320, 640, 1920], sizes="100vw", '
                'alt=post.title, info=post.info, format="auto") }}')
    html = render(env, template, post=post)
    assert html == Signer(KEYS, BASE).picture("photos/cat.jpg", widths=[320, 640, 1920],
                                              sizes="100vw", alt=POST["title"], format="auto",
                                              info=post["info"])
    img = read_img(html)
    assert (img["width"], img["height"]) == ("1280", "853")
    assert img["style"] == f"background-position:center;background-size:cover;background-image:url({png})"
    assert render(env, '{{ rendition(post.image, format="json") }}', post=POST) == \
        BASE + "/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json"  # vector info
    with pytest.raises(RenditionError) as refused:
        render(env, '{{ rendition_picture(post.image, widths=[64], sizes="64px", alt="", '
                    'placeholder="data:image/png;base64,x\\"><script>") }}', post=POST)
    assert refused.value.option == "placeholder"


def test_urls_are_text_that_autoescaping_escapes():
    env = jinja2.Environment(autoescape=True)
    install(env, keys=KEYS, base="https://cdn.example.com/a&b")
    html = render(env, '<img src="{{ "photos/cat.jpg" | rendition(width=64) }}">')
    assert html.startswith('<img src="https://cdn.example.com/a&amp;b/r/photos/cat.jpg/')
    picture = render(env, '{{ rendition_picture("photos/cat.jpg", widths=[64], sizes="64px", alt="") }}')
    assert "a&amp;b" in picture and "&amp;amp;" not in picture


def test_bad_options_are_refused_naming_them(env):
    with pytest.raises(RenditionError) as refused:
        render(env, '{{ "photos/cat.jpg" | rendition(widht=640) }}')
    assert refused.value.option == "widht"
    with pytest.raises(RenditionError) as refused:
        render(env, '{{ rendition_picture("photos/cat.jpg", widths=[64], sizes="64px", alt="", clas="x") }}')
    assert refused.value.option == "clas"
