"""The IMPlus JSON Schemas, loaded once: the single source of truth for every message.

Everything else (the validator, the codec's field names, the generated message classes,
the test-data strategies) reads the schemas through this module.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Mapping

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

BASE_URI = "https://implus.invalid/schemas/v1/"
STRICT_BASE_URI = BASE_URI + "strict/"
DEFS_FILE = "defs.json"


def schema_dir() -> Path:
    """Where the schema files are: inside the installed package, or the repository's schemas/."""
    here = Path(__file__).resolve().parent
    bundled = here / "schemas"
    if (bundled / DEFS_FILE).is_file():
        return bundled
    return here.parent / "schemas"


@dataclass(frozen=True)
class MessageSpec:
    """One message type in one direction, as its schema file declares it (x-implus)."""

    file: str
    type: str
    direction: str
    class_name: str
    routing_keys: tuple[str, ...]
    max_body_bytes: int
    schema: Mapping[str, Any] = field(repr=False, compare=False)
    validator: Any = field(repr=False, compare=False)
    strict_validator: Any = field(repr=False, compare=False)

    @property
    def schema_id(self) -> str:
        return self.schema["$id"]

    @property
    def requirement(self) -> str:
        return self.schema["x-req"]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.schema.get("required", ()))


def _strictify(node: Any) -> Any:
    """Copy of a schema where every object with declared properties forbids others (strict mode)."""
    if isinstance(node, dict):
        out = {k: _strictify(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        if "$id" in out:
            out["$id"] = out["$id"].replace(BASE_URI, STRICT_BASE_URI)
        return out
    if isinstance(node, list):
        return [_strictify(v) for v in node]
    return node


class SchemaSet:
    """All schemas of one directory, with compiled lenient and strict validators."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or schema_dir()
        self.documents: dict[str, dict[str, Any]] = {}
        for path in sorted(self.directory.glob("*.json")):
            with path.open(encoding="utf-8") as fh:
                self.documents[path.name] = json.load(fh)
        if DEFS_FILE not in self.documents:
            raise RuntimeError(f"no {DEFS_FILE} in {self.directory}: the schemas are missing")
        strict_docs = {name: _strictify(doc) for name, doc in self.documents.items()}
        self.registry: Registry = Registry().with_resources(
            [(doc["$id"], Resource.from_contents(doc)) for doc in self.documents.values()]
            + [(doc["$id"], Resource.from_contents(doc)) for doc in strict_docs.values()]
        )
        specs = []
        for name, doc in self.documents.items():
            meta = doc.get("x-implus")
            if meta is None:
                continue
            specs.append(
                MessageSpec(
                    file=name,
                    type=meta["type"],
                    direction=meta["direction"],
                    class_name=meta["class"],
                    routing_keys=tuple(meta["routing_keys"]),
                    max_body_bytes=int(meta["max_body_bytes"]),
                    schema=doc,
                    validator=Draft202012Validator(doc, registry=self.registry),
                    strict_validator=Draft202012Validator(strict_docs[name], registry=self.registry),
                )
            )
        self.specs: tuple[MessageSpec, ...] = tuple(specs)
        self.by_class = {s.class_name: s for s in self.specs}

    @cached_property
    def types(self) -> tuple[str, ...]:
        """Every message type name, in a stable order."""
        return tuple(sorted({s.type for s in self.specs}))

    @cached_property
    def max_body_bytes(self) -> int:
        """No body of any type may be larger than this."""
        return max(s.max_body_bytes for s in self.specs)

    def candidates(self, type_name: str, direction: str | None = None) -> tuple[MessageSpec, ...]:
        return tuple(
            s for s in self.specs if s.type == type_name and (direction is None or s.direction == direction)
        )

    def resolve(self, node: Mapping[str, Any], base: str) -> tuple[Mapping[str, Any], str]:
        """Follow $ref chains of a subschema; returns the target and its base URI."""
        while "$ref" in node:
            resolved = self.registry.resolver(base_uri=base).lookup(node["$ref"])
            node, base = resolved.contents, resolved.resolver._base_uri  # noqa: SLF001
        return node, base

    def walk(self, schema: Mapping[str, Any], base: str) -> Iterator[tuple[Mapping[str, Any], str]]:
        """Every subschema reachable from schema (through $ref, properties, items, combinators)."""
        seen: set[int] = set()
        stack = [(schema, base)]
        while stack:
            node, b = stack.pop()
            node, b = self.resolve(node, b)
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node, b
            for key in ("properties", "$defs"):
                for sub in node.get(key, {}).values():
                    stack.append((sub, b))
            for key in ("items", "not", "additionalProperties"):
                if isinstance(node.get(key), dict):
                    stack.append((node[key], b))
            for key in ("anyOf", "oneOf", "allOf"):
                for sub in node.get(key, ()):
                    stack.append((sub, b))


def strict_copy(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Public for tools that want the strict form of one schema document."""
    return _strictify(copy.deepcopy(dict(schema)))


_DEFAULT: SchemaSet | None = None


def default_schemas() -> SchemaSet:
    """The shipped schema set, loaded on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SchemaSet()
    return _DEFAULT
