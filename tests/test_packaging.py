"""The wheel carries everything a console script needs, the schemas included."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_schemas_and_console_scripts(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("implus-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("implus_proto/schemas/") and n.endswith(".json")}
    expected = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert expected and expected <= shipped, f"schemas missing from the wheel: {expected - shipped}"
    assert "implus_proto/py.typed" in names
    for package in ("implus_proto", "reference_server", "reference_client", "conformance"):
        assert f"{package}/__init__.py" in names, f"{package} is not in the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ("implus-server", "implus-client", "implus-conformance", "implus-validate"):
        assert script in text


def test_installed_wheel_finds_its_schemas(tmp_path):
    """Installed from the wheel (not the checkout), the library loads the schemas it carries."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "w"), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = (tmp_path / "w").glob("implus-*.whl")
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (f"import sys; sys.path.insert(0, {str(target)!r}); import implus_proto as p; "
            "print(p.default_schemas().directory); print(len(p.default_schemas().specs))")
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    directory, count = out.stdout.split()
    assert directory.startswith(str(target)) and int(count) == 6
