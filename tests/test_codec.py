"""The codec: schema examples, round trips, canonical encoding, strict JSON refusals, fuzzing,
error issues (path, schema path, requirement, reason), direction selection, encode refusals and
the presence helpers. Everything about fields is read from the schemas."""
from __future__ import annotations

import json
import random

import pytest
import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import implus_proto as p
from implus_proto import presence
from implus_proto.codec import canonical_json
from implus_proto.strategies import json_values, key_pool, messages

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMAS = p.default_schemas()
CODEC = p.default_codec()
SPECS = SCHEMAS.specs
CLASS_NAMES = sorted(SCHEMAS.by_class)


def spec(name: str):
    return SCHEMAS.by_class[name]


def example(name: str, index: int = 0) -> dict:
    return json.loads(json.dumps(spec(name).schema["examples"][index]))


def body(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def refusal(data, **kw) -> p.ProtocolError:
    with pytest.raises(p.ProtocolError) as info:
        p.decode(data, **kw)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.issues, "a ProtocolError carries at least one issue"
    return err


def pem_of(pub) -> str:
    return p.public_key_pem(pub)


# -- the schemas' own examples ---------------------------------------------------------------
EXAMPLES = [(s.class_name, i, ex) for s in SPECS for i, ex in enumerate(s.schema.get("examples", []))]


def test_every_schema_has_examples():
    assert {name for name, _, _ in EXAMPLES} == set(CLASS_NAMES)


@pytest.mark.parametrize("name,index,ex", EXAMPLES, ids=[f"{n}-{i}" for n, i, _ in EXAMPLES])
def test_example_decodes_and_round_trips(name, index, ex):
    m = p.decode(body(ex))
    assert type(m).__name__ == name
    assert p.decode(body(ex), strict=True) == m
    assert p.decode(body(ex), direction=spec(name).direction) == m
    out = p.encode(m)
    assert json.loads(out) == ex  # nothing lost, nothing added
    assert p.decode(out) == m
    assert p.encode(p.decode(out)) == out


# -- generated messages ----------------------------------------------------------------------
@pytest.mark.parametrize("name", CLASS_NAMES)
@SETTINGS
@given(data=st.data())
def test_generated_json_values_are_valid(name, data):
    obj = data.draw(json_values(name))
    assert CODEC.validate(obj, strict=True, direction=spec(name).direction) == []


@SETTINGS
@given(messages())
def test_decode_encode_round_trip(m):
    out = p.encode(m)
    back = p.decode(out)
    assert back == m and type(back) is type(m)
    assert p.decode(out, strict=True, direction=m.DIRECTION) == m


@SETTINGS
@given(messages())
def test_encoding_is_canonical(m):
    out = p.encode(m)
    assert p.encode(p.decode(out)) == out
    assert out == canonical_json(json.loads(out))
    assert b"\n" not in out.replace(b"\\n", b"")  # no white space between tokens: one line


def _shuffled(value, rnd: random.Random):
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


@SETTINGS
@given(
    m=messages(),
    seed=st.integers(0, 2**32 - 1),
    indent=st.sampled_from([None, 0, 1, 4, "\t"]),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : "), (",\r\n", ":\t")]),
    ensure_ascii=st.booleans(),
    lead=st.sampled_from(["", " ", "\n", "\r\n\t "]),
    trail=st.sampled_from(["", " ", "\n", "\t\r\n"]),
)
def test_key_order_and_white_space_do_not_matter(m, seed, indent, separators, ensure_ascii, lead, trail):
    canonical = p.encode(m)
    obj = _shuffled(json.loads(canonical), random.Random(seed))
    text = lead + json.dumps(obj, indent=indent, separators=separators, ensure_ascii=ensure_ascii) + trail
    variant = text.encode("utf-8")
    assert p.decode(variant) == m
    assert p.encode(p.decode(variant)) == canonical


# -- strict JSON refusals (MSG-1) ---------------------------------------------------------------
OFFLINE = body(example("Offline"))


def _with_field(extra: str) -> bytes:
    return b"{" + extra.encode("utf-8") + b"," + OFFLINE[1:]


def _deep_client_list() -> bytes:
    ex = example("ClientList")
    ex["message"][0]["user_name"] = {"nested": ["too", "deep"]}
    return body(ex)


REFUSALS = [
    ("invalid UTF-8", OFFLINE.replace(b'"jackson"', b'"jack\xffson"'), "not UTF-8"),
    ("overlong UTF-8", OFFLINE.replace(b'"jackson"', b'"jack\xc0\xafson"'), "not UTF-8"),
    ("encoded surrogate", OFFLINE.replace(b'"jackson"', b'"jack\xed\xa0\x80son"'), "not UTF-8"),
    ("byte-order mark", b"\xef\xbb\xbf" + OFFLINE, "byte-order mark"),
    ("duplicate key", _with_field('"type":"offline"'), "duplicate key 'type'"),
    ("duplicate nested key", body(example("Online")).replace(b'{"prublic_key"', b'{"prublic_key":"x","prublic_key"'), "duplicate key 'prublic_key'"),
    ("NaN", _with_field('"x":NaN'), "NaN"),
    ("Infinity", _with_field('"x":Infinity'), "Infinity"),
    ("-Infinity", _with_field('"x":-Infinity'), "-Infinity"),
    ("1e400", _with_field('"x":1e400'), "fraction or exponent"),
    ("1.0", _with_field('"x":1.0'), "fraction or exponent"),
    ("1E2 created_at", OFFLINE.replace(b'"1412318244"', b"1E2"), "fraction or exponent"),
    ("lone surrogate in key", _with_field('"\\ud800":1'), "lone surrogate"),
    ("lone low surrogate in value", OFFLINE.replace(b'"jackson"', b'"jack\\udc00son"'), "lone surrogate"),
    ("reversed surrogate pair", OFFLINE.replace(b'"jackson"', b'"\\ude00\\ud83d"'), "lone surrogate"),
    ("too deep (schema shape)", _deep_client_list(), "nesting deeper"),
    ("too deep (hostile)", b"[" * 200000 + b"]" * 200000, "nesting deeper"),
    ("too deep objects", b'{"a":' * 100000 + b"1" + b"}" * 100000, "nesting deeper"),
    ("oversize for its type", _with_field('"pad":"' + "x" * spec("Offline").max_body_bytes + '"'), f"at most {spec('Offline').max_body_bytes} bytes"),
    ("oversize overall", _with_field('"pad":"' + "x" * SCHEMAS.max_body_bytes + '"'), f"the limit is {SCHEMAS.max_body_bytes}"),
    ("top level array", b"[]", "JSON object"),
    ("top level string", b'"offline"', "JSON object"),
    ("top level number", b"1", "JSON object"),
    ("top level null", b"null", "JSON object"),
    ("empty body", b"", "not JSON"),
    ("not JSON", b"type=offline", "not JSON"),
    ("trailing garbage", OFFLINE + b"{}", "not JSON"),
    ("huge integer", OFFLINE.replace(b'"1412318244"', b"9" * 5000), "integer"),
]


@pytest.mark.parametrize("name,data,fragment", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_strict_json_refusals(name, data, fragment):
    err = refusal(data)
    assert err.requirement == "MSG-1", err
    assert fragment in err.issues[0].reason, err.issues[0].reason
    assert fragment in str(err)


@pytest.mark.parametrize("value", ["a str", bytearray(OFFLINE), memoryview(OFFLINE), None, 42, ["list"]], ids=repr)
def test_body_type_check(value):
    if isinstance(value, (bytearray, memoryview)):
        assert p.decode(value) == p.decode(OFFLINE)
        return
    err = refusal(value)
    assert err.requirement == "MSG-1"
    assert "must be bytes" in err.issues[0].reason


def test_surrogate_pair_escapes_are_accepted():
    m = p.decode(OFFLINE.replace(b'"jackson"', b'"j\\ud83d\\ude00"'))
    assert m.from_ == "j\U0001F600"


def test_body_at_its_type_limit_is_accepted():
    limit = spec("Offline").max_body_bytes
    base = _with_field('"pad":""')
    at_limit = _with_field('"pad":"' + "x" * (limit - len(base)) + '"')
    assert len(at_limit) == limit
    assert isinstance(p.decode(at_limit), p.Offline)
    refusal(_with_field('"pad":"' + "x" * (limit - len(base) + 1) + '"'))


# -- fuzzing: decode returns a message or raises ProtocolError, nothing else ----------------------
def _reference_codec() -> p.Codec:
    """A codec that always takes the reference path (parse + python-jsonschema), no fast path."""
    codec = p.Codec()
    if getattr(codec, "fast", None) is not None:
        codec.fast = None
    return codec


REFERENCE = _reference_codec()


def _outcome(codec: p.Codec, data, strict: bool):
    try:
        return codec.decode(data, strict=strict)
    except p.ProtocolError as err:
        for issue in err.issues:
            assert issue.json_path.startswith("$")
            assert isinstance(issue.schema_path, tuple)
            assert issue.requirement, issue
            assert issue.reason and "\n" not in issue.reason, issue
        return err


def _decode_or_refuse(data: bytes, strict: bool = False) -> None:
    """Only a message or a ProtocolError, and the same outcome as the reference path."""
    got = _outcome(CODEC, data, strict)  # any other exception fails the test
    want = _outcome(REFERENCE, data, strict)
    if isinstance(want, p.ProtocolError):
        assert isinstance(got, p.ProtocolError), f"decode accepted what the reference path refuses: {want}"
        assert str(got) == str(want)
    else:
        assert got == want and type(got) is type(want)
        assert p.decode(p.encode(got)) == got


@SETTINGS
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_arbitrary_bytes(data, strict):
    _decode_or_refuse(data, strict)


json_any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = sorted({n for s in SPECS for sub in SCHEMAS.walk(s.schema, s.schema_id) for n in sub[0].get("properties", {})})


@st.composite
def field_values(draw):
    """A value some schema accepts for some field (so substitutions stay near the valid edge), or anything."""
    if draw(st.booleans()):
        return draw(json_any)
    obj = draw(json_values(draw(st.sampled_from(CLASS_NAMES))))
    value = obj[draw(st.sampled_from(sorted(obj)))]
    if isinstance(value, list) and value and draw(st.booleans()):
        value = draw(st.sampled_from(value))
    if isinstance(value, dict) and value and draw(st.booleans()):
        value = value[draw(st.sampled_from(sorted(value)))]
    return value


def _dump(value, dup=None) -> str:
    """json.dumps, except that the object `dup[0]` gets the extra pair dup[1]: dup[2] after its own."""
    if isinstance(value, dict):
        pairs = [json.dumps(k) + ":" + _dump(v, dup) for k, v in value.items()]
        if dup is not None and value is dup[0]:
            pairs.append(json.dumps(dup[1]) + ":" + json.dumps(dup[2]))
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, dup) for v in value) + "]"
    return json.dumps(value)


@st.composite
def mutated_bodies(draw) -> bytes:
    m = draw(messages())
    data = bytearray(p.encode(m))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "escape", "value", "drop", "add", "dupkey", "retype"]))
        if op in ("value", "drop", "add", "dupkey", "retype"):
            try:
                obj = json.loads(bytes(data))
            except ValueError:
                continue
            if not isinstance(obj, dict) or not obj:
                continue
            # descend to a random object inside the message
            target = obj
            while op != "retype":
                inner = [v for v in target.values() if isinstance(v, dict)] + [
                    x for v in target.values() if isinstance(v, list) for x in v if isinstance(x, dict)
                ]
                if not inner or draw(st.booleans()):
                    break
                target = draw(st.sampled_from(inner))
            if op == "retype":
                obj["type"] = draw(st.sampled_from(SCHEMAS.types))
            elif op == "add" or not target:
                target[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=12))] = draw(field_values())
            else:
                key = draw(st.sampled_from(sorted(target)))
                if op == "drop":
                    del target[key]
                elif op == "value":
                    target[key] = draw(field_values())
                else:  # a duplicate key, with the same or another value
                    again = target[key] if draw(st.booleans()) else draw(field_values())
                    data = bytearray(_dump(obj, (target, key, again)).encode("utf-8", "surrogatepass"))
                    continue
            data = bytearray(json.dumps(obj, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass"))
        elif op == "escape":  # one printable ASCII character as a \u escape (same string inside strings)
            spots = [i for i, b in enumerate(data) if 0x20 <= b < 0x7F and b not in b'"\\']
            if spots:
                i = draw(st.sampled_from(spots))
                data[i : i + 1] = b"\\u%04x" % data[i]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b":", b",", b'"', b"\\", b" ", b"\\u003a", b"{}", b"[]"]))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(SETTINGS, max_examples=200)
@given(mutated_bodies())
def test_fuzz_mutated_valid_bodies(data):
    _decode_or_refuse(data, strict=False)
    _decode_or_refuse(data, strict=True)


U = b'"4b3f76fb2c96495cbc365cd005c147d6"'
OFFLINE_HEAD = b'{"type":"offline","from":"a\\u003Ab","user_id":' + U + b',"created_at":1,"message":""'
TRICKY = [
    OFFLINE_HEAD + b',"x":1.5}',
    OFFLINE_HEAD.replace(b"003A", b"003a") + b',"x":1.5}',
    OFFLINE_HEAD + b',"x":NaN}',
    OFFLINE_HEAD + b',"x":"\\ud800"}',
    OFFLINE_HEAD + b',"x":[[[[[[1]]]]]]}',
    OFFLINE_HEAD + b',"from":"b"}',
    OFFLINE_HEAD + b',"typ\\u0065":"online","y":2}',
    OFFLINE_HEAD + b',"x":{"a":1,"a":2}}',
    OFFLINE_HEAD + b',"x":' + b"9" * 5000 + b"}",
    OFFLINE_HEAD + b',"x":"a:b","y":1e3}',
    OFFLINE_HEAD + b"}\n\n",
    OFFLINE_HEAD + b',"x":"\\u003a"}',
    OFFLINE_HEAD + b',"x":{"k":"::"}}',
    b'{"type" : "online","type":"offline"' + OFFLINE_HEAD[len(b'{"type":"offline"'):] + b"}",
    b'{"type":"offline","type":"self_offline"' + OFFLINE_HEAD[len(b'{"type":"offline"'):] + b"}",
]


@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_tricky_bodies_same_outcome_as_the_reference_path(data):
    """Duplicate keys, escaped colons and keys, refused values in unknown fields: decode (with any
    fast path) must end exactly as the reference parser + validator do."""
    _decode_or_refuse(data, strict=False)
    _decode_or_refuse(data, strict=True)


# -- the strategies follow the schemas -----------------------------------------------------------
def _schema_copy(tmp_path, change):
    import shutil
    out = tmp_path / "schemas"
    shutil.copytree(SCHEMAS.directory, out)
    path = out / "offline.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return p.SchemaSet(out)


def test_strategies_follow_a_schema_change(tmp_path):
    def add(doc):
        doc["properties"]["mood"] = {"type": "string", "pattern": "^[a-z]{2,5}$"}
        doc["required"].append("mood")

    schemas = _schema_copy(tmp_path, add)
    validator = schemas.by_class["Offline"].strict_validator

    @settings(max_examples=20, deadline=None)
    @given(json_values("Offline", schemas=schemas))
    def check(obj):
        assert 2 <= len(obj["mood"]) <= 5 and obj["mood"].isalpha()
        assert not list(validator.iter_errors(obj))

    check()


def test_strategies_refuse_keywords_they_do_not_know(tmp_path):
    schemas = _schema_copy(tmp_path, lambda d: d["properties"]["from"].update({"format": "email"}))
    with pytest.raises(NotImplementedError, match="format"):
        json_values("Offline", schemas=schemas)
    with pytest.raises(KeyError):
        json_values("NoSuchClass")


def test_generated_client_lists_have_unique_ids_and_real_keys():
    seen = {"sizes": set(), "spellings": set()}

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(json_values("ClientList"))
    def check(cl):
        ids = [e["id"] for e in cl["message"]]
        assert len(set(ids)) == len(ids)
        seen["sizes"].add(len(ids))
        for entry in cl["message"]:
            (spelling,) = [f for f in presence.KEY_FIELDS if f in entry]
            seen["spellings"].add(spelling)
            assert p.load_public_key(entry[spelling]).n.bit_length() >= 1024

    check()
    assert max(seen["sizes"]) >= 3 and 0 in seen["sizes"]
    assert seen["spellings"] == set(presence.KEY_FIELDS)


# -- issues: where and why ------------------------------------------------------------------
def first_issue(obj, **kw) -> p.Issue:
    err = refusal(body(obj), **kw)
    issue = err.issues[0]
    assert issue.reason and issue.requirement
    return issue


def test_bad_user_id():
    ex = example("Offline")
    ex["user_id"] = "4B3F76FB2C96495CBC365CD005C147D6"
    issue = first_issue(ex)
    assert issue.json_path == "$.user_id"
    assert issue.requirement == "MSG-3"
    assert issue.schema_path[-1] == "pattern"
    assert "4B3F76FB" in issue.reason


@pytest.mark.parametrize("field", ["user_id", "from", "created_at", "pem"])
@pytest.mark.parametrize("strict", [False, True])
def test_trailing_newline_is_not_allowed_by_end_anchor(field, strict):
    """MSG-3: anything appended, a newline included, breaks the form (Python's re lets $ match before it)."""
    ex = example("Online")
    if field == "pem":
        ex["message"]["prublic_key"] += "\n"
        path = "$.message.prublic_key"
    else:
        ex[field] = str(ex[field]) + "\n"
        path = f"$.{field}"
    issue = first_issue(ex, strict=strict)
    assert issue.json_path == path
    assert issue.schema_path[-1] in ("pattern", "anyOf")


def test_bool_id():
    ex = example("ClientList")
    ex["message"][0]["id"] = True
    issue = first_issue(ex)
    assert issue.json_path == "$.message[0].id"
    assert issue.requirement == "MSG-6"
    assert "boolean" in issue.reason


REQUIRED = [(s.class_name, f) for s in SPECS for f in s.required if f != "type"]


@pytest.mark.parametrize("name,field", REQUIRED, ids=[f"{n}-{f}" for n, f in REQUIRED])
def test_missing_field_cites_the_types_root_requirement(name, field):
    ex = example(name)
    del ex[field]
    issue = first_issue(ex, direction=spec(name).direction)
    assert issue.requirement == spec(name).requirement
    assert issue.json_path == "$"
    assert f"missing required field {field!r}" == issue.reason


@pytest.mark.parametrize("name", ["Online", "ClientList"])
def test_both_key_spellings(name):
    ex = example(name)
    holder = ex["message"] if name == "Online" else ex["message"][0]
    pem = holder["prublic_key"]
    holder["public_key"] = pem
    issue = first_issue(ex)
    assert issue.requirement == "MSG-7"
    assert "exactly one of" in issue.reason
    for spelling in presence.KEY_FIELDS:
        assert repr(spelling) in issue.reason


@pytest.mark.parametrize("name", ["Online", "ClientList"])
def test_no_key_at_all(name):
    ex = example(name)
    holder = ex["message"] if name == "Online" else ex["message"][0]
    del holder["prublic_key"]
    # both an online's key holder and a client_list entry cite the key rule MSG-7
    assert first_issue(ex).requirement == "MSG-7"


@pytest.mark.parametrize("where", ["top", "nested"])
def test_unknown_field_strict_reports_lenient_ignores(where):
    ex = example("Online")
    plain = p.decode(body(ex))
    (ex if where == "top" else ex["message"])["colour"] = "blue"
    issue = first_issue(ex, strict=True)
    assert issue.requirement == "MSG-12"
    assert "'colour'" in issue.reason
    assert p.decode(body(ex)) == plain


@pytest.mark.parametrize("kind", ["chat", "", None, 7, "Normal"])
def test_unknown_type(kind):
    ex = example("Offline")
    ex["type"] = kind
    issue = first_issue(ex)
    assert issue.requirement == "MSG-2"
    assert issue.json_path == "$.type"


def test_missing_type():
    ex = example("Offline")
    del ex["type"]
    issue = first_issue(ex)
    assert (issue.requirement, issue.json_path) == ("MSG-2", "$.type")


def test_client_list_duplicate_ids():
    ex = example("ClientList")
    ex["message"][1]["id"] = ex["message"][0]["id"]
    issue = first_issue(ex)
    assert issue.requirement == "MSG-11"
    assert issue.json_path == "$.message"
    assert issue.schema_path == ("x-check", "unique-ids")
    assert "unique" in issue.reason


@pytest.mark.parametrize("name", ["Online", "ClientList"])
def test_512_bit_key_refused(name):
    pub, _ = rsa.newkeys(512)
    ex = example(name)
    holder = ex["message"] if name == "Online" else ex["message"][0]
    holder["prublic_key"] = pem_of(pub)
    issue = first_issue(ex)
    assert issue.requirement in ("ENC-3", "MSG-7")
    assert "1024" in issue.reason


def test_garbage_key_with_the_right_shape():
    ex = example("Online")
    ex["message"]["prublic_key"] = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n"
    issue = first_issue(ex)
    assert issue.requirement == "MSG-7"
    assert issue.json_path == "$.message.prublic_key"


def test_bad_created_at_and_ciphertext():
    ex = example("NormalToServer")
    ex["created_at"] = -1
    assert first_issue(ex).requirement == "MSG-5"
    ex = example("NormalToServer")
    ex["message"] = "snow \u2603"
    issue = first_issue(ex)
    assert (issue.requirement, issue.json_path) == ("MSG-8", "$.message")
    ex["message"] = ""
    assert first_issue(ex).requirement == "MSG-8"


def test_presence_message_must_be_empty():
    ex = example("Offline")
    ex["message"] = "bye"
    issue = first_issue(ex)
    assert (issue.requirement, issue.json_path) == ("MSG-9", "$.message")


def test_issue_as_dict_and_str():
    ex = example("Offline")
    ex["user_id"] = "nope"
    issue = first_issue(ex)
    d = issue.as_dict()
    assert d["path"] == "$.user_id" and d["requirement"] == "MSG-3" and "pattern" in d["schema_path"]
    assert str(issue).startswith("$.user_id: ") and str(issue).endswith("[MSG-3]")


# -- direction ------------------------------------------------------------------------------
def test_normal_direction_selection():
    to_client = example("NormalToClient")
    to_server = example("NormalToServer")
    assert type(p.decode(body(to_client))) is p.NormalToClient
    assert type(p.decode(body(to_server))) is p.NormalToServer
    assert type(p.decode(body(to_client), direction="server-to-client")) is p.NormalToClient
    # a forward is not a valid client message (its user_id is empty)
    assert refusal(body(to_client), direction="client-to-server").requirement == "MSG-3"
    err = refusal(body(example("Online")), direction="server-to-client")
    assert err.requirement == "MSG-2"


# -- encode refuses what it would not decode -------------------------------------------------
def _valid_online(**kw):
    fields = dict(from_="kate", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1,
                  message=presence.with_key("public_key", pem_of(key_pool()[0][0])))
    fields.update(kw)
    return p.Online(**fields)


def test_encode_refuses_invalid_messages():
    assert isinstance(p.decode(p.encode(_valid_online())), p.Online)
    cases = [
        (_valid_online(user_id="not hex"), "MSG-3"),
        (_valid_online(from_=""), "MSG-4"),
        (_valid_online(from_="a\x07b"), "MSG-4"),
        (_valid_online(created_at=1.5), "MSG-5"),
        (_valid_online(created_at=True), "MSG-5"),
        (_valid_online(message=p.KeyHolder()), "MSG-7"),
        (_valid_online(message=p.KeyHolder(public_key="k", prublic_key="k")), "MSG-7"),
        (_valid_online(type="offline"), "MSG-2"),
        (p.SelfOffline(type="offline", from_="a", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1, message=""), "MSG-2"),
        (p.NormalToClient(type="client_list", from_="a", from_id=1, destination="b", destination_id=2, created_at=1, message="x"), "MSG-2"),
        (_valid_online(from_="lone \ud800"), "MSG-1"),
        (p.Offline(from_="a", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1, message="x"), "MSG-9"),
        (p.NormalToClient(from_="a", from_id=1, user_id="4b3f76fb2c96495cbc365cd005c147d6", destination="b",
                          destination_id=2, created_at=1, message="x"), "FWD-3"),
        (p.NormalToServer(from_="a", user_id="4b3f76fb2c96495cbc365cd005c147d6", destination="b",
                          destination_id=0, created_at=1, message="x"), "MSG-6"),
        (p.ClientList(created_at=1, message=(p.ClientListEntry(id=1, user_name="a", public_key=pem_of(key_pool()[0][0])),) * 2), "MSG-11"),
    ]
    for message, req in cases:
        with pytest.raises(p.ProtocolError) as info:
            p.encode(message)
        assert info.value.requirement == req, (message, info.value)


def test_encode_refuses_wrong_nested_types_and_oversize():
    with pytest.raises(p.ProtocolError):
        p.encode(_valid_online(message={"public_key": pem_of(key_pool()[0][0])}))
    big = p.NormalToServer(from_="a", user_id="4b3f76fb2c96495cbc365cd005c147d6", destination="b",
                           destination_id=1, created_at=1, message="\x00" * 20000)  # \u0000 escapes: 6 bytes each
    with pytest.raises(p.ProtocolError) as info:
        p.encode(big)
    assert info.value.requirement == "MSG-1"
    with pytest.raises(TypeError):
        p.encode({"type": "offline"})


# -- presence helpers --------------------------------------------------------------------------
def _registered(i: int, spelling: str) -> presence.Registered:
    return presence.Registered(id=i, user_id=f"{i:032x}", name=f"user{i}", public_key=pem_of(key_pool()[i % 3][0]), key_field=spelling)


@pytest.mark.parametrize("spelling", presence.KEY_FIELDS)
def test_client_list_for_spells_keys_as_the_recipient(spelling):
    others = [_registered(i, presence.KEY_FIELDS[i % 2]) for i in (5, 2, 9)]
    recipient = _registered(7, spelling)
    cl = presence.client_list_for(recipient, others + [recipient], now=1412318244)
    assert cl.created_at == 1412318244
    assert [e.id for e in cl.message] == [2, 5, 7, 9]
    for entry, reg in zip(cl.message, sorted(others + [recipient], key=lambda r: r.id)):
        assert presence.key_spelling(entry) == spelling
        assert presence.key_of(entry) == reg.public_key
        assert entry.user_name == reg.name
        assert reg.user_id not in p.encode(cl).decode()
    assert p.decode(p.encode(cl)) == cl
    assert presence.client_list_for(recipient, [], now=0).message == ()


def test_forward_copies_ciphertext_and_time_and_hides_user_id():
    sender, recipient = _registered(3, "public_key"), _registered(4, "prublic_key")
    incoming = p.NormalToServer(from_="liar", user_id=sender.user_id, destination="whoever", destination_id=recipient.id,
                                created_at="1412318244", message="iRFonpsu7Ma5CCT+")
    fwd = presence.forward(incoming, sender, recipient)
    assert type(fwd) is p.NormalToClient
    assert (fwd.from_, fwd.from_id, fwd.destination, fwd.destination_id) == (sender.name, 3, recipient.name, 4)
    assert fwd.user_id == ""
    assert fwd.message == incoming.message and fwd.created_at == incoming.created_at
    assert p.decode(p.encode(fwd)) == fwd


def test_key_helpers():
    pem = pem_of(key_pool()[1][0])
    for spelling in presence.KEY_FIELDS:
        holder = presence.with_key(spelling, pem)
        assert presence.key_spelling(holder) == spelling
        assert presence.key_of(holder) == pem
        online = _valid_online(message=holder)
        assert p.decode(p.encode(online)).message == holder
        reg = presence.registered_from_online(online, 12)
        assert (reg.id, reg.user_id, reg.name, reg.public_key, reg.key_field) == (12, online.user_id, "kate", pem, spelling)
    with pytest.raises(ValueError):
        presence.with_key("publik_key", pem)
    with pytest.raises(ValueError):
        presence.key_spelling(p.KeyHolder())
    assert set(presence.KEY_FIELDS) == set(SCHEMAS.documents["defs.json"]["$defs"]["key_holder"]["properties"])


def test_routing_key_allowed():
    for s in SPECS:
        m = p.decode(body(s.schema["examples"][0]))
        for key in s.routing_keys:
            if key != "<user_id>":
                assert presence.routing_key_allowed(m, key)
        if "<user_id>" in s.routing_keys:
            assert presence.routing_key_allowed(m, "4b3f76fb2c96495cbc365cd005c147d6")
            assert not presence.routing_key_allowed(m, "server")
            assert not presence.routing_key_allowed(m, "system")
        else:
            assert not presence.routing_key_allowed(m, "4b3f76fb2c96495cbc365cd005c147d6")
