"""Shared by the tests: the repository's vector files, an HTML reader, optional imports."""

import importlib
import json
import os
import pathlib
from html.parser import HTMLParser

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
KEYS = "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210"


def vectors(name):
    """tests/<name> at the repository's root, where the renderer's own tests write it."""
    return json.loads((REPO / "tests" / name).read_text(encoding="utf-8"))


def require(module):
    """An optional dependency: skipped without it on a developer's machine, but a failure under
    RENDITION_REQUIRE_ALL=1, which scripts/test sets, so CI never skips these tests silently."""
    if os.environ.get("RENDITION_REQUIRE_ALL") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"an attribute twice in <{tag}>: {names}"
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self.tags.append(("/" + tag, {}))

    def handle_data(self, data):
        raise AssertionError(f"text between tags: {data!r}")


def read_picture(markup):
    """picture()'s markup, parsed by the standard library's HTML parser → (sources, img)."""
    parser = _Tags()
    parser.feed(str(markup))
    parser.close()
    names = [tag for tag, _ in parser.tags]
    assert names[0] == "picture" and names[-2:] == ["img", "/picture"], names
    assert all(name == "source" for name in names[1:-2]), names
    return [attrs for _, attrs in parser.tags[1:-2]], parser.tags[-2][1]


def read_img(markup):
    """picture()'s markup for format auto, parsed → the attributes of its one <img>, which must be
    all there is: no <picture>, no <source>."""
    parser = _Tags()
    parser.feed(str(markup))
    parser.close()
    assert [tag for tag, _ in parser.tags] == ["img"], parser.tags
    return parser.tags[0][1]


def candidates(srcset):
    """A srcset value → [(url, descriptor)]."""
    pairs = [tuple(c.split(" ")) for c in srcset.split(", ")]
    assert all(len(p) == 2 for p in pairs), srcset
    return pairs
