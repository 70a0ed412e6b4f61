"""Test results for people and for CI: a text table, the failed expectations with file:line,
JUnit XML (one testsuite per model, a testcase per scenario) and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.scenarios.record import RunRecord, Verdict
from carrier_studio.core.scenarios.record_json import record_to_dict
from carrier_studio.services.platform.files import atomic_write_text


def status(record: RunRecord) -> str:
    if record.error is not None:
        return "ERROR"
    return "PASS" if record.passed else "FAIL"


def _cell(record: RunRecord | None) -> str:
    if record is None:
        return "-"
    if record.error is not None:
        return "ERROR"
    passed = sum(v.passed for v in record.verdicts)
    return f"{status(record)} {passed}/{len(record.verdicts)}"


def table(records: Sequence[RunRecord]) -> str:
    """Scenarios down, models across, each cell PASS/FAIL with the expectations passed."""
    scenarios = list(dict.fromkeys(r.scenario for r in records))
    models = list(dict.fromkeys(r.model for r in records))
    cells = {(r.scenario, r.model): r for r in records}
    rows = [["scenario", *models]]
    rows += [[s, *(_cell(cells.get((s, m))) for m in models)] for s in scenarios]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    passed = sum(r.passed for r in records)
    errors = sum(r.error is not None for r in records)
    summary = f"{passed} of {len(records)} runs passed"
    if errors:
        summary += f"; {errors} could not run"
    return "\n".join([*lines, "", summary])


def verdict_line(verdict: Verdict) -> str:
    """``scenarios/greet.yaml:12: turn 2: contains "croissant": the reply has no …``."""
    from carrier_studio.core.scenarios.expectations import describe

    turn = "whole run" if verdict.turn is None else f"turn {verdict.turn + 1}"
    text = f"{verdict.expect.where}: {turn}: {describe(verdict.expect)}: {verdict.detail}"
    if verdict.reasoning:
        text += f" (judge: {verdict.reasoning})"
    return text


def failures(records: Sequence[RunRecord]) -> str:
    """Every run that did not pass, with why: its error or each failed expectation."""
    blocks = []
    for record in records:
        if record.passed:
            continue
        lines = [f"{status(record)} {record.scenario} on {record.model}"]
        if record.error is not None:
            lines.append(f"  {record.error}")
        lines += [f"  {verdict_line(v)}" for v in record.verdicts if not v.passed]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def junit_xml(scenarios: Sequence[Scenario], records: Sequence[RunRecord]) -> str:
    paths = {s.name: str(s.path) for s in scenarios}
    root = ET.Element("testsuites", name="carrier-studio test")
    for model in dict.fromkeys(r.model for r in records):
        runs = [r for r in records if r.model == model]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=model,
            tests=str(len(runs)),
            failures=str(sum(r.error is None and not r.passed for r in runs)),
            errors=str(sum(r.error is not None for r in runs)),
            time=f"{sum(r.latency_s for r in runs):.3f}",
        )
        for record in runs:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=model,
                name=record.scenario,
                file=paths.get(record.scenario, ""),
                time=f"{record.latency_s:.3f}",
            )
            failed = [v for v in record.verdicts if not v.passed]
            if record.error is not None:
                error = ET.SubElement(case, "error", message=record.error, type="NotStarted")
                error.text = record.error
            elif failed:
                lines = [verdict_line(v) for v in failed]
                failure = ET.SubElement(case, "failure", message=lines[0], type="Expectation")
                failure.text = "\n".join(lines)
            transcript = []
            for index, turn in enumerate(record.turns, start=1):
                transcript.append(f"[{index}] user: {turn.user}")
                transcript.append(f"[{index}] {turn.agent or record.character}: {turn.reply}")
            if transcript:
                ET.SubElement(case, "system-out").text = "\n".join(transcript)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, scenarios: Sequence[Scenario], records: Sequence[RunRecord]) -> None:
    atomic_write_text(path, junit_xml(scenarios, records))


def write_json(path: Path, scenarios: Sequence[Scenario], records: Sequence[RunRecord]) -> None:
    paths = {s.name: str(s.path) for s in scenarios}
    runs = [{**record_to_dict(r), "path": paths.get(r.scenario, "")} for r in records]
    atomic_write_text(path, json.dumps({"runs": runs}, ensure_ascii=False, indent=2) + "\n")
