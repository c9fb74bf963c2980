"""The conformance suite against the reference server (must pass) and against deliberately broken
servers (each must fail, on the requirement it breaks). Everything runs on the live broker."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pika
import pytest

from conformance import SuiteConfig, run_suite
from conformance.checks import BY_REQ, CHECKS
from tests.broken_servers import BROKEN
from tests.wire import AMQP_URL, ROOT, ServerProcess, cleanup_exchange, fresh_exchange

SEED = 20141003


def _run(server_module: str, extra: list[str], **config):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange, module=server_module, extra=extra).wait_ready()
    try:
        return run_suite(SuiteConfig(amqp_url=AMQP_URL, exchange=exchange, **config)), proc
    finally:
        proc.stop()
        cleanup_exchange(exchange)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_suite_catches_broken_server(name):
    _cls, expected = BROKEN[name]
    # Only SHOULDs broken: the first delivery shows it, but no MUST failure stops the run early.
    examples = 2 if name == "careless" else 10
    # A broken server fails fast; no shrinking here (test_cli_reports_failure... shrinks).
    report, proc = _run("tests.broken_servers", ["--broken", name], seed=SEED, max_examples=examples,
                        max_steps=15, shrink_time=0, timeout=1.5)
    failed = report.failed_requirements()
    assert "Traceback" not in proc.log(), f"{name} broke more than its one rule:\n{proc.log()[-3000:]}"
    assert failed & expected, f"{name}: expected a failure of {sorted(expected)}, got {sorted(failed)}\n{proc.log()[-2000:]}"
    if all(BY_REQ[r].level == "MUST" for r in expected):
        assert not report.passed
        assert report.minimal_steps, "a failing run names its minimal step sequence"
        assert report.minimal_requirement in expected, (name, report.minimal_requirement, report.minimal_steps)
        assert f"--seed {SEED}" in report.replay_command()
    else:  # only SHOULDs broken: passes unless strict
        assert report.passed


def _cli(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance.cli", "--amqp-url", AMQP_URL, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_reference_server_passes_cli(tmp_path):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange).wait_ready()
    try:
        res = _cli(["--exchange", exchange, "--seed", "7", "--junit-xml", str(tmp_path / "j.xml"),
                    "--json-report", str(tmp_path / "r.json")])
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "RESULT: PASS" in res.stdout
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["passed"] is True and doc["seed"] == 7
    assert set(doc["checks"]) == {c.id for c in CHECKS}
    assert all(c["grade"] in ("PASS", "SKIP") for c in doc["checks"].values())
    assert sum(c["grade"] == "PASS" for c in doc["checks"].values()) >= len(CHECKS) - 4
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert len(suite.findall("testcase")) == len(CHECKS)
    assert suite.get("failures") == "0"


def test_cli_reports_failure_with_requirement_and_replay(tmp_path):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange, module="tests.broken_servers", extra=["--broken", "trust-from"]).wait_ready()
    try:
        res = _cli(["--exchange", exchange, "--seed", str(SEED), "--max-examples", "10", "--shrink-time", "2",
                    "--junit-xml", str(tmp_path / "j.xml"), "--json-report", str(tmp_path / "r.json")])
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    assert res.returncode == 1, res.stdout + res.stderr
    line = next(l for l in res.stdout.splitlines() if l.strip().startswith("registry-identities"))
    assert "FWD-2" in line and "FAIL" in line
    assert f"Replay: implus-conformance --exchange {exchange} --seed {SEED}" in res.stdout
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["checks"]["registry-identities"]["grade"] == "FAIL"
    assert doc["checks"]["registry-identities"]["evidence"]
    assert doc["minimal_failure"]["requirement"] == "FWD-2"
    failures = [(c.get("name"), c.find("failure")) for c in ET.parse(tmp_path / "j.xml").getroot().findall("testcase")]
    assert [n for n, f in failures if f is not None] == ["registry-identities [FWD-2]"]


def test_should_failures_count_only_in_strict_mode():
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange, module="tests.broken_servers", extra=["--broken", "careless"]).wait_ready()
    try:
        lenient = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "4"])
        strict = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "4", "--strict"])
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    assert lenient.returncode == 0, lenient.stdout
    assert "NON-STRICT" in lenient.stdout
    assert strict.returncode == 1, strict.stdout
    assert any(l.strip().startswith("content-type") and "FAIL" in l for l in strict.stdout.splitlines())


def test_no_server_is_an_operational_error():
    exchange = fresh_exchange("implus-conf")
    try:
        res = _cli(["--exchange", exchange, "--timeout", "1"])
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 2, res.stdout
    assert "no server answered" in res.stdout


def test_exchange_of_the_wrong_type_fails_top1():
    exchange = fresh_exchange("implus-conf")
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    conn.channel().exchange_declare(exchange, exchange_type="fanout", durable=True)
    conn.close()
    try:
        report = run_suite(SuiteConfig(amqp_url=AMQP_URL, exchange=exchange, seed=1, max_examples=1))
    finally:
        cleanup_exchange(exchange)
    assert not report.passed
    assert "TOP-1" in report.failed_requirements()
