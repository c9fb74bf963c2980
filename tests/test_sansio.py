"""implus_proto is sans-IO: it never imports a transport or a store, opens a socket, or reads the clock."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "implus_proto"
FORBIDDEN_MODULES = {"pika", "redis", "socket", "ssl", "asyncio", "selectors", "http", "urllib", "time", "datetime", "threading", "subprocess"}


def _sources():
    files = sorted(PACKAGE.rglob("*.py"))
    assert files, "no implus_proto sources found"
    return files


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_no_io_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        bad += [n for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    assert not bad, f"{path.name} imports {bad}: implus_proto must stay sans-IO"


def test_use_touches_no_transport_socket_or_clock():
    """Exercising the whole library loads no transport or store, opens no socket, reads no clock.

    (Dependencies may import `time` themselves; what matters is that nothing calls it.)
    """
    code = """
import logging, socket, sys, time  # logging reads the clock when first imported (by pyasn1, lazily)
def refuse(*a, **k):
    raise AssertionError("implus_proto touched the clock or a socket")
for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "localtime", "gmtime"):
    setattr(time, name, refuse)
socket.socket = refuse
socket.create_connection = refuse
import implus_proto as p
pub, priv = p.generate_keypair()
for spec in p.default_schemas().specs:
    for example in spec.schema.get("examples", []):
        m = p.default_codec().from_obj(example)
        assert p.decode(p.encode(m)) == m
ct = p.encrypt("hello", pub)
assert p.decrypt(ct, priv) == "hello"
p.validate({"type": "nope"})
try:
    p.decode(b"not json")
except p.ProtocolError:
    pass
print(",".join(sorted(m for m in ("pika", "redis") if m in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"using implus_proto loaded {out.stdout.strip()}"


def test_check_detects_a_violation(tmp_path):
    """The AST check above is not vacuous: it flags a module that imports pika."""
    bad = tmp_path / "bad.py"
    bad.write_text("import pika\nfrom redis import Redis\n")
    with pytest.raises(AssertionError):
        test_no_io_imports(bad)
