"""The checks of the conformance suite (one per observable rule, each citing its SPEC.md id),
and the recorder that grades them while the suite runs.

Three families: SERVER_CHECKS run by the state machine against a server on the wire;
RESTART_CHECKS need the suite to restart the server (--server-cmd); CLIENT_CHECKS run with
--client-cmd, where the suite plays the server and the other peers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

MUST, SHOULD = "MUST", "SHOULD"
PASS, FAIL, NON_STRICT, SKIP = "PASS", "FAIL", "NON-STRICT", "SKIP"


@dataclass(frozen=True)
class Check:
    id: str
    requirement: str
    level: str
    title: str
    needs: str = ""  # what the run must be given for the check to run ("" = always runs)


SERVER_CHECKS: tuple[Check, ...] = (
    Check("exchange", "TOP-1", MUST, "the exchange is a durable direct exchange"),
    Check("presence-on-server", "TOP-3", MUST, "online/offline are accepted on routing key server as well as system"),
    Check("valid-bodies", "MSG-1", MUST, "every body a client receives is a strict UTF-8 JSON IMPlus message"),
    Check("received-types", "MSG-2", MUST, "clients receive only client_list and normal from the server"),
    Check("list-fields", "CL-1", MUST, "client_list carries type, created_at and the entry array"),
    Check("list-entries", "MSG-11", MUST, "client_list entries are well formed, ids unique"),
    Check("forward-fields", "NRM-2", MUST, "a forward carries every server-to-client normal field"),
    Check("join-lists", "PRES-1", MUST, "after an online every online client, newcomer included, gets a client_list"),
    Check("leave-lists", "PRES-2", MUST, "after an offline every remaining client gets a client_list, the leaver none"),
    Check("entry-keys", "PRES-3", MUST, "every client_list entry carries that client's public key"),
    Check("key-spelling", "PRES-4", MUST, "entries' key field is spelled as the recipient spelled its own"),
    Check("repeated-online", "PRES-5", MUST, "a repeated online keeps the id and adds no entry"),
    Check("exact-list", "PRES-6", MUST, "a client_list lists exactly the online clients, with their names"),
    Check("ids-unique", "ID-1", MUST, "ids are positive and unique among online clients"),
    Check("ids-fresh", "ID-2", MUST, "a new user_id never gets an id seen before"),
    Check("destination-only", "FWD-1", MUST, "a chat reaches its destination and nobody else"),
    Check("registry-identities", "FWD-2", MUST, "from, from_id, destination come from the server's registry"),
    Check("no-user-id-leak", "FWD-3", MUST, "forwards carry user_id \"\" and no body discloses another client's user_id"),
    Check("ciphertext-unchanged", "FWD-4", MUST, "message and created_at are forwarded unchanged"),
    Check("no-offline-forward", "FWD-5", MUST, "nothing is forwarded from a non-online sender or to a non-online id"),
    Check("decrypts", "ENC-1", MUST, "the recipient decrypts exactly the plaintext; the wire never shows it"),
    Check("latin1-form", "ENC-2", MUST, "a 2014 latin-1 ciphertext is forwarded and decrypts"),
    Check("weak-keys", "ENC-3", MUST, "an online with a key under 1024 bits is not registered"),
    Check("unknown-types", "MSG-13", MUST, "a message of unknown type is ignored"),
    Check("unknown-fields", "MSG-12", MUST, "a chat with members its schema does not define is still forwarded"),
    Check("bad-keys", "MSG-7", MUST, "an online with a malformed public key is not registered"),
    Check("bad-fields", "MSG-6", MUST, "a normal with a mistyped field is not forwarded"),
    Check("presence-fields", "MSG-9", MUST, "an offline whose message is not \"\" is not acted on"),
    Check("normal-fields", "NRM-1", MUST, "a normal missing a required field is not forwarded"),
    Check("survives-malformed", "ROB-1", MUST, "after malformed input the server still serves"),
    Check("next-valid-served", "ROB-2", MUST, "the valid message right after a malformed one is served"),
    Check("content-type", "TOP-5", SHOULD, "bodies are sent with content_type application/json"),
    Check("persistent", "TOP-6", SHOULD, "bodies are sent persistent (delivery_mode 2)"),
)
NEEDS_SERVER_CMD = "--server-cmd (the suite must start and restart the server itself)"
RESTART_CHECKS: tuple[Check, ...] = (
    Check("ids-after-restart", "ID-2", MUST, "after a restart, a new client gets an id never given before",
          NEEDS_SERVER_CMD),
    Check("presence-after-restart", "PRES-6", MUST, "a client online before a restart is still listed after it",
          NEEDS_SERVER_CMD),
)
CHECKS: tuple[Check, ...] = SERVER_CHECKS + RESTART_CHECKS

NEEDS_CLIENT_CMD = "--client-cmd (the suite plays the server for a client it starts)"
NEEDS_SEND_CMD = "--client-send-cmd (a client started to send one message)"
CLIENT_CHECKS: tuple[Check, ...] = (
    Check("client-queue-before-online", "TOP-4", MUST, "user_q<user_id> is declared durable and bound to the user_id before the online", NEEDS_CLIENT_CMD),
    Check("client-online-key", "TOP-3", MUST, "presence is published with routing key system", NEEDS_CLIENT_CMD),
    Check("client-body", "MSG-1", MUST, "every body the client publishes is a strict UTF-8 JSON object within its limit", NEEDS_CLIENT_CMD),
    Check("client-online-fields", "ONL-1", MUST, "the online carries type, from, user_id, created_at and the key object", NEEDS_CLIENT_CMD),
    Check("client-user-id", "MSG-3", MUST, "the user_id is 32 lowercase hex digits of a version-4 UUID, new each session", NEEDS_CLIENT_CMD),
    Check("client-key", "MSG-7", MUST, "the key is PKCS#1 PEM in exactly one of prublic_key/public_key", NEEDS_CLIENT_CMD),
    Check("client-key-size", "ENC-3", MUST, "the client's key has at least 1024 bits", NEEDS_CLIENT_CMD),
    Check("client-key-strength", "SEC-1", SHOULD, "the client's key has 2048 bits or more", NEEDS_CLIENT_CMD),
    Check("client-content-type", "TOP-5", SHOULD, "the client publishes with content_type application/json", NEEDS_CLIENT_CMD),
    Check("client-persistent", "TOP-6", SHOULD, "the client publishes persistent messages", NEEDS_CLIENT_CMD),
    Check("client-shows-chat", "NRM-2", MUST, "a chat forwarded to the client is decrypted and shown", NEEDS_CLIENT_CMD),
    Check("client-latin1", "ENC-2", MUST, "a chat in the 2014 latin-1 form is decrypted and shown", NEEDS_CLIENT_CMD),
    Check("client-list-changes", "CL-1", MUST, "the client takes each new client_list and goes on", NEEDS_CLIENT_CMD),
    Check("client-unknown-fields", "MSG-12", MUST, "members the schema does not define do not make the client refuse a message", NEEDS_CLIENT_CMD),
    Check("client-unknown-type", "MSG-13", MUST, "a message of unknown type is ignored and the client goes on", NEEDS_CLIENT_CMD),
    Check("client-warns", "ROB-3", MUST, "each refused body or undecryptable chat gives one line of warning", NEEDS_CLIENT_CMD),
    Check("client-survives", "ROB-2", MUST, "after bad input the client still runs and still shows chats", NEEDS_CLIENT_CMD),
    Check("client-no-oracle", "SEC-3", MUST, "the client publishes nothing in answer to an undecryptable chat", NEEDS_CLIENT_CMD),
    Check("client-offline", "OFF-1", SHOULD, "a client told to stop sends a valid offline on system", NEEDS_CLIENT_CMD),
    Check("client-self-offline", "SOF-1", MUST, "a self_offline the client sends goes to its own user_id and is well formed", NEEDS_CLIENT_CMD),
    Check("client-chat-key", "TOP-2", MUST, "the chat is published with routing key server", NEEDS_SEND_CMD),
    Check("client-chat-fields", "NRM-1", MUST, "the chat carries the client's user_id and the peer's destination_id and name", NEEDS_SEND_CMD),
    Check("client-encrypts", "ENC-1", MUST, "the peer decrypts exactly the text, with the key of the latest client_list", NEEDS_SEND_CMD),
)


def primary(checks: Iterable[Check]) -> dict[str, Check]:
    """requirement -> the first check citing it (a failure cited by requirement only is graded there)."""
    out: dict[str, Check] = {}
    for c in checks:
        out.setdefault(c.requirement, c)
    return out


BY_REQ: dict[str, Check] = primary(SERVER_CHECKS)
BY_ID: dict[str, Check] = {c.id: c for c in CHECKS + CLIENT_CHECKS}


class ConformanceFailure(AssertionError):
    """A MUST check failed. One subclass per requirement so that hypothesis shrinks each apart."""

    requirement = "?"

    def __init__(self, evidence: str) -> None:
        super().__init__(f"[{self.requirement}] {evidence}")
        self.evidence = evidence


_FAILURE_CLASSES: dict[str, type[ConformanceFailure]] = {}


def failure_class(requirement: str) -> type[ConformanceFailure]:
    cls = _FAILURE_CLASSES.get(requirement)
    if cls is None:
        name = "Fail_" + requirement.replace("-", "_")
        cls = type(name, (ConformanceFailure,), {"requirement": requirement})
        _FAILURE_CLASSES[requirement] = cls
    return cls


def requirement_for(req: str | None) -> str:
    """The requirement a failure is graded under: its own if the suite has a check for it, else MSG-1."""
    return req if req in BY_REQ else "MSG-1"


@dataclass
class Finding:
    requirement: str
    evidence: str
    steps: list[str]
    example: int
    calls: list[dict[str, Any]] = field(default_factory=list)  # the rule calls that replay the steps
    expected: str | None = None
    arrived: list[dict[str, Any]] = field(default_factory=list)  # deliveries of the failing step
    sent: list[dict[str, Any]] = field(default_factory=list)  # what the suite published in that step

    def as_dict(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "evidence": self.evidence, "steps": self.steps,
                "calls": self.calls, "expected": self.expected, "arrived": self.arrived, "sent": self.sent}


@dataclass
class Result:
    check: Check
    grade: str
    duration: float
    evidence: str | None
    exercised: int
    steps: list[str] = field(default_factory=list)
    finding: Finding | None = None
    reason: str | None = None  # why a check was skipped

    def as_dict(self) -> dict[str, object]:
        from .requirements import requirements

        req = requirements().get(self.check.requirement)
        f = self.finding
        return {
            "id": self.check.id,
            "requirement": self.check.requirement,
            "requirement_text": req.text if req else None,
            "level": self.check.level,
            "title": self.check.title,
            "grade": self.grade,
            "duration": round(self.duration, 3),
            "exercised": self.exercised,
            "evidence": self.evidence,
            "steps": self.steps,
            "expected": f.expected if f else None,
            "arrived": f.arrived if f else [],
            "sent": f.sent if f else [],
            "skip_reason": self.reason,
        }


class Recorder:
    """Which checks ran, how long, and the first (shortest) failing step sequence of each.

    Findings and counts are keyed by check id; a requirement id names its primary check."""

    def __init__(self, checks: tuple[Check, ...] = CHECKS) -> None:
        self.checks = checks
        self.by_req = primary(checks)
        self.by_id = {c.id: c for c in checks}
        self.exercised: dict[str, int] = {}
        self.durations: dict[str, float] = {}
        self.findings: dict[str, Finding] = {}
        self.skips: dict[str, str] = {}
        self.first_failure_at: float | None = None
        self.first_requirement: str | None = None  # the first MUST failure of the run
        self.first_check: str | None = None
        self.examples = 0

    def _id(self, key: str) -> str:
        if key in self.by_id:
            return key
        c = self.by_req.get(key) or self.by_req.get("MSG-1") or self.checks[0]
        return c.id

    def exercise(self, *keys: str) -> None:
        for k in keys:
            cid = self._id(k)
            self.exercised[cid] = self.exercised.get(cid, 0) + 1

    def skip(self, key: str, reason: str) -> None:
        self.skips[self._id(key)] = reason

    def charge(self, keys: Iterable[str], seconds: float) -> None:
        for cid in {self._id(k) for k in keys}:
            self.durations[cid] = self.durations.get(cid, 0.0) + seconds

    def record(self, key: str, evidence: str, steps: list[str], force: bool = False, **detail: Any) -> Finding:
        """A failure of a check; the shortest step sequence is kept (force: this one, e.g. the final replay)."""
        cid = self._id(key)
        check = self.by_id[cid]
        self.exercise(cid)
        old = self.findings.get(cid)
        new = Finding(check.requirement, evidence, list(steps), self.examples, **detail)
        if old is None or force or len(steps) < len(old.steps):
            self.findings[cid] = new
        if check.level == MUST and self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
            self.first_requirement = check.requirement
            self.first_check = cid
        return self.findings[cid]

    def results(self, strict: bool = False) -> list[Result]:
        out = []
        for c in self.checks:
            f = self.findings.get(c.id)
            n = self.exercised.get(c.id, 0)
            reason = None
            if f is not None:
                grade = FAIL if (c.level == MUST or strict) else NON_STRICT
            elif n:
                grade = PASS
            else:
                grade = SKIP
                reason = self.skips.get(c.id) or (f"needs {c.needs}" if c.needs else
                                                  "never exercised in this run (raise --max-examples)")
            out.append(Result(c, grade, self.durations.get(c.id, 0.0), f.evidence if f else None, n,
                              f.steps if f else [], f, reason))
        return out
