"""The hypothesis state machine that drives simulated clients against a live server.

Every rule is one protocol action on the wire; after it the machine waits (explicit timeout)
for what the spec says must arrive, checks it, and treats anything else that arrives as a
violation of the requirement the action exercises. Only the exchange and the clients' own
queues (user_q<user_id> bound to <user_id>) are used: nothing about the server's internals.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import rsa
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

import implus_proto as proto
from implus_proto import KEY_FIELDS, NormalToServer, Offline, Online, ProtocolError
from implus_proto.crypto import latin1_form
from implus_proto.errors import CryptoError

from .checks import BY_REQ, SHOULD, Recorder, failure_class, requirement_for
from .wire import JSON, PERSISTENT, Bus, Delivery, shorten_body

SCHEMAS = proto.default_schemas()
TO_CLIENT = "server-to-client"
CHAT_KEY = SCHEMAS.by_class["NormalToServer"].routing_keys[0]  # 'server'
PRESENCE_KEYS = SCHEMAS.by_class["Online"].routing_keys  # ('system', 'server')
NORMAL_MAX = SCHEMAS.by_class["NormalToServer"].max_body_bytes

BASE_NAMES = ("kate", "jackson", "mike", "李雷", "Zoë", "ñandú", "two words", "😀 emoji")
FIXED_TEXTS = (
    "hello",
    "1 hello",
    "x" * 117,  # exactly one PKCS#1 v1.5 block of a 1024-bit key
    "y" * 118,  # one byte more: two blocks
    "é" * 59,  # 118 UTF-8 bytes, the boundary falls inside a character
    "你好，世界！" * 20,  # 360 bytes, four blocks
    "emoji 😀🎉 and \u0000 NUL and \n newline",
    "mixed: Grüße, Привет, مرحبا, שלום, こんにちは " * 3,
)
TEXTS = st.one_of(st.sampled_from(FIXED_TEXTS), st.text(min_size=1, max_size=160))
STRANGER_NAMES = ("stranger", "badkey", "weakkey", "twokeys")
BAD_KEY_PEM = "-----BEGIN RSA PUBLIC KEY-----\nbm90IGEga2V5\n-----END RSA PUBLIC KEY-----\n"


StrayReq = "str | Callable[[proto.Message], str]"  # the requirement an unexpected arrival breaks


@dataclass
class RunState:
    """What one suite run knows across hypothesis examples."""

    bus: Bus
    recorder: Recorder
    keys: list[tuple[rsa.PublicKey, rsa.PrivateKey]]
    weak_pem: str
    timeout: float = 3.0
    quiet: float = 0.3
    settle: float = 0.05
    shrink_time: float = 30.0
    retired: set[str] = field(default_factory=set)  # names of clients of earlier examples (names are run-unique)
    ids_seen: dict[int, str] = field(default_factory=dict)  # id -> the user_id that got it
    user_ids: set[str] = field(default_factory=set)  # every user_id the run ever used
    names: int = 0
    past_names: list[str] = field(default_factory=list)  # names of clients of earlier examples, in order
    final_steps: list[str] | None = None
    final_requirement: str | None = None
    final_calls: list[dict[str, Any]] | None = None
    replaying: bool = False  # --replay: run one recorded call sequence, record its failure as final

    def fresh_name(self, base: str) -> str:
        self.names += 1
        return f"{base}{self.names}"

    def fresh_user_id(self) -> str:
        uid = uuid.uuid4().hex
        self.user_ids.add(uid)
        return uid

    def idle(self) -> bool:
        """Past the shrink budget: examples do nothing (pass), except hypothesis's final replay."""
        r = self.recorder
        if r.first_failure_at is None or time.monotonic() - r.first_failure_at <= self.shrink_time:
            return False
        try:
            return not current_build_context().is_final
        except Exception:
            return False


@dataclass
class Sim:
    n: int
    user_id: str
    name: str
    pub: rsa.PublicKey
    priv: rsa.PrivateKey
    pem: str
    spelling: str
    state: str = "new"  # new | online | departed
    id: int | None = None

    def __str__(self) -> str:
        return f"c{self.n}({self.name!r}{'' if self.id is None else f', id {self.id}'})"


def _keyless_entries(body: bytes) -> list[str]:
    """Names of client_list entries that carry no key field at all (PRES-3), if body is such a list."""
    try:
        obj = json.loads(body)
    except ValueError:
        return []
    if not isinstance(obj, dict) or obj.get("type") != "client_list" or not isinstance(obj.get("message"), list):
        return []
    return [repr(e.get("user_name")) for e in obj["message"]
            if isinstance(e, dict) and not any(f in e for f in KEY_FIELDS)]


def _short(value: Any, limit: int = 50) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _strings(obj: Any) -> list[str]:
    """Every string in a JSON value, member names included."""
    out: list[str] = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, str):
            out.append(o)
        elif isinstance(o, dict):
            out.extend(k for k in o if isinstance(k, str))
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return out


def _disclosed(body: bytes, user_ids: set[str]) -> tuple[str, str] | None:
    """(user_id, form) if the body shows one of these user_ids anywhere, in any member (unknown ones too):
    as hex in any letter case, with or without UUID hyphens, or as base64 of its 16 bytes (FWD-3)."""
    if not user_ids:
        return None
    texts = [body.decode("utf-8", "replace")]
    try:
        texts += _strings(json.loads(body))  # finds \u-escaped forms too
    except (ValueError, RecursionError):
        pass
    folded = [t.lower() for t in texts]
    flat = [t.replace("-", "") for t in folded]
    for uid in user_ids:
        if any(uid in t for t in flat):
            return uid, "hex"
        for token, label in _encodings(uid):
            if any(token in t for t in (folded if label == "base32" else texts)):
                return uid, f"{label} of its 16 bytes"
    return None


@functools.lru_cache(maxsize=4096)
def _encodings(uid: str) -> tuple[tuple[str, str], ...]:
    try:
        raw = bytes.fromhex(uid)
    except ValueError:
        return ()
    return ((base64.b64encode(raw).decode().rstrip("="), "base64"),
            (base64.urlsafe_b64encode(raw).decode().rstrip("="), "base64url"),
            (base64.b32encode(raw).decode().rstrip("=").lower(), "base32"))


def _created(form: str) -> int | str:
    now = int(time.time())
    return now if form == "int" else str(now)


def recorded(fn: Callable[..., None]) -> Callable[..., None]:
    """A rule that appends its call (name and arguments, JSON-able) to the machine's replay log."""

    @functools.wraps(fn)
    def wrapper(self: Any, **kwargs: Any) -> None:
        self.calls.append({"rule": fn.__name__, "args": kwargs})
        return fn(self, **kwargs)

    return wrapper


def build_machine(run: RunState) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one run (hypothesis instantiates it with no arguments)."""

    class ImplusMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = run
            self.bus = run.bus
            self.rec = run.recorder
            self.inert = run.idle()
            self.sims: list[Sim] = []
            self.steps: list[str] = []
            self.calls: list[dict[str, Any]] = []
            self.expected: str | None = None
            self.mark = (len(self.bus.history), len(self.bus.sent))
            self.late_req = "FWD-1"
            self.keys_used = 0
            self.rec.examples += 1
            try:
                self.final = current_build_context().is_final
            except Exception:
                self.final = False

        # -- bookkeeping ---------------------------------------------------------------
        def online(self) -> list[Sim]:
            return [s for s in self.sims if s.state == "online"]

        def departed(self) -> list[Sim]:
            return [s for s in self.sims if s.state == "departed"]

        def who(self, user_id: str) -> str:
            for s in self.sims:
                if s.user_id == user_id:
                    return str(s)
            return f"user_q{user_id[:8]}…"

        def describe(self, d: Delivery) -> dict[str, Any]:
            return {"to": self.who(d.user_id), "routing_key": d.routing_key, "content_type": d.content_type,
                    "delivery_mode": d.delivery_mode, "body": shorten_body(d.body)}

        def fail(self, req: str, evidence: str, arrived: list[Delivery] | None = None) -> None:
            req = requirement_for(req)
            if os.environ.get("IMPLUS_CONFORMANCE_DEBUG"):
                print(f"run {self.rec.examples} final={self.final} inert={self.inert}: {req} at step {len(self.steps)}: {evidence[:100]}", file=sys.stderr)
            h, s = self.mark
            got = arrived if arrived is not None else self.bus.history[h:]
            self.rec.record(req, evidence, self.steps, force=self.final or self.run.replaying,
                            calls=list(self.calls), expected=self.expected,
                            arrived=[self.describe(d) for d in got[:12]],
                            sent=[{"routing_key": rk, "body": shorten_body(b)} for rk, b in self.bus.sent[s:][:12]])
            if self.final or self.run.replaying:
                self.run.final_steps = list(self.steps)
                self.run.final_requirement = req
                self.run.final_calls = list(self.calls)
            raise failure_class(req)(evidence)

        def soft(self, req: str, evidence: str) -> None:
            if BY_REQ[req].level == SHOULD:
                if req not in self.rec.findings:
                    self.rec.record(req, evidence, self.steps)
            else:
                self.fail(req, evidence)

        def step(self, description: str, reqs: tuple[str, ...], action: Callable[[], None], late: str) -> None:
            if self.inert:
                return
            self.strays()
            self.mark = (len(self.bus.history), len(self.bus.sent))
            self.expected = None
            self.steps.append(description)
            self.rec.exercise(*reqs)
            started = time.monotonic()
            try:
                action()
            finally:
                self.rec.charge(reqs, time.monotonic() - started)
            self.late_req = late

        # -- what every received body must satisfy ---------------------------------------
        def inspect(self, d: Delivery) -> proto.Message:
            self.rec.exercise("TOP-5", "TOP-6", "MSG-1", "MSG-2", "FWD-3")
            where = self.who(d.user_id)
            if d.content_type != JSON:
                self.soft("TOP-5", f"a body to {where} came with content_type {d.content_type!r}")
            if d.delivery_mode != PERSISTENT:
                self.soft("TOP-6", f"a body to {where} came with delivery_mode {d.delivery_mode!r}, not 2")
            leaked = _disclosed(d.body, self.run.user_ids - {d.user_id})
            if leaked:
                uid, form = leaked
                self.fail("FWD-3", f"a body to {where} discloses {self.who(uid)}'s user_id ({form}): "
                                   f"{_short(d.body, 120)}")
            try:
                return proto.decode(d.body, direction=TO_CLIENT)
            except ProtocolError as exc:
                issue = exc.issues[0]
                req = issue.requirement or "MSG-1"
                keyless = _keyless_entries(d.body)
                if keyless:
                    self.fail("PRES-3", f"the client_list to {where} has entries without a public key: {keyless}")
                if req == "MSG-11" and "unique" in issue.reason:
                    self.rec.record("MSG-11", f"a client_list to {where}: {issue}", self.steps)
                    req = "ID-1"
                self.fail(req, f"{where} received an invalid body: {issue} — {_short(d.body, 100)}")
                raise AssertionError("unreachable")

        def strays(self) -> None:
            """Anything still arriving after the previous step had settled violates that step's rule."""
            late = self.bus.take_all()
            if late:
                self.expected = "nothing more after the previous step had settled"
            for d in late:
                msg = self.inspect(d)
                self.fail(self.late_req, f"late/unexpected {msg.TYPE} to {self.who(d.user_id)}: {_short(d.body, 100)}",
                          arrived=late)

        # -- presence ------------------------------------------------------------------
        def expect_lists(self, context: str, newcomer: Sim | None = None, rejoiner: Sim | None = None,
                         leaver: Sim | None = None, rk: str = "system") -> None:
            bus, online = self.bus, self.online()
            miss_req = "PRES-1" if context == "online" else "PRES-2"
            listed = ", ".join(f"{s.name!r} (id {s.id if s.id is not None else 'new'})" for s in online)
            silent = [str(s) for s in self.sims if s.state != "online"]
            self.expected = (f"one client_list to each online client ({', '.join(map(str, online)) or 'none'}), "
                             f"each listing exactly {listed or 'nobody'} with their keys, key fields spelled as the "
                             f"recipient spelled its own" + (f"; nothing to {', '.join(silent)}" if silent else ""))
            if online:
                bus.wait(lambda: all(bus.inbox.get(s.user_id) for s in online), self.run.timeout)
                bus.pump(self.run.settle)
            else:
                bus.pump(self.run.quiet)
            got = {s.user_id: bus.take(s.user_id) for s in self.sims}
            for s in self.sims:
                for d in got[s.user_id]:
                    msg = self.inspect(d)
                    if s.state != "online":
                        req = "PRES-2" if (s is leaver or context == "offline") else "PRES-1"
                        self.fail(req, f"{s}, not online, received a {msg.TYPE} after {context} of "
                                       f"{newcomer or rejoiner or leaver}")
                    if not isinstance(msg, proto.ClientList):
                        self.fail("FWD-1", f"{s} received a {msg.TYPE} nobody sent it: {_short(d.body, 100)}")
            if rk != PRESENCE_KEYS[0] and online:
                self.rec.exercise("TOP-3")
                if not any(got[s.user_id] for s in online):
                    self.fail("TOP-3", f"an {context} on routing key {rk!r} got no answer within {self.run.timeout} s")
            for s in online:
                lists = [proto.decode(d.body, direction=TO_CLIENT) for d in got[s.user_id]]
                if not lists:
                    self.fail(miss_req, f"{s} got no client_list within {self.run.timeout} s after {context} of "
                                        f"{newcomer or rejoiner or leaver}")
                for msg in lists:
                    self.check_list(s, msg, context, newcomer, rejoiner, leaver)
            if newcomer is not None and newcomer.id is not None:
                self.run.ids_seen[newcomer.id] = newcomer.user_id

        def check_list(self, recipient: Sim, msg: proto.ClientList, context: str, newcomer: Sim | None,
                       rejoiner: Sim | None, leaver: Sim | None) -> None:
            """Entries are matched to clients by id (names need not be unique, MSG-4), the newcomer's by
            its name among the entries no known id claims."""
            self.rec.exercise("CL-1", "MSG-11", "PRES-3", "PRES-4", "PRES-6", "ID-1")
            if newcomer is not None:
                self.rec.exercise("ID-2")
            if rejoiner is not None:
                self.rec.exercise("PRES-5")
            entries = list(msg.message)
            expected = self.online()
            where = f"{recipient}'s client_list after {context} of {newcomer or rejoiner or leaver}"
            listing = [(e.id, e.user_name) for e in entries]
            by_id = {e.id: e for e in entries}
            matched: dict[int, Sim] = {}
            for s in expected:
                if s.id is None:
                    continue
                e = by_id.get(s.id)
                if e is None:
                    req = "PRES-5" if s is rejoiner else "ID-1" if s is newcomer else "PRES-6"
                    same = [x for x in entries if x.id not in matched and x.user_name == s.name
                            and self._key_of(x, s) == s.pub]
                    if same:
                        self.fail(req, f"{where} gives {s.name!r} id {same[0].id}; its id was {s.id}")
                    self.fail(req, f"{where} does not list {s} (id {s.id}); it lists {listing}")
                matched[s.id] = s
            if newcomer is not None and newcomer in expected and newcomer.id is None:
                mine = [e for e in entries if e.id not in matched and e.user_name == newcomer.name]
                if not mine:
                    self.fail("PRES-6", f"{where} does not list the newcomer {newcomer.name!r}; it lists {listing}")
                if len(mine) > 1:
                    self.fail("PRES-6", f"{where} lists the newcomer {newcomer.name!r} {len(mine)} times, "
                                        f"ids {[e.id for e in mine]}")
                e = mine[0]
                owner = self.run.ids_seen.get(e.id)
                if owner is not None and owner != newcomer.user_id:
                    self.fail("ID-2", f"newcomer {newcomer.name!r} got id {e.id}, already given to {self.who(owner)}")
                newcomer.id = e.id
                matched[e.id] = newcomer
            for e in entries:
                if e.id in matched:
                    continue
                if leaver is not None and (e.id == leaver.id or e.user_name == leaver.name):
                    self.fail("PRES-2", f"{where} still lists the leaver (id {e.id})")
                if e.user_name in self.run.retired and not any(s.name == e.user_name for s in expected):
                    continue  # a client of an earlier example: its own example judged it
                dup = [s for s in expected if s.name == e.user_name]
                if rejoiner is not None and rejoiner in dup:
                    self.fail("PRES-5", f"{where} lists {rejoiner.name!r} twice, ids {[rejoiner.id, e.id]}")
                self.fail("PRES-6", f"{where} lists {e.user_name!r} (id {e.id}), who is not online "
                                    f"(online: {[(s.id, s.name) for s in expected]})")
            for e in entries:
                s = matched.get(e.id)
                if s is None:
                    continue  # a client of an earlier example, skipped above
                if e.user_name != s.name:
                    self.fail("PRES-5" if s is rejoiner else "PRES-6",
                              f"{where} names id {e.id} {e.user_name!r}; its client is called {s.name!r}"
                              + (" since its repeated online" if s is rejoiner else ""))
                spelled = getattr(e, recipient.spelling)
                if spelled is None:
                    other = [f for f in KEY_FIELDS if getattr(e, f) is not None]
                    self.fail("PRES-4", f"{where}: the entry of {s.name!r} spells its key {other}, but "
                                        f"{recipient.name!r} spelled its own {recipient.spelling!r}"
                                        + (" in its latest online" if recipient is rejoiner else ""))
                try:
                    key = proto.load_public_key(spelled)
                except CryptoError as exc:
                    self.fail("PRES-3", f"{where}: the key of {s.name!r} does not load: {exc}")
                if key != s.pub:
                    if s is rejoiner:
                        self.fail("PRES-5", f"{where}: the entry of {s.name!r} does not carry the key of its "
                                            f"repeated online")
                    self.fail("PRES-3", f"{where}: the entry of {s.name!r} carries another client's key")

        @staticmethod
        def _key_of(e: Any, s: Sim) -> Any:
            for f in KEY_FIELDS:
                pem = getattr(e, f, None)
                if pem is not None:
                    try:
                        return proto.load_public_key(pem)
                    except CryptoError:
                        return None
            return None

        # -- routing -------------------------------------------------------------------
        def send_chat(self, sender_uid: str, sender_name: str, dest_id: int, dest_name: str, pub: rsa.PublicKey,
                      text: str, form: str, created_form: str,
                      extra: dict[str, Any] | None = None, routing_key: str = CHAT_KEY) -> tuple[str, int | str]:
            ct = proto.encrypt(text, pub)
            if form == "latin-1":
                ct = latin1_form(ct)
            created = _created(created_form)
            msg = NormalToServer(from_=sender_name, user_id=sender_uid, destination=dest_name,
                                 destination_id=dest_id, created_at=created, message=ct)
            if extra:
                obj = proto.default_codec().to_obj(msg)
                obj.update(extra)
                body = _dumps(obj)
            else:
                body = proto.encode(msg)
            self.bus.publish(routing_key, body)
            return ct, created

        def expect_forward(self, sender: Sim, dest: Sim, text: str, ct: str, created: int | str, form: str,
                           forbidden: dict[str, str], claimed_from: str, stray_req: StrayReq = "FWD-1",
                           missing_req: str = "FWD-1") -> None:
            """dest gets exactly this forward; nobody gets anything else (forbidden: ciphertext -> req)."""
            bus = self.bus
            self.expected = (f"exactly one normal to {dest} (routing key its user_id) with from {sender.name!r}, "
                             f"from_id {sender.id}, destination {dest.name!r}, destination_id {dest.id}, user_id \"\", "
                             f"created_at {created!r} and the ciphertext sent ({len(ct)} chars), decrypting to "
                             f"{_short(text, 40)}; nothing to anybody else"
                             + (f"; the {len(forbidden)} refused/astray message(s) of this step forwarded to nobody"
                                if forbidden else ""))
            bus.wait(lambda: bool(bus.inbox.get(dest.user_id)), self.run.timeout)
            bus.pump(self.run.settle)
            got = {s.user_id: bus.take(s.user_id) for s in self.sims}
            mine: list[proto.NormalToClient] = []
            for s in self.sims:
                for d in got[s.user_id]:
                    msg = self.inspect(d)
                    body_ct = getattr(msg, "message", None)
                    if isinstance(body_ct, str) and body_ct in forbidden:
                        self.fail(forbidden[body_ct], f"{s} received a message that must not be forwarded: "
                                                      f"{_short(d.body, 120)}")
                    if s is dest and isinstance(msg, proto.NormalToClient):
                        mine.append(msg)
                    elif isinstance(msg, proto.NormalToClient):
                        self.fail("FWD-1", f"a chat from {sender} to {dest} reached {s}")
                    else:
                        req = stray_req(msg) if callable(stray_req) else stray_req
                        self.fail(req, f"{s} received a {msg.TYPE} after a chat from {sender} to {dest}"
                                       f"{'' if stray_req == 'FWD-1' else ' (after the input of this step)'}")
            if not mine:
                why = " (it has members its schema does not define, which receivers must ignore)" \
                    if missing_req == "MSG-12" else ""
                self.fail(missing_req, f"a chat from {sender} to {dest} did not reach {dest} within "
                                       f"{self.run.timeout} s{why}")
            if len(mine) > 1:
                self.fail("FWD-1", f"a chat from {sender} to {dest} reached it {len(mine)} times")
            m = mine[0]
            self.rec.exercise("FWD-2", "FWD-4", "ENC-1", "NRM-2")
            if m.from_ != sender.name:
                hint = f" (the incoming from was {claimed_from!r})" if claimed_from != sender.name else ""
                self.fail("FWD-2", f"forward to {dest} says from {m.from_!r}, the sender registered as {sender.name!r}{hint}")
            if m.from_id != sender.id:
                self.fail("FWD-2", f"forward to {dest} says from_id {m.from_id}, the sender's id is {sender.id}")
            if m.destination != dest.name:
                self.fail("FWD-2", f"forward to {dest} says destination {m.destination!r}, registered as {dest.name!r}")
            if m.destination_id != dest.id:
                self.fail("FWD-2", f"forward to {dest} says destination_id {m.destination_id}, its id is {dest.id}")
            if m.message != ct:
                self.fail("FWD-4", f"forward to {dest}: ciphertext changed ({form} form, {len(ct)} chars sent, "
                                   f"{len(m.message)} received: {_short(m.message, 60)})")
            if m.created_at != created or type(m.created_at) is not type(created):
                self.fail("FWD-4", f"forward to {dest}: created_at {created!r} became {m.created_at!r}")
            req = "ENC-2" if form == "latin-1" else "ENC-1"
            if m.message == text:
                self.fail("ENC-1", f"forward to {dest} carries the plaintext")
            try:
                plain = proto.decrypt(m.message, dest.priv)
            except CryptoError as exc:
                self.fail(req, f"{dest} cannot decrypt the forward ({form} form): {exc}")
            if plain != text:
                self.fail(req, f"{dest} decrypts {_short(plain)}, {_short(text)} was sent ({form} form)")

        def chat(self, sender: Sim, dest: Sim, text: str, form: str, created_form: str, claim: str | None,
                 forbidden: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
                 stray_req: StrayReq = "FWD-1") -> None:
            claimed = claim or sender.name
            assert dest.id is not None
            ct, created = self.send_chat(sender.user_id, claimed, dest.id, dest.name if claim is None else claim,
                                         dest.pub, text, form, created_form, extra)
            self.expect_forward(sender, dest, text, ct, created, form, forbidden or {}, claimed, stray_req,
                                missing_req="MSG-12" if extra else "FWD-1")

        def probe(self, forbidden: dict[str, str], first: Sim | None = None, stray_req: StrayReq = "FWD-1") -> None:
            """A valid chat after a must-not-arrive action: its arrival is the barrier for the check."""
            s = first or self.online()[0]
            self.chat(s, s, "probe", "base64", "int", None, forbidden, stray_req=stray_req)

        # -- rules ---------------------------------------------------------------------
        def take_key(self) -> tuple[rsa.PublicKey, rsa.PrivateKey]:
            """A pool key no client of this example has had yet."""
            key = self.run.keys[self.keys_used]
            self.keys_used += 1
            return key

        def reused_name(self, reuse: str, k: int) -> str | None:
            """A name already taken (MSG-4: names need not be unique): a departed client's, or an online one's."""
            if reuse == "departed":
                pool = [s.name for s in self.departed()] + self.run.past_names[-8:]
            elif reuse == "online":
                pool = [s.name for s in self.online()]
            else:
                return None
            return pool[k % len(pool)] if pool else None

        @precondition(lambda self: self.keys_used < len(self.run.keys))
        @rule(base=st.sampled_from(BASE_NAMES), spelling=st.sampled_from(KEY_FIELDS),
              created_form=st.sampled_from(("int", "str")), rk=st.sampled_from(PRESENCE_KEYS),
              reuse=st.sampled_from(("fresh", "fresh", "fresh", "departed", "online")), k=st.integers(0, 7))
        @recorded
        def join(self, base: str, spelling: str, created_form: str, rk: str, reuse: str = "fresh", k: int = 0) -> None:
            pub, priv = self.take_key()
            if self.inert:  # keep the model moving so that preconditions (hence draws) stay the same
                self.sims.append(Sim(len(self.sims) + 1, "", base, pub, priv, "", spelling, state="online"))
                return
            name = self.reused_name(reuse, k) or self.run.fresh_name(base)
            sim = Sim(len(self.sims) + 1, self.run.fresh_user_id(), name, pub, priv,
                      proto.public_key_pem(pub), spelling)
            taken = next((s for s in self.sims if s.name == name), None)
            how = "" if taken is None else f", the name of {'online' if taken.state == 'online' else 'departed'} {taken}"
            if taken is None and name in self.run.past_names:
                how = ", the name of a client of an earlier example"

            def act() -> None:
                self.sims.append(sim)
                self.bus.open_queue(sim.user_id)
                self.publish_online(sim, created_form, rk)
                sim.state = "online"
                self.expect_lists("online", newcomer=sim, rk=rk)

            self.step(f"join {sim} key field {spelling}, created_at {created_form}, routing key {rk!r}{how}",
                      ("PRES-1", "PRES-3", "PRES-4", "PRES-6", "ID-1", "ID-2"), act, "PRES-1")

        def publish_online(self, sim: Sim, created_form: str, rk: str) -> None:
            msg = Online(from_=sim.name, user_id=sim.user_id, created_at=_created(created_form),
                         message=proto.with_key(sim.spelling, sim.pem))
            self.bus.publish(rk, proto.encode(msg))

        @precondition(lambda self: bool(self.online()))
        @rule(i=st.integers(0, 7), created_form=st.sampled_from(("int", "str")), rk=st.sampled_from(PRESENCE_KEYS),
              change=st.sampled_from(("nothing", "nothing", "name", "key", "spelling", "all")))
        @recorded
        def rejoin(self, i: int, created_form: str, rk: str, change: str = "nothing") -> None:
            """A repeated online, sometimes with another name, key or key spelling (PRES-5: the server
            updates them and keeps the id)."""
            sim = self.online()[i % len(self.online())]
            rekey = change in ("key", "all") and self.keys_used < len(self.run.keys)
            new_key = self.take_key() if rekey else None
            if self.inert:
                return
            changes = []
            if change in ("name", "all"):
                changes.append("name")
            if new_key is not None:
                changes.append("key")
            if change in ("spelling", "all"):
                changes.append("key spelling")
            old = str(sim)

            def act() -> None:
                if "name" in changes:
                    sim.name = self.run.fresh_name(sim.name.rstrip("0123456789") or "renamed")
                if new_key is not None:
                    sim.pub, sim.priv = new_key
                    sim.pem = proto.public_key_pem(sim.pub)
                if "key spelling" in changes:
                    sim.spelling = next(f for f in KEY_FIELDS if f != sim.spelling)
                self.publish_online(sim, created_form, rk)
                self.expect_lists("online", rejoiner=sim, rk=rk)

            what = f" with a new {', '.join(changes)}" if changes else ""
            self.step(f"repeat online of {old}{what}, routing key {rk!r}", ("PRES-5", "PRES-1", "PRES-4"), act,
                      "PRES-5")

        @precondition(lambda self: bool(self.online()))
        @rule(i=st.integers(0, 7), created_form=st.sampled_from(("int", "str")), rk=st.sampled_from(PRESENCE_KEYS))
        @recorded
        def leave(self, i: int, created_form: str, rk: str) -> None:
            sim = self.online()[i % len(self.online())]
            if self.inert:
                sim.state = "departed"
                return

            def act() -> None:
                self.bus.publish(rk, proto.encode(Offline(from_=sim.name, user_id=sim.user_id,
                                                          created_at=_created(created_form), message="")))
                sim.state = "departed"
                self.expect_lists("offline", leaver=sim, rk=rk)
                rest = self.online()
                if rest:
                    # The leaver is gone at once: a chat to it and a chat from it must both go nowhere.
                    other = rest[0]
                    assert sim.id is not None and other.id is not None
                    to_leaver, _ = self.send_chat(other.user_id, other.name, sim.id, sim.name, sim.pub,
                                                  "to the leaver", "base64", "int")
                    from_leaver, _ = self.send_chat(sim.user_id, sim.name, other.id, other.name, other.pub,
                                                    "from the leaver", "base64", "str")
                    self.probe({to_leaver: "FWD-5", from_leaver: "FWD-5"}, other)

            self.step(f"offline of {sim}, routing key {rk!r}, then chats to and from it", ("PRES-2", "PRES-3", "PRES-6", "FWD-5"),
                      act, "PRES-2")

        @precondition(lambda self: bool(self.online()))
        @rule(i=st.integers(0, 7), j=st.integers(0, 7), text=TEXTS, form=st.sampled_from(("base64", "latin-1")),
              created_form=st.sampled_from(("int", "str")), claim=st.sampled_from((None, None, "mallory")))
        @recorded
        def send(self, i: int, j: int, text: str, form: str, created_form: str, claim: str | None) -> None:
            if self.inert:
                return
            online = self.online()
            sender, dest = online[i % len(online)], online[j % len(online)]
            reqs = ("FWD-1", "FWD-2", "FWD-3", "FWD-4", "ENC-1") + (("ENC-2",) if form == "latin-1" else ())
            self.step(f"chat {sender} -> {dest}: {_short(text, 40)} ({len(text)} chars, {form} form, created_at "
                      f"{created_form}{'' if claim is None else f', claims from/destination {claim!r}'})",
                      reqs, lambda: self.chat(sender, dest, text, form, created_form, claim), "FWD-1")

        @precondition(lambda self: bool(self.online()))
        @rule(i=st.integers(0, 7), j=st.integers(0, 7), text=TEXTS, where=st.sampled_from(("top", "nested")))
        @recorded
        def send_extended(self, i: int, j: int, text: str, where: str) -> None:
            """A chat with members no schema defines (a later version's): receivers ignore them (MSG-12)."""
            if self.inert:
                return
            online = self.online()
            sender, dest = online[i % len(online)], online[j % len(online)]
            # nested at most 3 deep, as MSG-1 allows (the body object, x_future, its tags array)
            extra = ({"x_priority": 1} if where == "top" else {"x_future": {"thread": 7, "tags": ["a", "b"]}})
            self.step(f"chat {sender} -> {dest} with unknown member(s) {sorted(extra)}: {_short(text, 30)}",
                      ("MSG-12", "FWD-1", "FWD-4"), lambda: self.chat(sender, dest, text, "base64", "int", None,
                                                                   extra=extra), "FWD-1")

        @precondition(lambda self: bool(self.online()))
        @rule(how=st.sampled_from(("to a departed id", "to an unknown id", "from a never-online user_id",
                                   "from a departed user_id", "chat on a presence routing key",
                                   "offline from a never-online user_id", "offline from a departed user_id")),
              i=st.integers(0, 7), j=st.integers(0, 7), offset=st.integers(1, 10_000), text=TEXTS)
        @recorded
        def send_astray(self, how: str, i: int, j: int, offset: int, text: str) -> None:
            """A message the server must not act on: a chat it must not forward (FWD-5), a chat on a routing
            key chats do not use (ROB-1), an offline from a user_id that is not online (PRES-2); a valid chat
            after it marks the end."""
            if self.inert:
                return
            if how.startswith("offline"):
                return self.leave_stranger("departed" if how.endswith("departed user_id") else "never-online", i, j,
                                           PRESENCE_KEYS[offset % len(PRESENCE_KEYS)])
            if how.startswith("chat on"):
                return self.send_on_presence_key(i, j, text)
            online, gone = self.online(), self.departed()
            peer = online[i % len(online)]
            if how.endswith("departed id") and gone:
                dest = gone[j % len(gone)]
                uid, name, target, tname, key = peer.user_id, peer.name, dest.id, dest.name, dest.pub
                label = f"chat {peer} -> departed {dest}"
            elif how.startswith("to"):
                target = max(self.run.ids_seen, default=0) + 1000 + offset
                uid, name, tname, key = peer.user_id, peer.name, "nobody", peer.pub
                label = f"chat {peer} -> unknown id {target}"
            elif how.endswith("departed user_id") and gone:
                src = gone[j % len(gone)]
                uid, name, target, tname, key = src.user_id, src.name, peer.id, peer.name, peer.pub
                label = f"chat from departed {src} -> {peer}"
            else:
                uid, name, target, tname, key = self.run.fresh_user_id(), "stranger", peer.id, peer.name, peer.pub
                label = f"chat from a never-online user_id -> {peer}"

            def act() -> None:
                assert target is not None
                ct, _ = self.send_chat(uid, name, target, tname, key, text, "base64", "str")
                self.probe({ct: "FWD-5"}, peer)

            self.step(f"{label}: {_short(text, 30)}", ("FWD-5",), act, "FWD-5")

        @precondition(lambda self: bool(self.online()))
        @rule(kinds=st.lists(st.sampled_from(tuple(MALFORMED)), min_size=1, max_size=4, unique=True),
              i=st.integers(0, 7), j=st.integers(0, 7), rk=st.sampled_from(("server", "system")))
        @recorded
        def malformed(self, kinds: list[str], i: int, j: int, rk: str) -> None:
            if self.inert:
                return
            online = self.online()
            a, b = online[i % len(online)], online[j % len(online)]
            reqs = tuple(dict.fromkeys(MALFORMED[k][0] for k in kinds))
            label = ", ".join(kinds)

            def act() -> None:
                forbidden: dict[str, str] = {}
                for kind in kinds:
                    req, build = MALFORMED[kind]
                    body, marker = build(self, a, b)
                    self.bus.publish(rk, body)
                    if marker:
                        forbidden[marker] = req
                stray = self.malformed_blame(kinds, a)
                ct, created = self.send_chat(a.user_id, a.name, a.id, a.name, a.pub, "after bad input", "base64", "int")
                bus = self.bus
                # Any delivery at all shows the server alive; expect_forward then judges it.
                anything = lambda: any(bus.inbox.values())  # noqa: E731
                if not bus.wait(anything, self.run.timeout):
                    self.send_chat(a.user_id, a.name, a.id, a.name, a.pub, "second try", "base64", "int")
                    if bus.wait(anything, self.run.timeout):
                        self.fail("ROB-2", f"the valid chat right after malformed input ({label}) was never served; "
                                           f"a later one was")
                    self.fail("ROB-1", f"after malformed input ({label}, routing key {rk!r}) the server no longer "
                                       f"answers: a valid chat got no forward within {2 * self.run.timeout} s")
                self.expect_forward(a, a, "after bad input", ct, created, "base64", forbidden, a.name, stray)
                self.expect_quiet(stray, f"after malformed input ({label})")

            self.step(f"malformed input ({label}) on routing key {rk!r} about {a} -> {b}, then a valid chat",
                      reqs + ("ROB-1", "ROB-2"), act, "ROB-1")

        def malformed_blame(self, kinds: list[str], a: Sim) -> Callable[[proto.Message], str]:
            """Which rule a body arriving after malformed input breaks. A list that shows the server acted on
            the input (registered a refused online, removed a by a refused offline) breaks that input's rule;
            anything else was published because of the input, which ROB-1 forbids."""
            def blame(msg: proto.Message) -> str:
                if isinstance(msg, proto.ClientList):
                    listed = {e.user_name for e in msg.message}
                    ids = {e.id for e in msg.message}
                    for kind in kinds:
                        req, build = MALFORMED[kind]
                        name = ONLINE_KINDS.get(kind)
                        if name is not None and name in listed:
                            return req
                        if build is _offline_not_empty and a.id not in ids:
                            return req
                return "ROB-1"
            return blame

        def leave_stranger(self, how: str, i: int, j: int, rk: str) -> None:
            """An offline from a user_id that is not online changes nothing and triggers no list (PRES-2);
            a valid chat after it marks the end."""
            if self.inert:
                return
            peer, gone = self.online()[i % len(self.online())], self.departed()
            if how == "departed" and gone:
                src = gone[j % len(gone)]
                uid, name, label = src.user_id, src.name, f"departed {src}"
            else:
                uid, name, label = self.run.fresh_user_id(), STRANGER_NAMES[0], "a never-online user_id"

            def act() -> None:
                self.bus.publish(rk, proto.encode(Offline(from_=name, user_id=uid, created_at=_created("int"),
                                                          message="")))
                self.probe({}, peer, stray_req="PRES-2")

            self.step(f"offline from {label}, routing key {rk!r}, then a valid chat", ("PRES-2",), act, "PRES-2")

        def send_on_presence_key(self, i: int, j: int, text: str) -> None:
            """A valid chat on routing key `system` (TOP-2 puts chats on `server`; ROB-1: a body on a routing
            key its type does not use is refused, nothing is published because of it)."""
            if self.inert:
                return
            online = self.online()
            sender, dest = online[i % len(online)], online[j % len(online)]
            wrong = next(k for k in PRESENCE_KEYS if k != CHAT_KEY)

            def act() -> None:
                assert dest.id is not None
                ct, _ = self.send_chat(sender.user_id, sender.name, dest.id, dest.name, dest.pub, text, "base64",
                                       "int", routing_key=wrong)
                self.probe({ct: "ROB-1"}, sender, stray_req="ROB-1")

            self.step(f"chat {sender} -> {dest} on routing key {wrong!r}, then a valid chat: {_short(text, 30)}",
                      ("ROB-1",), act, "ROB-1")

        def expect_quiet(self, req: StrayReq, context: str) -> None:
            self.expected = f"nothing more {context}"
            self.bus.pump(self.run.settle)
            for d in self.bus.take_all():
                msg = self.inspect(d)
                self.fail(req(msg) if callable(req) else req,
                          f"{self.who(d.user_id)} received a {msg.TYPE} {context}: {_short(d.body, 100)}")

        # -- teardown: every example leaves a clean slate ------------------------------
        def teardown(self) -> None:
            if self.inert or not self.sims:
                return
            bus = self.bus
            try:
                for s in [s for s in self.sims if s.state != "departed"]:
                    bus.publish(PRESENCE_KEYS[0], proto.encode(Offline(from_=s.name, user_id=s.user_id,
                                                                       created_at=_created("int"), message="")))
                    s.state = "departed"
                    rest = self.online()
                    bus.wait(lambda: all(bus.inbox.get(r.user_id) for r in rest), self.run.timeout)
                bus.pump(self.run.settle)
                for s in self.sims:
                    bus.close_queue(s.user_id)
            finally:
                self.run.retired.update(s.name for s in self.sims)
                self.run.past_names.extend(s.name for s in self.sims if s.user_id and s.name not in self.run.past_names)
                self.run.retired.update(STRANGER_NAMES)

    return ImplusMachine


# -- malformed bodies: kind -> (requirement a server breaks if it acts on it, builder) -------------
def _normal_obj(m: Any, a: Sim, b: Sim) -> tuple[dict[str, Any], str]:
    """A valid chat a -> b as a JSON object (fields from the schema-generated class), and its ciphertext."""
    ct = proto.encrypt("must not arrive", b.pub)
    msg = NormalToServer(from_=a.name, user_id=a.user_id, destination=b.name, destination_id=b.id,
                         created_at=int(time.time()), message=ct)
    return proto.default_codec().to_obj(msg), ct


def _online_obj(m: Any, name: str, spelling: str, pem_of: Sim) -> dict[str, Any]:
    msg = Online(from_=name, user_id=m.run.fresh_user_id(), created_at=int(time.time()),
                 message=proto.with_key(spelling, pem_of.pem))
    return proto.default_codec().to_obj(msg)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _not_json(m, a, b):
    return b'{"type": "normal", "from": ', None


def _not_utf8(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["from"] = "@@NAME@@"
    return _dumps(obj).replace(b"@@NAME@@", b"\xff\xfe caf\xe9"), ct


def _dup_keys(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    return b'{"type":"normal",' + _dumps(obj)[1:], ct


def _wrong_type(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["destination_id"] = str(b.id)
    return _dumps(obj), ct


def _missing_field(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    del obj["created_at"]
    return _dumps(obj), ct


def _oversize(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["message"] = (ct * (NORMAL_MAX // len(ct) + 2))
    return _dumps(obj), obj["message"]


def _nan(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["created_at"] = "@@NAN@@"
    return _dumps(obj).replace(b'"@@NAN@@"', b"NaN"), ct


def _fraction(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["destination_id"] = "@@ID@@"
    return _dumps(obj).replace(b'"@@ID@@"', f"{b.id}.0".encode()), ct


def _not_object(m, a, b):
    return _dumps([{"type": "normal"}, a.name]), None


def _empty(m, a, b):
    return b"", None


def _deep(m, a, b):
    return b"[" * 50_000 + b"]" * 50_000, None


def _unknown_type(m, a, b):
    obj, ct = _normal_obj(m, a, b)
    obj["type"] = "whisper"
    return _dumps(obj), ct


def _bad_key(m, a, b):
    obj = _online_obj(m, "badkey", KEY_FIELDS[0], a)
    obj["message"][KEY_FIELDS[0]] = BAD_KEY_PEM
    return _dumps(obj), None


def _weak_key(m, a, b):
    obj = _online_obj(m, "weakkey", KEY_FIELDS[1], a)
    obj["message"][KEY_FIELDS[1]] = m.run.weak_pem
    return _dumps(obj), None


def _both_keys(m, a, b):
    obj = _online_obj(m, "twokeys", KEY_FIELDS[0], a)
    obj["message"][KEY_FIELDS[1]] = a.pem
    return _dumps(obj), None


def _offline_not_empty(m, a, b):
    obj = proto.default_codec().to_obj(Offline(from_=a.name, user_id=a.user_id, created_at=int(time.time()), message=""))
    obj["message"] = "bye"
    return _dumps(obj), None


# the malformed onlines, by the name they register (a list that lists it shows the server took it)
ONLINE_KINDS = {"malformed key": "badkey", "512-bit key": "weakkey", "both key spellings": "twokeys"}
MALFORMED: dict[str, tuple[str, Callable[..., tuple[bytes, str | None]]]] = {
    "not JSON": ("MSG-1", _not_json),
    "not UTF-8": ("MSG-1", _not_utf8),
    "duplicate key": ("MSG-1", _dup_keys),
    "id as a string": ("MSG-6", _wrong_type),
    "id with a fraction": ("MSG-1", _fraction),
    "NaN": ("MSG-1", _nan),
    "missing created_at": ("NRM-1", _missing_field),
    "oversize": ("MSG-1", _oversize),
    "not an object": ("MSG-1", _not_object),
    "empty body": ("MSG-1", _empty),
    "nested 50000 deep": ("MSG-1", _deep),
    "unknown type": ("MSG-13", _unknown_type),
    "malformed key": ("MSG-7", _bad_key),
    "512-bit key": ("ENC-3", _weak_key),
    "both key spellings": ("MSG-7", _both_keys),
    "offline with a message": ("MSG-9", _offline_not_empty),
}
