"""Fast accept path for decode: parse, validate and build in one pass, derived from the schemas.

The fast path only ever *accepts*: `FastPath.decode(body)` returns the typed message when it
can show that the reference path (strictjson.parse + Codec.validate + the x-check checks)
accepts the body, and None otherwise.  On None the caller runs the reference path, which
either accepts after all (a form the fast path does not take, e.g. unknown fields) or raises
the detailed ProtocolError.  So decode's outcome is always the reference path's outcome.

How, per message schema (compiled once from the SchemaSet):

* Parse, check and build: the generated message classes (messages.py) are frozen msgspec
  Structs whose annotations carry the schema's constraints (codegen: lengths, ranges, item
  counts, consts as Literal, the other patterns), so `msgspec.json.Decoder(Class)` does most
  of the work in one C pass.  msgspec refuses invalid UTF-8, a BOM, NaN/Infinity, lone
  surrogates, raw control characters in strings and trailing data; integer fields refuse
  floats (1.0, 1e2) and booleans; every Struct forbids undeclared fields (the reference path,
  which ignores them, then decides).  The shape bounds the nesting depth (checked against
  Codec.max_depth).  A class is used only if its SCHEMA_DIGEST says it was generated from the
  very schema this codec validates against (else that schema takes the reference path).
* What msgspec does not check is checked after, by one Python function `run(body)` generated
  per schema from a walk of that schema (`_Plan.source` holds its code):
  - character-class patterns (`^[...]+`, `^[...]{m,n}`): codegen put their length bounds in
    Meta; each such string is tested with a sufficient shortcut for ASCII strings (isascii,
    isprintable or strip by the class's ASCII members), else the regex [class]* on all of it;
  - x-check strings (rsa-public-key): python-jsonschema on that subschema plus the semantic
    check, cached per string; unique-ids: a set of the ids;
  - oneOf of required/not-required forms (exactly one of prublic_key/public_key);
  - required fields with a default in the class (consts: `type`, `user_id` ""), which msgspec
    would fill in when missing: the body must hold `"name"` followed by `:`.  After msgspec
    accepted the body every key in it is a declared field name, with no quote in it; so the
    closing quote of such bytes is not escaped, it ends a string that is followed by ':', a key,
    and that key is exactly name; the name must be declared by the top-level object alone;
  - duplicate keys (msgspec keeps the last) and JSON nulls in optional fields (read as absent)
    by counting colons: outside strings a ':' appears only after a key, so
        body.count(b":") == fields present in the message + ':' inside its strings
    holds iff every key occurs once and every null-free field was counted.  When no string
    holds a colon the right side is the field count alone; otherwise the body must not contain
    a \\u003a escape (which would add to the right side only).
* Which schema: the type (the `"type"` key found as above; its value is a hint, checked by the
  decoder's Literal), then among several directions the candidates in Codec.spec_for's order;
  at most one of them can accept a body (see _choice).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

import msgspec
from jsonschema import Draft202012Validator

from .codegen import attr_name, schema_digest, string_constraints
from .schemaset import MessageSpec

# Keywords without validation meaning (annotations and IMPlus metadata).
_INERT = frozenset({
    "$schema", "$id", "$defs", "$comment", "title", "description", "examples",
    "x-req", "x-implus", "x-class", "x-check",
})
# Keywords the fast path knows (codegen puts them into the classes, or a check below does them);
# any other in a message schema leaves that schema to the reference.
_KNOWN = frozenset({
    "$ref", "type", "const", "anyOf", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "properties", "required", "oneOf", "items", "minItems", "maxItems",
})
# Semantic checks on strings: a pure function of the string, so validated once and cached.
_STRING_CHECKS = frozenset({"rsa-public-key"})
_CACHE_SIZE = 4096
_TYPE = "type"  # the field that names the message type (Codec.spec_for)


class Unsupported(Exception):
    """A schema construct the fast path does not translate; that schema uses the reference path."""


class _StringCheck:
    """python-jsonschema on one x-check subschema, plus its semantic check; cached per string."""

    def __init__(self, node: Any, base: str, check: str, fast: "FastPath") -> None:
        from .codec import SEMANTIC_CHECKS

        schema = dict(node)
        schema.setdefault("$id", base)
        self._validator = Draft202012Validator(schema, registry=fast.codec.schemas.registry)
        self._semantic = SEMANTIC_CHECKS[check]
        self.cache: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        ok = self.cache.get(value)
        if ok is None:
            ok = self._validator.is_valid(value) and self._semantic(value) is None
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            self.cache[value] = ok
        return ok


def _has_key(body: bytes, mark: bytes) -> bool:
    """Whether `"name"` followed by white space and ':' occurs in the body (see the module doc)."""
    i = body.find(mark)
    while i >= 0:
        j = i + len(mark)
        while body[j:j + 1] in (b" ", b"\t", b"\r", b"\n"):
            j += 1
        if body[j:j + 1] == b":":
            return True
        i = body.find(mark, i + 1)
    return False


def _colons_in_strings(value: Any) -> int:
    if type(value) is str:
        return value.count(":")
    if type(value) is tuple:
        return sum(map(_colons_in_strings, value))
    if isinstance(value, msgspec.Struct):
        return sum(_colons_in_strings(getattr(value, f)) for f in value.__struct_fields__)
    return 0


class _Plan:
    """The compiled fast path of one message schema: a msgspec decoder and a generated check."""

    def __init__(self, fast: "FastPath", spec: MessageSpec) -> None:
        self.spec = spec
        self._fast = fast
        self._schemas = fast.codec.schemas
        self._env: dict[str, Any] = {"_has_key": _has_key, "_colons": _colons_in_strings}
        self._classes: dict[str, str] = {}  # character class -> name of its test (regex fullmatch)
        self._n = 0
        self._names: dict[str, int] = {}  # field name -> how many objects of the shape declare it
        self._defaulted: list[str] = []  # required top-level fields with a default in the class
        cls = fast.codec.classes[spec.class_name]
        if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
            raise Unsupported(f"{cls.__name__} is not a msgspec Struct")
        if getattr(cls, "SCHEMA_DIGEST", None) != schema_digest(self._schemas, spec.schema, spec.schema_id):
            raise Unsupported(f"{cls.__name__} was generated from other schemas (its Meta constraints may differ)")
        body = self._value(spec.schema, spec.schema_id, "m", 1, ())
        for name in self._defaulted:
            if self._names[name] != 1:
                raise Unsupported(f"cannot prove field {name!r} present: more than one object declares it")
        self.decode = msgspec.json.Decoder(cls).decode
        self.max_body_bytes = spec.max_body_bytes
        self._env.update(_decode=self.decode, _errors=(msgspec.DecodeError, msgspec.ValidationError))
        head = [
            "def run(body):",
            f"    if len(body) > {self.max_body_bytes}:",
            "        return None",
            "    try:",
            "        m = _decode(body)",
            "    except _errors:",
            "        return None",
        ]
        for name in self._defaulted:
            if name == _TYPE:
                continue  # FastPath.decode found this key before it chose the plan
            mark = ('"' + name + '"').encode("utf-8")
            head += [f"    if not _has_key(body, {mark!r}):", "        return None"]
        if body and body[0].startswith("    k += "):  # the top-level object's required fields
            body[0] = "    k = " + body[0][len("    k += "):]
        else:
            head.append("    k = 0")
        tail = [
            "    c = len(body) - len(body.replace(b':', b''))",  # = body.count(b':'), faster (memchr) when colons are sparse
            "    if c != k and (b'\\\\u003' in body or c != k + _colons(m)):",
            "        return None",
            "    return m",
        ]
        self.source = "\n".join(head + body + tail) + "\n"
        exec(compile(self.source, f"<fastpath {spec.class_name}>", "exec"), self._env)  # noqa: S102
        self.run: Callable[[bytes], Any] = self._env["run"]

    # -- schema -> check code -------------------------------------------------------------
    def _const(self, value: Any) -> str:
        self._n += 1
        name = f"_c{self._n}"
        self._env[name] = value
        return name

    def _var(self) -> str:
        self._n += 1
        return f"v{self._n}"

    def _class_test(self, cls_pattern: str, var: str) -> str:
        """A Python test that every character of the string in `var` is in a character class.

        The truth is the regex [class]* matching the whole string; before it, a test that is
        sufficient and cheaper for ASCII strings: str.isascii() is O(1), and the class's ASCII
        members are either all of ASCII, the printable ASCII (str.isprintable on ASCII), or a
        small set (str.strip leaves nothing iff every character is in the set)."""
        if cls_pattern not in self._classes:
            self._classes[cls_pattern] = self._const(re.compile(cls_pattern + "*").fullmatch)
        full = f"{self._classes[cls_pattern]}({var}) is not None"
        one = re.compile(cls_pattern)
        ascii_members = "".join(c for c in map(chr, range(128)) if one.fullmatch(c))
        if len(ascii_members) == 128:
            return f"({var}.isascii() or {full})"
        if ascii_members == "".join(map(chr, range(0x20, 0x7f))):
            return f"({var}.isascii() and {var}.isprintable() or {full})"
        if len(ascii_members) <= 32:
            return f"({var}.isascii() and not {var}.strip({ascii_members!r}) or {full})"
        return f"({full})"

    def _value(self, node: Any, base: str, var: str, ind: int, path: tuple[Any, ...]) -> list[str]:
        """Check code (lines) for the value in `var` of a subschema; msgspec has checked its shape."""
        node, base = self._schemas.resolve(node, base)
        extra = set(node) - _INERT - _KNOWN
        if extra:
            raise Unsupported(f"keywords {sorted(extra)} at {path}")
        pad = "    " * ind
        check = node.get("x-check")
        if "const" in node:
            if not isinstance(node["const"], str) or check:
                raise Unsupported(f"non-string const or x-check on a const at {path}")
            return []  # a Literal in the class
        if "anyOf" in node:
            if check or "type" in node:
                raise Unsupported(f"anyOf beside other keywords at {path}")
            kinds = []
            out: list[str] = []
            for branch in node["anyOf"]:
                branch_node, branch_base = self._schemas.resolve(branch, base)
                kind = branch_node.get("type")
                if kind not in ("string", "integer") or kind in kinds or "anyOf" in branch_node:
                    raise Unsupported(f"anyOf other than one string and one integer form at {path}")
                kinds.append(kind)
                inner = self._value(branch_node, branch_base, var, ind + 1, path)
                if inner:
                    py = "str" if kind == "string" else "int"
                    out += [f"{pad}if type({var}) is {py}:"] + inner
            return out
        kind = node.get("type")
        if kind == "string":
            if check in _STRING_CHECKS:
                fn = self._fast.string_check(node, base, check)
                cache, call = self._const(fn.cache), self._const(fn)
                return [f"{pad}if not ({cache}.get({var}) or {call}({var})):", f"{pad}    return None"]
            if check is not None:
                raise Unsupported(f"x-check {check!r} at {path}")
            _meta, cls_pattern = string_constraints(node)
            if cls_pattern is None:
                return []
            return [f"{pad}if not {self._class_test(cls_pattern, var)}:", f"{pad}    return None"]
        if kind == "integer":
            if check is not None:
                raise Unsupported(f"x-check {check!r} on an integer at {path}")
            return []
        if kind == "array":
            if not isinstance(node.get("items"), dict):
                raise Unsupported(f"array without one items schema at {path}")
            item = self._var()
            inner = self._value(node["items"], base, item, ind + 1, path + ("*",))
            out = [f"{pad}for {item} in {var}:"] + inner if inner else []
            if check == "unique-ids":
                items, _ = self._schemas.resolve(node["items"], base)
                if items.get("type") != "object" or "id" not in items.get("required", ()):
                    raise Unsupported(f"unique-ids on items without a required id at {path}")
                out += [f"{pad}if len({{x.{attr_name('id')} for x in {var}}}) != len({var}):", f"{pad}    return None"]
            elif check is not None:
                raise Unsupported(f"x-check {check!r} on an array at {path}")
            return out
        if kind == "object":
            if check is not None:
                raise Unsupported(f"x-check {check!r} on an object at {path}")
            return self._object(node, base, var, ind, path)
        raise Unsupported(f"type {kind!r} at {path}")

    def _object(self, node: Any, base: str, var: str, ind: int, path: tuple[Any, ...]) -> list[str]:
        pad = "    " * ind
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        if not required <= set(props):
            raise Unsupported(f"required field without a schema at {path}")
        out = [f"{pad}k += {len(required)}"] if required else []
        present: dict[str, str] = {}  # json name -> Python test of presence
        for name, sub in props.items():
            if ":" in name or '"' in name or "\\" in name:
                raise Unsupported(f"field name {name!r} at {path}")
            self._names[name] = self._names.get(name, 0) + 1
            attr = attr_name(name)
            resolved, _ = self._schemas.resolve(sub, base)
            if name in required:
                present[name] = "True"
                if "const" in resolved:  # the class gives it a default: msgspec would not miss it
                    if path != ():
                        raise Unsupported(f"required const field {name!r} below the top at {path}")
                    self._defaulted.append(name)
                value = self._var()
                inner = self._value(sub, base, value, ind, path + (name,))
                if inner:
                    out += [f"{pad}{value} = {var}.{attr}"] + inner
            else:
                value = self._var()
                present[name] = f"({value} is not None)"
                inner = self._value(sub, base, value, ind + 1, path + (name,))
                out += [f"{pad}{value} = {var}.{attr}", f"{pad}if {value} is not None:", f"{pad}    k += 1"] + inner
        one_of = node.get("oneOf")
        if one_of and len(one_of) == 2 and all(
            set(b) - _INERT == {"required", "not"} and set(b["not"]) - _INERT == {"required"}
            and len(b["required"]) == 1 and len(b["not"]["required"]) == 1 for b in one_of
        ) and (one_of[0]["required"], one_of[0]["not"]["required"]) == (one_of[1]["not"]["required"], one_of[1]["required"]) \
                and set(one_of[0]["required"] + one_of[1]["required"]) <= set(props):
            a, b = one_of[0]["required"][0], one_of[1]["required"][0]  # exactly one of a and b
            out += [f"{pad}if {present[a]} is {present[b]}:", f"{pad}    return None"]
        elif one_of:
            forms = []
            for branch in node["oneOf"]:
                negated = branch.get("not", {})
                if set(branch) - _INERT - {"required", "not"} or set(negated) - _INERT - {"required"}:
                    raise Unsupported(f"oneOf branch {branch!r} at {path}")
                names = list(branch.get("required", ())) + list(negated.get("required", ()))
                if not set(names) <= set(props):
                    raise Unsupported(f"oneOf names an undeclared field at {path}")
                must = " and ".join(present[n] for n in branch.get("required", ())) or "True"
                must_not = " and ".join(present[n] for n in negated.get("required", ()))
                forms.append(f"({must} and not ({must_not}))" if "not" in branch else f"({must})")
            out += [f"{pad}if {' + '.join(forms)} != 1:", f"{pad}    return None"]
        return out



class FastPath:
    """Fast accept decisions for every schema of a codec that the translator takes."""

    def __init__(self, codec: Any) -> None:
        from .codec import _depth

        self.codec = codec
        schemas = codec.schemas
        self._string_checks: dict[tuple[int, str], _StringCheck] = {}
        self.plans: dict[str, _Plan] = {}
        self.unsupported: dict[str, str] = {}
        for spec in schemas.specs:
            try:
                if _depth(schemas, spec.schema, spec.schema_id) > codec.max_depth:
                    raise Unsupported("deeper than the codec's max_depth")
                self.plans[spec.class_name] = _Plan(self, spec)
            except (Unsupported, TypeError, ValueError) as exc:  # TypeError/ValueError: refused by msgspec
                self.unsupported[spec.class_name] = str(exc)
        # direction -> type bytes -> run(body) of one plan, or several with marks (see _choice)
        self._route: dict[Optional[str], dict[bytes, Any]] = {}
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
                    # An accepted object holds declared fields only (msgspec forbids others).  If
                    # Codec.spec_for could prefer another schema for such an object (a rival whose
                    # required fields this one declares), leave these bodies to the reference.
                    declared = set(spec.schema.get("properties", {}))
                    if any(
                        j != i and (len(o.required), -j) > (len(spec.required), -i) and set(o.required) <= declared
                        for j, o in enumerate(found)
                    ):
                        self.unsupported.setdefault(spec.class_name, f"rival schema for {type_name!r} {direction}")
                        continue
                    # b'"field"' that must occur in the body for this candidate to be tried (a
                    # speed-up only: at most one candidate can accept a body, see _choice)
                    marks = tuple(sorted(f'"{f}"'.encode() for f in set(spec.required) - common))
                    route.append((plan, marks))
                if route:
                    self._route.setdefault(direction, {})[type_name.encode("utf-8")] = _choice(tuple(route))
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
        # Which type: any `"type"` followed by ':' is the top-level key (see the module doc:
        # after msgspec accepts the body every key is a declared field name, and only the
        # top-level object declares "type"); the string after it picks the plan, a hint only
        # (a wrong one makes the chosen decoder refuse the body).  Canonical bodies (sorted
        # keys) have it near the end, after the long message field; json.dumps of a dict
        # written type-first has it at the start.
        if body.startswith(b'{"type": "'):
            j = 9
        else:
            j = body.rfind(b'"type":"') + 7
            if j < 7:
                i = body.rfind(b'"type"')
                while True:
                    if i < 0:
                        return None
                    j = body.find(b'"', i + 6)
                    if body[i + 6:j].strip(b" \t\r\n") == b":":
                        break
                    i = body.rfind(b'"type"', 0, i)
        run = self._route.get(direction, _NO_ROUTE).get(body[j + 1:body.find(b'"', j + 1)])
        if type(run) is tuple:  # several candidates (normal without a direction): see _choice
            for marks, plan_run in run:
                for mark in marks:
                    if mark not in body:
                        break
                else:
                    message = plan_run(body)
                    if message is not None:
                        return message
            return None
        return None if run is None else run(body)


def _choice(route: tuple[tuple[_Plan, tuple[bytes, ...]], ...]) -> Any:
    """The run(body) of the only candidate of one type (and direction), or ((marks, run), ...)
    of several, most specific first, for FastPath.decode to try in turn.

    At most one candidate can accept a body: one that does holds all its required fields and
    declared ones only; had two, the one Codec.spec_for prefers would have all its required
    fields among the other's declared ones, and the other was left out of the route (a rival).
    So trying them in any order gives the same answer; the marks only save decoding attempts."""
    if len(route) == 1 and not route[0][1]:
        return route[0][0].run
    return tuple((marks, plan.run) for plan, marks in route)


_NO_ROUTE: dict[bytes, Any] = {}
