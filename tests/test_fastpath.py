"""Differential test: the fast accept path against the reference path (strictjson.parse + Codec.validate).

MSG-1..MSG-13: the fast path accepts exactly what the reference accepts, with an equal message;
decode (fast path first, reference on refusal) always has the reference outcome.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from implus_proto import Codec, ProtocolError
from implus_proto.strategies import json_values
from implus_proto.strictjson import parse

CODEC = Codec()
FAST = CODEC.fast
CLASSES = [s.class_name for s in CODEC.schemas.specs]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(body: bytes):
    obj, problem = parse(body, max_bytes=CODEC.schemas.max_body_bytes, max_depth=CODEC.max_depth)
    if problem is not None:
        return None
    try:
        return CODEC.from_obj(obj, body_size=len(body))
    except ProtocolError:
        return None


def same(body: bytes) -> None:
    ref = reference(body)
    fast = FAST.decode(body)
    if fast is not None:
        assert ref is not None, f"fast path accepted what the reference refuses: {body[:300]!r}"
        assert fast == ref
    elif ref is not None:
        # the fast path defers (never refuses for good) only on undeclared fields or a \u003a escape
        obj, _ = parse(body, max_bytes=CODEC.schemas.max_body_bytes, max_depth=CODEC.max_depth)
        assert CODEC.to_obj(ref) != obj or b"\\u003" in body, f"fast path refused what the reference accepts: {body[:300]!r}"
    try:
        assert CODEC.decode(body) == ref
    except ProtocolError:
        assert ref is None


def test_every_schema_is_on_the_fast_path():
    assert FAST is not None and FAST.unsupported == {}


@pytest.mark.parametrize("name", CLASSES)
def test_examples(name):
    for ex in CODEC.schemas.by_class[name].schema["examples"]:
        for body in (json.dumps(ex).encode(), json.dumps(ex, separators=(",", ":")).encode(), json.dumps(ex, ensure_ascii=False).encode()):
            assert FAST.decode(body) is not None
            same(body)


@SETTINGS
@given(st.sampled_from(CLASSES).flatmap(json_values), st.sampled_from([0, 1, 2]))
def test_valid_messages(obj, form):
    body = [json.dumps(obj), json.dumps(obj, separators=(",", ":")), json.dumps(obj, ensure_ascii=False)][form].encode()
    same(body)
    # every valid body is taken by the fast path, but one whose colons cannot be told apart
    assert FAST.decode(body) is not None or b"\\u003" in body


def _mutations(obj: dict, data) -> bytes:
    keys = list(obj)
    key = data.draw(st.sampled_from(keys))
    body = json.dumps(obj, ensure_ascii=data.draw(st.booleans())).encode()
    kind = data.draw(st.sampled_from([
        "drop", "type", "bool", "float", "exp", "nan", "inf", "surrogate", "low_surrogate", "dup", "dup_nested",
        "deep", "unknown", "unknown_float", "const", "bom", "utf8", "bigint", "colon", "oversize", "trailing_nl",
        "trailing", "ctrl", "negative",
    ]))
    o = dict(obj)
    if kind == "drop":
        del o[key]
    elif kind == "type":
        o[key] = data.draw(st.sampled_from([None, [], {}, "1", 1]))
    elif kind == "bool":
        o[key] = True
    elif kind == "float":
        o[key] = 1.0
    elif kind == "exp":
        return body.replace(b"1", b"1e0", 1)
    elif kind == "nan":
        return body[:-1] + b', "z": NaN}'
    elif kind == "inf":
        return body[:-1] + b', "z": -Infinity}'
    elif kind == "surrogate":
        return body.replace(b'"', b'"\\ud800', data.draw(st.integers(1, 8)))
    elif kind == "low_surrogate":
        return body[:-1] + b', "z": "a\\udc00b"}'
    elif kind == "dup":
        return body[:-1] + b", " + json.dumps(key).encode() + b": " + json.dumps(obj[key]).encode() + b"}"
    elif kind == "dup_nested":
        return body.replace(b"{", b'{"k": 1, "k": 1, ', 2)
    elif kind == "deep":
        o["z"] = _deep(data.draw(st.integers(1, 40)))
    elif kind == "unknown":
        o["zz:z"] = data.draw(st.sampled_from(["a:b", 1, [1, 2], {"a": "b:c"}]))
    elif kind == "unknown_float":
        o["z"] = [1.5]
    elif kind == "const":
        o["type"] = o["type"] + "x"
    elif kind == "bom":
        return b"\xef\xbb\xbf" + body
    elif kind == "utf8":
        return body.replace(b'"', b'"\xff', 2)
    elif kind == "bigint":
        o[key] = 10 ** data.draw(st.sampled_from([10, 16, 19, 20, 40]))
    elif kind == "colon":
        return body.replace(b'":', b'\\u003a":', 1)
    elif kind == "oversize":
        limit = CODEC.schemas.by_class[_class_of(obj)].max_body_bytes
        o["z"] = "x" * (limit - len(body) + data.draw(st.integers(-20, 20)))
    elif kind == "trailing_nl":
        if isinstance(o[key], str):
            o[key] = o[key] + "\n"
    elif kind == "trailing":
        return body + data.draw(st.sampled_from([b" ", b"\n", b"x", b"{}", b" 1"]))
    elif kind == "ctrl":
        return body.replace(b'": "', b'": "\t', 1)
    elif kind == "negative":
        if isinstance(o[key], int):
            o[key] = -o[key]
    return json.dumps(o, ensure_ascii=data.draw(st.booleans())).encode()


def _deep(n: int):
    v: object = 1
    for _ in range(n):
        v = [v]
    return v


def _class_of(obj: dict) -> str:
    spec, _ = CODEC.spec_for(obj)
    return spec.class_name


@SETTINGS
@given(st.sampled_from(CLASSES).flatmap(json_values), st.data())
def test_mutated_messages(obj, data):
    same(_mutations(obj, data))


@pytest.mark.parametrize("body", [
    b"", b"[]", b"1", b'"type"', b"{}", b'{"type": "normal"}', b'{"type": "nope"}', b'{"type": 1}',
    b'{"type": "self_offline", "type": "self_offline"}',
])
def test_odd_bodies(body):
    same(body)
    assert FAST.decode(body) is None


def test_not_bytes_and_strict_take_the_reference_path():
    ex = CODEC.schemas.by_class["Offline"].schema["examples"][0]
    body = json.dumps(ex).encode()
    assert FAST.decode(body.decode()) is None
    assert FAST.decode(bytearray(body)) is None
    assert CODEC.decode(body, strict=True) == CODEC.decode(body)
