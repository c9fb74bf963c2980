"""decode, encode, validate: bytes <-> frozen message classes, driven by the schemas.

Sans-IO: nothing here touches a socket, a broker, a store or the clock.
"""
from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from itertools import islice
from typing import Any, Callable, Iterable, Mapping, Union

from jsonschema.exceptions import ValidationError, relevance

from . import messages
from .errors import Issue, ProtocolError, short
from .schemaset import MessageSpec, SchemaSet, default_schemas
from .strictjson import check_tree, parse

MAX_ISSUES = 50  # the most issues one report lists

Message = Union[
    messages.NormalToServer,
    messages.NormalToClient,
    messages.Online,
    messages.Offline,
    messages.SelfOffline,
    messages.ClientList,
]


def _depth(schemas: SchemaSet, node: Mapping[str, Any], base: str) -> int:
    node, base = schemas.resolve(node, base)
    children = list(node.get("properties", {}).values())
    if isinstance(node.get("items"), dict):
        children.append(node["items"])
    inner = max((_depth(schemas, c, base) for c in children), default=0)
    return inner + (1 if node.get("type") in ("object", "array") else 0)


class Codec:
    """The codec for one schema set (the shipped one unless told otherwise)."""

    def __init__(self, schemas: SchemaSet | None = None) -> None:
        self.schemas = schemas or default_schemas()
        self.max_depth = max(_depth(self.schemas, s.schema, s.schema_id) for s in self.schemas.specs)
        self.classes = {s.class_name: getattr(messages, s.class_name) for s in self.schemas.specs}
        self.spec_of_class = {cls: self.schemas.by_class[name] for name, cls in self.classes.items()}
        self._checks = {spec.class_name: self._collect_checks(spec) for spec in self.schemas.specs}
        # the fast accept path: msgspec decodes straight into the generated classes (messages.py),
        # a generated check does the rest; whatever it does not accept takes the reference path
        from .fastpath import FastPath

        self.fast: FastPath | None = FastPath(self)

    # -- choosing the schema -------------------------------------------------------------
    def spec_for(self, obj: Any, direction: str | None = None) -> tuple[MessageSpec | None, Issue | None]:
        """Which schema a decoded JSON value is checked against, or why none applies."""
        if not isinstance(obj, dict):
            return None, Issue((), (), "MSG-1", f"a message is a JSON object, not {_json_kind(obj)}")
        kind = obj.get("type")
        if "type" not in obj:
            return None, Issue(("type",), (), "MSG-2", "missing 'type'")
        if not isinstance(kind, str) or not self.schemas.candidates(kind):
            return None, Issue(
                ("type",), (), "MSG-2",
                f"unknown message type {short(kind)}; expected one of {', '.join(self.schemas.types)}",
            )
        found = self.schemas.candidates(kind, direction)
        if not found:
            return None, Issue(("type",), (), "MSG-2", f"no {kind!r} message goes {direction}")
        if len(found) == 1:
            return found[0], None
        # Several directions share the type (normal): the one whose required fields are all
        # present wins, the most specific first; otherwise the one with fewest missing.
        def score(spec: MessageSpec) -> tuple[int, int]:
            missing = sum(1 for f in spec.required if f not in obj)
            return (missing, -len(spec.required))

        return min(found, key=score), None

    # -- validation ----------------------------------------------------------------------
    def validate(self, obj: Any, *, strict: bool = False, direction: str | None = None) -> list[Issue]:
        """Every problem with a decoded JSON value, most relevant first; [] when it is valid."""
        return self._choose(obj, direction, strict)[1]

    def _choose(self, obj: Any, direction: str | None, strict: bool) -> tuple[MessageSpec | None, list[Issue]]:
        """The schema a value is checked against and its issues. Without a direction, a type that goes
        both ways (normal) is checked against the likelier schema first, then any other that accepts it:
        a chat message with an unknown extra field such as from_id is still a valid chat message (MSG-12)."""
        spec, problem = self.spec_for(obj, direction)
        if problem is not None:
            return None, [problem]
        assert spec is not None
        issues = self.validate_against(spec, obj, strict=strict)
        if issues and direction is None:
            for other in self.schemas.candidates(spec.type):
                if other is not spec and not self.validate_against(other, obj, strict=strict):
                    return other, []
        return spec, issues

    def validate_against(self, spec: MessageSpec, obj: Any, *, strict: bool = False) -> list[Issue]:
        """Every problem of a JSON value checked against one given schema (its type field included)."""
        validator = spec.strict_validator if strict else spec.validator
        # a hostile 4 MB client_list can hold hundreds of thousands of bad entries: report the first
        # MAX_ISSUES (python-jsonschema yields lazily, and checks maxItems before the items)
        errors = sorted(islice(validator.iter_errors(obj), MAX_ISSUES), key=relevance, reverse=True)
        if errors:
            return [self._issue(spec, e) for e in errors]
        return self._semantic(spec, obj)

    def decode(self, body: bytes, *, strict: bool = False, direction: str | None = None) -> Message:
        """Parse, validate and build the typed message; raises ProtocolError saying why not."""
        if not strict and self.fast is not None:
            message = self.fast.decode(body, direction)
            if message is not None:
                return message
        # the reference path: it decides whatever the fast path did not accept, with the full report
        obj, problem = parse(body, max_bytes=self.schemas.max_body_bytes, max_depth=self.max_depth)
        if problem is not None:
            raise ProtocolError([problem])
        return self.from_obj(obj, strict=strict, direction=direction, body_size=len(body))

    def from_obj(
        self, obj: Any, *, strict: bool = False, direction: str | None = None, body_size: int | None = None
    ) -> Message:
        """The typed message for an already-parsed JSON value."""
        spec, issues = self._choose(obj, direction, strict)
        if issues:
            raise ProtocolError(issues)
        assert spec is not None
        if body_size is not None and body_size > spec.max_body_bytes:
            raise ProtocolError([Issue((), (), "MSG-1", f"a {spec.type} body is at most {spec.max_body_bytes} bytes, this one is {body_size}")])
        return self.classes[spec.class_name]._from_json(obj)

    def to_obj(self, message: Message) -> dict[str, Any]:
        """The JSON value of a message (no validation)."""
        if type(message) not in self.spec_of_class:
            raise TypeError(f"not an IMPlus message: {type(message).__name__}")
        return message._to_json()

    def encode(self, message: Message) -> bytes:
        """Canonical bytes: sorted keys, no white space, UTF-8. Refuses an invalid message."""
        spec = self.spec_of_class.get(type(message))
        try:
            obj = self.to_obj(message)
        except AttributeError as exc:  # e.g. a dict where a nested message class belongs
            if spec is None:
                raise
            raise ProtocolError([Issue((), (), spec.requirement, f"cannot encode this {type(message).__name__}: {exc}")]) from None
        assert spec is not None
        issues = self.validate_against(spec, obj)  # the class's own schema, whatever its type field says
        if issues:
            raise ProtocolError(issues)
        problem = check_tree(obj, self.max_depth)  # lone surrogates pass the schema but are not UTF-8
        if problem is not None:
            raise ProtocolError([problem])
        body = canonical_json(obj)
        if len(body) > spec.max_body_bytes:
            raise ProtocolError([Issue((), (), "MSG-1", f"a {spec.type} body is at most {spec.max_body_bytes} bytes, this one would be {len(body)}")])
        return body

    # -- issues from python-jsonschema ---------------------------------------------------
    def _issue(self, spec: MessageSpec, error: ValidationError) -> Issue:
        if error.validator in ("oneOf", "anyOf") and error.context:
            deeper = max(error.context, key=relevance)
            if len(deeper.absolute_path) > len(error.absolute_path) and deeper.validator not in ("required", "not"):
                error = deeper
        schema_path = tuple(error.absolute_schema_path)
        unknown_field = error.validator == "additionalProperties"
        return Issue(
            path=tuple(error.absolute_path),
            schema_path=schema_path,
            requirement="MSG-12" if unknown_field else self._requirement(spec, schema_path),
            reason=_reason(error),
        )

    def _requirement(self, spec: MessageSpec, schema_path: Iterable[str | int]) -> str | None:
        node: Any = spec.schema
        base = spec.schema_id
        req = node.get("x-req")
        for step in schema_path:
            if isinstance(node, dict) and step not in node and "$ref" in node:
                node, base = self.schemas.resolve(node, base)  # python-jsonschema omits $ref steps
                if "x-req" in node:
                    req = node["x-req"]
            if step == "$ref":
                node, base = self.schemas.resolve(node, base)
            elif isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            else:
                break
            if isinstance(node, dict) and "x-req" in node:
                req = node["x-req"]
        if isinstance(node, list):  # a combinator whose branches all cite one requirement
            branch_reqs = {b.get("x-req") for b in node if isinstance(b, dict)}
            if len(branch_reqs) == 1 and None not in branch_reqs:
                req = branch_reqs.pop()
        return req

    # -- checks beside the schema (x-check) ------------------------------------------------
    def _collect_checks(self, spec: MessageSpec) -> list[tuple[str, str, tuple[Any, ...]]]:
        """(check, requirement, path pattern) for every x-check reachable in a schema; '*' is any array index."""
        found = []

        def visit(node: Mapping[str, Any], base: str, path: tuple[Any, ...], req: str | None) -> None:
            node, base = self.schemas.resolve(node, base)
            req = node.get("x-req", req)
            if "x-check" in node:
                found.append((node["x-check"], req, path))
            for name, sub in node.get("properties", {}).items():
                visit(sub, base, path + (name,), req)
            if isinstance(node.get("items"), dict):
                visit(node["items"], base, path + ("*",), req)

        visit(spec.schema, spec.schema_id, (), None)
        return found

    def _semantic(self, spec: MessageSpec, obj: Any) -> list[Issue]:
        issues: list[Issue] = []
        for check, req, pattern in self._checks[spec.class_name]:
            for path, value in _select(obj, pattern):
                reason = SEMANTIC_CHECKS[check](value)
                if reason:
                    issues.append(Issue(path, ("x-check", check), req, reason))
        return issues


def _select(obj: Any, pattern: tuple[Any, ...], path: tuple[Any, ...] = ()) -> Iterable[tuple[tuple[Any, ...], Any]]:
    if not pattern:
        yield path, obj
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                yield from _select(item, rest, path + (i,))
    elif isinstance(obj, dict) and head in obj:
        yield from _select(obj[head], rest, path + (head,))


@lru_cache(maxsize=4096)
def _check_rsa_public_key(pem: str) -> str | None:
    from .crypto import load_public_key  # crypto imports this module's errors only

    from .errors import CryptoError

    try:
        load_public_key(pem)
    except CryptoError as exc:
        return exc.reason
    return None


def _check_unique_ids(entries: list[Any]) -> str | None:
    counts = Counter(e.get("id") for e in entries if isinstance(e, dict))  # linear: lists hold up to 5000
    dup = sorted((i for i, n in counts.items() if n > 1), key=repr)
    return f"client ids must be unique; repeated: {dup}" if dup else None


SEMANTIC_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "rsa-public-key": _check_rsa_public_key,
    "unique-ids": _check_unique_ids,
}


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


_PORTABLE_END = "(?![\\s\\S])"  # how the schemas anchor a pattern's end in every regex dialect


def _reason(error: ValidationError) -> str:
    """One readable line per failed keyword; instance values are shortened."""
    # python-jsonschema types these loosely (bool or Unset too); they are plain JSON values here
    v = error.validator
    val: Any = error.validator_value
    inst: Any = error.instance
    schema: Any = error.schema
    if isinstance(val, str):  # the schemas end patterns portably; show the familiar anchor
        val = val.replace(_PORTABLE_END, "$")
    if v == "required":
        # python-jsonschema yields one error per missing field, naming it first in its message
        name = error.message.split(" is a required property")[0]
        return f"missing required field {name}"
    if v == "type":
        return f"must be {val if isinstance(val, str) else ' or '.join(val)}, not {_json_kind(inst)}"
    if v == "const":
        return f"must be {val!r}, not {short(inst)}"
    if v == "pattern":
        described = (schema.get("description") or "").split(". ")[0].rstrip(".")
        if len(val) > 40 and described:
            return f"{short(inst)} is not {described[0].lower() + described[1:]}"
        return f"{short(inst)} does not match {json.dumps(val)}"
    if v == "minLength":
        return f"must have at least {_count(val, 'character')}, has {len(inst)}"
    if v == "maxLength":
        return f"must have at most {_count(val, 'character')}, has {len(inst)}"
    if v == "minimum":
        return f"must be at least {val}, is {short(inst)}"
    if v == "maximum":
        return f"must be at most {val}, is {short(inst)}"
    if v == "maxItems":
        return f"must have at most {val} items, has {len(inst)}"
    if v == "additionalProperties":
        extra = sorted(set(inst) - set(schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} (strict mode)"
    if v == "oneOf":
        branches = [b.get("required") for b in val]
        if all(branches):
            names = ", ".join(repr(b[0]) for b in branches)
            return f"must carry exactly one of {names}"
        return "matches none, or more than one, of the allowed forms"
    if v == "anyOf":
        forms = []
        for b in val:
            form = b.get("type", "?")
            if "pattern" in b:
                form += " matching " + b["pattern"].replace(_PORTABLE_END, "$")
            if "minimum" in b or "maximum" in b:
                form += f" in {b.get('minimum', '')}..{b.get('maximum', '')}"
            forms.append(form)
        return f"{short(inst)} is none of: {'; '.join(forms)}"
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


_DEFAULT_CODEC: Codec | None = None


def default_codec() -> Codec:
    global _DEFAULT_CODEC
    if _DEFAULT_CODEC is None:
        _DEFAULT_CODEC = Codec()
    return _DEFAULT_CODEC


def decode(body: bytes, *, strict: bool = False, direction: str | None = None) -> Message:
    return default_codec().decode(body, strict=strict, direction=direction)


def encode(message: Message) -> bytes:
    return default_codec().encode(message)


def validate(obj: Any, *, strict: bool = False, direction: str | None = None) -> list[Issue]:
    return default_codec().validate(obj, strict=strict, direction=direction)
