"""Django template tags: {% load rendition %} once "rendition_sign" is in INSTALLED_APPS.

    {% rendition image.name width=640 format="webp" %}
    {% rendition_srcset image.name "320,640,1280" format="webp" %}
    {% rendition_picture image.name widths="320,640,1280" sizes="(min-width: 60em) 50vw, 100vw" alt=image.alt source_width=image.width source_height=image.height %}
    {% rendition_picture image.name widths="320,640,1280" sizes="100vw" alt=image.alt format="auto" %}

    {% rendition_picture image.name widths="320,640,1280" sizes="100vw" alt=image.alt info=image.info %}

format="auto" (or "auto-alpha", for images that may be transparent) signs URLs that the CDN
answers with AVIF, WebP or JPEG (PNG) by the browser's Accept header: rendition_picture then
writes one <img>, no <picture>. info is the info request's answer (a mapping or its JSON text;
{% rendition image.name format="json" %} is its URL): it gives the source's size and a
placeholder that the <img> paints as its background; placeholder= gives a data URL instead.

Keys come from settings.RENDITION_KEYS (RENDITION_KEYS's format, ID:SECRET[,…]; read it from the
environment in settings.py, never commit it) and the CDN origin from settings.RENDITION_BASE.
Both are read when a tag renders, so override_settings works. The URL tags return text, which
Django escapes like any other; rendition_picture returns markup escaped already (SafeString).
Each tag accepts `as name` to store its result instead of printing it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.safestring import SafeString

from ..client import Signer
from ..markup import template_params

register = template.Library()


@lru_cache(maxsize=8)
def _signer_for(keys: str, base: str) -> Signer:
    return Signer(keys, base)


def _signer() -> Signer:
    keys = getattr(settings, "RENDITION_KEYS", None)
    if not keys or not isinstance(keys, str):
        raise ImproperlyConfigured(
            "RENDITION_KEYS is not set: give settings.RENDITION_KEYS the key list the renderer "
            "has (ID:SECRET[,ID:SECRET…]), read from the environment, not written in settings.py")
    return _signer_for(keys, getattr(settings, "RENDITION_BASE", "") or "")


@register.simple_tag
def rendition(source: str, **options: Any) -> str:
    """The URL of one rendition: {% rendition image.name width=640 format="webp" %}."""
    return _signer().sign(source, options)


@register.simple_tag
def rendition_srcset(source: str, items: Any, **options: Any) -> str:
    """A srcset value: {% rendition_srcset image.name "320,640" format="webp" %} or "1x,2x"."""
    return _signer().srcset(source, items, options)


@register.simple_tag
def rendition_picture(source: str, **params: Any) -> SafeString:
    """<picture> markup: {% rendition_picture image.name widths="320,640" sizes="100vw" alt="…" %},
    or one <img> with format="auto" or "auto-alpha". class, id, style, title, loading, decoding,
    fetchpriority, referrerpolicy and crossorigin go to the <img>; info=image.info paints its
    placeholder behind it."""
    return SafeString(_signer().picture(source, template_params(params)))
