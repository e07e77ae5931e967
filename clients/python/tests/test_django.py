"""The Django tags, rendered by a real Django template engine that finds them the documented
way: "rendition_sign" in INSTALLED_APPS, then {% load rendition %}."""

import json

import pytest

from conftest import KEYS, candidates, read_img, read_picture, require
from rendition_sign import RenditionError, Signer

django = require("django")
BASE = "https://cdn.example.com"
IMAGE = {"name": "photos/cat.jpg", "width": 1280, "height": 853, "alt": 'Tom & "Jerry" <3'}


@pytest.fixture(scope="module")
def render():
    from django.conf import settings
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=["rendition_sign"],
            TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
            RENDITION_KEYS=KEYS,
            RENDITION_BASE=BASE,
        )
        django.setup()
    from django.template import Context, Engine
    engine = Engine.get_default()  # the DjangoTemplates backend's, with its app libraries

    def render(text, **context):
        return engine.from_string("{% load rendition %}" + text).render(Context(context))
    return render


def test_rendition_url(render):
    html = render('<img src="{% rendition image.name width=640 format="webp" %}" alt="">',
                  image=IMAGE)
    # tests/vectors.json, vector width-only, behind RENDITION_BASE.
    assert html == f'<img src="{BASE}/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp" alt="">'
    assert render('{% rendition image.name width=100 dpr=1.005 %}', image=IMAGE) == \
        BASE + "/r/photos/cat.jpg/k1.cPdSnhdL6G_TR4Tx9JWbmA/w101.jpg"  # vector dpr-exact-decimal
    assert render('{% rendition image.name width=640 format="webp" as url %}[{{ url }}]',
                  image=IMAGE) == f"[{BASE}/r/photos/cat.jpg/k1._HGRXioFTelkzBSpBQkeLA/w640.webp]"


def test_rendition_srcset(render):
    html = render('{% rendition_srcset image.name "320,640" format="webp" %}', image=IMAGE)
    assert html == Signer(KEYS, BASE).srcset("photos/cat.jpg", [320, 640], format="webp")
    assert [d for _, d in candidates(html)] == ["320w", "640w"]


def test_rendition_picture_is_escaped_once(render):
    from rendition_sign.templatetags.rendition import rendition_picture
    from django.utils.safestring import SafeString
    template = ('{% rendition_picture image.name widths="320,640,1920" sizes="(min-width: 60em) '
                '50vw, 100vw" alt=image.alt source_width=image.width source_height=image.height '
                'class="hero" %}')
    html = render(template, image=IMAGE)
    # Exactly the markup picture() writes: Django added no escaping of its own.
    assert html == Signer(KEYS, BASE).picture(
        "photos/cat.jpg", widths="320,640,1920", sizes="(min-width: 60em) 50vw, 100vw",
        alt=IMAGE["alt"], source_width=1280, source_height=853, attributes={"class": "hero"})
    sources, img = read_picture(html)
    assert img["alt"] == IMAGE["alt"]  # escaped exactly once: &amp; in the markup, & when read
    assert "&amp;amp;" not in html and 'alt="Tom &amp; &quot;Jerry&quot; &lt;3"' in html
    assert (img["width"], img["height"]) == ("1280", "853")
    assert [d for _, d in candidates(img["srcset"])] == ["320w", "640w", "1280w"]
    assert img["src"] == BASE + Signer(KEYS).sign("photos/cat.jpg", width=1280)
    assert [a["type"] for a in sources] == ["image/avif", "image/webp"]
    assert img["class"] == "hero"
    assert render(template.replace("%}", "as pic %}") + "{{ pic }}", image=IMAGE) == html
    assert isinstance(rendition_picture("photos/cat.jpg", widths="320", sizes="100vw", alt=""),
                      SafeString)


def test_rendition_picture_auto_is_one_img(render):
    template = ('{% rendition_picture image.name widths="320,640,1920" sizes="100vw" alt=image.alt '
                'source_width=image.width source_height=image.height format=fmt class="hero" %}')
    for fmt in ("auto", "AUTO"):
        html = render(template, image=IMAGE, fmt=fmt)
        assert html == Signer(KEYS, BASE).picture(
            "photos/cat.jpg", widths="320,640,1920", sizes="100vw", alt=IMAGE["alt"],
            source_width=1280, source_height=853, format="auto", attributes={"class": "hero"})
        img = read_img(html)  # one <img>, no <picture>
        assert img["alt"] == IMAGE["alt"] and "&amp;amp;" not in html
        assert (img["width"], img["height"], img["class"]) == ("1280", "853", "hero")
        assert img["src"] == BASE + Signer(KEYS).sign("photos/cat.jpg", width=1280, format="auto")
        assert all(url.endswith(".auto") for url, _ in candidates(img["srcset"]))
    alpha = read_img(render('{% rendition_picture "icons/logo.png" densities="1x,2x" width=64 '
                            'height=64 alt="" format="auto-alpha" %}'))
    assert alpha["src"].endswith("/w128_h128.auto-alpha")
    assert render('{% rendition image.name width=640 format="auto" %}', image=IMAGE) == \
        BASE + "/r/photos/cat.jpg/k1.K7TTVGRZD0YEmoZhf9QT0Q/w640.auto"  # edge vector auto-width
    with pytest.raises(RenditionError) as refused:
        render('{% rendition_picture image.name widths="320" sizes="100vw" alt="" format="auto-a" %}',
               image=IMAGE)
    assert refused.value.option == "format"


def test_rendition_picture_with_info_paints_its_placeholder(render):
    png = "data:image/png;base64,iVBORw0KGgo="
    # As a JSONField gives it (a dict) or a TextField (the JSON text).
    info = {"width": 1280, "height": 853, "alpha": False, "placeholder": png}
    template = ('{% rendition_picture image.name widths="320,640,1920" sizes="100vw" alt=image.alt '
                'info=info style="max-width:100%" %}')
    for given in (info, json.dumps(info)):
        html = render(template, image=IMAGE, info=given)
        assert html == Signer(KEYS, BASE).picture(
            "photos/cat.jpg", widths="320,640,1920", sizes="100vw", alt=IMAGE["alt"], info=info,
            attributes={"style": "max-width:100%"})
        _, img = read_picture(html)
        assert (img["width"], img["height"]) == ("1280", "853")
        assert img["style"] == ("background-position:center;background-size:cover;"
                                f"background-image:url({png});max-width:100%")
    img = read_img(render('{% rendition_picture image.name widths="320" sizes="100vw" alt="" '
                          'format="auto" placeholder=p %}', image=IMAGE, p=png))
    assert img["style"].endswith(f"url({png})")
    assert render('{% rendition image.name format="json" %}', image=IMAGE) == \
        BASE + "/r/photos/cat.jpg/k1.YNaIActqLXynbAotwOgT4w/-.json"  # vector info
    with pytest.raises(RenditionError) as refused:
        render('{% rendition_picture image.name widths="320" sizes="100vw" alt="" placeholder=p %}',
               image=IMAGE, p='data:image/png;base64,x);background:url(//tracker.example/')
    assert refused.value.option == "placeholder"


def test_urls_are_text_that_django_escapes(render):
    from django.test import override_settings
    with override_settings(RENDITION_BASE="https://cdn.example.com/a&b"):
        html = render('{% rendition image.name width=640 %}', image=IMAGE)
        assert html.startswith("https://cdn.example.com/a&amp;b/r/photos/cat.jpg/")
        raw = render('{% autoescape off %}{% rendition image.name width=640 %}{% endautoescape %}',
                     image=IMAGE)
        assert raw == html.replace("&amp;", "&")


def test_settings_are_read_when_a_tag_renders(render):
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings
    with override_settings(RENDITION_KEYS="k0:fedcba9876543210fedcba9876543210", RENDITION_BASE=""):
        assert render('{% rendition image.name width=640 height=360 %}', image=IMAGE) == \
            "/r/photos/cat.jpg/k0.XLXXqRSk8BjY2WtcG1_74g/w640_h360.jpg"  # vector older-key-k0
    with override_settings(RENDITION_KEYS=None):
        with pytest.raises(ImproperlyConfigured, match="RENDITION_KEYS"):
            render('{% rendition image.name %}', image=IMAGE)


def test_bad_options_are_refused_naming_them(render):
    with pytest.raises(RenditionError) as refused:
        render('{% rendition image.name widht=640 %}', image=IMAGE)
    assert refused.value.option == "widht"
    with pytest.raises(RenditionError) as refused:
        render('{% rendition_picture image.name widths="320" alt="" %}', image=IMAGE)
    assert refused.value.option == "sizes"
