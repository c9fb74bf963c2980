"""The conformance suite against the reference server (must pass, three seeds in a row) and against
deliberately broken servers (each must fail, on the requirement it breaks). Everything runs on the
live broker. The broken servers and the reference runs go at once, each on its own exchange, the
suites in forked worker processes (they share the parent's RSA key pool), so that the file stays fast."""
from __future__ import annotations

import json
import multiprocessing
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

import pika
import pytest

from conformance import SuiteConfig, run_suite
from conformance.checks import BY_REQ, CHECKS, RESTART_CHECKS
from conformance.requirements import parse_spec, render_data_module, requirements, shipped
from conformance.runner import key_pool
from tests.broken_servers import BROKEN
from tests.wire import AMQP_URL, ROOT, ServerProcess, cleanup_exchange, fresh_exchange

SEED = 20141003
REFERENCE_SEEDS = (1, 2, 3)
WORKERS = 5
PY = shlex.quote(sys.executable)
SERVER_CMD = f"{PY} -m reference_server --exchange {{exchange}} --amqp-url {{amqp_url}}"


def _job(job: dict) -> dict:
    """One suite run in a worker process: a summary that pickles."""
    report = run_suite(SuiteConfig(amqp_url=AMQP_URL, **job["config"]))
    return {
        "name": job["name"],
        "passed": report.passed,
        "error": report.error,
        "failed": sorted(report.failed_requirements()),
        "grades": {r.check.id: r.grade for r in report.results},
        "minimal_requirement": report.minimal_requirement,
        "minimal_steps": report.minimal_steps,
        "minimal_calls": report.minimal_calls,
        "replay": report.replay_command(),
        "seconds": round(report.duration, 1),
    }


@pytest.fixture(scope="module")
def fleet():
    """Every broken server and three reference servers at once; the suite against each, in parallel."""
    key_pool()  # made once here; the forked workers inherit it
    jobs, procs = [], {}
    try:
        for seed in REFERENCE_SEEDS:
            name = f"reference seed {seed}"
            ex = fresh_exchange("implus-conf")
            procs[name] = (ServerProcess(ex), ex)
            jobs.append({"name": name, "config": dict(exchange=ex, seed=seed)})  # the default run
        for name in sorted(BROKEN):
            ex = fresh_exchange("implus-conf")
            procs[name] = (ServerProcess(ex, module="tests.broken_servers", extra=["--broken", name]), ex)
            # Only SHOULDs broken: no MUST failure stops the run early, two examples show it.
            examples = 2 if name == "careless" else 10
            jobs.append({"name": name, "config": dict(exchange=ex, seed=SEED, max_examples=examples, max_steps=15,
                                                      shrink_time=0)})
        for proc, _ in procs.values():
            proc.wait_ready()
        with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
            results = {r["name"]: r for r in pool.map(_job, jobs, chunksize=1)}
        yield results, {name: proc.log() for name, (proc, _) in procs.items()}
    finally:
        for proc, ex in procs.values():
            proc.stop()
            cleanup_exchange(ex)


def test_reference_server_passes_three_seeds_in_a_row(fleet):
    results, logs = fleet
    for seed in REFERENCE_SEEDS:
        r = results[f"reference seed {seed}"]
        assert r["passed"] and not r["error"], (seed, r)
        assert all(g in ("PASS", "SKIP") for g in r["grades"].values()), r["grades"]
        # everything but the restart checks (no --server-cmd here) is exercised by a default run
        skipped = {c for c, g in r["grades"].items() if g == "SKIP"}
        assert {c.id for c in RESTART_CHECKS} <= skipped and len(skipped) <= len(RESTART_CHECKS) + 3, skipped


def test_suite_catches_every_broken_server(fleet):
    results, logs = fleet
    problems, table = [], []
    for name in sorted(BROKEN):
        _cls, expected = BROKEN[name]
        r, log = results[name], logs[name]
        failed = set(r["failed"])
        table.append(f"{name:24} expected {sorted(expected)} got {sorted(failed)} minimal {r['minimal_requirement']} "
                     f"({r['seconds']} s)")
        if "Traceback" in log:
            problems.append(f"{name} broke more than its one rule:\n{log[-2000:]}")
        if not failed & expected:
            problems.append(f"{name}: expected a failure of {sorted(expected)}, got {sorted(failed)} ({r['error']})")
            continue
        if all(BY_REQ[q].level == "MUST" for q in expected):
            if r["passed"]:
                problems.append(f"{name}: the run passed")
            if not r["minimal_steps"] and r["minimal_requirement"] != "TOP-1":
                problems.append(f"{name}: no minimal step sequence")
            if r["minimal_requirement"] not in expected:
                problems.append(f"{name}: minimal failure {r['minimal_requirement']} not in {sorted(expected)}")
            if f"--seed {SEED}" not in r["replay"]:
                problems.append(f"{name}: replay command {r['replay']!r}")
            if r["minimal_steps"] and len(r["minimal_calls"] or []) < 1 and r["minimal_requirement"] != "PRES-1":
                problems.append(f"{name}: the failure has no replayable calls")
        elif not r["passed"]:
            problems.append(f"{name}: only SHOULDs broken, yet the run failed: {r}")
    print("\n".join(table))
    assert not problems, "\n".join(problems) + "\n\n" + "\n".join(table)


def test_requirement_texts_shipped_match_spec():
    """conformance/_requirements_data.py is generated from SPEC.md; regenerate with
    `python -m conformance.requirements --write` after editing the spec."""
    parsed = parse_spec((ROOT / "SPEC.md").read_text(encoding="utf-8"))
    assert shipped() == parsed, "run: python -m conformance.requirements --write"
    assert (ROOT / "conformance" / "_requirements_data.py").read_text(encoding="utf-8") == render_data_module(parsed)
    # every check cites a requirement SPEC.md defines, and its text is a paragraph of the spec
    for c in CHECKS:
        assert c.requirement in parsed, c
    assert parsed["FWD-2"].text.startswith("The server MUST fill `from` and `from_id`")
    assert parsed["FWD-2"].section == "8"
    assert requirements()["ID-2"] == parsed["ID-2"]


def test_requirement_texts_fall_back_without_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPLUS_SPEC", str(tmp_path / "missing.md"))
    import conformance.requirements as req

    req.requirements.cache_clear()
    try:
        monkeypatch.setattr(req, "spec_path", lambda: None)
        assert req.requirements() == shipped()
        assert req.source() == "texts shipped with the conformance package"
    finally:
        req.requirements.cache_clear()


def _cli(args: list[str], timeout: float = 240, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance.cli", "--amqp-url", AMQP_URL, *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_reference_server_passes_cli_with_server_cmd_and_restart_checks(tmp_path):
    exchange = fresh_exchange("implus-conf")
    try:
        res = _cli(["--exchange", exchange, "--seed", "7", "--max-examples", "4", "--server-cmd", SERVER_CMD,
                    "--junit-xml", str(tmp_path / "j.xml"), "--json-report", str(tmp_path / "r.json")], cwd=tmp_path)
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "RESULT: PASS" in res.stdout
    assert not list(tmp_path.glob("implus-failure-*.json")), "a passing run saves no failure file"
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["passed"] is True and doc["seed"] == 7
    assert set(doc["checks"]) == {c.id for c in CHECKS}
    assert all(c["grade"] in ("PASS", "SKIP") for c in doc["checks"].values())
    assert doc["checks"]["ids-after-restart"]["grade"] == "PASS"
    assert doc["checks"]["presence-after-restart"]["grade"] == "PASS"
    assert sum(c["grade"] == "PASS" for c in doc["checks"].values()) >= len(CHECKS) - 6
    cov = doc["coverage"]
    assert cov["total"] == len(requirements())
    assert "FWD-2" in cov["exercised"] and "SEC-2" in cov["not_exercised"]
    assert "version" in cov["not_exercised"]["SEC-2"]
    assert "--client-cmd" in cov["not_exercised"]["TOP-4"]
    assert set(cov["exercised"]) | set(cov["not_exercised"]) == set(requirements())
    assert "Coverage:" in res.stdout and "not exercised:" in res.stdout
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert len(suite.findall("testcase")) == len(CHECKS)
    assert suite.get("failures") == "0"


def test_restart_checks_catch_a_server_that_forgets_presence(tmp_path):
    exchange = fresh_exchange("implus-conf")
    try:
        res = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "3",
                    "--server-cmd", SERVER_CMD + " --reset-presence", "--json-report", str(tmp_path / "r.json")],
                   cwd=tmp_path)
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["checks"]["presence-after-restart"]["grade"] == "FAIL"
    assert doc["checks"]["ids-after-restart"]["grade"] == "PASS"  # the id counter survives --reset-presence
    assert "restart the server" in "\n".join(doc["checks"]["presence-after-restart"]["steps"])


def test_restart_checks_catch_ids_that_restart_at_one(tmp_path):
    exchange = fresh_exchange("implus-conf")
    cmd = f"{PY} -m tests.broken_servers ids-in-memory --exchange {{exchange}} --amqp-url {{amqp_url}}"
    try:
        res = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "3",
                    "--server-cmd", cmd, "--json-report", str(tmp_path / "r.json")], cwd=tmp_path)
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["checks"]["ids-after-restart"]["grade"] == "FAIL", res.stdout
    assert doc["checks"]["ids-fresh"]["grade"] == "PASS"  # within one process its ids are fresh
    assert doc["checks"]["presence-after-restart"]["grade"] == "PASS"
    assert "SPEC.md §7 [ID-2]" in res.stdout


def test_without_server_cmd_restart_checks_skip_with_a_reason():
    exchange = fresh_exchange("implus-conf")
    try:
        report = run_suite(SuiteConfig(amqp_url=AMQP_URL, exchange=exchange, seed=1, max_examples=1, timeout=0.5))
    finally:
        cleanup_exchange(exchange)
    by = {r.check.id: r for r in report.results}
    assert report.error and "no server answered" in report.error
    for c in RESTART_CHECKS:
        assert by[c.id].grade == "SKIP" and "--server-cmd" in by[c.id].reason


def test_cli_failure_quotes_spec_saves_steps_and_replays_them(tmp_path):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange, module="tests.broken_servers", extra=["--broken", "trust-from"]).wait_ready()
    try:
        res = _cli(["--exchange", exchange, "--seed", str(SEED), "--max-examples", "10", "--shrink-time", "2",
                    "--junit-xml", str(tmp_path / "j.xml"), "--json-report", str(tmp_path / "r.json")], cwd=tmp_path)
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    line = next(l for l in out.splitlines() if l.strip().startswith("registry-identities"))
    assert "FWD-2" in line and "FAIL" in line
    # the requirement quoted from SPEC.md, what was expected, what arrived (with routing keys), the steps
    assert 'SPEC.md §8 [FWD-2]: "The server MUST fill `from` and `from_id`' in out
    assert "expected: exactly one normal to" in out
    assert "arrived (" in out and "routing key" in out and '"from":"mallory"' in out
    assert "the suite sent in that step:" in out
    assert f"Replay: implus-conformance --exchange {exchange} --seed {SEED}" in out
    saved = tmp_path / f"implus-failure-{SEED}.json"  # the default failure file
    assert f"Replay steps: implus-conformance --replay {saved.name} --exchange {exchange}" in out
    failure = json.loads(saved.read_text())
    assert failure["requirement"] == "FWD-2" and failure["seed"] == SEED and failure["calls"]
    assert failure["settings"]["max_examples"] == 10 and len(failure["steps"]) == len(failure["calls"])
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["checks"]["registry-identities"]["grade"] == "FAIL"
    assert doc["checks"]["registry-identities"]["requirement_text"].startswith("The server MUST fill")
    assert doc["checks"]["registry-identities"]["arrived"]
    assert doc["minimal_failure"]["requirement"] == "FWD-2"
    assert doc["failure_file"] == saved.name
    failures = [(c.get("name"), c.find("failure")) for c in ET.parse(tmp_path / "j.xml").getroot().findall("testcase")]
    assert [n for n, f in failures if f is not None] == ["registry-identities [FWD-2]"]
    assert "The server MUST fill" in next(f for _, f in failures if f is not None).text

    # --replay reruns exactly those steps: the same failure against another broken server, none against
    # the reference server.
    for module, extra, code in (("tests.broken_servers", ["--broken", "trust-from"], 1), ("reference_server", [], 0)):
        exchange = fresh_exchange("implus-conf")
        proc = ServerProcess(exchange, module=module, extra=extra).wait_ready()
        try:
            rep = _cli(["--replay", str(saved), "--exchange", exchange, "--json-report", str(tmp_path / "rr.json")],
                       cwd=tmp_path)
        finally:
            proc.stop()
            cleanup_exchange(exchange)
        assert rep.returncode == code, rep.stdout + rep.stderr
        again = json.loads((tmp_path / "rr.json").read_text())
        assert again["examples"] == 1
        if code:
            assert again["minimal_failure"]["requirement"] == "FWD-2"
            n = len(again["minimal_failure"]["calls"])  # the same rule calls (names of clients differ per run)
            assert n and again["minimal_failure"]["calls"] == failure["calls"][:n]
            assert "Replay steps: implus-conformance --replay" in rep.stdout


def test_replay_refuses_a_file_that_is_not_a_failure(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"seed": 1}')
    res = _cli(["--replay", str(bad), "--exchange", "whatever"], timeout=60)
    assert res.returncode == 2 and "not a failure file" in res.stderr


def test_should_failures_count_only_in_strict_mode(tmp_path):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange, module="tests.broken_servers", extra=["--broken", "careless"]).wait_ready()
    try:
        lenient = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "4"], cwd=tmp_path)
        strict = _cli(["--exchange", exchange, "--seed", "3", "--max-examples", "2", "--max-steps", "4", "--strict",
                       "--no-save-failure"], cwd=tmp_path)
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    assert lenient.returncode == 0, lenient.stdout
    assert "NON-STRICT" in lenient.stdout
    assert not list(tmp_path.glob("implus-failure-*.json")), "no MUST failed: no failure file by default"
    assert strict.returncode == 1, strict.stdout
    assert any(l.strip().startswith("content-type") and "FAIL" in l for l in strict.stdout.splitlines())
    assert "SPEC.md §2 [TOP-5]" in strict.stdout
    assert not list(tmp_path.glob("implus-failure-*.json"))


def test_no_server_is_an_operational_error(tmp_path):
    exchange = fresh_exchange("implus-conf")
    try:
        res = _cli(["--exchange", exchange, "--timeout", "1"], cwd=tmp_path)
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 2, res.stdout
    assert "no server answered" in res.stdout


def test_server_cmd_that_dies_is_an_operational_error(tmp_path):
    exchange = fresh_exchange("implus-conf")
    try:
        res = _cli(["--exchange", exchange, "--server-cmd", "echo starting; exit 3", "--start-timeout", "10"],
                   cwd=tmp_path)
    finally:
        cleanup_exchange(exchange)
    assert res.returncode == 2, res.stdout
    assert "exited with status 3" in res.stdout and "starting" in res.stdout


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


def test_pytest_plugin_runs_one_item_per_check(tmp_path):
    exchange = fresh_exchange("implus-conf")
    proc = ServerProcess(exchange).wait_ready()
    try:
        res = subprocess.run([sys.executable, "-m", "pytest", "-p", "conformance.pytest_plugin", "-p",
                              "no:cacheprovider", "--implus-exchange", exchange, "--implus-amqp-url", AMQP_URL,
                              "--implus-seed", "2", "--implus-max-examples", "2", "--implus-max-steps", "4",
                              "-rs", "-v"], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        proc.stop()
        cleanup_exchange(exchange)
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    for c in CHECKS:
        assert f"implus-conformance::{c.id}" in out, c.id
    assert "PASSED" in out and "SKIPPED" in out
    assert "--server-cmd" in out  # the skip reason of the restart checks
