"""Which requirements of SPEC.md a run exercised, and why the others were not."""
from __future__ import annotations

from typing import Any

import implus_proto as proto

from .checks import CHECKS, CLIENT_CHECKS, NEEDS_CLIENT_CMD, PASS, SKIP, Result
from .requirements import requirements

# Requirements no check of either side can observe, and why.
NOT_OBSERVABLE = {
    "SEC-2": "concerns the implementation's library version (Python rsa 4.7 or later); not observable on the wire",
    "PRES-7": "a MAY (a server may drop a client whose routing key has no queue); there is nothing to require",
    "PRES-8": "needs the registry filled to its size limit (about 5000 online clients): too slow for a run",
}
_SERVER_SIDE = {c.requirement for c in CHECKS}
_CLIENT_SIDE = {c.requirement for c in CLIENT_CHECKS}


def schema_requirements(direction: str) -> set[str]:
    """The x-req ids the schemas of one direction enforce (a body validated against them exercises these)."""
    schemas = proto.default_schemas()
    out: set[str] = set()
    defs: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            req = node.get("x-req")
            if isinstance(req, str):
                out.add(req)
            elif isinstance(req, list):
                out.update(r for r in req if isinstance(r, str))
            ref = node.get("$ref")
            if isinstance(ref, str) and "#/$defs/" in ref:
                name = ref.rsplit("/", 1)[1]
                if name not in defs:
                    defs[name] = True
                    target = _find_def(schemas, name)
                    if target is not None:
                        walk(target)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for spec in schemas.specs:
        if spec.direction == direction:
            walk(spec.schema)
    return out


def _find_def(schemas: Any, name: str) -> Any:
    import json

    try:
        doc = json.loads((schemas.directory / "defs.json").read_text("utf-8"))
    except (OSError, ValueError, AttributeError):
        return None
    return doc.get("$defs", {}).get(name)


def coverage(results: list[Result], kind: str = "server") -> dict[str, Any]:
    """{exercised: {id: [how]}, not_exercised: {id: reason}, total, source} for one run's results."""
    reqs = requirements()
    exercised: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for r in results:
        rid = r.check.requirement
        if r.grade != SKIP:
            exercised.setdefault(rid, []).append(f"check {r.check.id}: {r.grade}")
        elif r.reason:
            skipped.setdefault(rid, f"check {r.check.id} skipped: {r.reason}")
    body_check = "valid-bodies" if kind == "server" else "client-body"
    direction = "server-to-client" if kind == "server" else "client-to-server"
    if any(r.check.id == body_check and r.grade != SKIP for r in results):
        ok = any(r.check.id == body_check and r.grade == PASS for r in results)
        for rid in sorted(schema_requirements(direction)):
            exercised.setdefault(rid, []).append(
                f"schema validation of every received {direction} body ({'PASS' if ok else 'see ' + body_check})")
    missing: dict[str, str] = {}
    for rid in reqs:
        if rid in exercised:
            continue
        if rid in skipped:
            missing[rid] = skipped[rid]
        elif rid in NOT_OBSERVABLE:
            missing[rid] = NOT_OBSERVABLE[rid]
        elif kind == "server" and rid in _CLIENT_SIDE:
            missing[rid] = f"a client's duty: checked with {NEEDS_CLIENT_CMD}"
        elif kind == "client" and rid in _SERVER_SIDE:
            missing[rid] = "a server's duty: run implus-conformance against a server"
        else:
            missing[rid] = "no check of the suite observes it yet"
    extra = sorted(set(exercised) - set(reqs))
    return {"total": len(reqs), "exercised": {k: exercised[k] for k in reqs if k in exercised}
            | {k: exercised[k] for k in extra},
            "not_exercised": missing}
