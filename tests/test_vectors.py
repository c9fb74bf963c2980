"""The test vectors in schemas/vectors/ (JSON-Schema-Test-Suite format) against two validators.

Every vector runs through python-jsonschema (Draft202012Validator with a Registry of the
schemas, built here independently of implus_proto) and through implus_proto.validate() and
implus_proto.decode(); all must agree with the vector's "valid". semantic.json holds the
vectors whose verdict depends on checks beside the schema: there "valid" is the schema's
verdict and "x-implus" gives implus_proto's (see schemas/vectors/README.md).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import implus_proto
from implus_proto import ProtocolError

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
VECTORS = SCHEMAS / "vectors"
SEMANTIC = "semantic.json"


def _schema_docs() -> dict[str, dict]:
    docs = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        docs[doc["$id"]] = doc
    return docs


DOCS = _schema_docs()
REGISTRY = Registry().with_resources((uri, Resource.from_contents(doc)) for uri, doc in DOCS.items())
MESSAGE_SCHEMAS = {uri: doc for uri, doc in DOCS.items() if "x-implus" in doc}


def _load(name: str) -> list[dict]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def _vector_files() -> list[str]:
    return sorted(p.name for p in VECTORS.glob("*.json"))


def _cases(files):
    out = []
    for name in files:
        for group in _load(name):
            for i, test in enumerate(group["tests"]):
                out.append(pytest.param(group, test, id=f"{name}:{i}:{test['description'][:60]}"))
    return out


def _target(group: dict) -> dict:
    ref = group["schema"]["$ref"]
    assert ref in MESSAGE_SCHEMAS, f"vector group {group['description']!r} refers to {ref}, which is no message schema"
    return MESSAGE_SCHEMAS[ref]


def _body(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _jsonschema_valid(group: dict, data) -> bool:
    validator = Draft202012Validator(group["schema"], registry=REGISTRY)
    return validator.is_valid(data)


def _decode_issues(data, direction: str):
    try:
        implus_proto.decode(_body(data), direction=direction)
    except ProtocolError as exc:
        return list(exc.issues)
    return []


# -- the vector files themselves ------------------------------------------------------------

def test_every_message_schema_has_a_vector_file():
    files = set(_vector_files())
    names = {Path(uri).name for uri in MESSAGE_SCHEMAS}
    assert names <= files, f"message schemas without vectors: {sorted(names - files)}"
    assert SEMANTIC in files


@pytest.mark.parametrize("name", _vector_files())
def test_vector_file_format(name):
    """JSON-Schema-Test-Suite layout; plain files carry only the suite's own keys."""
    groups = _load(name)
    assert isinstance(groups, list) and groups
    for group in groups:
        assert set(group) <= {"description", "schema", "tests", "comment"}, group.keys()
        assert set(group["schema"]) == {"$ref"}
        _target(group)
        assert group["tests"]
        descriptions = [t["description"] for t in group["tests"]]
        assert len(descriptions) == len(set(descriptions)), "test descriptions repeat within a group"
        allowed = {"description", "data", "valid", "comment"} | ({"x-implus"} if name == SEMANTIC else set())
        for test in group["tests"]:
            assert set(test) <= allowed and {"description", "data", "valid"} <= set(test), test["description"]
            assert isinstance(test["valid"], bool)
            if name == SEMANTIC:
                extra = test["x-implus"]
                assert set(extra) <= {"valid", "strict_valid", "decode_valid", "requirement"}
                assert {"valid", "strict_valid", "decode_valid"} <= set(extra)
                if not all(extra[k] for k in ("valid", "strict_valid", "decode_valid")):
                    assert extra.get("requirement"), f"{test['description']}: a refused vector names its requirement"


@pytest.mark.parametrize("name", [n for n in _vector_files() if n != SEMANTIC])
def test_vector_files_have_valid_and_invalid_cases(name):
    verdicts = {t["valid"] for g in _load(name) for t in g["tests"]}
    assert verdicts == {True, False}


# -- the vectors through both validators ------------------------------------------------------

@pytest.mark.parametrize(("group", "test"), _cases([n for n in _vector_files() if n != SEMANTIC]))
def test_vector(group, test):
    schema = _target(group)
    direction = schema["x-implus"]["direction"]
    data = copy.deepcopy(test["data"])
    assert _jsonschema_valid(group, data) is test["valid"], "python-jsonschema disagrees with the vector"
    issues = implus_proto.validate(data, direction=direction)
    assert (not issues) is test["valid"], f"implus_proto.validate disagrees: {[str(i) for i in issues]}"
    decoded = _decode_issues(data, direction)
    assert (not decoded) is test["valid"], f"implus_proto.decode disagrees: {[str(i) for i in decoded]}"
    assert data == test["data"], "validation changed the data"


@pytest.mark.parametrize(("group", "test"), _cases([SEMANTIC]))
def test_semantic_vector(group, test):
    schema = _target(group)
    direction = schema["x-implus"]["direction"]
    data = test["data"]
    extra = test["x-implus"]
    assert _jsonschema_valid(group, data) is test["valid"], "python-jsonschema disagrees with the vector"
    verdicts = {
        "valid": implus_proto.validate(data, direction=direction),
        "strict_valid": implus_proto.validate(data, direction=direction, strict=True),
        "decode_valid": _decode_issues(data, direction),
    }
    for key, issues in verdicts.items():
        assert (not issues) is extra[key], f"{key}: implus_proto says {[str(i) for i in issues]}"
        if issues:
            assert issues[0].requirement == extra["requirement"], f"{key}: {issues[0]}"


def test_client_list_over_max_items_is_invalid():
    """maxItems is too large a bound for a vector file: built here from the schema's own number."""
    [schema] = [d for d in MESSAGE_SCHEMAS.values() if d["x-implus"]["type"] == "client_list"]
    limit = schema["properties"]["message"]["maxItems"]
    pem = DOCS[schema["$id"]]["examples"][0]["message"][0]["prublic_key"]
    entries = [{"id": i, "user_name": "u", "prublic_key": pem} for i in range(1, limit + 2)]
    group = {"schema": {"$ref": schema["$id"]}}
    for count, valid in ((limit, True), (limit + 1, False)):
        data = {"type": "client_list", "created_at": 0, "message": entries[:count]}
        assert _jsonschema_valid(group, data) is valid
        assert (not implus_proto.validate(data, direction="server-to-client")) is valid


def test_vector_keys_are_real_rsa_keys():
    """Valid vectors carry real keys (generated with the rsa package), so semantic checks pass on them."""
    seen = set()
    for name in _vector_files():
        for group in _load(name):
            for test in group["tests"]:
                if test["valid"] and name != SEMANTIC:
                    _collect_keys(test["data"], seen)
    assert seen, "no keys in the valid vectors"
    for pem in seen:
        assert implus_proto.load_public_key(pem).n.bit_length() >= 1024


def _collect_keys(node, out: set) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in implus_proto.KEY_FIELDS and isinstance(v, str):
                out.add(v)
            else:
                _collect_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            _collect_keys(v, out)
