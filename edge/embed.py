#!/usr/bin/env python3
"""Copies edge/viewer-request.js into template.yaml, as the function CloudFront runs.

    python3 edge/embed.py           # rewrites the EdgeFunction's FunctionCode in template.yaml
    python3 edge/embed.py --check   # exits 1 when template.yaml holds anything else

CloudFormation takes a CloudFront function's code only inline (FunctionCode is a string; no
packaging step uploads it), so template.yaml holds a copy. The copy is the source without its
comment-only and blank lines: the source explains itself at length, and CloudFront counts every
byte against its 10 KB limit. Nothing else changes, so the copy is the source line for line;
no string in the source spans lines (edge/test checks), so dropping whole blank and `//` lines
can't change what the code does. tests/template checks the copy against deployed() below, and
edge/test runs the copy, not the source.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "viewer-request.js")
TEMPLATE = os.path.join(os.path.dirname(HERE), "template.yaml")
# The line the code block follows; its indentation plus two spaces is the block's.
KEY = re.compile(r"^( *)FunctionCode: !Sub \|$")


def deployed(source: str) -> str:
    """The code CloudFront runs: the source's lines that are neither blank nor only a comment."""
    lines = [line for line in source.split("\n") if line.strip() and not line.strip().startswith("//")]
    return "\n".join(lines) + "\n"


def embedded(template: str, code: str) -> str:
    """template.yaml with `code` as the one FunctionCode block (a YAML literal block, `|`)."""
    lines = template.split("\n")
    starts = [i for i, line in enumerate(lines) if KEY.match(line)]
    if len(starts) != 1:
        raise SystemExit(f"template.yaml: expected one 'FunctionCode: !Sub |' line, found {len(starts)}")
    start = starts[0]
    indent = " " * (len(KEY.match(lines[start]).group(1)) + 2)
    end = start + 1
    while end < len(lines) and (lines[end].startswith(indent) or not lines[end].strip()):
        end += 1
    # Blank lines right after the block belong to the template, not to the code.
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    block = [indent + line for line in code.rstrip("\n").split("\n")]
    return "\n".join(lines[: start + 1] + block + lines[end:])


def main(argv: list) -> int:
    with open(SOURCE, encoding="utf-8") as f:
        code = deployed(f.read())
    with open(TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    wanted = embedded(template, code)
    if argv[1:] == ["--check"]:
        if wanted != template:
            print("template.yaml's FunctionCode is not edge/viewer-request.js: run python3 edge/embed.py",
                  file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    if wanted != template:
        with open(TEMPLATE, "w", encoding="utf-8") as f:
            f.write(wanted)
    print(f"template.yaml: FunctionCode is edge/viewer-request.js, {len(code.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
