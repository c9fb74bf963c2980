"""The suite's outputs: a readable summary, JUnit XML (one testcase per check), a JSON report."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .checks import FAIL, NON_STRICT, PASS, SKIP
from .runner import Report


def _one_line(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(report: Report, verbose: bool = False) -> str:
    c = report.config
    lines = [f"IMPlus conformance suite: exchange {c.exchange!r}, seed {report.seed}, "
             f"{c.max_examples} examples x {c.max_steps} steps"
             f"{' (strict)' if c.strict else ''}", ""]
    width = max(len(r.check.id) for r in report.results)
    lines.append(f"  {'CHECK'.ljust(width)}  {'REQ'.ljust(7)} {'LEVEL'.ljust(6)} GRADE")
    for r in report.results:
        lines.append(f"  {r.check.id.ljust(width)}  {r.check.requirement.ljust(7)} {r.check.level.ljust(6)} {r.grade}")
        if r.evidence and r.grade in (FAIL, NON_STRICT):
            lines.append(f"  {' ' * width}    evidence: {_one_line(r.evidence)}")
        elif verbose:
            lines.append(f"  {' ' * width}    {r.check.title} (exercised {r.exercised}x, {r.duration:.2f} s)")
    counts = {g: sum(1 for r in report.results if r.grade == g) for g in (PASS, FAIL, NON_STRICT, SKIP)}
    lines.append("")
    if report.minimal_steps:
        lines.append(f"Minimal failing sequence ({report.minimal_requirement}):")
        lines += [f"  {i}. {_one_line(s, 160)}" for i, s in enumerate(report.minimal_steps, 1)]
        lines.append(f"Replay: {report.replay_command()}")
        lines.append("")
    if verbose and report.hypothesis_output:
        lines += ["hypothesis said:", report.hypothesis_output, ""]
    if report.error:
        lines.append(f"error: {report.error}")
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"RESULT: {verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[NON_STRICT]} non-strict, "
                 f"{counts[SKIP]} skipped; {report.examples} state machine runs in {report.duration:.1f} s")
    return "\n".join(lines)


def junit_xml(report: Report) -> bytes:
    results = report.results
    suite = ET.Element("testsuite", name="implus-conformance", tests=str(len(results)),
                       failures=str(sum(r.grade == FAIL for r in results)),
                       skipped=str(sum(r.grade == SKIP for r in results)),
                       errors="1" if report.error else "0", time=f"{report.duration:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("exchange", report.config.exchange), ("seed", str(report.seed)), ("replay", report.replay_command())):
        ET.SubElement(props, "property", name=k, value=v)
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"implus.conformance.{r.check.level.lower()}",
                             name=f"{r.check.id} [{r.check.requirement}]", time=f"{r.duration:.3f}")
        if r.grade == FAIL:
            f = ET.SubElement(case, "failure", message=_one_line(r.evidence, 500), type=r.check.requirement)
            f.text = "\n".join([r.evidence or "", "", "steps:", *r.steps, "", "replay: " + report.replay_command()])
        elif r.grade == SKIP:
            ET.SubElement(case, "skipped", message="never exercised in this run")
        elif r.grade == NON_STRICT:
            ET.SubElement(case, "system-out").text = f"NON-STRICT ({r.check.level}): {r.evidence}"
    if report.error:
        case = ET.SubElement(suite, "testcase", classname="implus.conformance", name="harness")
        ET.SubElement(case, "error", message=report.error)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def json_report(report: Report) -> str:
    doc = {
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
        "minimal_failure": None if not report.minimal_steps else
        {"requirement": report.minimal_requirement, "steps": report.minimal_steps},
        "checks": {r.check.id: r.as_dict() for r in report.results},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def write_outputs(report: Report, junit: str | None, json_path: str | None) -> None:
    if junit:
        Path(junit).write_bytes(junit_xml(report))
    if json_path:
        Path(json_path).write_text(json_report(report) + "\n", encoding="utf-8")
