"""implus-validate (conformance.validate): files, stdin, NDJSON, JSON output, exit codes, live tap.

Valid data are the schemas' own examples; invalid data are those examples with one thing broken.
Live-mode tests run the validator as a subprocess against the real RabbitMQ, on a fresh exchange.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pika
import pytest

import implus_proto

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("IMPLUS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
WAIT = 20.0  # explicit upper bound for every wait on the subprocess or the broker


def example(class_name: str, index: int = 0) -> dict:
    return dict(implus_proto.default_schemas().by_class[class_name].schema["examples"][index])


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conformance.validate", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True, cwd=ROOT, timeout=60,
    )


def text(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode("utf-8")


# -- files ---------------------------------------------------------------------------------
def test_single_compact_message_is_valid(tmp_path):
    path = tmp_path / "online.json"
    path.write_text(json.dumps(example("Online")), encoding="utf-8")
    proc = cli("-v", str(path))
    assert proc.returncode == 0, proc.stderr
    assert f"{path}:1: ok Online" in text(proc)
    assert text(proc).strip().splitlines()[-1] == "1 message: 1 valid, 0 invalid"


def test_pretty_printed_message_is_one_message(tmp_path):
    path = tmp_path / "client_list.json"
    path.write_text("\n\n" + json.dumps(example("ClientList"), indent=2) + "\n", encoding="utf-8")
    proc = cli("-v", str(path))
    assert proc.returncode == 0, text(proc)
    out = text(proc)
    assert f"{path}:3: ok ClientList" in out  # the line where the value starts
    assert "1 message: 1 valid, 0 invalid" in out


def test_pretty_printed_duplicate_key_is_caught(tmp_path):
    body = json.dumps(example("Offline"), indent=2)
    body = body.replace('"message": ""', '"message": "",\n  "message": ""')
    assert body.count('"message"') == 2
    path = tmp_path / "dup.json"
    path.write_text(body, encoding="utf-8")
    proc = cli(str(path))
    assert proc.returncode == 1
    out = text(proc)
    assert f"{path}:1: invalid offline" in out
    assert "duplicate key 'message' [MSG-1]" in out
    assert "1 message: 0 valid, 1 invalid" in out


def ndjson_mixed() -> tuple[bytes, dict[int, bool]]:
    """Lines: valid, blank, invalid (empty name), dup key, not JSON, NaN, valid; {line: valid}."""
    normal = example("NormalToServer")
    lines = [
        json.dumps(normal),
        "",
        json.dumps({**example("Offline"), "from": ""}),
        '{"type": "offline", "type": "offline"}',
        "this is not json",
        json.dumps({**normal, "destination_id": float("nan")}),
        json.dumps(example("SelfOffline")),
    ]
    return ("\n".join(lines) + "\n").encode(), {1: True, 3: False, 4: False, 5: False, 6: False, 7: True}


def test_ndjson_mixed_valid_and_invalid(tmp_path):
    data, expected = ndjson_mixed()
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(data)
    proc = cli("-v", str(path))
    assert proc.returncode == 1
    out = text(proc)
    assert f"{path}:1: ok NormalToServer" in out
    assert f"{path}:7: ok SelfOffline" in out
    block = out.split(f"{path}:3: invalid offline\n", 1)[1].splitlines()[0]
    assert block.startswith("  $.from: ") and "[MSG-4]" in block and "(schema: properties/from/" in block
    assert f"{path}:4: invalid offline\n  $: duplicate key 'type' [MSG-1]" in out
    assert f"{path}:5: invalid ?\n  $: not JSON" in out
    assert f"{path}:6: invalid normal\n  $: NaN is not JSON [MSG-1]" in out
    assert f"{path}:2:" not in out  # blank line skipped
    assert out.strip().splitlines()[-1] == "6 messages: 2 valid, 4 invalid"


def test_invalid_messages_are_reported_without_verbose(tmp_path):
    data, _ = ndjson_mixed()
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(data)
    out = text(cli(str(path)))
    assert " ok " not in out
    assert f"{path}:3: invalid offline" in out


def test_stdin_default_and_dash():
    body = json.dumps(example("Online", 1)).encode()
    for args in ((), ("-",)):
        proc = cli("-v", *args, stdin=body)
        assert proc.returncode == 0, text(proc)
        assert "<stdin>:1: ok Online" in text(proc)
    proc = cli(stdin=b'{"type": "nope"}\n')
    assert proc.returncode == 1
    assert "<stdin>:1: invalid nope\n  $.type: unknown message type 'nope'" in text(proc)
    assert "[MSG-2]" in text(proc)


def test_format_json_is_ndjson_one_object_per_message(tmp_path):
    data, expected = ndjson_mixed()
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(data)
    proc = cli("--format", "json", str(path))
    assert proc.returncode == 1
    records = [json.loads(line) for line in text(proc).splitlines()]
    assert {r["line"]: r["valid"] for r in records} == expected
    for r in records:
        assert set(r) == {"source", "line", "valid", "type", "class", "errors"}
        assert r["source"] == str(path)
        assert (r["errors"] == []) == r["valid"]
        for e in r["errors"]:
            assert set(e) == {"path", "schema_path", "requirement", "reason"}
            assert e["path"].startswith("$") and e["reason"]
    by_line = {r["line"]: r for r in records}
    assert by_line[1]["class"] == "NormalToServer" and by_line[1]["type"] == "normal"
    assert by_line[3]["errors"][0]["path"] == "$.from"
    assert by_line[3]["errors"][0]["requirement"] == "MSG-4"
    assert by_line[3]["errors"][0]["schema_path"].startswith("properties/from/")
    assert by_line[5]["type"] is None
    assert "6 messages: 2 valid, 4 invalid" in proc.stderr.decode()  # stdout stays pure NDJSON


def test_strict_reports_unknown_fields(tmp_path):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps({**example("Offline"), "mood": "happy"}), encoding="utf-8")
    lenient = cli(str(path))
    assert lenient.returncode == 0, text(lenient)
    strict = cli("--strict", str(path))
    assert strict.returncode == 1
    assert "$: unknown field 'mood' (strict mode) [MSG-12]" in text(strict)
    # unknown field inside a nested object too
    nested = example("Online")
    nested["message"] = {**nested["message"], "colour": "blue"}
    path.write_text(json.dumps(nested), encoding="utf-8")
    assert cli(str(path)).returncode == 0
    strict = cli("--strict", str(path))
    assert strict.returncode == 1 and "$.message: unknown field 'colour'" in text(strict)


def test_direction_forced(tmp_path):
    path = tmp_path / "normal.json"
    path.write_text(json.dumps(example("NormalToServer")), encoding="utf-8")
    assert cli("--direction", "client-to-server", str(path)).returncode == 0
    proc = cli("--direction", "server-to-client", str(path))
    assert proc.returncode == 1
    assert f"{path}:1: invalid normal" in text(proc)
    bad = cli("--direction", "sideways", str(path))
    assert bad.returncode == 2


def test_every_schema_example_is_valid(tmp_path):
    lines = [json.dumps(e) for s in implus_proto.default_schemas().specs for e in s.schema["examples"]]
    path = tmp_path / "examples.ndjson"
    path.write_text("\n".join(lines), encoding="utf-8")
    proc = cli("--strict", str(path))
    assert proc.returncode == 0, text(proc)
    assert f"{len(lines)} messages: {len(lines)} valid, 0 invalid" in text(proc)


def test_exit_codes_usage_errors(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(example("Offline")), encoding="utf-8")
    missing = tmp_path / "missing.json"
    proc = cli(str(missing), str(good))
    assert proc.returncode == 2
    assert f"cannot read {missing}" in proc.stderr.decode()
    assert "1 message: 1 valid, 0 invalid" in text(proc)  # the readable file was still checked
    assert cli("--no-such-flag", str(good)).returncode == 2
    assert cli("--count", "3", str(good)).returncode == 2  # live-only option
    assert cli("--live", str(good)).returncode == 2
    assert cli(str(good)).returncode == 0


# -- live mode -----------------------------------------------------------------------------
class Tap:
    """The validator running --live as a subprocess; its stdout and stderr read by threads."""

    def __init__(self, exchange: str, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.validate", "--live", "--amqp-url", AMQP_URL, "--exchange", exchange, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.out_lines: list[str] = []
        self.err_lines: list[str] = []
        self.pumps = [
            threading.Thread(target=self._pump, args=(stream, q), daemon=True)
            for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, q) -> None:
        for raw in stream:
            q.put(raw.decode("utf-8").rstrip("\n"))

    def wait_for(self, needle: str, *, stderr: bool = False) -> str:
        q, seen = (self.err, self.err_lines) if stderr else (self.out, self.out_lines)
        for line in seen:
            if needle in line:
                return line
        while True:
            try:
                line = q.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line with {needle!r} within {WAIT}s; got {seen}") from None
            seen.append(line)
            if needle in line:
                return line

    def finish(self) -> int:
        """Wait for the exit; then every line it wrote is in out_lines / err_lines."""
        rc = self.proc.wait(timeout=WAIT)
        for pump in self.pumps:
            pump.join(timeout=WAIT)  # they end at EOF
        for q, seen in ((self.out, self.out_lines), (self.err, self.err_lines)):
            while not q.empty():
                seen.append(q.get_nowait())
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


@pytest.fixture
def broker():
    """A fresh durable direct exchange, a 'server' queue on server+system and a 'client' queue."""
    name = f"implus-test-{uuid.uuid4().hex[:12]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange=name, exchange_type="direct", durable=True)
    user_id = uuid.uuid4().hex
    server_q = f"{name}-server_q"
    client_q = f"{name}-user_q{user_id}"
    for q, keys in ((server_q, ("server", "system")), (client_q, (user_id,))):
        channel.queue_declare(queue=q, durable=True)
        for key in keys:
            channel.queue_bind(queue=q, exchange=name, routing_key=key)
    yield {"exchange": name, "channel": channel, "user_id": user_id, "server_q": server_q, "client_q": client_q}
    for q in (server_q, client_q):
        channel.queue_delete(queue=q)
    channel.exchange_delete(exchange=name)
    connection.close()


def publish(b, routing_key: str, body: bytes) -> None:
    b["channel"].basic_publish(
        exchange=b["exchange"], routing_key=routing_key, body=body,
        properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
    )


def drain(channel, q: str, n: int) -> list[tuple[str, bytes]]:
    """The first n messages of a queue (waiting at most WAIT for each), then checks it is empty."""
    got: list[tuple[str, bytes]] = []
    for method, _props, body in channel.consume(q, auto_ack=True, inactivity_timeout=WAIT):
        assert method is not None, f"only {len(got)} of {n} messages reached {q}"
        got.append((method.routing_key, body))
        if len(got) == n:
            break
    channel.cancel()
    assert channel.queue_declare(queue=q, passive=True).method.message_count == 0, f"more than {n} in {q}"
    return got


def test_live_reports_invalid_and_leaves_traffic_undisturbed(broker):
    user_id = broker["user_id"]
    online = {**example("Online"), "user_id": user_id}
    invalid = {**example("NormalToServer"), "user_id": "not-a-uuid"}
    client_list = example("ClientList")
    offline = {**example("Offline"), "user_id": user_id}
    tap = Tap(broker["exchange"], "-v", "--count", "5")
    try:
        tap.wait_for("tapping exchange", stderr=True)
        publish(broker, "system", json.dumps(online).encode())
        tap.wait_for("ok Online")  # printed after the validator bound the user_id
        publish(broker, "server", json.dumps(invalid).encode())
        publish(broker, user_id, json.dumps(client_list).encode())
        tap.wait_for("ok ClientList")
        publish(broker, "system", json.dumps(offline).encode())
        tap.wait_for("ok Offline")  # printed after it unbound the user_id
        publish(broker, user_id, json.dumps(client_list).encode())  # no longer followed: not seen
        publish(broker, "server", b'{"type": "normal", "type": "normal"}')  # 5th message it sees
        rc = tap.finish()
    finally:
        tap.kill()
    out = "\n".join(tap.out_lines)
    assert rc == 1, (out, tap.err_lines)
    ex = broker["exchange"]
    assert f"{ex}/system:1: ok Online" in out
    head = f"{ex}/server:2: invalid normal"
    assert head in out
    issue = out.split(head + "\n", 1)[1].splitlines()[0]
    assert issue.startswith("  $.user_id: ") and "[MSG-3]" in issue
    assert f"{ex}/{user_id}:3: ok ClientList" in out
    assert f"{ex}/system:4: ok Offline" in out
    assert f"{ex}/server:5: invalid normal\n  $: duplicate key 'type' [MSG-1]" in out
    assert out.count("ok ClientList") == 1
    assert tap.out_lines[-1] == "5 messages: 3 valid, 2 invalid"
    # Undisturbed: the server's and the client's queues got every message, in order.
    server_got = drain(broker["channel"], broker["server_q"], 4)
    assert [rk for rk, _ in server_got] == ["system", "server", "system", "server"]
    assert json.loads(server_got[1][1]) == invalid
    client_got = drain(broker["channel"], broker["client_q"], 2)
    assert [json.loads(body) for _, body in client_got] == [client_list, client_list]


def test_live_direction_follows_routing_key(broker):
    """On a user_id: server-to-client (or self_offline); on server/system: client-to-server."""
    user_id = broker["user_id"]
    tap = Tap(broker["exchange"], "--format", "json", "--count", "4")
    try:
        tap.wait_for("tapping exchange", stderr=True)
        publish(broker, "system", json.dumps({**example("Online"), "user_id": user_id}).encode())
        tap.wait_for('"class": "Online"')
        publish(broker, user_id, json.dumps({**example("SelfOffline"), "user_id": user_id}).encode())
        publish(broker, user_id, json.dumps(example("NormalToServer")).encode())  # client form on a client's key
        publish(broker, "system", json.dumps(example("NormalToServer")).encode())  # chat on the presence key
        rc = tap.finish()
    finally:
        tap.kill()
    records = [json.loads(line) for line in tap.out_lines if line.startswith("{")]
    assert rc == 1
    assert [(r["line"], r["valid"], r["class"]) for r in records[:2]] == [(1, True, "Online"), (2, True, "SelfOffline")]
    assert records[1]["routing_key"] == user_id
    assert not records[2]["valid"] and records[2]["class"] == "NormalToClient"
    assert not records[3]["valid"]
    assert records[3]["errors"][0]["requirement"] == "TOP-2"
    assert "not on 'system'" in records[3]["errors"][0]["reason"]


def test_live_stops_on_sigint_with_summary(broker):
    tap = Tap(broker["exchange"])
    try:
        tap.wait_for("tapping exchange", stderr=True)
        publish(broker, "server", json.dumps(example("NormalToServer")).encode())
        publish(broker, "server", b"[]")
        tap.wait_for("invalid ?")
        tap.proc.send_signal(signal.SIGINT)
        rc = tap.finish()
    finally:
        tap.kill()
    assert rc == 1
    assert tap.out_lines[-1] == "2 messages: 1 valid, 1 invalid"
    assert any("a message is a JSON object, not an array [MSG-1]" in line for line in tap.out_lines)


def test_live_missing_exchange_is_a_clear_usage_error():
    name = f"implus-test-{uuid.uuid4().hex[:12]}"
    proc = cli("--live", "--amqp-url", AMQP_URL, "--exchange", name, "--duration", "1")
    assert proc.returncode == 2
    assert f"exchange {name!r} does not exist" in proc.stderr.decode()


def test_control_characters_of_a_type_are_not_written_raw():
    """A hostile type value must not reach the terminal as escape codes (the header line shows its repr)."""
    out = subprocess.run([sys.executable, "-m", "conformance.validate", "-"], input=b'{"type":"x\\u001b[31m"}\n',
                         capture_output=True, cwd=ROOT)
    assert out.returncode == 1
    assert b"\x1b" not in out.stdout and b"\\x1b" in out.stdout
