"""rendition_sign: signed rendition URLs for sites, with srcset and <picture> helpers.

Standard library only. The signer rules are those of docs/url-format.md in the rendition
repository, and every vector of its tests/vectors.json and tests/signer-vectors.json passes.

Layout:
  signer.py   key lists, source keys, options → canonical ops, the signed path (pure)
  markup.py   output sizes (§8), srcset candidates, <picture> markup and escaping
  client.py   Signer, and sign/sign_info/srcset/picture for a single call
  templatetags/rendition.py   the Django tags ({% load rendition %}, INSTALLED_APPS)
  jinja.py    the Jinja2 filters and globals (install(env, keys=..., base=...))
"""

from .client import Signer, picture, sign, sign_info, srcset
from .markup import Html, Size, output_size, placeholder_style
from .signer import Key, RenditionError, parse_keys, resolve

__all__ = ["Html", "Key", "RenditionError", "Signer", "Size", "output_size", "parse_keys",
           "picture", "placeholder_style", "resolve", "sign", "sign_info", "srcset"]
