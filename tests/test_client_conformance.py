"""Client conformance (implus-conformance --client-cmd): the suite plays the server and the peers.
The reference client must pass; deliberately broken clients (the reference client with one rule
broken, run as `python -m tests.test_client_conformance NAME <implus-client arguments>`) must fail
on the requirement they break. IMPLUS_KEY_BITS=1024 comes from tests/conftest.py."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from conformance.checks import CLIENT_CHECKS
from conformance.client_suite import ClientConfig, run_client_suite
from conformance.runner import key_pool
from tests.wire import AMQP_URL, ROOT

PY = shlex.quote(sys.executable)
LISTEN = "{client} --name probe --exchange {{exchange}} --amqp-url {amqp} --listen --timeout 60"
SEND = "{client} --name sender --exchange {{exchange}} --amqp-url {amqp} --to {{peer}} {{text}}"
REFERENCE = f"{PY} -m reference_client"


def _cmds(client: str, send: bool = True) -> tuple[str, str | None]:
    amqp = shlex.quote(AMQP_URL)
    return LISTEN.format(client=client, amqp=amqp), SEND.format(client=client, amqp=amqp) if send else None


def _broken(name: str) -> str:
    return f"{PY} -m tests.test_client_conformance {name}"


def test_reference_client_passes_cli(tmp_path):
    listen, send = _cmds(REFERENCE)
    res = subprocess.run([sys.executable, "-m", "conformance.cli", "--amqp-url", AMQP_URL, "--client-cmd", listen,
                          "--client-send-cmd", send, "--json-report", str(tmp_path / "c.json")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["kind"] == "client" and doc["passed"]
    grades = {k: v["grade"] for k, v in doc["checks"].items()}
    assert set(grades) == {c.id for c in CLIENT_CHECKS}
    # every check ran; the only non-pass is SEC-1's SHOULD, since the tests use 1024-bit keys
    assert {k for k, g in grades.items() if g != "PASS"} == {"client-key-strength"}, grades
    assert grades["client-key-strength"] == "NON-STRICT"
    cov = doc["coverage"]
    for rid in ("TOP-2", "TOP-4", "ONL-1", "MSG-3", "ENC-1", "ROB-3", "SEC-3", "SOF-1"):
        assert rid in cov["exercised"], rid
    assert "server" in cov["not_exercised"]["FWD-2"]


BROKEN_CLIENTS = {  # name -> (the check that must fail, whether it needs the send session)
    "chat-on-system": ("client-chat-key", True),
    "wrong-text": ("client-encrypts", True),
    "fixed-user-id": ("client-user-id", True),
    "crash-on-bad-input": ("client-survives", False),
    "silent": ("client-warns", False),
    "online-before-bind": ("client-queue-before-online", False),
}


def test_suite_catches_broken_clients():
    key_pool()

    def one(name: str):
        check, send = BROKEN_CLIENTS[name]
        listen, send_cmd = _cmds(_broken(name), send)
        return name, run_client_suite(ClientConfig(client_cmd=listen, send_cmd=send_cmd, amqp_url=AMQP_URL))

    with ThreadPoolExecutor(3) as ex:
        reports = dict(ex.map(one, sorted(BROKEN_CLIENTS)))
    problems = []
    for name, report in sorted(reports.items()):
        check = BROKEN_CLIENTS[name][0]
        grades = {r.check.id: r.grade for r in report.results}
        if report.error or grades[check] != "FAIL" or report.passed:
            problems.append(f"{name}: expected {check} to FAIL, got {grades} ({report.error})")
        failed = next(r for r in report.results if r.check.id == check)
        if failed.finding is None or not failed.steps:
            problems.append(f"{name}: the failure names no steps")
    assert not problems, "\n".join(problems)


def test_a_client_that_never_comes_online_fails_onl1_with_its_output():
    report = run_client_suite(ClientConfig(client_cmd="echo cannot start >&2; exit 4", amqp_url=AMQP_URL,
                                           start_timeout=10))
    r = next(r for r in report.results if r.check.id == "client-online-fields")
    assert not report.passed and r.grade == "FAIL"
    assert "exited with status 4" in r.evidence
    assert any("cannot start" in a["body"] for a in r.finding.arrived)  # the client's own last words
    assert all(x.grade == "SKIP" for x in report.results if x.check.id in ("client-shows-chat", "client-encrypts"))


# -- the broken clients ----------------------------------------------------------------------------
def _break(name: str) -> None:
    import time

    import implus_proto
    import reference_client.__main__ as cli
    import reference_client.session as session

    if name == "chat-on-system":  # TOP-2: chat published on the presence routing key
        session.CHAT_KEY = session.PRESENCE_KEY
    elif name == "wrong-text":  # ENC-1: encrypts something other than the text
        real = implus_proto.encrypt
        implus_proto.encrypt = lambda text, key: real(text[::-1], key)
    elif name == "fixed-user-id":  # MSG-3: the same user_id every session
        sys.argv += ["--user-id", "4" * 12 + "4" + "4" * 3 + "8" + "4" * 15]
    elif name == "crash-on-bad-input":  # ROB-2/ROB-3: gives up on the first body it refuses
        real_handle = session.Session.handle

        def handle(self, body):
            try:
                self.decode(body)
            except implus_proto.ProtocolError:
                os._exit(3)
            return real_handle(self, body)

        session.Session.handle = handle
    elif name == "silent":  # ROB-3: refuses bad input without a word
        cli.warn = lambda text: None
    elif name == "online-before-bind":  # TOP-4: its queue is not bound when the online goes out
        real_online = session.Session.go_online

        def go_online(self):
            ex = self.config.exchange
            self.channel.queue_unbind(queue=self.queue, exchange=ex, routing_key=self.user_id)
            real_online(self)
            time.sleep(1.0)
            self.channel.queue_bind(queue=self.queue, exchange=ex, routing_key=self.user_id)

        session.Session.go_online = go_online
    else:
        raise SystemExit(f"unknown broken client {name!r}")


if __name__ == "__main__":
    _break(sys.argv.pop(1))
    from reference_client.__main__ import main

    sys.exit(main(sys.argv[1:]))
