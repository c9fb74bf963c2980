"""Security requirements of SPEC.md section 13 (SEC-*) that the reference implementations keep."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pika
import rsa

import implus_proto as p
from tests.test_client import Client
from tests.wire import AMQP_URL, ROOT, Peer, tap

WAIT = 30.0


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def test_sec2_rsa_package_is_a_safe_version():
    """SEC-2: rsa >= 4.7 (CVE-2020-13757 before 4.1, CVE-2020-25658 before 4.7), installed and required."""
    assert _version(rsa.__version__) >= (4, 7)
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+; the project supports 3.10
    (rsa_dep,) = re.findall(r'^\s*"rsa>=([0-9.]+)"', pyproject, re.M)
    assert _version(rsa_dep) >= (4, 7), rsa_dep


def _collect(conn: pika.BlockingConnection, queue: str, quiet: float = 0.5) -> list[dict]:
    ch = conn.channel()
    out, deadline = [], time.monotonic() + quiet
    while time.monotonic() < deadline:
        method, _, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            conn.sleep(0.05)
            continue
        out.append(json.loads(body))
    return out


def test_sec1_reference_client_defaults_to_2048_bit_keys(server, exchange):
    """SEC-1: clients SHOULD generate keys of 2048 bits or more; the reference client does by default."""
    conn, q = tap(exchange, "system")
    env = {k: v for k, v in os.environ.items() if k != "IMPLUS_KEY_BITS"}
    proc = subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange,
         "--name", "carol", "--listen", "--timeout", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    try:
        assert proc.returncode == 0, proc.stderr
        onlines = [m for m in _collect(conn, q) if m.get("type") == "online"]
        assert len(onlines) == 1
        key = p.load_public_key(p.key_of(p.default_codec().from_obj(onlines[0]).message))
        assert key.n.bit_length() >= 2048
    finally:
        conn.close()


def test_sec3_client_answers_nothing_to_a_bad_ciphertext(server, exchange):
    """SEC-3: a receiver publishes nothing in response to a ciphertext that fails to decrypt (no padding oracle)."""
    uid = uuid.uuid4().hex
    bob = Client(exchange, "--name", "bob", "--user-id", uid, "--listen", "--timeout", str(WAIT), "-v")
    taps = [tap(exchange, key) for key in ("server", "system")]
    try:
        bob.wait_err("online as bob")
        time.sleep(0.5)
        for conn, q in taps:
            _collect(conn, q)  # bob's own online
        other_pub, _ = p.generate_keypair()
        peer = Peer(exchange)
        try:
            good_form = p.encrypt("for somebody else", other_pub)
            for message in (good_form, good_form[:-8] + "AAAAAAA=", p.crypto.latin1_form(good_form)):
                peer.publish(uid, {"type": "normal", "from": "mallory", "from_id": 9, "user_id": "", "destination": "bob",
                                   "destination_id": 1, "created_at": 1, "message": message})
        finally:
            peer.close()
        deadline = time.monotonic() + WAIT
        while sum(line.startswith("warning: ") for line in bob.err) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sum(line.startswith("warning: ") for line in bob.err) == 3, "\n".join(bob.err)
        for conn, q in taps:
            assert _collect(conn, q, quiet=1.0) == [], "the client published something in answer to a bad ciphertext"
        assert bob.proc.poll() is None
    finally:
        bob.stop()
        for conn, _ in taps:
            conn.close()
