"""Generate implus_proto/messages.py (the frozen message classes) from the schemas.

Run `python -m implus_proto.codegen` after changing a schema; the test suite fails while the
committed messages.py differs from what the schemas generate (`--check`).

The classes are frozen `msgspec.Struct`s (keyword-only, equal by value, hashable) whose
annotations carry the schemas' constraints as `msgspec.Meta` (lengths, ranges, patterns, item
counts, consts as Literal), so that `msgspec.json.Decoder(Class)` parses, checks and builds in
one pass (implus_proto.fastpath).  Two kinds of pattern are left out of Meta and checked by the
fast path instead (see `string_constraints`): a pattern that is one character class repeated
(`^[...]+`, `^[...]{m,n}`) becomes a length bound in Meta plus a character-class test (much
cheaper than re.search on ASCII strings); a string with an x-check (e.g. rsa-public-key) is
checked, pattern included, beside the schema with a cache per value.  Constructing a class checks nothing: the
codec validates against the schemas on encode.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any, Mapping

from .schemaset import SchemaSet, default_schemas

TARGET = Path(__file__).resolve().parent / "messages.py"
# frozen: assignment raises, hashable; forbid_unknown_fields: msgspec refuses an undeclared field
# (the fast path then leaves the body to the reference path, which ignores it); gc=False: the
# instances hold only str, int, None, tuples and other such instances, so no reference cycles.
_STRUCT_OPTIONS = "frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False"


_END = "(?![\\s\\S])"  # how the schemas end a pattern (portable end of string)
# ^[class]+ or ^[class]{m} / {m,} / {m,n}, then the portable end
_CLASS_RUN = re.compile(r"\^(\[(?:[^\]\\]|\\.)+\])(?:(\+)|\{(\d+)(?:(,)(\d*))?\})" + re.escape(_END) + r"\Z", re.S)


def char_class_run(pattern: str) -> tuple[str, int, int | None] | None:
    """(class, min length, max length or None) when a pattern is one character class repeated
    from start to end, e.g. ^[0-9a-f]{32}(?![\\s\\S]) -> ('[0-9a-f]', 32, 32); else None."""
    m = _CLASS_RUN.match(pattern)
    if m is None:
        return None
    cls, plus, low, comma, high = m.groups()
    if plus:
        return cls, 1, None
    if not comma:
        return cls, int(low), int(low)
    return cls, int(low), (int(high) if high else None)


def string_constraints(node: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(msgspec.Meta keywords, character class the fast path checks or None) for a string schema."""
    meta: dict[str, Any] = {}
    low, high = node.get("minLength"), node.get("maxLength")
    cls = None
    pattern = node.get("pattern")
    if pattern is not None and "x-check" not in node:
        run = char_class_run(pattern)
        if run is None:
            meta["pattern"] = pattern
        else:
            cls, run_low, run_high = run
            low = max(low or 0, run_low)
            high = run_high if high is None else (high if run_high is None else min(high, run_high))
    if low:
        meta["min_length"] = low
    if high is not None:
        meta["max_length"] = high
    return meta, cls


def _annotated(base: str, meta: Mapping[str, Any]) -> str:
    if not meta:
        return base
    return f"Annotated[{base}, Meta({', '.join(f'{k}={v!r}' for k, v in meta.items())})]"


def schema_digest(schemas: SchemaSet, node: Mapping[str, Any], base: str) -> str:
    """SHA-256 of a schema with every $ref inlined: the fast path decodes into a class only when
    the class was generated from the very schema the codec validates against."""
    def inline(value: Any, base: str, depth: int) -> Any:
        if depth > 64:
            raise ValueError("schema nested too deep (recursive $ref?)")
        if isinstance(value, Mapping):
            if "$ref" in value:
                target, target_base = schemas.resolve(value, base)
                rest = {k: inline(v, base, depth + 1) for k, v in value.items() if k != "$ref"}
                return {"$ref": inline(target, target_base, depth + 1), **rest}
            return {k: inline(v, base, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [inline(v, base, depth + 1) for v in value]
        return value

    text = json.dumps(inline(node, base, 0), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            return f"Literal[{node['const']!r}]=" + repr(node["const"]), None
        kind = node.get("type")
        if kind == "object":
            name = node.get("x-class") or hint
            self.emit_class(name, node, base, meta=None)
            return name, name
        if kind == "array":
            ann, nested = self.annotation(node["items"], base, hint + "Item")
            bounds = {k: node[j] for k, j in (("min_length", "minItems"), ("max_length", "maxItems")) if j in node}
            return _annotated(f"tuple[{ann}, ...]", bounds), nested
        if kind == "string":
            return _annotated("str", string_constraints(node)[0]), None
        if kind == "integer":
            bounds = {k: node[j] for k, j in (("ge", "minimum"), ("le", "maximum")) if j in node}
            return _annotated("int", bounds), None
        if kind is None and ("anyOf" in node or "oneOf" in node):
            parts = []
            for sub in node.get("anyOf", node.get("oneOf")):
                ann, _ = self.annotation(sub, base, hint)
                if ann not in parts:
                    parts.append(ann)
            return " | ".join(parts), None
        return {"string": "str", "integer": "int", "boolean": "bool"}[str(kind)], None

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
        lines = ["", "", f"class {name}(msgspec.Struct, {_STRUCT_OPTIONS}):", f"    {doc!r}", ""]
        for attr, json_name, ann, _nested, req in fields:
            renamed = f"msgspec.field(name={json_name!r}" if attr != json_name else None
            if "]=" in ann:  # a const field defaults to its only value
                ann, default = ann.split("]=", 1)
                ann += "]"
            elif req:
                default = None
            else:
                ann, default = ann + " | None", "None"
            if renamed:
                default = renamed + (f", default={default})" if default is not None else ")")
            lines.append(f"    {attr}: {ann}" + ("" if default is None else f" = {default}"))
        if meta is not None:
            lines += [
                "",
                f"    TYPE: ClassVar[str] = {meta.type!r}",
                f"    DIRECTION: ClassVar[str] = {meta.direction!r}",
                f"    SCHEMA_ID: ClassVar[str] = {meta.schema_id!r}",
                f"    SCHEMA_DIGEST: ClassVar[str] = {schema_digest(self.schemas, node, base)!r}",
            ]
        # _from_json: the instance is already valid, so plain indexing is safe and fast.
        args = []
        for attr, json_name, ann, nested, req in fields:
            get = f"o[{json_name!r}]" if req else f"o.get({json_name!r})"
            if nested and "tuple[" in ann:
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
            if nested and "tuple[" in ann:
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
        "from typing import Annotated, Any, ClassVar, Literal",
        "",
        "import msgspec",
        "from msgspec import Meta",
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
