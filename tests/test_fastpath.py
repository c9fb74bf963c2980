"""Differential test: the fast accept path against the reference path (strictjson.parse + Codec.validate).

MSG-1..MSG-13: the fast path accepts exactly what the reference accepts, with an equal message;
decode (fast path first, reference on refusal) always has the reference outcome.
"""
from __future__ import annotations

import json
import re

import msgspec
import pytest

from implus_proto import messages as proto_messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from implus_proto import ClientList, ClientListEntry, Codec, KeyHolder, NormalToClient, Online, ProtocolError
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
        # the fast path defers (never refuses for good) only on undeclared fields, a \u003a escape,
        # or a field with a default in the class (type, user_id "") not written plainly as a key
        obj, _ = parse(body, max_bytes=CODEC.schemas.max_body_bytes, max_depth=CODEC.max_depth)
        assert CODEC.to_obj(ref) != obj or b"\\u003" in body or not _plain_defaulted_keys(body, ref), \
            f"fast path refused what the reference accepts: {body[:300]!r}"
    try:
        assert CODEC.decode(body) == ref
    except ProtocolError:
        assert ref is None


def _plain_defaulted_keys(body: bytes, message) -> bool:
    plan = FAST.plans[type(message).__name__]
    if not re.search(rb'"type"\s*:\s*"' + re.escape(message.TYPE.encode()) + rb'"', body):
        return False
    return all(re.search(rb'"' + re.escape(name.encode()) + rb'"\s*:', body) for name in plan._defaulted)


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


# -- what the fast path relies on beyond msgspec's own checks (see fastpath's module doc) ------

def _example(name: str, i: int = 0) -> dict:
    return json.loads(json.dumps(CODEC.schemas.by_class[name].schema["examples"][i]))


def _canon(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _edited(name: str, change, i: int = 0) -> dict:
    obj = _example(name, i)
    change(obj)
    return obj


PEM = _example("Online")["message"]["prublic_key"]
NTC = {"type": "normal", "from": "kate", "from_id": 2, "user_id": "", "destination": "jackson",
       "destination_id": 1, "created_at": 1412318244, "message": "balabala"}

ACCEPTED = {  # valid bodies the fast path must take itself, and equal to the reference's message
    "user named type": _edited("NormalToServer", lambda o: o.update({"from": "type", "destination": "type"})),
    # "from_id" marks a to-client normal: tried first, refused, then the to-server one is tried
    "user named from_id": _edited("NormalToServer", lambda o: o.update(destination="from_id")),
    "non-ASCII names": _edited("NormalToServer", lambda o: o.update({"from": "j\u00e9", "destination": "\U0001f600\u0085"})),
    "latin-1 ciphertext": _edited("NormalToServer", lambda o: o.update(message="\u00e9\u00ff\u0000\u007f")),
    "16-digit created_at": _edited("Offline", lambda o: o.update(created_at="9" * 16)),
    "largest created_at": _edited("Offline", lambda o: o.update(created_at=9007199254740991)),
    "zero created_at": _edited("Offline", lambda o: o.update(created_at=0)),
    "name of 64": _edited("Offline", lambda o: o.update({"from": "x" * 64})),
    "to-client": dict(NTC),
    "public_key spelling": _edited("Online", lambda o: o.update(message={"public_key": PEM})),
    "entry with public_key": _edited("ClientList", lambda o: o["message"][1].update(public_key=o["message"][1].pop("prublic_key"))),
}
REJECTED = {  # invalid bodies: the fast path must not take them (the reference refuses them)
    "DEL in name": _edited("Offline", lambda o: o.update({"from": "jack\u007fson"})),
    "newline in name": _edited("Offline", lambda o: o.update({"from": "jack\nson"})),
    "C1 fine, C0 not": _edited("Offline", lambda o: o.update({"from": "\u0085\u0001"})),
    "name of 65": _edited("Offline", lambda o: o.update({"from": "x" * 65})),
    "empty name": _edited("Offline", lambda o: o.update({"from": ""})),
    "ciphertext beyond latin-1": _edited("NormalToServer", lambda o: o.update(message="ab\u0100")),
    "empty ciphertext": _edited("NormalToServer", lambda o: o.update(message="")),
    "upper-case user_id": _edited("Offline", lambda o: o.update(user_id=o["user_id"].upper())),
    "short user_id": _edited("Offline", lambda o: o.update(user_id=o["user_id"][:-1])),
    "non-ASCII hex user_id": _edited("Offline", lambda o: o.update(user_id=o["user_id"][:-1] + "\u0661")),
    "Arabic-Indic digits": _edited("Offline", lambda o: o.update(created_at="\u0661\u0662")),
    "17-digit created_at": _edited("Offline", lambda o: o.update(created_at="9" * 17)),
    "empty created_at": _edited("Offline", lambda o: o.update(created_at="")),
    "created_at too big": _edited("Offline", lambda o: o.update(created_at=9007199254740992)),
    "negative created_at": _edited("Offline", lambda o: o.update(created_at=-1)),
    "presence message not empty": _edited("Offline", lambda o: o.update(message="x")),
    "both key spellings": _edited("Online", lambda o: o["message"].update(public_key=PEM)),
    "no key": _edited("Online", lambda o: o.update(message={})),
    "null key": _edited("Online", lambda o: o.update(message={"prublic_key": PEM, "public_key": None})),
    "null key only": _edited("Online", lambda o: o.update(message={"public_key": None})),
    "bad PEM": _edited("Online", lambda o: o.update(message={"prublic_key": PEM.replace("MIGJ", "MIGK")})),
    "entry with both keys": _edited("ClientList", lambda o: o["message"][0].update(public_key=PEM)),
    "entry without key": _edited("ClientList", lambda o: o["message"][0].pop("prublic_key")),
    "entry with null key": _edited("ClientList", lambda o: o["message"][0].update(public_key=None)),
    "duplicate ids": _edited("ClientList", lambda o: o["message"][1].update(id=1)),
    "id 0": _edited("ClientList", lambda o: o["message"][1].update(id=0)),
    "to-client user_id missing": {k: v for k, v in NTC.items() if k != "user_id"},
    "type missing": {k: v for k, v in _example("Offline").items() if k != "type"},
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_on_the_fast_path(name):
    items = list(ACCEPTED[name].items())
    second = dict(items[1:2] + items[:1] + items[2:])  # the type key second: a "type" value may follow it
    for body in (_canon(ACCEPTED[name]), json.dumps(ACCEPTED[name]).encode(), json.dumps(second).encode()):
        assert reference(body) is not None
        assert FAST.decode(body) == reference(body)
        same(body)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_by_both(name):
    for body in (_canon(REJECTED[name]), json.dumps(REJECTED[name]).encode()):
        assert reference(body) is None
        assert FAST.decode(body) is None
        same(body)


def test_forward_with_a_user_id_is_refused_as_a_forward():
    """FWD-3: a forward's user_id is "". Without a direction the same body is a valid chat message
    to the server (from_id is then an unknown field, MSG-12), so both paths accept it as that."""
    body = _canon(dict(NTC, user_id="4b3f76fb2c96495cbc365cd005c147d6"))
    assert FAST.decode(body, "server-to-client") is None
    with pytest.raises(ProtocolError) as err:
        CODEC.decode(body, direction="server-to-client")
    assert err.value.issues[0].requirement == "FWD-3"
    assert isinstance(CODEC.decode(body), proto_messages.NormalToServer)
    same(body)


def _dup_instead_of(obj: dict, missing: str, dup: str) -> bytes:
    """A body without field `missing` but with `dup` twice: as many keys, and colons, as the valid one."""
    rest = {k: v for k, v in obj.items() if k != missing}
    return (json.dumps(rest)[:-1] + f", {json.dumps(dup)}: {json.dumps(obj[dup])}}}").encode()


@pytest.mark.parametrize("body", [
    # a defaulted field missing, its colon made up by a duplicate key: the key check catches it
    _dup_instead_of(_example("Offline"), "type", "from"),
    _dup_instead_of(NTC, "user_id", "from"),
    _dup_instead_of(dict(_example("Offline"), **{"from": 'x\\"type'}), "type", "from"),
    # the same with "type" in a string ending in \"type" and followed by a colon in the string
    json.dumps({k: v for k, v in _example("Offline").items() if k != "type"} | {"from": 'a\\"type": '}).encode(),
    # a key ending in \"type, followed by a colon: undeclared, so msgspec refuses it
    json.dumps({k: v for k, v in _example("Offline").items() if k != "type"} | {'x"type': "offline"}).encode(),
    # a duplicate type key with another value
    json.dumps(_example("Offline")).encode()[:-1] + b', "type": "online"}',
    _canon(_example("Offline"))[:-1] + b',"type":"self_offline"}',
    # a null for an optional field, its key counted by the colons
    _canon(_edited("Online", lambda o: o["message"].update(public_key=None))),
])
def test_defaulted_fields_nulls_and_duplicates(body):
    same(body)
    assert FAST.decode(body) is None


@pytest.mark.parametrize("body", [
    json.dumps(_example("Offline")).encode().replace(b'"type"', b'"typ\\u0065"'),
    json.dumps(_example("Offline")).encode().replace(b'"offline"', b'"offlin\\u0065"'),
    json.dumps(NTC).encode().replace(b'"user_id"', b'"user\\u005fid"'),
    json.dumps(_example("Offline")).encode().replace(b'"type":', b'"type" \r\n\t:'),
])
def test_escaped_or_spaced_keys(body):
    """Keys spelled with escapes: the fast path may leave them to the reference, never decides otherwise."""
    assert reference(body) is not None
    same(body)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "\x7f", "\x85", "\u0100", "\u00ff", "A" * 32, "0" * 16, "0" * 17, "type", '"type":', "x:y"])


def _with_text(obj: dict, data) -> dict:
    """obj with one string somewhere (top-level or in a nested object) replaced by any text."""
    spots = [(obj, k) for k, v in obj.items() if isinstance(v, str)]
    for v in obj.values():
        for inner in (v if isinstance(v, list) else [v]):
            if isinstance(inner, dict):
                spots += [(inner, k) for k, x in inner.items() if isinstance(x, str)]
    holder, key = data.draw(st.sampled_from(spots))
    holder[key] = data.draw(_TEXT)
    return obj


@SETTINGS
@given(st.sampled_from(CLASSES).flatmap(json_values), st.data(), st.booleans())
def test_any_text_in_any_string_field(obj, data, ascii_only):
    """The character-class, length and pattern checks agree with the reference on any string."""
    same(json.dumps(_with_text(obj, data), ensure_ascii=ascii_only).encode())


def test_message_classes():
    """msgspec Structs with the promised API: frozen, equal by value, hashable, keyword-built."""
    online = Online(from_="jackson", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1412318244,
                    message=KeyHolder(prublic_key=PEM))
    assert online.type == "online" and online.TYPE == "online" and online.message.public_key is None
    with pytest.raises(AttributeError):
        online.from_ = "kate"  # type: ignore[misc]
    body = CODEC.encode(online)
    assert CODEC.decode(body) == online and hash(CODEC.decode(body)) == hash(online)
    assert type(CODEC.decode(body)) is Online and Online._from_json(online._to_json()) == online
    assert online._to_json()["message"] == {"prublic_key": PEM}  # absent optional fields are left out
    fwd = NormalToClient(from_="kate", from_id=2, destination="jackson", destination_id=1, created_at="1", message="m")
    assert fwd.user_id == "" and CODEC.decode(CODEC.encode(fwd)) == fwd
    cl = ClientList(created_at=1, message=(ClientListEntry(id=1, user_name="a", public_key=PEM),))
    assert CODEC.decode(CODEC.encode(cl)) == cl and {cl: 1}[cl] == 1
    assert all(issubclass(c, msgspec.Struct) for c in CODEC.classes.values())


def test_generated_checks_compile_for_every_schema():
    for plan in FAST.plans.values():
        assert plan.source.startswith("def run(body):") and "body.replace(b':', b'')" in plan.source


def test_classes_from_other_schemas_are_not_decoded_into(tmp_path):
    """A codec over changed schemas must not trust the Meta constraints of the shipped classes."""
    import shutil

    from implus_proto.schemaset import SchemaSet, schema_dir

    out = tmp_path / "schemas"
    shutil.copytree(schema_dir(), out)
    assert Codec(SchemaSet(out)).fast.unsupported == {}  # same schemas, another directory: fast
    defs = json.loads((out / "defs.json").read_text(encoding="utf-8"))
    defs["$defs"]["user_name"]["maxLength"] = 5
    (out / "defs.json").write_text(json.dumps(defs), encoding="utf-8")
    codec = Codec(SchemaSet(out))
    assert "Offline" in codec.fast.unsupported
    body = json.dumps(_example("Offline")).encode()  # from: "jackson", 7 characters
    assert CODEC.decode(body).from_ == "jackson"
    with pytest.raises(ProtocolError):
        codec.decode(body)
