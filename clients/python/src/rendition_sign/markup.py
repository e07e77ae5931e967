"""What a page needs around the signed paths: the size an output will have (§8 of
docs/url-format.md), srcset candidates (the rules of `rendition sign --srcset`), and <picture>
markup (one <img> for format auto, §13.5) with the info request's placeholder (§14) as its
background, escaped, as an `Html` string that Django and Jinja2 print as it is. For the same
inputs the markup is byte for byte what the JavaScript client's picture() writes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from .signer import FORMATS, INFO, LOSSY, Exact, Ops, RenditionError, Resolved, exact_decimal, \
    is_auto, resolve

U32_MAX = 4294967295
MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
        "avif": "image/avif"}
BOX_FITS = ("cover", "contain", "fill")  # their output is the box when the source is large enough


class Html(str):
    """Markup that is safe as it is. Django's and MarkupSafe's escaping both honour __html__,
    so templates print it unescaped while it stays a plain str everywhere else."""
    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _div_round(n: int, d: int) -> int:
    """round(n / d), halves up, exact (crates/sign's div_round)."""
    return (2 * n + d) // (2 * d)


def _scaled(v: float) -> int:
    """src/plan.rs's `scaled`: f64 rounding, halves away from zero (not Python's round(), which
    rounds halves to even), then at least 1."""
    whole = math.floor(v)
    return min(max(whole + 1 if v - whole >= 0.5 else whole, 1), U32_MAX)


def _displayed(ops: Ops, width: int, height: int) -> Tuple[int, int]:
    """The source's sides as the ops see them: a quarter turn swaps them."""
    return (height, width) if ops.rotate in (90, 270) else (width, height)


def _requested(ops: Ops, W: int, H: int) -> Tuple[Optional[int], Optional[int]]:
    """The sides the ops ask for, capped to a W×H source unless they say enlarge
    (Ops::requested_size in crates/sign): one side is capped at the source's, and a cover,
    contain or fill box larger than the source shrinks by the smaller of W / w and H / h,
    exactly, keeping its aspect ratio. Inside and outside keep their box (their scale is capped
    instead)."""
    w, h = ops.width, ops.height
    if ops.enlarge:
        return w, h
    if w is not None and h is not None:
        if ops.fit not in BOX_FITS or (w <= W and h <= H):
            return w, h
        num, den = (W, w) if W * h <= H * w else (H, h)
        return max(1, _div_round(w * num, den)), max(1, _div_round(h * num, den))
    return (None if w is None else min(w, W)), (None if h is None else min(h, H))


class Size(NamedTuple):
    width: int
    height: int


def rendered_size(ops: Ops, source_width: int, source_height: int) -> Size:
    """The output size of resolved ops for a source displayed source_width × source_height (after
    its EXIF orientation). Follows src/plan.rs operation by operation, in the same
    double-precision arithmetic where it uses it, so the result is the renderer's to the pixel."""
    W, H = _displayed(ops, source_width, source_height)
    w, h = _requested(ops, W, H)
    if w is None and h is None:
        return Size(W, H)
    if h is None:
        return Size(w, _scaled(H * w / W))
    if w is None:
        return Size(_scaled(W * h / H), h)
    sx, sy = w / W, h / H

    def limit(s: float) -> float:
        return s if ops.enlarge else min(s, 1.0)

    if ops.fit == "inside":
        s = limit(min(sx, sy))
        return Size(min(_scaled(W * s), w), min(_scaled(H * s), h))
    if ops.fit == "outside":
        s = limit(max(sx, sy))
        ow, oh = _scaled(W * s), _scaled(H * s)
        return Size(max(ow, w), max(oh, h)) if ops.enlarge else Size(min(ow, W), min(oh, H))
    return Size(w, h)  # cover and fill are the box; contain pads to it


def _source_size(width: Any, height: Any) -> Optional[Tuple[int, int]]:
    """source_width and source_height: both or neither, whole pixels."""
    if width is None and height is None:
        return None
    for name, value in (("source_width", width), ("source_height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= U32_MAX:
            raise RenditionError(name, f"{value!r} is not a size in pixels "
                                       "(give source_width and source_height together)")
    return width, height


def output_size(source: str, options: Optional[Mapping[str, Any]], source_width: int,
                source_height: int) -> Size:
    """The size in pixels of the rendition `options` ask for, from a source displayed
    source_width × source_height."""
    size = _source_size(source_width, source_height)
    if size is None:
        raise RenditionError("source_width", "is needed")
    return rendered_size(resolve(source, options).ops, *size)


class Candidate(NamedTuple):
    resolved: Resolved
    descriptor: str  # "640w" or "2x"
    value: float     # the descriptor's number, to find the largest
    rendered: Optional[Size]


Items = Union[str, Sequence[Union[int, str]]]


def candidates(source: str, items: Items, options: Mapping[str, Any],
               size: Optional[Tuple[int, int]], label: str) -> List[Candidate]:
    """The srcset candidates of `items` (widths such as 320, or densities such as "2x"), with
    the rules of `rendition sign --srcset`: widths replace the width (a box keeps its aspect
    ratio, so both sides or neither) and take no dpr; densities multiply dpr exactly and need a
    size to multiply. With the source's size each candidate gets its real output size: a width
    descriptor says the width the renderer will produce, and candidates that would produce the
    same image as an earlier one are dropped (a 1920 asked of a 1280-pixel photo is the 1280)."""
    listed = items.split(",") if isinstance(items, str) else items
    if isinstance(listed, (bytes, Mapping)) or not isinstance(listed, Sequence) or not listed:
        raise RenditionError(label, 'give widths (320, 640) or densities ("1x", "2x")')
    parsed: List[Tuple[str, Any]] = []
    for item in listed:
        text = item.strip() if isinstance(item, str) else None
        if isinstance(item, int) and not isinstance(item, bool):
            parsed.append(("width", item))
        elif text is not None and re.fullmatch(r"[0-9]+", text):
            parsed.append(("width", int(text)))
        elif text is not None and text.endswith("x"):
            parsed.append(("density", exact_decimal(label, text[:-1])))
        else:
            raise RenditionError(label, f'{item!r} is not a width (320) or a density ("2x")')
    # The options themselves, checked before any arithmetic on them.
    if resolve(source, options).format == INFO:
        raise RenditionError("format", "json is the info request, one URL that describes the "
                                       "source: sign it with sign_info(); srcsets and <picture> "
                                       "are made of renditions")

    def has(name: str) -> bool:
        return options.get(name) is not None

    densities = sum(kind == "density" for kind, _ in parsed)
    if densities and densities != len(parsed):
        raise RenditionError(label, 'use widths (320, 640) or densities ("1x", "2x"), not both')
    if densities and not has("width") and not has("height"):
        raise RenditionError(label, "densities need a width or a height to multiply")
    if not densities and has("dpr"):
        raise RenditionError("dpr", 'widths are in device pixels already; leave out dpr '
                                    '(or use densities: "1x", "2x")')
    if not densities and has("width") != has("height"):
        raise RenditionError(label, "the widths replace width; leave out width and height, or give "
                                    "both to keep a box's aspect ratio")
    dpr = exact_decimal("dpr", options["dpr"]) if has("dpr") else Exact(1, 0)
    seen = set()
    out: List[Candidate] = []
    for kind, value in parsed:
        opts = dict(options)
        if kind == "density":
            opts["dpr"] = str(dpr.times(value))
            descriptor, number = f"{value}x", float(str(value))
        else:
            opts["width"] = value
            if has("width"):
                opts["height"] = max(1, _div_round(options["height"] * value, options["width"]))
            descriptor, number = f"{value}w", float(value)
        resolved = resolve(source, opts)
        rendered = None
        if size is not None:
            if kind == "width":
                # A width the source can't give is signed as the size it gives: the same pixels
                # under the URL that asking for that size directly makes, so the bucket holds
                # them once.
                w, h = _requested(resolved.ops, *_displayed(resolved.ops, *size))
                if (w, h) != (resolved.ops.width, resolved.ops.height):
                    resolved = resolve(source, {**opts, "width": w,
                                                **({} if h is None else {"height": h})})
            rendered = rendered_size(resolved.ops, *size)
            if kind == "width":
                descriptor, number = f"{rendered.width}w", float(rendered.width)
            same = descriptor if kind == "width" else rendered
            if same in seen:
                continue
            seen.add(same)
        out.append(Candidate(resolved, descriptor, number, rendered))
    return out


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape(text: Any) -> str:
    """Text made safe inside a double-quoted HTML attribute (and in text), with the entities of
    the JavaScript client (&#39;, where html.escape writes &#x27;), so both write the same."""
    return re.sub(r"""[&<>"']""", lambda m: _ESCAPES[m.group()], str(text))


# A placeholder (§14.2) goes into a style attribute, so only what can't leave CSS's url() nor
# the attribute is taken: an image data URL in base64, nothing but base64 characters after it.
_PLACEHOLDER = re.compile(r"data:image/(?:png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]+={0,2}")


def _check_placeholder(label: str, value: Any) -> str:
    if not isinstance(value, str) or not _PLACEHOLDER.fullmatch(value):
        quoted = f"{value[:40]!r}…" if isinstance(value, str) and len(value) > 40 else repr(value)
        raise RenditionError(label, f"{quoted} is not an image data URL in base64 "
                                    "(data:image/png;base64,…), the one kind of placeholder put "
                                    "in a style attribute")
    return value


def placeholder_style(data_url: str) -> str:
    """The style that paints a placeholder (a data URL) behind the <img> until the image covers
    it: centred and scaled to cover the box, as the renditions crop by default. Longhands, so a
    background colour from the page's own CSS stays. The JavaScript client and `rendition sign
    --picture` write the same text."""
    return ("background-position:center;background-size:cover;"
            f"background-image:url({_check_placeholder('placeholder', data_url)})")


class _Info(NamedTuple):
    width: int
    height: int
    placeholder: Optional[str]


def _info(value: Any) -> _Info:
    """picture()'s `info`: the info request's answer (§14.2), parsed or as its JSON text → the
    source's size as displayed and its placeholder (None when it has none, or when the source has
    alpha: the placeholder would show through the image's transparent pixels once it is loaded).
    Members it doesn't use are ignored, as the spec asks of readers."""
    info = value
    if isinstance(value, (str, bytes)):
        try:
            info = json.loads(value)
        except ValueError:
            raise RenditionError("info", "is not JSON: give the info request's answer, parsed or "
                                         "as its text") from None
    if not isinstance(info, Mapping):
        raise RenditionError("info", f"{value!r} is not the info request's answer (a mapping "
                                     "with width and height)")
    for name in ("width", "height"):
        side = info.get(name)
        if isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= U32_MAX:
            raise RenditionError("info", f"its {name} {side!r} is not a size in pixels")
    placeholder = info.get("placeholder")
    if placeholder is not None:
        _check_placeholder("info", placeholder)
    return _Info(info["width"], info["height"], None if info.get("alpha") is True else placeholder)


def _attributes(pairs: Sequence[Tuple[str, Any]]) -> str:
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in pairs if value is not None and value is not False)


PICTURE_PARAMS = ("widths", "densities", "sizes", "alt", "formats", "fallback", "source_width",
                  "source_height", "attributes", "info", "placeholder")
OWN_ATTRIBUTES = ("src", "srcset", "sizes", "alt", "type")  # written from picture()'s parameters


def _format_name(label: str, value: Any) -> str:
    name = value.strip().lower() if isinstance(value, str) else value
    name = "jpg" if name == "jpeg" else name
    if is_auto(name):
        raise RenditionError(label, f"{value!r} is not a <source> or fallback format: give "
                                    f"format={name!r} for one <img> that the CDN negotiates")
    if name not in FORMATS:
        raise RenditionError(label, f"{value!r} is not jpg, png, webp, gif or avif")
    return name


def _auto_format(value: Any) -> Optional[str]:
    """picture()'s `format`: unset for <picture> markup, or auto or auto-alpha (any case) for one
    <img> whose URLs the CDN negotiates (§13.5). Returns the auto format, or None."""
    if value is None:
        return None
    name = value.lower() if isinstance(value, str) else value
    if is_auto(name):
        return name
    if name == INFO:
        raise RenditionError("format", "json is the info request, one URL that describes the "
                                       "source: sign it with sign_info(), and give its answer to "
                                       "picture() as info")
    if name in FORMATS or name == "jpeg":
        raise RenditionError("format", "picture() makes one rendition per format: give formats "
                                       "(the <source> elements) and fallback (the <img>), or "
                                       'format "auto" or "auto-alpha" for one <img>')
    raise RenditionError("format", f"{value!r} is not auto or auto-alpha, the formats picture() "
                                   "takes (formats and fallback make <picture> markup)")


def _default_fallback(source: str) -> str:
    """A PNG or GIF source may be transparent (or animated): its fallback keeps its format."""
    ext = source.rsplit(".", 1)[-1].lower()
    return ext if ext in ("png", "gif") else "jpg"


class PicturePlan(NamedTuple):
    """picture()'s renditions per format (the <source> formats, then the fallback) and what
    goes around them; Signer.picture() signs the candidates and calls markup()."""
    formats: List[str]
    sets: List[List[Candidate]]
    sizes: Optional[str]
    img: Dict[str, Any]  # the <img> attributes other than src, srcset and sizes
    largest: Candidate
    auto: bool = False  # format auto: the <img> alone, no <picture> and no <source>

    def markup(self, url) -> Html:
        srcsets = [", ".join(f"{url(c.resolved)} {c.descriptor}" for c in s) for s in self.sets]
        sources = "".join(
            f"<source{_attributes([('type', MIME[f]), ('srcset', srcsets[i]), ('sizes', self.sizes)])}>"
            for i, f in enumerate(self.formats))
        attrs = {"src": url(self.largest.resolved), "srcset": srcsets[-1], "sizes": self.sizes,
                 **self.img}
        img = f"<img{_attributes(list(attrs.items()))}>"
        return Html(img if self.auto else f"<picture>{sources}{img}</picture>")


def picture_plan(source: str, params: Mapping[str, Any]) -> PicturePlan:
    """One <source> per format in `formats` (AVIF, then WebP, by default) and an <img> in the
    fallback format, all at the same widths or densities, with width and height attributes
    computed from the source's size (§8) so the page reserves the image's space before it loads.
    With format auto or auto-alpha, one <img> instead: its URLs serve every browser (§13.5).
    `info` (the info request's answer, §14.2) gives the source's size when source_width and
    source_height don't, and a placeholder, which `placeholder` (a data URL) gives or replaces:
    the <img> paints it as its background (placeholder_style) until the image arrives."""
    mine = {k: v for k, v in params.items() if k in PICTURE_PARAMS}
    options = {k: v for k, v in params.items() if k not in PICTURE_PARAMS}
    auto = _auto_format(options.get("format"))
    if auto:
        for name in ("formats", "fallback"):
            if mine.get(name) is not None:
                raise RenditionError(name, f"format {auto!r} writes one <img>, which the CDN "
                                           f"negotiates; {name} is for <picture> markup")
    widths, densities = mine.get("widths"), mine.get("densities")
    if (widths is None) == (densities is None):
        raise RenditionError("widths", "give widths (chosen by sizes) or densities (a fixed size), "
                                       "one of the two")
    sizes = mine.get("sizes")
    if widths is not None and (not isinstance(sizes, str) or not sizes.strip()):
        raise RenditionError("sizes", 'is needed with widths: it tells the browser how wide the '
                                      'image shows ("100vw" when it spans the viewport)')
    if densities is not None and sizes is not None:
        raise RenditionError("sizes", "applies to widths only; densities are chosen by the screen")
    alt = mine.get("alt")
    if not isinstance(alt, str):
        raise RenditionError("alt", f'{alt!r} is not text: describe the image, or give "" when '
                                    'it is decorative')
    formats = [] if auto else mine.get("formats")
    formats = ["avif", "webp"] if formats is None else formats
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    if not isinstance(formats, Sequence):
        raise RenditionError("formats", f"{formats!r} is not a list of formats")
    formats = [_format_name("formats", f) for f in formats]
    fallback = auto or _format_name("fallback", mine.get("fallback") or _default_fallback(source))
    for i, f in enumerate(formats):
        if formats.index(f) != i:
            raise RenditionError("formats", f"{f} is listed twice")
        if f == fallback:
            raise RenditionError("formats", f"{f} is the fallback <img> already")
    extra = mine.get("attributes") or {}
    if not isinstance(extra, Mapping):
        raise RenditionError("attributes", f"{extra!r} is not a mapping of <img> attributes")
    for name, value in extra.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_:.-]*", name):
            raise RenditionError("attributes", f"{name!r} is not an attribute name")
        if name.lower() in OWN_ATTRIBUTES:
            raise RenditionError("attributes", f"{name} is written from picture()'s own parameters")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise RenditionError("attributes", f"{name}: {value!r} is not text, a number or True/False")
    info = None if mine.get("info") is None else _info(mine["info"])
    size = _source_size(mine.get("source_width"), mine.get("source_height"))
    if size is None and info is not None:
        size = (info.width, info.height)
    placeholder = (info and info.placeholder if mine.get("placeholder") is None
                   else _check_placeholder("placeholder", mine["placeholder"]))
    style = placeholder_style(placeholder) if placeholder else None
    others = dict(extra)
    style_name = next((name for name in extra if name.lower() == "style"), None)
    if style and style_name is not None:
        # The page's own declarations come after the placeholder's, so they win.
        own = extra[style_name]
        if own is not None and own is not False and not isinstance(own, str):
            raise RenditionError("attributes", f"{style_name}: {own!r} is not text, to follow the "
                                               "placeholder's declarations")
        if isinstance(own, str) and own.strip():
            style = f"{style};{own}"
        del others[style_name]
    label = "widths" if widths is not None else "densities"

    def for_format(f: str) -> Dict[str, Any]:
        # Quality means nothing to png and gif: it applies to the lossy formats only. Auto formats
        # take it (auto-alpha's PNG choice ignores it).
        lossy = f in LOSSY or is_auto(f)
        return {**options, "format": f, "quality": options.get("quality") if lossy else None}

    sets = [candidates(source, widths if widths is not None else densities, for_format(f), size,
                       label) for f in formats + [fallback]]
    largest = max(sets[-1], key=lambda c: c.value)
    # width and height: the size the <img> shows at. With widths, the largest candidate's (CSS
    # scales it down to the layout, keeping its aspect ratio); with densities, the 1x size.
    box: Optional[Tuple[int, int]] = None
    if widths is not None:
        ops = largest.resolved.ops
        if largest.rendered is not None:
            box = largest.rendered
        elif ops.width is not None and ops.height is not None and ops.fit in BOX_FITS:
            box = (ops.width, ops.height)
    else:
        css = resolve(source, {**for_format(fallback), "dpr": None}).ops
        if size is not None:
            box = rendered_size(css, *size)
        elif css.width is not None and css.height is not None and css.fit in BOX_FITS:
            box = (css.width, css.height)
    # Without a placeholder, an own style keeps its place among the other attributes.
    img = {"width": box and box[0], "height": box and box[1], "alt": alt, "loading": "lazy",
           "decoding": "async", **({"style": style} if style else {}), **others}
    return PicturePlan(formats, sets, sizes, img, largest, auto is not None)


# <img> attributes that the template helpers take as keywords, since a Django tag cannot write
# a dict literal: {% rendition_picture … class="hero" loading="eager" %}. A fixed list, so a
# misspelt option is still refused instead of becoming an attribute.
TEMPLATE_ATTRIBUTES = ("class", "id", "style", "title", "loading", "decoding", "fetchpriority",
                       "referrerpolicy", "crossorigin")


def template_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """A template helper's keywords → picture() parameters, the <img> attributes among them
    moved into `attributes`."""
    out = {k: v for k, v in params.items() if k not in TEMPLATE_ATTRIBUTES}
    moved = {k: v for k, v in params.items() if k in TEMPLATE_ATTRIBUTES}
    if moved:
        given = out.get("attributes") or {}
        if not isinstance(given, Mapping):
            raise RenditionError("attributes", f"{given!r} is not a mapping of <img> attributes")
        out["attributes"] = {**given, **moved}
    return out


def split_srcset_params(params: Mapping[str, Any]) -> Tuple[Optional[Tuple[int, int]], Dict[str, Any]]:
    """srcset()'s own parameters (the source's size) apart from the signer options."""
    options = {k: v for k, v in params.items() if k not in ("source_width", "source_height")}
    return _source_size(params.get("source_width"), params.get("source_height")), options
