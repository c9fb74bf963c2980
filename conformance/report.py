"""The suite's outputs: a readable summary, JUnit XML (one testcase per check), a JSON report,
and the failure file that --replay reruns."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from .checks import FAIL, NON_STRICT, PASS, SKIP, Result
from .coverage import coverage
from .requirements import requirements, source
from .runner import Report


def _one_line(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rk(rk: str) -> str:
    return f"{rk[:8]}…" if len(rk) == 32 else rk


def requirement_quote(req_id: str, fallback: str) -> str:
    """'SPEC.md §8 [FWD-2]: "The server MUST ..."', or the check's own summary without SPEC texts."""
    req = requirements().get(req_id)
    if req is None:
        return f"[{req_id}] {fallback} (requirement text not available)"
    return f"SPEC.md §{req.section} [{req_id}]: \"{req.text}\""


def failure_block(r: Result, report: Report, failure_file: str | None, indent: str = "  ") -> list[str]:
    """What a person needs to act on one failed check."""
    wrap = lambda text, pre: textwrap.wrap(text, 100, initial_indent=pre, subsequent_indent=pre + "  ")  # noqa: E731
    c = r.check
    lines = [f"{c.id} [{c.requirement}] {c.level} {r.grade}: {c.title}"]
    lines += wrap(requirement_quote(c.requirement, c.title), indent)
    lines += wrap(f"what happened: {r.evidence}", indent)
    f = r.finding
    if f is not None and f.expected:
        lines += wrap(f"expected: {f.expected}", indent)
    if f is not None:
        lines.append(f"{indent}arrived ({len(f.arrived)} bodies in that step{', first 12' if len(f.arrived) >= 12 else ''}):"
                     if f.arrived else f"{indent}arrived: nothing in that step")
        for d in f.arrived:
            props = "" if (d.get("content_type"), d.get("delivery_mode")) == ("application/json", 2) else \
                f" [content_type {d.get('content_type')!r}, delivery_mode {d.get('delivery_mode')!r}]"
            lines.append(f"{indent}  -> {d['to']}, routing key {_rk(d['routing_key'])!r}{props}: {d['body']}")
        if f.sent:
            lines.append(f"{indent}the suite sent in that step:")
            lines += [f"{indent}  <- routing key {_rk(s['routing_key'])!r}: {s['body']}" for s in f.sent]
    if r.steps:
        minimal = c.requirement == report.minimal_requirement and r.steps == report.minimal_steps
        lines.append(f"{indent}{'minimal step sequence' if minimal else 'steps'}:")
        lines += [f"{indent}  {i}. {_one_line(s, 160)}" for i, s in enumerate(r.steps, 1)]
    return lines


def summary(report: Report, verbose: bool = False, failure_file: str | None = None) -> str:
    c = report.config
    if report.kind == "client":
        head = f"IMPlus client conformance: exchange {c.exchange!r}"
    else:
        head = (f"IMPlus conformance suite: exchange {c.exchange!r}, seed {report.seed}, "
                f"{c.max_examples} examples x {c.max_steps} steps{' (strict)' if c.strict else ''}"
                f"{' (replay of a failure file)' if c.replay else ''}")
    lines = [head, ""]
    width = max(len(r.check.id) for r in report.results)
    lines.append(f"  {'CHECK'.ljust(width)}  {'REQ'.ljust(7)} {'LEVEL'.ljust(6)} GRADE")
    for r in report.results:
        lines.append(f"  {r.check.id.ljust(width)}  {r.check.requirement.ljust(7)} {r.check.level.ljust(6)} {r.grade}")
        if r.evidence and r.grade in (FAIL, NON_STRICT):
            lines.append(f"  {' ' * width}    evidence: {_one_line(r.evidence)}")
        elif r.grade == SKIP and r.reason and (verbose or r.check.needs):
            lines.append(f"  {' ' * width}    skipped: {r.reason}")
        elif verbose:
            lines.append(f"  {' ' * width}    {r.check.title} (exercised {r.exercised}x, {r.duration:.2f} s)")
    counts = {g: sum(1 for r in report.results if r.grade == g) for g in (PASS, FAIL, NON_STRICT, SKIP)}
    failed = [r for r in report.results if r.grade in (FAIL, NON_STRICT)]
    if failed:
        lines += ["", f"Failures (requirement texts from {source()}):"]
        for r in failed:
            lines += ["", *("  " + l for l in failure_block(r, report, failure_file))]
    cov = coverage(report.results, report.kind)
    lines += ["", f"Coverage: {len(cov['exercised'])} of {cov['total']} requirements of SPEC.md exercised: "
                  + ", ".join(cov["exercised"])]
    if cov["not_exercised"]:
        lines.append("  not exercised:")
        lines += [f"    {rid.ljust(7)} {why}" for rid, why in cov["not_exercised"].items()]
    lines.append("")
    if report.minimal_steps is not None and report.minimal_requirement is not None and report.kind == "server":
        m = report.minimal_result
        if m is None or m.steps != report.minimal_steps:
            lines.append(f"Minimal failing sequence ({report.minimal_requirement}):")
            lines += [f"  {i}. {_one_line(s, 160)}" for i, s in enumerate(report.minimal_steps, 1)]
        else:
            lines.append(f"Minimal failing sequence: the {len(m.steps)} steps of {m.check.id} [{m.check.requirement}] above.")
        if c.replay:
            lines.append(f"Replay steps: {report.replay_command(c.replay.get('path') or 'FAILURE.json')}")
        else:
            if failure_file:
                lines.append(f"Failure saved to {failure_file}; rerun exactly these steps against any server:")
                lines.append(f"Replay steps: {report.replay_command(failure_file)}")
            lines.append(f"Replay: {report.replay_command()}")
        lines.append("")
    if report.kind == "client" and not report.passed:
        lines += [f"Rerun: {report.replay_command()}", ""]
    if verbose and report.hypothesis_output:
        lines += ["hypothesis said:", report.hypothesis_output, ""]
    if report.error:
        lines.append(f"error: {report.error}")
    verdict = "PASS" if report.passed else "FAIL"
    runs = f"{report.examples} state machine runs" if report.kind == "server" else "client sessions"
    lines.append(f"RESULT: {verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[NON_STRICT]} non-strict, "
                 f"{counts[SKIP]} skipped; {runs} in {report.duration:.1f} s")
    return "\n".join(lines)


def junit_xml(report: Report, failure_file: str | None = None) -> bytes:
    results = report.results
    suite = ET.Element("testsuite", name=f"implus-conformance{'-client' if report.kind == 'client' else ''}",
                       tests=str(len(results)), failures=str(sum(r.grade == FAIL for r in results)),
                       skipped=str(sum(r.grade == SKIP for r in results)),
                       errors="1" if report.error else "0", time=f"{report.duration:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("exchange", report.config.exchange), ("seed", str(report.seed)),
                 ("replay", report.replay_command(failure_file))):
        ET.SubElement(props, "property", name=k, value=v)
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"implus.conformance.{r.check.level.lower()}",
                             name=f"{r.check.id} [{r.check.requirement}]", time=f"{r.duration:.3f}")
        if r.grade == FAIL:
            f = ET.SubElement(case, "failure", message=_one_line(r.evidence, 500), type=r.check.requirement)
            f.text = "\n".join([*failure_block(r, report, failure_file), "",
                                "replay: " + report.replay_command(failure_file)])
        elif r.grade == SKIP:
            ET.SubElement(case, "skipped", message=r.reason or "never exercised in this run")
        elif r.grade == NON_STRICT:
            ET.SubElement(case, "system-out").text = "\n".join(failure_block(r, report, failure_file))
    if report.error:
        case = ET.SubElement(suite, "testcase", classname="implus.conformance", name="harness")
        ET.SubElement(case, "error", message=report.error)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def json_report(report: Report, failure_file: str | None = None) -> str:
    doc = {
        "kind": report.kind,
        "exchange": report.config.exchange,
        "seed": report.seed,
        "max_examples": report.config.max_examples,
        "max_steps": report.config.max_steps,
        "strict": report.config.strict,
        "passed": report.passed,
        "duration": round(report.duration, 3),
        "examples": report.examples,
        "error": report.error,
        "replay": report.replay_command(),
        "replay_steps": report.replay_command(failure_file) if failure_file else None,
        "failure_file": failure_file,
        "minimal_failure": None if report.minimal_steps is None or report.minimal_requirement is None else
        {"requirement": report.minimal_requirement, "steps": report.minimal_steps, "calls": report.minimal_calls},
        "checks": {r.check.id: r.as_dict() for r in report.results},
        "coverage": coverage(report.results, report.kind),
        "requirement_source": source(),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def save_failure(report: Report, path: str) -> str | None:
    doc = report.failure_doc()
    if doc is None:
        return None
    Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_outputs(report: Report, junit: str | None, json_path: str | None, failure_file: str | None = None) -> None:
    if junit:
        Path(junit).write_bytes(junit_xml(report, failure_file))
    if json_path:
        Path(json_path).write_text(json_report(report, failure_file) + "\n", encoding="utf-8")
