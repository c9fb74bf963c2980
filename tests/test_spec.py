"""SPEC.md and asyncapi.json stay consistent with the schemas, the vectors and the tests.

- every requirement id SPEC.md defines is enforced by a schema (x-req) or cited by a test or a
  conformance check (this file does not count);
- every id a schema, a test or the code cites is defined;
- every MUST/SHOULD paragraph of SPEC.md carries an id;
- every ```json example in SPEC.md is a schema example or a valid test vector, and validates;
- the size table and the bounds in SPEC.md are the schemas' numbers;
- every $ref of asyncapi.json resolves, to a file and JSON pointer where it has one.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

import implus_proto

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "SPEC.md"
ASYNCAPI = ROOT / "asyncapi.json"
SCHEMAS = ROOT / "schemas"
VECTORS = SCHEMAS / "vectors"
THIS = Path(__file__).resolve()

DEFINITION = re.compile(r"\*\*\[([A-Z]+-[0-9]+)\]\*\*")
KEYWORDS = re.compile(r"\b(MUST|SHOULD|SHALL|REQUIRED|RECOMMENDED)\b")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


def defined_ids() -> list[str]:
    return DEFINITION.findall(spec_text())


def id_pattern(req: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9-]){re.escape(req)}(?![0-9])")


def schema_docs() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMAS.glob("*.json"))}


def walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def schema_requirements() -> set[str]:
    return {n["x-req"] for doc in schema_docs().values() for n in walk(doc) if isinstance(n, dict) and "x-req" in n}


def text_files(*dirs: str) -> list[Path]:
    out = []
    for d in dirs:
        for path in sorted((ROOT / d).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.resolve() != THIS:
                try:
                    path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
                out.append(path)
    return out


# -- requirement ids ------------------------------------------------------------------------

def test_spec_defines_requirements():
    ids = defined_ids()
    assert len(ids) >= 40, f"SPEC.md defines only {len(ids)} requirement ids"


def test_each_requirement_is_defined_once():
    ids = defined_ids()
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"defined more than once in SPEC.md: {repeated}"


def test_every_requirement_is_covered():
    """Each id is enforced by a schema or cited in tests/ or conformance/ (outside this file)."""
    covered = schema_requirements()
    texts = [p.read_text(encoding="utf-8") for p in text_files("tests", "conformance")]
    uncovered = [
        req for req in defined_ids()
        if req not in covered and not any(id_pattern(req).search(t) for t in texts)
    ]
    assert not uncovered, (
        f"{len(uncovered)} requirement ids of SPEC.md are in no schema x-req and cited by no test "
        f"or conformance check: {', '.join(uncovered)}"
    )


def test_cited_requirements_are_defined():
    """No schema, test, check or library module cites an id that SPEC.md does not define."""
    ids = set(defined_ids())
    prefixes = sorted({i.split("-")[0] for i in ids})
    cite = re.compile(rf"(?<![A-Za-z0-9-])((?:{'|'.join(prefixes)})-[0-9]+)(?![0-9])")
    unknown = {}
    for path in text_files("schemas", "tests", "conformance", "implus_proto", "reference_server", "reference_client"):
        for found in cite.findall(path.read_text(encoding="utf-8")):
            if found not in ids:
                unknown.setdefault(found, str(path.relative_to(ROOT)))
    missing_from_schemas = schema_requirements() - ids
    assert not missing_from_schemas, f"schemas name undefined requirements: {sorted(missing_from_schemas)}"
    assert not unknown, f"cited but not defined in SPEC.md: {unknown}"


def _paragraphs(text: str) -> list[str]:
    text = FENCE.sub("", text)
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def test_every_normative_paragraph_has_an_id():
    missing = []
    for para in _paragraphs(spec_text()):
        if "BCP 14" in para:  # the RFC 8174 boiler-plate names the key words
            continue
        if KEYWORDS.search(para) and not DEFINITION.search(para):
            missing.append(para.strip().splitlines()[0][:100])
    assert not missing, "MUST/SHOULD without a requirement id:\n" + "\n".join(missing)


# -- examples -----------------------------------------------------------------------------------

def _known_messages() -> list[tuple[object, str, str]]:
    """(value, direction, origin) for every schema example and every valid plain vector."""
    specs = {s.schema_id: s for s in implus_proto.default_schemas().specs}
    known = []
    for spec in specs.values():
        for i, ex in enumerate(spec.schema.get("examples", [])):
            known.append((ex, spec.direction, f"{spec.file} example {i}"))
    for path in sorted(VECTORS.glob("*.json")):
        if path.name == "semantic.json":
            continue
        for group in json.loads(path.read_text(encoding="utf-8")):
            spec = specs[group["schema"]["$ref"]]
            for test in group["tests"]:
                if test["valid"]:
                    known.append((test["data"], spec.direction, f"vector {path.name}: {test['description']}"))
    return known


def _blocks(lang: str | None = None) -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(spec_text()) if lang is None or m.group(1).strip() == lang]


def test_spec_has_json_examples():
    assert len(_blocks("json")) >= 6


@pytest.mark.parametrize("index", range(len(_blocks("json"))))
def test_json_example_is_a_tested_message(index):
    body = _blocks("json")[index][1]
    value = json.loads(body)
    matches = [(direction, origin) for known, direction, origin in _known_messages() if known == value]
    assert matches, f"SPEC.md json block {index} is neither a schema example nor a valid vector:\n{body[:300]}"
    direction, origin = matches[0]
    issues = implus_proto.validate(value, direction=direction, strict=True)
    assert not issues, f"SPEC.md json block {index} ({origin}): {[str(i) for i in issues]}"


def test_json_lives_only_in_json_blocks():
    untagged = [body[:60] for lang, body in _blocks() if lang != "json" and body.lstrip()[:1] in ("{", "[")]
    assert not untagged, f"JSON in fenced blocks not tagged json (so untested): {untagged}"


# -- numbers from the schemas -------------------------------------------------------------------

def test_size_table_matches_schemas():
    rows = {}
    for line in spec_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".json") and cells[4].isdigit():
            rows[cells[0]] = (cells[1], cells[2], int(cells[4]))
    expected = {s.file: (s.type, s.direction, s.max_body_bytes) for s in implus_proto.default_schemas().specs}
    assert rows == expected


def test_field_bounds_in_spec_match_schemas():
    defs = schema_docs()["defs.json"]["$defs"]
    [client_list] = [d for d in schema_docs().values() if d.get("x-implus", {}).get("type") == "client_list"]
    numbers = {
        "user_name maxLength": defs["user_name"]["maxLength"],
        "user_name minLength": defs["user_name"]["minLength"],
        "client_id minimum": defs["client_id"]["minimum"],
        "client_id maximum": defs["client_id"]["maximum"],
        "created_at integer maximum": defs["created_at"]["anyOf"][0]["maximum"],
        "public_key_pem maxLength": defs["public_key_pem"]["maxLength"],
        "ciphertext maxLength": defs["ciphertext"]["maxLength"],
        "client_list maxItems": client_list["properties"]["message"]["maxItems"],
        "crypto MAX_CIPHERTEXT_CHARS": implus_proto.crypto.MAX_CIPHERTEXT_CHARS,
        "crypto MIN_KEY_BITS": implus_proto.crypto.MIN_KEY_BITS,
    }
    text = spec_text()
    absent = {k: v for k, v in numbers.items() if not re.search(rf"(?<![0-9]){v}(?![0-9])", text)}
    assert not absent, f"SPEC.md does not state these schema bounds: {absent}"
    assert "k-11" in text and implus_proto.crypto.PKCS1_OVERHEAD == 11


# -- asyncapi.json ------------------------------------------------------------------------------

def asyncapi() -> dict:
    return json.loads(ASYNCAPI.read_text(encoding="utf-8"))


def test_asyncapi_version_3():
    doc = asyncapi()
    assert re.fullmatch(r"3\.[0-9]+\.[0-9]+", doc.get("asyncapi", "")), doc.get("asyncapi")
    for key in ("info", "channels", "operations", "components"):
        assert key in doc


def _pointer(doc, pointer: str, where: str):
    node = doc
    if pointer in ("", "/"):
        return node
    assert pointer.startswith("/"), f"{where}: bad JSON pointer {pointer!r}"
    for raw in pointer[1:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            assert part.isdigit() and int(part) < len(node), f"{where}: no {part!r} in {pointer}"
            node = node[int(part)]
        else:
            assert isinstance(node, dict) and part in node, f"{where}: no {part!r} in {pointer}"
            node = node[part]
    return node


def _refs(node, path="#"):
    if isinstance(node, dict):
        if "$ref" in node:
            yield path, node["$ref"]
        for k, v in node.items():
            if k != "$ref":
                yield from _refs(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _refs(v, f"{path}/{i}")


def test_asyncapi_refs_resolve():
    doc = asyncapi()
    refs = list(_refs(doc))
    assert refs
    for where, ref in refs:
        target, _, fragment = ref.partition("#")
        if target:
            path = (ASYNCAPI.parent / target).resolve()
            assert path.is_file(), f"{where}: $ref {ref} names no file"
            _pointer(json.loads(path.read_text(encoding="utf-8")), fragment, where)
        else:
            _pointer(doc, fragment, where)


def test_asyncapi_covers_every_message_schema_and_channel():
    doc = asyncapi()
    files = {ref.split("#")[0] for _, ref in _refs(doc) if not ref.startswith("#")}
    expected = {f"./schemas/{s.file}" for s in implus_proto.default_schemas().specs}
    assert files == expected
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {"server", "system", "{user_id}"}
    actions = {(op["action"], op["channel"]["$ref"]) for op in doc["operations"].values()}
    for channel in doc["channels"]:
        ref = f"#/channels/{channel}"
        assert ("send", ref) in actions and ("receive", ref) in actions, f"{channel}: needs a send and a receive operation"
