"""The checks of the conformance suite: one per spec requirement it can observe on the wire,
and the recorder that grades them while the state machine runs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

MUST, SHOULD = "MUST", "SHOULD"
PASS, FAIL, NON_STRICT, SKIP = "PASS", "FAIL", "NON-STRICT", "SKIP"


@dataclass(frozen=True)
class Check:
    id: str
    requirement: str
    level: str
    title: str


CHECKS: tuple[Check, ...] = (
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
    Check("bad-keys", "MSG-7", MUST, "an online with a malformed public key is not registered"),
    Check("bad-fields", "MSG-6", MUST, "a normal with a mistyped field is not forwarded"),
    Check("presence-fields", "MSG-9", MUST, "an offline whose message is not \"\" is not acted on"),
    Check("normal-fields", "NRM-1", MUST, "a normal missing a required field is not forwarded"),
    Check("survives-malformed", "ROB-1", MUST, "after malformed input the server still serves"),
    Check("next-valid-served", "ROB-2", MUST, "the valid message right after a malformed one is served"),
    Check("content-type", "TOP-5", SHOULD, "bodies are sent with content_type application/json"),
    Check("persistent", "TOP-6", SHOULD, "bodies are sent persistent (delivery_mode 2)"),
)
BY_REQ: dict[str, Check] = {c.requirement: c for c in CHECKS}


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


@dataclass
class Result:
    check: Check
    grade: str
    duration: float
    evidence: str | None
    exercised: int
    steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.check.id,
            "requirement": self.check.requirement,
            "level": self.check.level,
            "title": self.check.title,
            "grade": self.grade,
            "duration": round(self.duration, 3),
            "exercised": self.exercised,
            "evidence": self.evidence,
            "steps": self.steps,
        }


class Recorder:
    """Which checks ran, how long, and the first (shortest) failing step sequence of each."""

    def __init__(self) -> None:
        self.exercised: dict[str, int] = {}
        self.durations: dict[str, float] = {}
        self.findings: dict[str, Finding] = {}
        self.first_failure_at: float | None = None
        self.first_requirement: str | None = None  # the first MUST failure of the run
        self.examples = 0

    def exercise(self, *reqs: str) -> None:
        for r in reqs:
            self.exercised[r] = self.exercised.get(r, 0) + 1

    def charge(self, reqs: Iterable[str], seconds: float) -> None:
        for r in set(reqs):
            self.durations[r] = self.durations.get(r, 0.0) + seconds

    def record(self, requirement: str, evidence: str, steps: list[str]) -> None:
        requirement = requirement_for(requirement)
        self.exercise(requirement)
        old = self.findings.get(requirement)
        if old is None or len(steps) < len(old.steps):
            self.findings[requirement] = Finding(requirement, evidence, list(steps), self.examples)
        if BY_REQ[requirement].level == MUST and self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
            self.first_requirement = requirement

    def results(self, strict: bool = False) -> list[Result]:
        out = []
        for c in CHECKS:
            f = self.findings.get(c.requirement)
            n = self.exercised.get(c.requirement, 0)
            if f is not None:
                grade = FAIL if (c.level == MUST or strict) else NON_STRICT
            elif n:
                grade = PASS
            else:
                grade = SKIP
            out.append(Result(c, grade, self.durations.get(c.requirement, 0.0),
                              f.evidence if f else None, n, f.steps if f else []))
        return out
