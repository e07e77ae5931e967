"""Signer: a key list and a CDN origin, and the things a page asks of them: a URL (sign), the
source's info URL (sign_info), a srcset attribute value (srcset) and <picture> markup (picture).
The module-level functions of the same names are for a single call."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

from .markup import Html, Items, candidates, picture_plan, split_srcset_params
from .signer import INFO, Key, RenditionError, Resolved, check_canonical, config_base, \
    config_keys, resolve, sign_path

Options = Optional[Mapping[str, Any]]


def _merged(label: str, options: Options, more: Mapping[str, Any]) -> dict:
    """Options given as a mapping, as keyword arguments, or both (the keywords win)."""
    if options is not None and not isinstance(options, Mapping):
        raise RenditionError(label, f"{options!r} is not a mapping of options")
    return {**(options or {}), **more}


class Signer:
    """Signs with the first key of `keys` (RENDITION_KEYS's format, ID:SECRET[,ID:SECRET…], or
    parse_keys()'s result) and puts `base`, the CDN origin, before every path.

        signer = Signer(os.environ["RENDITION_KEYS"], base="https://cdn.example.com")
        signer.sign("photos/cat.jpg", width=640, format="webp")
    """

    def __init__(self, keys: Union[str, Sequence[Key]], base: Optional[str] = ""):
        self.key = config_keys(keys)[0]
        self.base = config_base(base)

    def __repr__(self) -> str:  # never the secret
        return f"Signer(key_id={self.key.id!r}, base={self.base!r})"

    def _url(self, source: str, resolved: Resolved) -> str:
        return self.base + sign_path(self.key, source, resolved)

    def sign(self, source: str, options: Options = None, **more: Any) -> str:
        """The URL of one rendition: base + /r/<source>/<key-id>.<signature>/<ops>.<ext>."""
        return self._url(source, resolve(source, _merged("options", options, more)))

    def sign_info(self, source: str, options: Options = None, **more: Any) -> str:
        """The URL of the source's info request (§14): JSON with its size as displayed, format,
        alpha and a placeholder. Options: version or etag at most."""
        opts = _merged("options", options, more)
        given = opts.get("format")
        if given is not None and (not isinstance(given, str) or given.lower() != INFO):
            raise RenditionError("format", f"{given!r}: sign_info() signs the info request, whose "
                                           "format is json")
        return self._url(source, resolve(source, {**opts, "format": INFO}))

    def sign_canonical(self, source: str, ops: str, format: str) -> str:
        """The URL of a canonical ops segment and extension ("w640_h360", "webp" or "auto"),
        checked as the server checks it, so a segment the server would refuse is refused here."""
        return self._url(source, check_canonical(source, ops, format))

    def srcset(self, source: str, items: Items, options: Options = None, **more: Any) -> str:
        """A srcset attribute value: widths (320, 640 or "320,640") or densities ("1x", "2x").
        With source_width and source_height, descriptors are the widths the renderer gives."""
        size, opts = split_srcset_params(_merged("options", options, more))
        return ", ".join(f"{self._url(source, c.resolved)} {c.descriptor}"
                         for c in candidates(source, items, opts, size, "srcset"))

    def picture(self, source: str, params: Options = None, **more: Any) -> Html:
        """<picture> markup: AVIF and WebP <source> elements and a JPEG (PNG for a .png source)
        <img>, its attributes escaped, width and height computed from source_width and
        source_height (or info, the info request's answer); with format="auto" or "auto-alpha",
        that <img> alone, its URLs negotiated by the CDN (spec §13.5). info's placeholder, or
        placeholder (a data URL), is painted as the <img>'s background. An Html string, which
        Django and Jinja2 print without escaping again."""
        plan = picture_plan(source, _merged("params", params, more))
        return plan.markup(lambda resolved: self._url(source, resolved))


def sign(source: str, options: Options = None, *, keys: Union[str, Sequence[Key]],
         base: Optional[str] = "", **more: Any) -> str:
    """Signer(keys, base).sign(source, options, **more)."""
    return Signer(keys, base).sign(source, options, **more)


def sign_info(source: str, options: Options = None, *, keys: Union[str, Sequence[Key]],
              base: Optional[str] = "", **more: Any) -> str:
    """Signer(keys, base).sign_info(source, options, **more)."""
    return Signer(keys, base).sign_info(source, options, **more)


def srcset(source: str, items: Items, options: Options = None, *,
           keys: Union[str, Sequence[Key]], base: Optional[str] = "", **more: Any) -> str:
    """Signer(keys, base).srcset(source, items, options, **more)."""
    return Signer(keys, base).srcset(source, items, options, **more)


def picture(source: str, params: Options = None, *, keys: Union[str, Sequence[Key]],
            base: Optional[str] = "", **more: Any) -> Html:
    """Signer(keys, base).picture(source, params, **more)."""
    return Signer(keys, base).picture(source, params, **more)
