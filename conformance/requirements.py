"""The requirement texts of SPEC.md, for failure reports that quote the rule they cite.

SPEC.md defines each requirement in a paragraph that starts with its id in bold square brackets
(`**[FWD-2]** The server MUST ...`). `requirements()` parses those paragraphs from the SPEC.md of
the checkout (or the file named by env IMPLUS_SPEC); an installed wheel has no SPEC.md, so the
texts are also shipped in the generated module conformance/_requirements_data.py:

    python -m conformance.requirements --write     # regenerate it after editing SPEC.md

tests/test_conformance.py fails when the shipped texts and SPEC.md disagree.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_ID = re.compile(r"^\*\*\[([A-Z]+-\d+)\]\*\*\s*")
_HEADING = re.compile(r"^(#{2,4})\s+(\d+(?:\.\d+)*)\.?\s+(.*)$")
DATA_MODULE = Path(__file__).with_name("_requirements_data.py")


@dataclass(frozen=True)
class Requirement:
    id: str
    section: str  # "8" or "4.5"
    heading: str
    text: str  # the paragraph, lines joined, without the leading id
    level: str  # the strongest key word in it: MUST, SHOULD or MAY

    def quote(self, limit: int | None = None) -> str:
        t = self.text
        if limit is not None and len(t) > limit:
            t = t[: limit - 1].rstrip() + "…"
        return t


def _level(text: str) -> str:
    for word in ("MUST", "SHALL", "REQUIRED"):
        if re.search(rf"\b{word}\b", text):
            return "MUST"
    if re.search(r"\b(SHOULD|RECOMMENDED)\b", text):
        return "SHOULD"
    return "MAY"


def parse_spec(text: str) -> dict[str, Requirement]:
    """Every `**[ID]**` paragraph of a SPEC.md text, in document order."""
    out: dict[str, Requirement] = {}
    section, heading = "", ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        h = _HEADING.match(line)
        if h:
            section, heading = h.group(2), h.group(3).strip()
        m = _ID.match(line)
        if m:
            para = [line[m.end():].strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and not _ID.match(lines[i]) and not lines[i].startswith("#"):
                para.append(lines[i].strip())
                i += 1
            body = " ".join(p for p in para if p)
            out[m.group(1)] = Requirement(m.group(1), section, heading, body, _level(body))
            continue
        i += 1
    return out


def spec_path() -> Path | None:
    """The SPEC.md to read: env IMPLUS_SPEC, else the one of the checkout this package lives in."""
    env = os.environ.get("IMPLUS_SPEC")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent / "SPEC.md")
    for c in candidates:
        if c.is_file():
            return c
    return None


@lru_cache(maxsize=1)
def requirements() -> dict[str, Requirement]:
    """The requirements by id: from SPEC.md if it is there, else the texts shipped with the package."""
    path = spec_path()
    if path is not None:
        try:
            found = parse_spec(path.read_text(encoding="utf-8"))
            if found:
                return found
        except OSError:
            pass
    return shipped()


def source() -> str:
    path = spec_path()
    return str(path) if path is not None else "texts shipped with the conformance package"


def shipped() -> dict[str, Requirement]:
    try:
        from ._requirements_data import REQUIREMENTS
    except ImportError:
        return {}
    return {r[0]: Requirement(*r) for r in REQUIREMENTS}


def render_data_module(reqs: dict[str, Requirement]) -> str:
    rows = "".join(f"    {(r.id, r.section, r.heading, r.text, r.level)!r},\n" for r in reqs.values())
    return ('"""GENERATED from SPEC.md by `python -m conformance.requirements --write`; do not edit."""\n\n'
            f"REQUIREMENTS = (\n{rows})\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.requirements", description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help=f"regenerate {DATA_MODULE.name} from SPEC.md")
    p.add_argument("--spec", help="the SPEC.md to read (default: the checkout's)")
    args = p.parse_args(argv)
    path = Path(args.spec) if args.spec else spec_path()
    if path is None or not path.is_file():
        print("no SPEC.md found", file=sys.stderr)
        return 2
    reqs = parse_spec(path.read_text(encoding="utf-8"))
    if args.write:
        DATA_MODULE.write_text(render_data_module(reqs), encoding="utf-8")
        print(f"wrote {len(reqs)} requirements to {DATA_MODULE}")
    else:
        for r in reqs.values():
            print(f"{r.id:8} §{r.section:5} {r.level:6} {r.quote(100)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
