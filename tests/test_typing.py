"""implus_proto ships py.typed, so its annotations must type-check: users' type checkers read them."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_implus_proto_type_checks(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "implus_proto", "--ignore-missing-imports", "--no-error-summary",
         "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
