"""Client conformance: the suite plays the server and the other peers for a client it starts.

The suite binds its own queue to `server` and `system` on a fresh exchange, starts the client
command (`{exchange}` replaced; env IMPLUS_EXCHANGE and IMPLUS_AMQP_URL set), answers its
`online` with client lists, sends it good and bad input, and watches what it publishes and
what it prints. What a client shows is judged only by its output: a chat's text must appear in
a line of it; a refused body must add at least one line.

A second command (`--client-send-cmd`, with `{peer}` and `{text}` too) starts a client that
sends one message to a peer the suite lists and then leaves: the suite's fake peer decrypts it.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pika
import pika.exceptions
import rsa

from implus_proto.errors import redact_url, root_cause
import implus_proto as proto
from implus_proto import KEY_FIELDS
from implus_proto.crypto import latin1_form
from implus_proto.errors import CryptoError

from .checks import CLIENT_CHECKS, NEEDS_SEND_CMD, Recorder
from .machine import CHAT_KEY, PRESENCE_KEYS
from .process import Managed, expand
from .runner import DEFAULT_AMQP_URL, Report, SuiteConfig, key_pool
from .wire import JSON, PERSISTENT, pump, shorten_body, wait_until

FROM_CLIENT = "client-to-server"
SCHEMAS = proto.default_schemas()
MAX_BODY = SCHEMAS.max_body_bytes


@dataclass
class ClientConfig:
    client_cmd: str
    send_cmd: str | None = None
    amqp_url: str = DEFAULT_AMQP_URL
    exchange: str | None = None  # None: a fresh one, deleted afterwards
    timeout: float = 3.0  # how long to wait for what the client must do
    start_timeout: float = 30.0  # how long a client may take to start (key generation)
    strict: bool = False


@dataclass
class Got:
    routing_key: str
    body: bytes
    content_type: str | None
    delivery_mode: int | None
    queue_state: str | None = None  # for an online: what the client's queue looked like when it arrived


class Stop(Exception):
    """The client session cannot go on (it died or never came online)."""


class FakeServer:
    """The suite's server side: a queue bound to `server` and `system`, a publisher with confirms."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.exchange = exchange
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="direct", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        for rk in dict.fromkeys((CHAT_KEY, *PRESENCE_KEYS)):
            self.channel.queue_bind(self.queue, exchange, routing_key=rk)
        self.inbox: list[Got] = []
        self.channel.basic_consume(self.queue, on_message_callback=self._on_message, auto_ack=True)
        self.pub = self.connection.channel()
        self.pub.confirm_delivery()
        self.taps: dict[str, list[Got]] = {}

    def _on_message(self, ch, method, props, body) -> None:
        got = Got(method.routing_key, body, props.content_type, props.delivery_mode)
        if got.routing_key in PRESENCE_KEYS and b'"online"' in body:
            got.queue_state = self.queue_state(_user_id_of(body))
        self.inbox.append(got)

    def queue_state(self, user_id: str | None) -> str:
        """'ok', or what is wrong with user_q<user_id> right now (TOP-4)."""
        if not user_id:
            return "the online carries no user_id"
        name = f"user_q{user_id}"
        ch = self.connection.channel()
        try:
            ch.queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            return f"queue {name} did not exist when the online arrived ({exc.reply_code} {exc.reply_text})"
        finally:
            if ch.is_open:
                ch.close()
        ch = self.connection.channel()
        try:
            ch.queue_declare(name, durable=True)  # same properties: a no-op; otherwise the broker says 406
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 406:
                return f"queue {name} is not a plain durable queue ({exc.reply_text})"
        finally:
            if ch.is_open:
                ch.close()
        return "ok"

    def publish(self, routing_key: str, body: bytes) -> bool:
        """Publish (persistent, application/json); False if nothing is bound to the routing key."""
        try:
            self.pub.basic_publish(self.exchange, routing_key, body, mandatory=True,
                                   properties=pika.BasicProperties(content_type=JSON, delivery_mode=PERSISTENT))
        except pika.exceptions.UnroutableError:
            return False
        return True

    def tap(self, user_id: str) -> None:
        """Copy everything published to user_id (the client's self_offline)."""
        q = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.channel.queue_bind(q, self.exchange, routing_key=user_id)
        self.taps[user_id] = []

        def on(ch, method, props, body, _uid=user_id):
            self.taps[_uid].append(Got(method.routing_key, body, props.content_type, props.delivery_mode))

        self.channel.basic_consume(q, on_message_callback=on, auto_ack=True)

    def pump(self, seconds: float) -> None:
        pump(self.connection, seconds, step=0.05)

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        return wait_until(self.connection, done, timeout, step=0.02)

    def take(self) -> list[Got]:
        out, self.inbox = self.inbox, []
        return out

    def close(self, delete_exchange: bool, queues: list[str] = ()) -> None:
        try:
            if delete_exchange:  # the suite's own deployment: also what a crashed client left behind
                for q in queues:
                    self.channel.queue_delete(q)
                self.channel.exchange_delete(self.exchange)
            self.connection.close()
        except pika.exceptions.AMQPError:
            pass


def _user_id_of(body: bytes) -> str | None:
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    uid = obj.get("user_id") if isinstance(obj, dict) else None
    return uid if isinstance(uid, str) else None


@dataclass
class Peer:
    id: int
    name: str
    pub: rsa.PublicKey
    priv: rsa.PrivateKey

    @property
    def pem(self) -> str:
        return proto.public_key_pem(self.pub)


@dataclass
class Client:
    """What the suite learnt from a client's online."""

    user_id: str
    name: str
    spelling: str
    pem: str
    pub: rsa.PublicKey | None
    id: int = 1


@dataclass
class Session:
    suite: "ClientSuite"
    proc: Managed
    label: str
    steps: list[str] = field(default_factory=list)
    client: Client | None = None

    def step(self, text: str) -> None:
        self.steps.append(text)

    def fail(self, check: str, evidence: str, expected: str | None = None, got: list[Got] | None = None) -> None:
        arrived = [{"to": "the suite's server queue", "routing_key": g.routing_key, "content_type": g.content_type,
                    "delivery_mode": g.delivery_mode, "body": shorten_body(g.body)} for g in (got or [])[:12]]
        out = self.proc.tail(6)
        if out:
            arrived.append({"to": f"the client's output (last lines)", "routing_key": "-", "content_type": JSON,
                            "delivery_mode": PERSISTENT, "body": out.replace("\n", " | ")[-600:]})
        self.suite.rec.record(check, evidence, [f"[{self.label}] {s}" for s in self.steps],
                              expected=expected, arrived=arrived)


class ClientSuite:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.rec = Recorder(CLIENT_CHECKS)
        self.exchange = config.exchange or f"implus-conformance-client-{uuid.uuid4().hex[:12]}"
        self.server = FakeServer(config.amqp_url, self.exchange)
        keys = key_pool()
        self.peers = [Peer(2, "peer", *keys[0]), Peer(3, "peer2", *keys[1]), Peer(9, f"peer-{secrets.token_hex(3)}",
                                                                                  *keys[2])]
        self.weak_pem = proto.public_key_pem(rsa.newkeys(512)[0])
        self.user_ids: list[str] = []

    # -- the client's publications ------------------------------------------------------------
    def judge_body(self, s: Session, g: Got, kind: str) -> proto.Message | None:
        """Checks every body the client publishes must pass; the decoded message, or None."""
        self.rec.exercise("client-body", "client-content-type", "client-persistent")
        if g.content_type != JSON:
            s.fail("client-content-type", f"the client's {kind} came with content_type {g.content_type!r}", got=[g])
        if g.delivery_mode != PERSISTENT:
            s.fail("client-persistent", f"the client's {kind} came with delivery_mode {g.delivery_mode!r}, not 2",
                   got=[g])
        try:
            return proto.decode(g.body, direction=FROM_CLIENT)
        except proto.ProtocolError as exc:
            issue = exc.issues[0]
            check = {"ONL-1": "client-online-fields", "NRM-1": "client-chat-fields", "OFF-1": "client-offline",
                     "MSG-3": "client-user-id", "MSG-7": "client-key", "ENC-3": "client-key-size"}.get(
                issue.requirement or "", "client-body")
            s.fail(check, f"the client published an invalid {kind}: {issue}", got=[g])
            return None

    def wait_online(self, s: Session) -> Client:
        srv = self.server
        s.step("start the client; wait for its online")
        if not srv.wait(lambda: bool(srv.inbox) or not s.proc.alive(), self.config.start_timeout):
            s.fail("client-online-fields", f"the client published nothing within {self.config.start_timeout:g} s",
                   expected="an online on routing key 'system'")
            raise Stop("no online")
        if not srv.inbox:
            s.proc.drain()
            s.fail("client-online-fields", f"the client exited with status {s.proc.returncode()} before it "
                                           f"published its online", expected="an online on routing key 'system'")
            raise Stop("client exited")
        g = srv.inbox.pop(0)
        self.rec.exercise("client-online-key", "client-online-fields", "client-queue-before-online",
                          "client-user-id", "client-key", "client-key-size", "client-key-strength")
        msg = self.judge_body(s, g, "first message")
        if g.routing_key != PRESENCE_KEYS[0]:
            s.fail("client-online-key", f"the client's online came on routing key {g.routing_key!r}",
                   expected="routing key 'system'", got=[g])
        if not isinstance(msg, proto.Online):
            if msg is not None:
                s.fail("client-online-fields", f"the client's first message is a {msg.TYPE}, not an online",
                       got=[g])
            raise Stop("no valid online")
        if g.queue_state != "ok":
            s.fail("client-queue-before-online", f"when the online arrived: {g.queue_state}",
                   expected=f"durable queue user_q{msg.user_id} bound to {msg.user_id} before the online", got=[g])
        try:
            u = uuid.UUID(hex=msg.user_id)
            if u.version != 4 or u.hex != msg.user_id:
                s.fail("client-user-id", f"user_id {msg.user_id} is not the hex of a version-4 UUID "
                                         f"(version {u.version})", got=[g])
        except ValueError:
            s.fail("client-user-id", f"user_id {msg.user_id!r} is not the hex of a UUID", got=[g])
        if msg.user_id in self.user_ids:
            s.fail("client-user-id", "two sessions of the client used the same user_id: it must be made anew "
                                     "each session", got=[g])
        self.user_ids.append(msg.user_id)
        spelling = next(f for f in KEY_FIELDS if getattr(msg.message, f) is not None)
        pem = proto.key_of(msg.message)
        pub = None
        try:
            pub = proto.load_public_key(pem)
            bits = pub.n.bit_length()
            if bits < 2048:
                s.fail("client-key-strength", f"the client's key has {bits} bits", expected="2048 bits or more")
        except CryptoError as exc:
            s.fail("client-key-size" if exc.requirement == "ENC-3" else "client-key", f"the client's key: {exc}",
                   got=[g])
        return Client(msg.user_id, msg.from_, spelling, pem, pub)

    # -- what the suite sends -------------------------------------------------------------------
    def client_list(self, c: Client, peers: list[Peer], extra_entry: dict | None = None,
                    extra_top: dict | None = None, weak: bool = False) -> bytes:
        entries = [{"id": c.id, "user_name": c.name, c.spelling: c.pem}]
        entries += [{"id": p.id, "user_name": p.name, c.spelling: p.pem, **(extra_entry or {})} for p in peers]
        if weak:
            entries.append({"id": 77, "user_name": "weak", c.spelling: self.weak_pem})
        obj = {"type": "client_list", "created_at": int(time.time()), "message": entries, **(extra_top or {})}
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    def chat_to(self, c: Client, frm: Peer, ciphertext: str, extra: dict | None = None) -> bytes:
        msg = proto.NormalToClient(from_=frm.name, from_id=frm.id, user_id="", destination=c.name,
                                   destination_id=c.id, created_at=str(int(time.time())), message=ciphertext)
        obj = proto.default_codec().to_obj(msg)
        obj.update(extra or {})
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    def shows(self, s: Session, token: str, since: int) -> bool:
        return self.server.wait(lambda: any(token in line for line in s.proc.lines_since(since)), self.config.timeout)

    def send_and_see(self, s: Session, c: Client, check: str, what: str, body_of: Callable[[str], bytes]) -> bool:
        token = f"conformance-{secrets.token_hex(4)}"
        s.step(f"send {what} saying {token!r}")
        self.rec.exercise(check)
        n = s.proc.line_count()
        self.server.publish(c.user_id, body_of(token))
        if self.shows(s, token, n):
            return True
        alive = s.proc.alive()
        s.fail(check, f"after {what}, {token!r} did not appear in the client's output within "
                      f"{self.config.timeout:g} s{'' if alive else f' (the client exited, status {s.proc.returncode()})'}",
               expected=f"a line of output containing {token!r}")
        return False

    # -- sessions ---------------------------------------------------------------------------------
    def start(self, template: str, label: str, **values: str) -> Session:
        cmd = expand(template, exchange=self.exchange, amqp_url=self.config.amqp_url, **values)
        proc = Managed(cmd, env={"IMPLUS_EXCHANGE": self.exchange, "IMPLUS_AMQP_URL": self.config.amqp_url},
                       label=label).start()
        return Session(self, proc, label)

    def listen_session(self) -> None:
        s = self.start(self.config.client_cmd, "listen")
        try:
            self._listen(s)
        except Stop:
            pass
        finally:
            s.proc.stop(grace=5)

    def _listen(self, s: Session) -> None:
        srv, t = self.server, self.config.timeout
        c = s.client = self.wait_online(s)
        peer, peer2 = self.peers[0], self.peers[1]
        s.step(f"answer with a client_list: the client (id {c.id}) and {peer.name!r} (id {peer.id})")
        if not srv.publish(c.user_id, self.client_list(c, [peer])):
            s.fail("client-queue-before-online", f"the client_list answering the online was unroutable: nothing "
                                                 f"is bound to routing key {c.user_id}")
            raise Stop("no queue")
        srv.tap(c.user_id)
        if c.pub is None:
            raise Stop("no usable key")
        enc = lambda text: proto.encrypt(text, c.pub)  # noqa: E731
        self.send_and_see(s, c, "client-shows-chat", f"a chat from {peer.name!r}",
                          lambda tok: self.chat_to(c, peer, enc(tok)))
        self.send_and_see(s, c, "client-latin1", "a chat in the 2014 latin-1 form",
                          lambda tok: self.chat_to(c, peer, latin1_form(enc(tok))))
        s.step("send a client_list with unknown members at the top and in every entry")
        srv.publish(c.user_id, self.client_list(c, [peer], extra_entry={"x_status": "away"},
                                                extra_top={"x_server": {"version": 2}}))
        self.send_and_see(s, c, "client-unknown-fields", "a chat with unknown members",
                          lambda tok: self.chat_to(c, peer, enc(tok), {"x_thread": 3, "x_meta": {"a": [1]}}))
        s.step("send a message of unknown type 'whisper'")
        srv.publish(c.user_id, json.dumps({"type": "whisper", "created_at": 1, "message": "psst"}).encode())
        self.send_and_see(s, c, "client-unknown-type", "a chat after the unknown type",
                          lambda tok: self.chat_to(c, peer, enc(tok)))
        s.step(f"client_list changes: {peer.name!r} leaves, {peer2.name!r} comes, then both are listed")
        srv.publish(c.user_id, self.client_list(c, [peer2]))
        srv.publish(c.user_id, self.client_list(c, [peer, peer2]))
        self.send_and_see(s, c, "client-list-changes", f"a chat from {peer2.name!r}, who came in the last lists",
                          lambda tok: self.chat_to(c, peer2, enc(tok)))
        self.bad_input(s, c)
        self.rec.exercise("client-survives")
        if not s.proc.alive():
            s.fail("client-survives", f"the client exited (status {s.proc.returncode()}) after bad input")
            raise Stop("died")
        if not self.send_and_see(s, c, "client-survives", "a valid chat after all the bad input",
                                 lambda tok: self.chat_to(c, peer, enc(tok))):
            pass
        # Leave: SIGTERM, then its offline (and maybe a self_offline to its own queue).
        s.step("signal SIGTERM to the client; wait for its offline")
        srv.take()
        s.proc.signal(signal.SIGTERM)
        self.rec.exercise("client-offline")
        got_off = srv.wait(lambda: bool(srv.inbox), max(t, 10.0))
        s.proc.wait(10)
        srv.pump(0.3)
        got = srv.take()
        if not got_off:
            s.fail("client-offline", "after SIGTERM the client published no offline", expected="an offline on 'system'")
        else:
            self.judge_offline(s, c, got)
        tapped = srv.taps.get(c.user_id, [])
        selfs = [g for g in tapped if b'"self_offline"' in g.body]
        if selfs:
            self.rec.exercise("client-self-offline")
            g = selfs[0]
            msg = self.judge_body_as(s, g, "self_offline")
            if msg is not None and (not isinstance(msg, proto.SelfOffline) or msg.user_id != c.user_id):
                s.fail("client-self-offline", "the self_offline does not carry the client's own user_id", got=[g])
        else:
            self.rec.skip("client-self-offline", "the client sent no self_offline (it may end its loop otherwise)")

    def judge_body_as(self, s: Session, g: Got, kind: str) -> proto.Message | None:
        try:
            return proto.decode(g.body, direction="client-to-itself")
        except proto.ProtocolError as exc:
            s.fail("client-self-offline", f"the client's {kind} is invalid: {exc.issues[0]}", got=[g])
            return None
        except (KeyError, ValueError):
            return None

    def judge_offline(self, s: Session, c: Client, got: list[Got]) -> None:
        g = got[0]
        msg = self.judge_body(s, g, "offline")
        if g.routing_key != PRESENCE_KEYS[0]:
            s.fail("client-online-key", f"the client's offline came on routing key {g.routing_key!r}",
                   expected="routing key 'system'", got=[g])
        if msg is None:
            return
        if not isinstance(msg, proto.Offline):
            s.fail("client-offline", f"the client published a {msg.TYPE} when told to stop", got=got)
        elif msg.user_id != c.user_id:
            s.fail("client-offline", "the offline carries another user_id than the online", got=[g])

    def bad_input(self, s: Session, c: Client) -> None:
        assert c.pub is not None
        peer = self.peers[0]
        k = rsa.common.byte_size(c.pub.n)
        good = json.loads(self.chat_to(c, peer, proto.encrypt("x", c.pub)))

        def dumps(obj: Any) -> bytes:
            return json.dumps(obj, ensure_ascii=False).encode("utf-8")

        garbage = base64.b64encode(os.urandom(k)).decode()
        not_utf8 = base64.b64encode(rsa.encrypt(b"\xff\xfe\xfd caf\xe9", c.pub)).decode()
        bad: list[tuple[str, bytes, bool]] = [  # (what, body, is a ciphertext failure)
            ("a body that is not JSON", b'{"type": "normal", "from": ', False),
            ("a body that is not UTF-8", dumps(good).replace(b'"peer"', b'"p\xffeer"'), False),
            ("a body with a duplicate key", b'{"type":"normal",' + dumps(good)[1:], False),
            ("a body with NaN", dumps({**good, "from_id": "@@"}).replace(b'"@@"', b"NaN"), False),
            ("an empty body", b"", False),
            ("a body over the size limit", dumps({**good, "x": "a" * (MAX_BODY + 10)}), False),
            ("a chat whose from_id is a string", dumps({**good, "from_id": "2"}), False),
            ("a client_list with a 512-bit key", self.client_list(c, [peer], weak=True), False),
            ("a chat whose ciphertext does not decrypt", self.chat_to(c, peer, garbage), True),
            ("a chat whose plaintext is not UTF-8", self.chat_to(c, peer, not_utf8), True),
        ]
        srv = self.server
        srv.take()
        for what, body, crypto in bad:
            s.step(f"send {what}")
            self.rec.exercise("client-warns")
            n = s.proc.line_count()
            srv.publish(c.user_id, body)
            # once a warning was missing, the client is not going to print them: shorter waits for the rest
            wait = self.config.timeout if "client-warns" not in self.rec.findings else min(0.5, self.config.timeout)
            if not srv.wait(lambda: s.proc.line_count() > n or not s.proc.alive(), wait):
                s.fail("client-warns", f"after {what} the client printed no warning within {wait:g} s",
                       expected="one line saying why the body was refused")
            if not s.proc.alive():
                self.rec.exercise("client-survives")
                s.fail("client-survives", f"the client exited (status {s.proc.returncode()}) after {what}")
                raise Stop("died")
            if crypto:
                self.rec.exercise("client-no-oracle")
                srv.pump(0.3)
                answer = srv.take()
                if answer:
                    s.fail("client-no-oracle", f"the client published {len(answer)} message(s) after {what}",
                           expected="nothing: a reply that depends on decryption is a padding oracle", got=answer)
        srv.pump(0.2)
        stray = srv.take()
        if stray:
            s.fail("client-survives", f"the client published {len(stray)} message(s) in answer to bad input",
                   expected="nothing published in answer to refused input", got=stray)

    def send_session(self) -> None:
        assert self.config.send_cmd
        target = self.peers[2]
        text = f"conformance test {secrets.token_hex(4)} ünïcode"
        s = self.start(self.config.send_cmd, "send", peer=target.name, text=text)
        try:
            self._send(s, target, text)
        except Stop:
            pass
        finally:
            s.proc.stop(grace=5)

    def _send(self, s: Session, target: Peer, text: str) -> None:
        srv = self.server
        c = s.client = self.wait_online(s)
        c.id = 5
        other = self.peers[0]
        s.step(f"answer with a client_list without {target.name!r}: the client (id {c.id}), {other.name!r}")
        if not srv.publish(c.user_id, self.client_list(c, [other])):
            s.fail("client-queue-before-online", "the client_list answering the online was unroutable")
            raise Stop("no queue")
        srv.pump(0.5)
        early = srv.take()
        self.rec.exercise("client-chat-fields", "client-chat-key", "client-encrypts")
        if early:
            s.fail("client-chat-fields", f"the client published before {target.name!r} was listed", got=early)
        s.step(f"send an unknown type, then a client_list with {target.name!r} (id {target.id}, unknown members)")
        srv.publish(c.user_id, json.dumps({"type": "whisper", "created_at": 1, "message": ""}).encode())
        srv.publish(c.user_id, self.client_list(c, [other, target], extra_entry={"x_status": "here"}))
        s.step(f"wait for the chat to {target.name!r}")
        if not srv.wait(lambda: bool(srv.inbox) or not s.proc.alive(), max(self.config.timeout, 10.0)):
            s.fail("client-encrypts", f"the client sent no chat within {max(self.config.timeout, 10.0):g} s of "
                                      f"seeing {target.name!r} listed", expected=f"a normal to id {target.id}")
            raise Stop("no chat")
        srv.pump(0.3)
        got = srv.take()
        g = got[0]
        msg = self.judge_body(s, g, "chat")
        if g.routing_key != CHAT_KEY:
            s.fail("client-chat-key", f"the chat came on routing key {g.routing_key!r}", expected="routing key 'server'",
                   got=[g])
        if msg is None:
            raise Stop("bad chat")
        if not isinstance(msg, proto.NormalToServer):
            s.fail("client-chat-fields", f"the client published a {msg.TYPE} instead of the chat", got=got)
            raise Stop("bad chat")
        problems = []
        if msg.user_id != c.user_id:
            problems.append(f"user_id is not the one of its online")
        if msg.destination_id != target.id:
            problems.append(f"destination_id {msg.destination_id}, {target.name!r} has id {target.id}")
        if msg.destination != target.name:
            problems.append(f"destination {msg.destination!r}, the peer is {target.name!r}")
        if msg.from_ != c.name:
            problems.append(f"from {msg.from_!r}, its online said {c.name!r}")
        if problems:
            s.fail("client-chat-fields", "the chat's fields: " + "; ".join(problems), got=[g],
                   expected=f"user_id of the online, destination_id {target.id}, destination {target.name!r}")
        k = rsa.common.byte_size(target.pub.n)
        try:
            raw = base64.b64decode(msg.message, validate=True)
            if not raw or len(raw) % k:
                raise ValueError("not whole blocks")
        except ValueError:
            s.fail("client-encrypts", "the ciphertext is not base64 of whole key-size blocks (senders must not use "
                                      "the latin-1 form)", got=[g])
        try:
            plain = proto.decrypt(msg.message, target.priv)
            if plain != text:
                s.fail("client-encrypts", f"the peer decrypts {plain!r}, the client was told to send {text!r}",
                       got=[g])
        except CryptoError as exc:
            s.fail("client-encrypts", f"the peer cannot decrypt the chat with its key: {exc}", got=[g])
        rest = got[1:]
        s.step("wait for the client to leave")
        if not rest:
            srv.wait(lambda: bool(srv.inbox), max(self.config.timeout, 10.0))
            srv.pump(0.2)
            rest = srv.take()
        self.rec.exercise("client-offline")
        if rest:
            self.judge_offline(s, c, rest)
        else:
            s.fail("client-offline", "the client sent no offline after its chat", expected="an offline on 'system'")
        code = s.proc.wait(10)
        if code not in (0, None) and not problems:
            s.fail("client-encrypts", f"the client exited with status {code} after sending")

    def run(self) -> None:
        self.listen_session()
        if self.config.send_cmd:
            self.send_session()


def run_client_suite(config: ClientConfig) -> Report:
    started = time.monotonic()
    cfg = SuiteConfig(amqp_url=config.amqp_url, exchange=config.exchange or "(fresh)", strict=config.strict,
                      max_examples=1, max_steps=1)
    parts = ["implus-conformance", "--client-cmd", config.client_cmd]
    if config.send_cmd:
        parts += ["--client-send-cmd", config.send_cmd]
    command = shlex.join(parts)
    try:
        suite = ClientSuite(config)
    except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
        rec = Recorder(CLIENT_CHECKS)
        return Report(cfg, 0, rec.results(config.strict), time.monotonic() - started, kind="client",
                      command=command, error=f"cannot connect to RabbitMQ at {redact_url(config.amqp_url)}: {root_cause(exc)}")
    cfg.exchange = suite.exchange
    error = None
    try:
        suite.run()
    except (pika.exceptions.AMQPError, OSError) as exc:
        error = f"lost the broker: {exc!r}"
    finally:
        suite.server.close(delete_exchange=config.exchange is None, queues=[f"user_q{u}" for u in suite.user_ids])
    for c in CLIENT_CHECKS:
        if c.id not in suite.rec.exercised and c.id not in suite.rec.skips and (c.needs != NEEDS_SEND_CMD or
                                                                                 config.send_cmd):
            suite.rec.skip(c.id, "not reached: the client session ended before it (see the failures)")
    first = suite.rec.first_check
    f = suite.rec.findings.get(first) if first else None
    return Report(cfg, 0, suite.rec.results(config.strict), time.monotonic() - started, kind="client",
                  command=command, error=error, examples=1 + bool(config.send_cmd),
                  minimal_steps=f.steps if f else None, minimal_requirement=f.requirement if f else None)
