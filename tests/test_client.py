"""The reference client on the wire: real RabbitMQ, the real reference server, the client as a
subprocess (one-shot, listen, and interactive through a pseudo-terminal)."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import termios
import threading
import time
import uuid

import pika
import pytest

import implus_proto as p
from tests.wire import AMQP_URL, ROOT, Peer, cleanup_exchange, fresh_exchange, stop_process

WAIT = 30.0  # generous upper bound for anything a test waits for; never an assertion on speed
WARNING_PREFIX = "warning: ignored a malformed message: "


class Client:
    """implus-client as a subprocess with stdout/stderr collected line by line."""

    def __init__(self, exchange: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange, *args],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._cv = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(s, d), daemon=True)
                         for s, d in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    def _read(self, stream, dest: list[str]) -> None:
        for line in stream:
            with self._cv:
                dest.append(line.rstrip("\n"))
                self._cv.notify_all()

    def wait_err(self, needle: str, timeout: float = WAIT) -> None:
        with self._cv:
            ok = self._cv.wait_for(lambda: any(needle in l for l in self.err) or self.proc.poll() is not None, timeout)
        assert ok and any(needle in l for l in self.err), f"no {needle!r} on stderr:\n" + "\n".join(self.err)

    def finish(self, timeout: float = WAIT) -> int:
        rc = self.proc.wait(timeout)
        for t in self._threads:
            t.join(5)
        return rc

    def stop(self) -> None:
        stop_process(self.proc)


class PtyClient:
    """implus-client in interactive mode on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, exchange: str, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange, *args],
            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0), env={**os.environ, "TERM": "xterm"},
        )
        os.close(slave)
        self.buf = b""
        self.pos = 0  # expect() searches from here

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.buf += data
        return True

    @property
    def text(self) -> str:
        return self.buf.decode("utf-8", "replace")

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match:
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(min(left, 0.2)):
                m = regex.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                raise AssertionError(f"no {pattern!r} on the terminal; it shows:\n{self.text}")

    def send(self, data: str) -> None:
        os.write(self.master, data.encode("utf-8"))

    def finish(self, timeout: float = WAIT) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._pump(0.1)
        while self._pump(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        return self.proc.wait(max(0.1, deadline - time.monotonic()))

    def stop(self) -> None:
        stop_process(self.proc)
        os.close(self.master)


@pytest.fixture
def clients():
    made: list = []

    def make(exchange: str, *args: str, tty: bool = False):
        c = (PtyClient if tty else Client)(exchange, *args)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


def queue_exists(name: str) -> bool:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        conn.channel().queue_declare(name, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()


def send(exchange: str, sender: str, to: str, *text: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange,
         "--name", sender, "--to", to, *extra, "--", *text],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=WAIT + 30, stdin=subprocess.DEVNULL,
    )


# -- one-shot and listen --------------------------------------------------------------------------

def test_round_trip(server, exchange, clients):
    """FWD-1, ENC-1, TOP-2..4: one-shot alice -> listening bob prints exactly `from alice: hello`."""
    bob = clients(exchange, "--name", "bob", "--listen", "--count", "1", "--timeout", str(WAIT))
    sent = send(exchange, "alice", "bob", "hello")
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr == ""
    assert bob.finish() == 0, "\n".join(bob.err)
    assert bob.out == ["from alice: hello"]
    assert bob.err == []
    assert "online: 'alice'" in server.log() and "offline: 'alice'" in server.log()  # went online, then offline


def test_non_ascii_multi_block_and_control_texts(server, exchange, clients):
    """ENC-1 (several RSA blocks, UTF-8); PRES-4 (bob spells its key public_key, alice prublic_key);
    TEXT... is joined with spaces; a received newline or escape cannot break the one-line output."""
    texts = [
        ("héllo wörld — 你好, 🎉 ça va?",),
        ("".join(chr(0x4E00 + i % 500) for i in range(700)),),  # 2100 UTF-8 bytes: 18 blocks of 117
        ("x" * 117 + "y",),  # one byte over one block
        ("two", "words"),
        ("line1\nline2\x1b[2J",),
    ]
    expected = [f"from alice: {' '.join(t)}" for t in texts[:4]] + ["from alice: line1\\nline2\\x1b[2J"]
    bob = clients(exchange, "--name", "bob", "--key-field", "public_key", "--listen", "--count", str(len(texts)),
                  "--timeout", str(WAIT))
    for words in texts:
        sent = send(exchange, "alice", "bob", *words, extra=("--key-field", "prublic_key"))
        assert sent.returncode == 0, sent.stderr
    assert bob.finish() == 0, "\n".join(bob.err)
    assert bob.out == expected


def test_text_too_long_to_encrypt(server, exchange, clients):
    """ENC-1: a text over what one message can carry is refused by the sender, with the limit."""
    bob = clients(exchange, "--name", "bob", "--listen", "--timeout", str(WAIT))
    limit = 22464  # 192 blocks of 117 bytes fit the 32768-character ciphertext field for a 1024-bit key
    sent = send(exchange, "alice", "bob", "a" * (limit + 1))
    assert sent.returncode == 1
    assert "at most 22464" in sent.stderr and len(sent.stderr.strip().splitlines()) == 1
    assert "Traceback" not in sent.stderr
    assert send(exchange, "alice", "bob", "é" * (limit // 2)).returncode == 0  # exactly at the limit
    bob.stop()
    assert bob.out == [f"from alice: {'é' * (limit // 2)}"]


def test_one_shot_to_missing_user(server, exchange):
    sent = send(exchange, "alice", "nobody", "hi", extra=("--timeout", "1.5"))
    assert sent.returncode == 1
    assert sent.stderr.strip() == f"implus-client: no user named 'nobody' is online on exchange {exchange} (waited 1.5 s)"
    assert _eventually(lambda: "offline: 'alice'" in server.log())


def test_one_shot_refuses_an_ambiguous_name(server, exchange, clients):
    """Names are not unique (MSG-4) and prove nothing: with two users named bob, --to bob sends
    nothing and says which ids share the name, rather than pick one (an impostor could be either)."""
    first = clients(exchange, "--name", "bob", "--listen", "--timeout", str(WAIT), "-v")
    first.wait_err("online as bob")
    assert _eventually(lambda: "online: 'bob' is id 1" in server.log())
    second = clients(exchange, "--name", "bob", "--listen", "--timeout", str(WAIT), "-v")
    second.wait_err("online as bob")
    assert _eventually(lambda: "online: 'bob' is id 2" in server.log())
    sent = send(exchange, "alice", "bob", "for which bob?")
    assert sent.returncode == 1
    assert "several online users are named 'bob' (ids 1, 2)" in sent.stderr and "nothing was sent" in sent.stderr
    assert "forwarded" not in server.log()
    first.stop()
    second.stop()
    assert first.out == [] and second.out == []


def test_a_copy_of_the_own_key_does_not_change_the_own_id(server, exchange, clients):
    """Keys are public: an impostor going online with a copy of bob's key is not taken for bob."""
    uid = uuid.uuid4().hex
    bob = clients(exchange, "--name", "bob", "--user-id", uid, "--listen", "--timeout", str(WAIT), "-v")
    bob.wait_err("listed as id 1")
    spy = Peer(exchange)
    try:
        spy.publish("system", {"type": "online", "from": "spy", "user_id": spy.user_id, "created_at": 1,
                               "message": {"prublic_key": p.public_key_pem(p.generate_keypair()[0])}})
        body = spy.receive_json(WAIT)
        bob_key = next(p.key_of(e) for e in p.default_codec().from_obj(body).message if e.user_name == "bob")
        spy.publish("system", {"type": "online", "from": "impostor", "user_id": spy.user_id, "created_at": 1,
                               "message": {"prublic_key": bob_key}})
        bob.wait_err("use this client's public key")
    finally:
        spy.publish("system", {"type": "offline", "from": "x", "user_id": spy.user_id, "created_at": 1, "message": ""})
        spy.close()
    bob.stop()
    assert not any("listed as id 2" in line for line in bob.err), "\n".join(bob.err)


def test_no_server_answered():
    """Nothing consumes the exchange at all, or a server queue exists with no server behind it."""
    exchange = fresh_exchange()
    queue = f"implus.server.{exchange}"
    try:
        sent = send(exchange, "alice", "bob", "hi", extra=("--timeout", "1"))
        assert sent.returncode == 1
        assert sent.stderr.startswith(f"implus-client: no server answered on exchange {exchange}")
        assert len(sent.stderr.strip().splitlines()) == 1

        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        ch = conn.channel()
        ch.queue_declare(queue, durable=True)  # a stopped server's queue: routable, never answered
        ch.queue_bind(queue, exchange, "system")
        sent = send(exchange, "alice", "bob", "hi", extra=("--timeout", "1"))
        assert sent.returncode == 1
        assert sent.stderr.strip() == f"implus-client: no server answered on exchange {exchange} within 1 s"
        ch.queue_delete(queue)
        conn.close()
    finally:
        cleanup_exchange(exchange)


def test_no_server_consuming_chat(server, exchange, clients):
    """TOP-2: a server that answers presence but whose `server` binding is gone: the chat is unroutable."""
    bob = clients(exchange, "--name", "bob", "--listen", "--timeout", str(WAIT), "-v")
    bob.wait_err("online as bob")
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        conn.channel().queue_unbind(f"implus.server.{exchange}", exchange, "server")
    finally:
        conn.close()
    sent = send(exchange, "alice", "bob", "hi")
    assert sent.returncode == 1
    assert sent.stderr.strip() == f"implus-client: no server is consuming on exchange {exchange}"
    bob.stop()
    assert bob.out == []


def test_broker_unreachable():
    sent = subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", "amqp://guest:secret@127.0.0.1:1/",
         "--name", "alice", "--to", "bob", "hi"],
        cwd=ROOT, capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )
    assert sent.returncode == 1
    assert sent.stderr.startswith("implus-client: cannot reach the broker at amqp://guest:***@127.0.0.1:1/")
    assert "secret" not in sent.stderr and "Traceback" not in sent.stderr
    assert len(sent.stderr.strip().splitlines()) == 1


def test_exchange_of_another_type():
    """TOP-1: an existing exchange that is not a durable direct one is reported, not a traceback."""
    exchange = fresh_exchange()
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        conn.channel().exchange_declare(exchange, exchange_type="fanout", durable=True)
        sent = send(exchange, "alice", "bob", "hi", extra=("--timeout", "1"))
        assert sent.returncode == 1
        assert sent.stderr.startswith(f"implus-client: the broker refused to set up exchange {exchange}")
        assert "406 PRECONDITION_FAILED" in sent.stderr and len(sent.stderr.strip().splitlines()) == 1
    finally:
        conn.channel().exchange_delete(exchange)
        conn.close()


def test_listen_count_not_reached(server, exchange):
    proc = subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange,
         "--name", "bob", "--listen", "--count", "2", "--timeout", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "implus-client: only 0 of 2 messages arrived within 1 s"
    proc = subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange,
         "--name", "bob", "--listen", "--timeout", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_listen_survives_garbage(server, exchange, clients):
    """ROB-3: every kind of bad input gives one warning line, prints nothing, and the next real message
    still arrives. The forward with a non-empty user_id is valid JSON, decryptable, and still refused
    (FWD-3: the schema says user_id is "")."""
    uid = uuid.uuid4().hex
    bob = clients(exchange, "--name", "bob", "--user-id", uid, "--listen", "--count", "1", "--timeout", str(WAIT), "-v")
    bob.wait_err("online as bob")
    # A bare peer goes online to learn bob's public key from its client_list.
    spy = Peer(exchange)
    try:
        spy_pub, _ = p.generate_keypair()
        spy.publish("system", {"type": "online", "from": "spy", "user_id": spy.user_id, "created_at": 1,
                               "message": {"prublic_key": p.public_key_pem(spy_pub)}})
        bob_key = None
        deadline = time.monotonic() + WAIT
        while bob_key is None and time.monotonic() < deadline:
            body = spy.receive_json(1)
            if body and body.get("type") == "client_list":
                bob_key = next((p.key_of(e) for e in p.default_codec().from_obj(body).message if e.user_name == "bob"), None)
        assert bob_key is not None
        other_pub, _ = p.generate_keypair()

        def forward(**changes):
            msg = {"type": "normal", "from": "mallory", "from_id": 7, "user_id": "", "destination": "bob",
                   "destination_id": 1, "created_at": 1412318254, "message": p.encrypt("must not show", bob_key)}
            msg.update(changes)
            return msg

        garbage = [
            b"not json at all",
            b"\xff\xfe\x00 not utf-8",
            b'{"type": "normal", "type": "normal"}',  # duplicate key
            b"[1, 2, 3]",
            json.dumps({"type": "bogus", "created_at": 1}).encode(),  # unknown type
            json.dumps(forward(user_id=uuid.uuid4().hex)).encode(),  # FWD-3: user_id must be ""
            json.dumps(forward(message=p.encrypt("wrong key", other_pub))).encode(),  # undecryptable
            json.dumps(forward(message="!!not base64 nor whole blocks")).encode(),
            json.dumps({"type": "client_list", "created_at": 1, "message": [{"id": 1, "user_name": "x"}]}).encode(),
            json.dumps({"type": "online", "from": "x", "user_id": uid, "created_at": 1,
                        "message": {"prublic_key": p.public_key_pem(other_pub)}}).encode(),  # not for a client
            json.dumps({"type": "self_offline", "from": "x", "user_id": uuid.uuid4().hex, "created_at": 1,
                        "message": ""}).encode(),  # not this client's own
        ]
        for body in garbage:
            spy.publish(uid, body)
    finally:
        spy.publish("system", {"type": "offline", "from": "spy", "user_id": spy.user_id, "created_at": 1, "message": ""})
        spy.close()
    assert _eventually(lambda: sum(l.startswith("warning: ") for l in bob.err) >= len(garbage))
    assert bob.proc.poll() is None  # still running
    sent = send(exchange, "alice", "bob", "the real one")
    assert sent.returncode == 0, sent.stderr
    assert bob.finish() == 0
    assert bob.out == ["from alice: the real one"]
    warnings = [l for l in bob.err if l.startswith("warning: ")]
    assert len(warnings) == len(garbage), "\n".join(bob.err)
    assert all(w.startswith(WARNING_PREFIX) for w in warnings), "\n".join(warnings)
    assert not any("must not show" in l or "wrong key" in l for l in bob.out + bob.err)
    assert any("FWD-3" in w or "user_id" in w for w in warnings)
    assert "Traceback" not in "\n".join(bob.err)
    assert not queue_exists("user_q" + uid)  # deleted on the way out


# -- interactive ---------------------------------------------------------------------------------

def test_interactive_on_a_terminal(server, exchange, clients):
    """cl, <id> <text>, a plain line to the last id, list-change notices, incoming messages that do not
    garble the line being typed, and quit (with offline sent and the queue deleted)."""
    carol = clients(exchange, "--name", "carol", "-v", tty=True)
    carol.expect(r"you are online as carol \[1\]")
    carol.expect(r"\n> ")

    carol.send("hello?\r")  # no id used yet
    carol.expect(r"error: no recipient yet")

    bob = clients(exchange, "--name", "bob", "--listen", "--count", "2", "--timeout", str(WAIT))
    carol.expect(r"\* bob \[2\] came online")
    carol.send("cl\r")
    m = carol.expect(r"\s+1  carol  \(you\)\r?\n\s+(\d+)  bob\r?\n")
    bob_id = int(m.group(1))
    carol.send(f"{bob_id} hi bob\r")
    carol.send("and again\r")  # goes to the last id used
    assert bob.finish() == 0, "\n".join(bob.err)
    assert bob.out == ["from carol: hi bob", "from carol: and again"]
    carol.expect(r"\* bob \[2\] went offline")

    carol.send("99 nobody here\r")
    carol.expect(r"error: no online user has id 99")

    carol.send("half-typ")  # no Enter: a partial input line
    carol.expect(r"> half-typ")
    assert send(exchange, "alice", "carol", "ping").returncode == 0
    # The input line is cleared, the message printed on its own line, the prompt and input redrawn.
    carol.expect(re.escape("\r\x1b[K") + r"from alice: ping\r\n> half-typ")
    carol.send("\x15")  # Ctrl-U: drop the partial line
    carol.send("quit\r")
    assert carol.finish() == 0, carol.text
    assert _eventually(lambda: "offline: 'carol'" in server.log())


@pytest.mark.parametrize("how", ["eof", "ctrl-c", "sigterm"])
def test_interactive_leaves_cleanly(server, exchange, clients, how):
    carol = clients(exchange, "--name", "carol", "-v", tty=True)
    carol.expect(r"you are online as carol")
    carol.expect(r"\n> ")
    m = re.search(rb"queue user_q([0-9a-f]{32})", carol.buf)
    assert m, carol.text
    queue = "user_q" + m.group(1).decode()
    assert queue_exists(queue)
    if how == "eof":
        carol.send("\x04")
    elif how == "ctrl-c":
        carol.send("\x03")
    else:
        carol.proc.terminate()
    assert carol.finish() == 0, carol.text
    assert "Traceback" not in carol.text
    assert _eventually(lambda: "offline: 'carol'" in server.log())
    assert not queue_exists(queue)


def test_interactive_without_a_terminal(server, exchange, clients):
    """Piped stdin: no prompt, no readline; the same commands work."""
    bob = clients(exchange, "--name", "bob", "--listen", "--count", "1", "--timeout", str(WAIT), "-v")
    bob.wait_err("online as bob")
    proc = subprocess.run(
        [sys.executable, "-m", "reference_client", "--amqp-url", AMQP_URL, "--exchange", exchange,
         "--name", "dave"],
        cwd=ROOT, input="cl\n1 piped hello\nquit\n", capture_output=True, text=True, timeout=WAIT,
    )
    assert proc.returncode == 0, proc.stderr
    assert bob.finish() == 0
    assert bob.out == ["from dave: piped hello"]
    assert "> " not in proc.stdout


def _eventually(condition, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _close_broker_connection(pid: int) -> None:
    """Make the broker drop the connection of one client process (found by its connection_name)."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
                         capture_output=True, text=True, timeout=WAIT, check=True).stdout
    conns = [line.split("\t")[0] for line in out.splitlines() if f"pid {pid}\"" in line]
    assert len(conns) == 1, out
    subprocess.run(["rabbitmqctl", "close_connection", conns[0], "closed by test_client"],
                   capture_output=True, text=True, timeout=WAIT, check=True)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl to drop a connection")
@pytest.mark.parametrize("mode", ["listen", "interactive"])
def test_lost_broker_connection_is_one_clear_line(server, exchange, clients, mode):
    if mode == "listen":
        c = clients(exchange, "--name", "bob", "--listen", "-v")
        c.wait_err("online as bob")
    else:
        c = clients(exchange, "--name", "bob", "-v", tty=True)
        c.expect(r"you are online as bob")
        c.expect(r"\n> ")
    text = "\n".join(c.err) if mode == "listen" else c.text
    queue = re.search(r"queue (user_q[0-9a-f]{32})", text).group(1)
    try:
        _close_broker_connection(c.proc.pid)
        assert c.finish() == 1
        text = "\n".join(c.err) if mode == "listen" else c.text
        assert "implus-client: lost the connection to the broker: the broker closed it (320 CONNECTION_FORCED" in text
        assert "Traceback" not in text
        assert queue_exists(queue)  # it could not leave: its queue is still there
    finally:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        conn.channel().queue_delete(queue)
        conn.close()


def test_invisible_line_breaking_characters_are_shown_escaped():
    """Bidi overrides and line separators in names or texts cannot reorder or split a terminal line."""
    from reference_client.session import printable

    for ch in ("\u202e", "\u2066", "\u2028", "\x1b", "\n"):
        shown = printable(f"from{ch}bob")
        assert ch not in shown and shown.startswith("from\\") and shown.endswith("bob")
    assert printable("ünïcødé ✓") == "ünïcødé ✓"
