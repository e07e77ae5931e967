"""picture() and srcset() write byte for byte what the JavaScript client (clients/js) writes for
the same inputs, placeholders included: a page can move from one to the other, and `rendition
sign --picture` is held to the JavaScript's text by tests/cli.rs, so all three agree."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import KEYS, REPO
from rendition_sign import Signer

BASE = "https://cdn.example.com/a&b"
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ"
       "/pLvAAAAAElFTkSuQmCC")
INFO = {"alpha": False, "format": "jpeg", "frames": 1, "height": 853, "width": 1280,
        "thumbhash": "HAkOFZpwh4eAeYiXh3iHiNAwDPh4", "placeholder": PNG}

# (method, source, items or None, params in Python's names)
CASES = [
    ("picture", "photos/cat.jpg", None,
     {"widths": [320, 640, 1280, 1920], "sizes": "(min-width: 60em) 50vw, 100vw",
      "alt": "Tom & \"Jerry\" <3 it's", "source_width": 1600, "source_height": 1200, "quality": 60}),
    ("picture", "photos/cat.jpg", None,
     {"width": 400, "height": 300, "fit": "contain", "background": "f80", "widths": [320, 640],
      "sizes": "50vw", "alt": "A cat", "formats": ["webp"], "fallback": "png",
      "attributes": {"class": "hero", "fetchpriority": "high", "loading": "eager", "data-x": True}}),
    ("picture", "photos/cat.jpg", None,
     {"width": 300, "dpr": "1.5", "densities": ["1x", "1.50x", "2x"], "alt": "", "info": INFO}),
    ("picture", "photos/cat.jpg", None,
     {"widths": [320, 640, 1280, 1920], "sizes": "100vw", "alt": "A cat", "info": INFO}),
    ("picture", "photos/cat.jpg", None,
     {"widths": [320, 640], "sizes": "100vw", "alt": "A cat", "format": "auto",
      "info": json.dumps(INFO), "attributes": {"style": "max-width:100%", "class": "x"}}),
    ("picture", "photos/cat.jpg", None,
     {"widths": [320, 640], "sizes": "100vw", "alt": "A cat", "rotate": 90,
      "placeholder": "data:image/jpeg;base64,/9j/4AAQ", "source_width": 1200, "source_height": 800}),
    ("picture", "icons/logo.png", None,
     {"width": 64, "densities": "1x,2x", "alt": "Logo", "format": "AUTO-ALPHA", "quality": 70,
      "info": {**INFO, "alpha": True, "width": 100, "height": 50}}),
    ("picture", "anim/dance.gif", None, {"widths": "200,400", "sizes": "200px", "alt": "Dancing"}),
    ("srcset", "photos/cat.jpg", [320, 640, 1920],
     {"format": "webp", "source_width": 1280, "source_height": 853}),
    ("srcset", "a.jpg", ["1x", "1.50x", "2x"], {"width": 100}),
    ("sign_info", "photos/cat.jpg", None, {"etag": 'W/"5d41402abc4b2a76b9719d911017c592"'}),
]

JS_NAMES = {"source_width": "sourceWidth", "source_height": "sourceHeight", "sign_info": "signInfo"}

SCRIPT = """
import { createSigner } from %s;
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { keys, base, cases } = JSON.parse(input);
const s = createSigner({ keys, base });
const out = cases.map(([method, source, items, params]) =>
  items === null ? s[method](source, params) : s[method](source, items, params));
process.stdout.write(JSON.stringify(out));
"""


def javascript(cases):
    node = shutil.which("node")
    if node is None:  # skipped on a developer's machine without Node, never under scripts/test
        if os.environ.get("RENDITION_REQUIRE_ALL") == "1":
            pytest.fail("node is needed to compare with the JavaScript client")
        pytest.skip("node is not installed")
    index = (REPO / "clients" / "js" / "src" / "index.js").as_uri()
    js_cases = [[JS_NAMES.get(m, m), source, items, {JS_NAMES.get(k, k): v for k, v in params.items()}]
                for m, source, items, params in cases]
    done = subprocess.run([node, "--input-type=module", "-e", SCRIPT % json.dumps(index)],
                          input=json.dumps({"keys": KEYS, "base": BASE, "cases": js_cases}),
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_python_writes_what_javascript_writes():
    ours = []
    signer = Signer(KEYS, BASE)
    for method, source, items, params in CASES:
        call = getattr(signer, method)
        ours.append(str(call(source, params) if items is None else call(source, items, params)))
    theirs = javascript(CASES)
    assert len(theirs) == len(CASES)
    for case, mine, js in zip(CASES, ours, theirs):
        assert mine == js, case
    # The cases reach what they are here for.
    assert sum("background-image:url(" in m for m in ours) == 4, ours  # not the transparent logo
    assert "&#39;" in ours[0] and "&amp;b" in ours[0]
