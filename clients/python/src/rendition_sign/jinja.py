"""Jinja2 filters and globals, for Flask and static site generators:

    from rendition_sign.jinja import install
    install(app.jinja_env, keys=os.environ["RENDITION_KEYS"], base="https://cdn.example.com")

    <img src="{{ post.image | rendition(width=640, format='webp') }}" alt="">
    <img srcset="{{ post.image | rendition_srcset([320, 640], format='webp') }}" sizes="100vw" …>
    {{ post.image | rendition_picture(widths=[320, 640, 1280], sizes="100vw", alt=post.title) }}
    {{ post.image | rendition_picture(widths=[320, 640, 1280], sizes="100vw", alt=post.title, format="auto") }}
    {{ post.image | rendition_picture(widths=[320, 640, 1280], sizes="100vw", alt=post.title, info=post.info) }}

Each is also a global: {{ rendition(post.image, width=640) }}. With format="auto" (or
"auto-alpha") rendition_picture writes one <img>, no <picture>. rendition_picture passes class,
id, style, title, loading, decoding, fetchpriority, referrerpolicy and crossorigin to the <img>;
info (the info request's answer, whose URL is rendition(post.image, format="json")) gives the
source's size and a placeholder painted behind the <img>. The URL helpers return text,
which autoescaping escapes like any other; rendition_picture returns Markup, escaped already.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from markupsafe import Markup

from .client import Signer
from .markup import Items, template_params
from .signer import Key


def install(env: Any, keys: Union[str, Sequence[Key]], base: Optional[str] = "") -> Signer:
    """Adds rendition, rendition_srcset and rendition_picture to `env` (a jinja2.Environment)
    as filters and globals, signing with `keys`; returns the Signer they use."""
    signer = Signer(keys, base)

    def rendition(source: str, **options: Any) -> str:
        return signer.sign(source, options)

    def rendition_srcset(source: str, items: Items, **options: Any) -> str:
        return signer.srcset(source, items, options)

    def rendition_picture(source: str, **params: Any) -> Markup:
        return Markup(signer.picture(source, template_params(params)))

    for helper in (rendition, rendition_srcset, rendition_picture):
        env.filters[helper.__name__] = helper
        env.globals[helper.__name__] = helper
    return signer
