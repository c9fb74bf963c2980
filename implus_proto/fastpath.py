"""Fast accept path for decode: parse, validate and build in one pass, derived from the schemas.

The fast path only ever *accepts*: `FastPath.decode(body)` returns the typed message when it
can show that the reference path (strictjson.parse + Codec.validate + the x-check checks)
accepts the body, and None otherwise.  On None the caller runs the reference path, which
either accepts after all (a form the fast path does not take, e.g. unknown fields) or raises
the detailed ProtocolError.  So decode's outcome is always the reference path's outcome.

How, per message schema (compiled once from the SchemaSet):

* Parse: msgspec decodes the body into TypedDicts shaped like the schema (properties,
  required, items, anyOf of scalars).  msgspec refuses invalid UTF-8, a BOM, NaN/Infinity,
  lone surrogates, raw control characters in strings and trailing data; integer fields refuse
  floats (1.0, 1e2) and booleans.  The shape bounds the nesting depth (checked against
  Codec.max_depth at compile time).
* msgspec does not report duplicate keys (the last wins) and silently drops fields a
  TypedDict does not declare.  Both are caught exactly by counting colons: outside strings a
  ':' appears only after a key, so
      body.count(b":") == keys in the result + ':' inside the result's strings
  holds iff no key/value pair was dropped (a dropped pair adds at least one colon on the left
  only).  When no string holds a colon the right side is the key count alone; otherwise the
  body must not contain a \\u003a escape (which would add to the right side only).
* Validate: jsonschema-rs (draft 2020-12, the same documents in a registry) checks every
  constraint.  Its patterns follow ECMA-262 (`$` is the end of the string), stricter than the
  `re.search` of python-jsonschema, which also lets `$` match before a final newline: such a
  string only takes the reference path.
* x-check strings (rsa-public-key) are taken out of the compiled schema and checked by
  python-jsonschema on that subschema plus the semantic check, cached per PEM string.
  unique-ids is checked on the list.
* Which schema: the same choice as Codec.spec_for (type, then among several directions the
  one whose required fields are all present, most specific first).
"""
from __future__ import annotations

from typing import Any, Callable, NotRequired, Optional, TypedDict, Union

import jsonschema_rs
import msgspec
from jsonschema import Draft202012Validator

from .schemaset import MessageSpec

# Keywords without validation meaning (annotations and IMPlus metadata).
_INERT = frozenset({
    "$schema", "$id", "$defs", "$comment", "title", "description", "examples",
    "x-req", "x-implus", "x-class", "x-check",
})
# Keywords the fast path knows; any other in a message schema leaves that schema to the reference.
_KNOWN = frozenset({
    "$ref", "type", "const", "anyOf", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "properties", "required", "oneOf", "items", "minItems", "maxItems",
})
# Semantic checks on strings: a pure function of the string, so validated once and cached.
_STRING_CHECKS = frozenset({"rsa-public-key"})
_CACHE_SIZE = 4096


class Unsupported(Exception):
    """A schema construct the fast path does not translate; that schema uses the reference path."""


def _selector(pattern: tuple[Any, ...]) -> Callable[[Any], Any]:
    """Every value at a path pattern ('*' = each array item) in a value of the schema's shape."""
    if pattern and "*" not in pattern:
        *head, last = pattern

        def select_plain(root: Any) -> tuple[Any, ...]:
            for step in head:
                if step not in root:
                    return ()
                root = root[step]
            return (root[last],) if last in root else ()

        return select_plain

    def select(root: Any) -> list[Any]:
        found = [root]
        for step in pattern:
            if step == "*":
                found = [x for v in found for x in v]
            else:
                found = [v[step] for v in found if step in v]
        return found

    return select


def _unique_ids(entries: list[dict[str, Any]]) -> bool:
    return len({e["id"] for e in entries}) == len(entries)


class _StringCheck:
    """python-jsonschema on one x-check subschema, plus its semantic check; cached per string."""

    def __init__(self, node: Any, base: str, check: str, fast: "FastPath") -> None:
        from .codec import SEMANTIC_CHECKS

        schema = dict(node)
        schema.setdefault("$id", base)
        self._validator = Draft202012Validator(schema, registry=fast.codec.schemas.registry)
        self._semantic = SEMANTIC_CHECKS[check]
        self._cache: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        ok = self._cache.get(value)
        if ok is None:
            ok = self._validator.is_valid(value) and self._semantic(value) is None
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[value] = ok
        return ok


class _Plan:
    """The compiled fast path of one message schema."""

    def __init__(self, fast: "FastPath", spec: MessageSpec) -> None:
        self.spec = spec
        self._fast = fast
        self._n = 0
        self.string_checks: list[tuple[tuple[Any, ...], str, str, Any]] = []
        typ, count_keys = self._translate(spec.schema, spec.schema_id, (), in_any_of=False)
        assert count_keys is not None
        self.decode = msgspec.json.Decoder(typ).decode
        self.count_keys = count_keys
        doc = fast.compiled_docs[spec.file]
        try:  # the regex crate (finite automata) when every pattern allows it, else the default engine
            validator = jsonschema_rs.Draft202012Validator(
                doc, registry=fast.compiled_registry, pattern_options=jsonschema_rs.RegexOptions()
            )
        except (ValueError, jsonschema_rs.ValidationError):
            validator = jsonschema_rs.Draft202012Validator(doc, registry=fast.compiled_registry)
        self.is_valid = validator.is_valid
        checks: list[tuple[Callable[[Any], Any], Callable[[Any], bool]]] = []
        for path, check, base, node in self.string_checks:
            checks.append((_selector(path), fast.string_check(node, base, check)))
        for check, _req, pattern in fast.codec._checks[spec.class_name]:
            if check in _STRING_CHECKS:
                if not any(path == pattern for path, *_ in self.string_checks):
                    raise Unsupported(f"x-check {check} at {pattern} not on a property path")
            elif check == "unique-ids":
                checks.append((_selector(pattern), _unique_ids))
            else:
                raise Unsupported(f"x-check {check!r}")
        self.checks = tuple(checks)
        self.from_json = fast.codec.classes[spec.class_name]._from_json

    # -- schema -> msgspec type (the shape; jsonschema-rs checks the constraints) -----------
    def _translate(self, node: Any, base: str, path: tuple[Any, ...], in_any_of: bool) -> tuple[Any, Any]:
        """(msgspec type, key counter or None for scalars) for one subschema."""
        node, base = self._fast.codec.schemas.resolve(node, base)
        extra = set(node) - _INERT - _KNOWN
        if extra:
            raise Unsupported(f"keywords {sorted(extra)} at {path}")
        check = node.get("x-check")
        if check in _STRING_CHECKS:
            if in_any_of or node.get("type") != "string":
                raise Unsupported(f"x-check {check} on a non-string or inside anyOf at {path}")
            self.string_checks.append((path, check, base, node))
        if "oneOf" in node:
            for branch in node["oneOf"]:  # only required/not-required forms: no subschema to shape
                if set(branch) - _INERT - {"required", "not"} or set(branch.get("not", {})) - _INERT - {"required"}:
                    raise Unsupported(f"oneOf branch {branch!r} at {path}")
        if "const" in node:
            if not isinstance(node["const"], str):
                raise Unsupported(f"non-string const at {path}")
            return str, None
        if "anyOf" in node:
            branches = [self._translate(b, base, path, in_any_of=True) for b in node["anyOf"]]
            if any(counter is not None for _, counter in branches):
                raise Unsupported(f"anyOf of containers at {path}")
            return Union[tuple(t for t, _ in branches)], None
        kind = node.get("type")
        if kind == "string":
            return str, None
        if kind == "integer":
            return int, None
        if kind == "array":
            if not isinstance(node.get("items"), dict):
                raise Unsupported(f"array without one items schema at {path}")
            item, item_count = self._translate(node["items"], base, path + ("*",), in_any_of)
            if item_count is None:
                return list[item], None  # type: ignore[valid-type]
            return list[item], (lambda value, _f=item_count: sum(map(_f, value)))  # type: ignore[valid-type]
        if kind == "object":
            return self._object(node, base, path, in_any_of)
        raise Unsupported(f"type {kind!r} at {path}")

    def _object(self, node: Any, base: str, path: tuple[Any, ...], in_any_of: bool) -> tuple[Any, Any]:
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        if not required <= set(props):
            raise Unsupported(f"required field without a schema at {path}")
        fields: dict[str, Any] = {}
        nested: list[tuple[str, Callable[[Any], int]]] = []
        for name, sub in props.items():
            typ, counter = self._translate(sub, base, path + (name,), in_any_of)
            fields[name] = typ if name in required else NotRequired[typ]
            if counter is not None:
                nested.append((name, counter))
        self._n += 1
        typed = TypedDict(f"_Fast{self.spec.class_name}{self._n}", fields)  # type: ignore[misc]
        if not nested:
            return typed, len

        def count(value: dict[str, Any]) -> int:
            n = len(value)
            for name, counter in nested:
                if name in value:
                    n += counter(value[name])
            return n

        return typed, count

    # -- the decision ------------------------------------------------------------------------
    def run(self, body: bytes, rivals: tuple[frozenset[str], ...]) -> Any:
        try:
            obj = self.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        colons = body.count(b":")
        keys = self.count_keys(obj)
        if colons != keys and (b"\\u003" in body or colons != keys + _colons_in_strings(obj)):
            return None  # a duplicate or undeclared key was dropped (or that cannot be told)
        for rival in rivals:
            if rival <= obj.keys():
                return None  # Codec.spec_for would choose another schema for this object
        try:
            if not self.is_valid(obj):
                return None
        except Exception:  # a value the compiled validator cannot take (e.g. a huge integer)
            return None
        for select, check in self.checks:
            for value in select(obj):
                if not check(value):
                    return None
        return self.from_json(obj)


def _colons_in_strings(value: Any) -> int:
    n = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is str:
            n += v.count(":")
        elif type(v) is dict:
            for k, x in v.items():
                n += k.count(":")
                stack.append(x)
        elif type(v) is list:
            stack.extend(v)
    return n


_END = "(?![\\s\\S])"  # the schemas' portable end of string


def _for_rust(node: Any) -> Any:
    """A copy of a schema document for jsonschema-rs: x-check strings are only {"type": "string"}
    (checked beside it, cached), and the portable end (?![\\s\\S]) is written $, which in Rust's
    regex (no multi-line flag) means the same, end of the string, without needing backtracking."""
    if isinstance(node, dict):
        if node.get("x-check") in _STRING_CHECKS:
            return {"type": "string"}
        out = {k: _for_rust(v) for k, v in node.items()}
        if isinstance(out.get("pattern"), str):
            out["pattern"] = out["pattern"].replace(_END, "$")
        return out
    if isinstance(node, list):
        return [_for_rust(v) for v in node]
    return node


class FastPath:
    """Fast accept decisions for every schema of a codec that the translator takes."""

    def __init__(self, codec: Any) -> None:
        from .codec import _depth

        self.codec = codec
        schemas = codec.schemas
        self.compiled_docs = {name: _for_rust(doc) for name, doc in schemas.documents.items()}
        self.compiled_registry = jsonschema_rs.Registry([(d["$id"], d) for d in self.compiled_docs.values()])
        self._string_checks: dict[tuple[int, str], _StringCheck] = {}
        self.plans: dict[str, _Plan] = {}
        self.unsupported: dict[str, str] = {}
        for spec in schemas.specs:
            try:
                if _depth(schemas, spec.schema, spec.schema_id) > codec.max_depth:
                    raise Unsupported("deeper than the codec's max_depth")
                self.plans[spec.class_name] = _Plan(self, spec)
            except (Unsupported, TypeError, ValueError) as exc:  # TypeError/ValueError: refused by msgspec or jsonschema-rs
                self.unsupported[spec.class_name] = str(exc)
        # (type bytes, direction) -> candidates in the order to try: (plan, marks, rivals).
        # marks: b'"field"' that must occur in the body for that candidate to be tried;
        # rivals: required-sets of candidates Codec.spec_for prefers when all their fields are present.
        self._route: dict[tuple[bytes, Optional[str]], tuple[tuple[_Plan, tuple[bytes, ...], tuple[frozenset[str], ...]], ...]] = {}
        for type_name in schemas.types:
            for direction in {None, *(s.direction for s in schemas.specs)}:
                found = schemas.candidates(type_name, direction)
                if not found:
                    continue
                common = set.intersection(*(set(s.required) for s in found))
                route = []
                for i in sorted(range(len(found)), key=lambda i: (-len(found[i].required), i)):
                    spec = found[i]
                    plan = self.plans.get(spec.class_name)
                    if plan is None:
                        continue
                    marks = tuple(sorted(f'"{f}"'.encode() for f in set(spec.required) - common))
                    # after the colon count an accepted object holds declared fields only, so a
                    # rival needing a field this schema does not declare can never win
                    declared = set(spec.schema.get("properties", {}))
                    rivals = tuple(
                        frozenset(o.required) for j, o in enumerate(found)
                        if j != i and (len(o.required), -j) > (len(spec.required), -i) and set(o.required) <= declared
                    )
                    route.append((plan, marks, rivals))
                if route:
                    self._route[(type_name.encode("utf-8"), direction)] = tuple(route)
        self._max_bytes = schemas.max_body_bytes

    def string_check(self, node: Any, base: str, check: str) -> _StringCheck:
        key = (id(node), check)
        if key not in self._string_checks:
            self._string_checks[key] = _StringCheck(node, base, check, self)
        return self._string_checks[key]

    def decode(self, body: Any, direction: str | None = None) -> Any:
        """The message when the fast path shows the body valid (lenient mode), else None."""
        if type(body) is not bytes or len(body) > self._max_bytes:
            return None
        # Which type: a hint only (a wrong one makes the chosen decoder refuse the body).
        i = body.find(b'"type"')
        if i < 0:
            return None
        j = body.find(b'"', i + 6)
        route = self._route.get((body[j + 1:body.find(b'"', j + 1)], direction))
        if route is None:
            return None
        for plan, marks, rivals in route:
            for mark in marks:
                if mark not in body:
                    break
            else:
                if len(body) > plan.spec.max_body_bytes:
                    return None
                return plan.run(body, rivals)
        return None
