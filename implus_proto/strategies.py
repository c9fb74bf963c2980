"""Hypothesis strategies for IMPlus messages, derived from the schemas (never from a field list).

    from implus_proto.strategies import json_values, messages
    json_values("Online")          # valid JSON dicts for schemas/online.json
    messages()                     # built message instances of every class
    messages("ClientList")         # ... of one class

The walker reads the same schema documents the validator compiles (implus_proto.default_schemas())
and understands the keywords they use: $ref, type, const, properties/required, pattern, minLength,
maxLength, minimum, maximum, anyOf, oneOf with required/not branches (an object carrying exactly
one of several fields), items, minItems, maxItems, and the semantic checks named by x-check
(rsa-public-key: a real PEM key from a small pool; unique-ids: entries with distinct ids).
A keyword it does not understand raises NotImplementedError when the strategy is built, so a
schema change cannot silently make the generated data too lenient.

Not imported by the package __init__: hypothesis is a test-time dependency of this module only.
No I/O, no clock.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from hypothesis import strategies as st

from .codec import Codec, canonical_json, default_codec
from .crypto import generate_keypair, public_key_pem
from .schemaset import MessageSpec, SchemaSet, default_schemas

KEY_POOL_SIZE = 3
KEY_POOL_BITS = 1024
MAX_TEXT = 120  # longest generated string (schemas allow up to 32768 ciphertext characters)
MAX_ITEMS = 6  # longest generated array (client_list allows 5000 entries)

# Keywords that only annotate: they never constrain an instance.
_ANNOTATIONS = {
    "$schema", "$id", "$defs", "title", "description", "examples", "default",
    "x-req", "x-class", "x-implus",
}
_SUPPORTED = {
    "$ref", "type", "const", "properties", "required", "pattern", "minLength", "maxLength",
    "minimum", "maximum", "anyOf", "oneOf", "items", "minItems", "maxItems", "x-check",
}
_END = r"(?:\$|\(\?!\[\\s\\S\]\))"  # "$" or the portable end anchor "(?![\s\S])"
_SIMPLE_CLASS_REPEAT = re.compile(r"^\^(\[(?:[^\]\\]|\\.)+\])\+" + _END + "$")
_TRAILING_END = re.compile(r"(?<!\\)" + _END + "$")  # not an escaped literal \$

_KEYS: list[tuple[Any, Any]] = []


def key_pool() -> list[tuple[Any, Any]]:
    """(public, private) RSA key pairs shared by every generated public-key field; made once, lazily."""
    while len(_KEYS) < KEY_POOL_SIZE:
        _KEYS.append(generate_keypair(KEY_POOL_BITS))
    return _KEYS


def _pem(index: int, crlf: bool) -> str:
    pem = public_key_pem(key_pool()[index][0])
    return pem.replace("\n", "\r\n") if crlf else pem


def public_keys() -> st.SearchStrategy[str]:
    """PKCS#1 PEM public keys from the pool, in the LF or CRLF line-end form the schema allows."""
    return st.builds(_pem, st.integers(0, KEY_POOL_SIZE - 1), st.booleans())


def _no_surrogates(text: str) -> bool:
    return not any("\ud800" <= ch <= "\udfff" for ch in text)


class _Walker:
    def __init__(self, schemas: SchemaSet, max_text: int, max_items: int) -> None:
        self.schemas = schemas
        self.max_text = max_text
        self.max_items = max_items

    def strategy(self, node: Mapping[str, Any], base: str, where: str) -> st.SearchStrategy[Any]:
        beside_ref = set(node) - _ANNOTATIONS - {"$ref"} if "$ref" in node else set()
        if beside_ref:  # 2020-12 applies them together with the target; the walker only follows the target
            raise NotImplementedError(f"{where}: strategies do not understand {sorted(beside_ref)} beside $ref")
        node, base = self.schemas.resolve(node, base)
        unknown = set(node) - _ANNOTATIONS - _SUPPORTED
        if unknown:
            raise NotImplementedError(f"{where}: strategies do not understand {sorted(unknown)}")
        check = node.get("x-check")
        if check == "rsa-public-key":
            if node.get("type") != "string":
                raise NotImplementedError(f"{where}: rsa-public-key check on a non-string")
            return public_keys()
        if check not in (None, "unique-ids"):
            raise NotImplementedError(f"{where}: unknown x-check {check!r}")
        if "const" in node:
            return st.just(node["const"])
        if "anyOf" in node:
            if set(node) & {"type", "oneOf"}:
                raise NotImplementedError(f"{where}: anyOf beside type/oneOf")
            return st.one_of([self.strategy(sub, base, f"{where}/anyOf/{i}") for i, sub in enumerate(node["anyOf"])])
        kind = node.get("type")
        if kind == "object":
            return self.object(node, base, where)
        if "oneOf" in node:
            raise NotImplementedError(f"{where}: oneOf outside an object schema")
        if kind == "array":
            return self.array(node, base, where, unique_ids=check == "unique-ids")
        if check == "unique-ids":
            raise NotImplementedError(f"{where}: unique-ids check on a non-array")
        if kind == "string":
            return self.string(node, where)
        if kind == "integer":
            return st.integers(min_value=node.get("minimum"), max_value=node.get("maximum"))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        raise NotImplementedError(f"{where}: no strategy for {dict(node)!r}")

    def object(self, node: Mapping[str, Any], base: str, where: str) -> st.SearchStrategy[dict[str, Any]]:
        props = node.get("properties", {})
        required = list(node.get("required", ()))
        branches = node.get("oneOf") or [{}]
        mentioned: set[str] = set()
        for b in branches:
            if set(b) - _ANNOTATIONS - {"required", "not"} or set(b.get("not", {})) - {"required"}:
                raise NotImplementedError(f"{where}: oneOf branches other than required/not: {b!r}")
            mentioned |= set(b.get("required", ())) | set(b.get("not", {}).get("required", ()))
        subs = {name: self.strategy(sub, base, f"{where}/properties/{name}") for name, sub in props.items()}
        forms = []
        for b in branches:
            need = required + [f for f in b.get("required", ()) if f not in required]
            missing = [f for f in need if f not in subs]
            if missing:
                raise NotImplementedError(f"{where}: required {missing} without a property schema")
            # Fields a oneOf branch talks about appear only when the chosen branch requires them,
            # so exactly one branch matches.
            optional = [f for f in subs if f not in need and f not in mentioned]
            forms.append(st.fixed_dictionaries({f: subs[f] for f in need}, optional={f: subs[f] for f in optional}))
        return st.one_of(forms)

    def array(self, node: Mapping[str, Any], base: str, where: str, unique_ids: bool) -> st.SearchStrategy[list[Any]]:
        items = node.get("items")
        if not isinstance(items, dict):
            raise NotImplementedError(f"{where}: array without one items schema")
        sub = self.strategy(items, base, f"{where}/items")
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", self.max_items), max(self.max_items, low))
        unique_by = (lambda e: e.get("id")) if unique_ids else None
        return st.lists(sub, min_size=low, max_size=high, unique_by=unique_by)

    def string(self, node: Mapping[str, Any], where: str) -> st.SearchStrategy[str]:
        low = node.get("minLength", 0)
        high = node.get("maxLength")
        cap = max(low, self.max_text) if high is None else min(high, max(low, self.max_text))
        pattern = node.get("pattern")
        if pattern is None:
            return st.text(min_size=low, max_size=cap)
        simple = _SIMPLE_CLASS_REPEAT.match(pattern)
        if simple:  # ^[class]+$: characters from the class, length within the bounds
            alphabet = st.from_regex("^" + simple.group(1) + "$", fullmatch=True)
            return st.text(alphabet=alphabet, min_size=max(1, low), max_size=max(1, cap))
        out = st.from_regex(_TRAILING_END.sub("", pattern), fullmatch=True)  # fullmatch anchors the end
        if low or high is not None:
            out = out.filter(lambda s: low <= len(s) <= (high if high is not None else len(s)))
        return out.filter(_no_surrogates)


def _spec(target: str | type | MessageSpec, schemas: SchemaSet) -> MessageSpec:
    if isinstance(target, MessageSpec):
        return target
    name = target if isinstance(target, str) else target.__name__
    if name in schemas.by_class:
        return schemas.by_class[name]
    raise KeyError(f"no message class {name!r}; the schemas define {sorted(schemas.by_class)}")


@lru_cache(maxsize=None)
def _json_values(spec: MessageSpec, schemas: SchemaSet, max_text: int, max_items: int) -> st.SearchStrategy[dict[str, Any]]:
    walker = _Walker(schemas, max_text, max_items)
    limit = spec.max_body_bytes
    return walker.strategy(spec.schema, spec.schema_id, spec.file).filter(lambda o: len(canonical_json(o)) <= limit)


def json_values(
    class_name_or_spec: str | type | MessageSpec,
    *,
    schemas: SchemaSet | None = None,
    max_text: int = MAX_TEXT,
    max_items: int = MAX_ITEMS,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid JSON values (dicts, strict-mode valid: no unknown fields) of one message schema."""
    schemas = schemas or default_schemas()
    return _json_values(_spec(class_name_or_spec, schemas), schemas, max_text, max_items)


def messages(
    class_name: str | type | MessageSpec | None = None,
    *,
    codec: Codec | None = None,
    max_text: int = MAX_TEXT,
    max_items: int = MAX_ITEMS,
) -> st.SearchStrategy[Any]:
    """Built message instances (through Codec.from_obj) of one class, or of every class when None."""
    codec = codec or default_codec()
    schemas = codec.schemas
    specs = schemas.specs if class_name is None else (_spec(class_name, schemas),)

    def build(spec: MessageSpec) -> st.SearchStrategy[Any]:
        values = json_values(spec, schemas=schemas, max_text=max_text, max_items=max_items)
        return values.map(lambda o: codec.from_obj(o, strict=True, direction=spec.direction))

    return st.one_of([build(s) for s in specs])
