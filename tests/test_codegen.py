"""messages.py is generated from the schemas and kept in step with them (`codegen --check`)."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import implus_proto
from implus_proto import codegen
from implus_proto.schemaset import SchemaSet, schema_dir

PACKAGE = Path(implus_proto.__file__).resolve().parent


def field_names(cls) -> set[str]:
    """Attribute names of a generated class, whether it is a dataclass or a msgspec Struct."""
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls)}
    return set(cls.__struct_fields__)


def load_generated(text: str, tmp_path: Path, name: str):
    """Import generated source as a real module (so annotations resolve as in messages.py)."""
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _run_check(cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return subprocess.run([sys.executable, "-m", "implus_proto.codegen", "--check"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _copy_schemas(tmp_path: Path) -> Path:
    out = tmp_path / "schemas"
    shutil.copytree(schema_dir(), out)
    return out


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")


def test_check_passes_on_the_committed_messages_py():
    out = _run_check(PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    assert codegen.main(["--check"]) == 0
    assert codegen.generate() == codegen.TARGET.read_text(encoding="utf-8")


def test_same_text_from_copied_schemas(tmp_path):
    assert codegen.generate(SchemaSet(_copy_schemas(tmp_path))) == codegen.TARGET.read_text(encoding="utf-8")


def test_check_fails_when_a_schema_changes(tmp_path):
    """The real command against a copy of the package whose schemas differ: exit 1, names the fix."""
    shutil.copytree(PACKAGE, tmp_path / "implus_proto", ignore=shutil.ignore_patterns("__pycache__"))
    schemas = _copy_schemas(tmp_path)
    assert not (tmp_path / "implus_proto" / "schemas").exists()  # the copy reads tmp/schemas
    unchanged = _run_check(tmp_path, tmp_path)
    assert unchanged.returncode == 0, unchanged.stderr
    _edit(schemas / "offline.json", lambda d: d.update(description=d["description"] + " Changed."))
    changed = _run_check(tmp_path, tmp_path)
    assert changed.returncode == 1, (changed.stdout, changed.stderr)
    assert "out of date" in changed.stderr and str(tmp_path) in changed.stderr


def test_changed_description_changes_the_text(tmp_path):
    schemas = _copy_schemas(tmp_path)
    _edit(schemas / "offline.json", lambda d: d.update(description="A client leaves for good, said differently."))
    text = codegen.generate(SchemaSet(schemas))
    assert text != codegen.generate()
    assert "A client leaves for good, said differently." in text


def test_added_property_appears_in_the_generated_class(tmp_path):
    schemas = _copy_schemas(tmp_path)

    def add(doc):
        doc["properties"]["mood"] = {"type": "string", "maxLength": 20, "description": "How the leaver feels."}

    _edit(schemas / "offline.json", add)
    _edit(schemas / "defs.json", lambda d: d["$defs"]["key_holder"]["properties"].update(fingerprint={"type": "string"}))
    text = codegen.generate(SchemaSet(schemas))
    assert text != codegen.generate()
    assert "mood" in text and "fingerprint" in text
    generated = load_generated(text, tmp_path, "implus_generated_added")
    assert "mood" in field_names(generated.Offline)
    assert "fingerprint" in field_names(generated.KeyHolder)
    fields = dict(from_="a", user_id="0" * 32, created_at=1, message="")
    assert generated.Offline(**fields, mood="ok").mood == "ok"
    assert generated.Offline(**fields).mood is None  # not required: optional, absent by default


def test_removed_required_field_disappears(tmp_path):
    schemas = _copy_schemas(tmp_path)

    def drop(doc):
        del doc["properties"]["destination"]
        doc["required"].remove("destination")

    _edit(schemas / "normal.to-server.json", drop)
    generated = load_generated(codegen.generate(SchemaSet(schemas)), tmp_path, "implus_generated_dropped")
    names = field_names(generated.NormalToServer)
    assert "destination_id" in names and "destination" not in names
    assert "destination" in field_names(implus_proto.NormalToServer)


def test_python_keywords_become_attributes_with_underscore():
    assert codegen.attr_name("from") == "from_"
    assert codegen.attr_name("user_id") == "user_id"
    assert "from_" in field_names(implus_proto.Offline) and "from" not in field_names(implus_proto.Offline)


@pytest.mark.parametrize("name", implus_proto.messages.MESSAGE_CLASSES)
def test_every_schema_has_its_generated_class(name):
    spec = implus_proto.default_schemas().by_class[name]
    cls = getattr(implus_proto.messages, name)
    assert (cls.TYPE, cls.DIRECTION, cls.SCHEMA_ID) == (spec.type, spec.direction, spec.schema_id)
    json_names = {codegen.attr_name(n) for n in spec.schema["properties"]}
    assert json_names == field_names(cls)
