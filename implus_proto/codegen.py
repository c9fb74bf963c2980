"""Generate implus_proto/messages.py (the frozen message classes) from the schemas.

Run `python -m implus_proto.codegen` after changing a schema; the test suite fails while the
committed messages.py differs from what the schemas generate (`--check`).
"""
from __future__ import annotations

import argparse
import keyword
import sys
from pathlib import Path
from typing import Any, Mapping

from .schemaset import SchemaSet, default_schemas

TARGET = Path(__file__).resolve().parent / "messages.py"


def attr_name(json_name: str) -> str:
    """JSON field name to Python attribute: keywords get a trailing underscore (from -> from_)."""
    return json_name + "_" if keyword.iskeyword(json_name) else json_name


class _Gen:
    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self.classes: list[str] = []
        self.done: set[str] = set()

    def annotation(self, node: Mapping[str, Any], base: str, hint: str) -> tuple[str, str | None]:
        """(annotation, nested class name or None) for one property schema."""
        node, base = self.schemas.resolve(node, base)
        if "const" in node:
            return type(node["const"]).__name__ + "=" + repr(node["const"]), None
        kind = node.get("type")
        if kind == "object":
            name = node.get("x-class") or hint
            self.emit_class(name, node, base, meta=None)
            return name, name
        if kind == "array":
            ann, nested = self.annotation(node["items"], base, hint + "Item")
            return f"tuple[{ann}, ...]", nested
        if kind is None and ("anyOf" in node or "oneOf" in node):
            parts = []
            for sub in node.get("anyOf", node.get("oneOf")):
                ann, _ = self.annotation(sub, base, hint)
                if ann not in parts:
                    parts.append(ann)
            return " | ".join(parts), None
        return {"string": "str", "integer": "int", "boolean": "bool"}[kind], None

    def emit_class(self, name: str, node: Mapping[str, Any], base: str, meta: Any) -> None:
        if name in self.done:
            return
        self.done.add(name)
        required = list(node.get("required", ()))
        fields = []  # (attr, json, annotation, nested, required)
        for json_name, sub in node.get("properties", {}).items():
            ann, nested = self.annotation(sub, base, name + json_name.title().replace("_", ""))
            fields.append((attr_name(json_name), json_name, ann, nested, json_name in required))
        doc = (node.get("title") or name) + ": " + node.get("description", "").strip()
        lines = ["", "", "@dataclass(frozen=True, slots=True, kw_only=True)", f"class {name}:", f"    {doc!r}", ""]
        for attr, _json, ann, _nested, req in fields:
            if "=" in ann:  # a const field defaults to its only value
                lines.append(f"    {attr}: {ann.split('=', 1)[0]} = {ann.split('=', 1)[1]}")
            else:
                lines.append(f"    {attr}: {ann}" + ("" if req else " | None = None"))
        if meta is not None:
            lines += [
                "",
                f"    TYPE: ClassVar[str] = {meta.type!r}",
                f"    DIRECTION: ClassVar[str] = {meta.direction!r}",
                f"    SCHEMA_ID: ClassVar[str] = {meta.schema_id!r}",
            ]
        # _from_json: the instance is already valid, so plain indexing is safe and fast.
        args = []
        for attr, json_name, ann, nested, req in fields:
            get = f"o[{json_name!r}]" if req else f"o.get({json_name!r})"
            if nested and ann.startswith("tuple["):
                expr = f"tuple([{nested}._from_json(x) for x in {get}])"
                if not req:
                    expr = f"(None if {get} is None else {expr})"
            elif nested:
                expr = f"{nested}._from_json({get})" if req else f"(None if {get} is None else {nested}._from_json({get}))"
            else:
                expr = get
            args.append(f"{attr}={expr}")
        lines += ["", "    @classmethod", f"    def _from_json(cls, o: dict[str, Any]) -> {name}:",
                  f"        return cls({', '.join(args)})"]
        body = ["", "    def _to_json(self) -> dict[str, Any]:", "        o: dict[str, Any] = {}"]
        for attr, json_name, ann, nested, req in fields:
            val = f"self.{attr}"
            if nested and ann.startswith("tuple["):
                conv = f"[x._to_json() for x in {val}]"
            elif nested:
                conv = f"{val}._to_json()"
            else:
                conv = val
            if req:
                body.append(f"        o[{json_name!r}] = {conv}")
            else:
                body.append(f"        if {val} is not None:")
                body.append(f"            o[{json_name!r}] = {conv}")
        body.append("        return o")
        lines += body
        self.classes.append("\n".join(lines))


def generate(schemas: SchemaSet | None = None) -> str:
    schemas = schemas or default_schemas()
    gen = _Gen(schemas)
    for spec in schemas.specs:
        gen.emit_class(spec.class_name, spec.schema, spec.schema_id, meta=spec)
    names = sorted(gen.done)
    header = [
        '"""IMPlus message classes. GENERATED from schemas/ by `python -m implus_proto.codegen`: do not edit."""',
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from typing import Any, ClassVar",
        "",
        f"__all__ = {names!r}",
        f"MESSAGE_CLASSES = {tuple(s.class_name for s in schemas.specs)!r}",
    ]
    return "\n".join(header) + "".join(gen.classes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if messages.py is out of date")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python -m implus_proto.codegen", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
