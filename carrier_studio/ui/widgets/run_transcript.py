"""One test run shown whole: what the user said, what the character replied and called, each
expectation's verdict where it applies (failed ones marked with their ``file:line`` and the
judge's reasoning), and what changed since the previous run of the same scenario on the same
model. Used by the Tests page only."""

from __future__ import annotations

import difflib
import json
from html import escape

from PySide6.QtWidgets import QTextBrowser, QWidget

from carrier_studio.core.scenarios.model import Where
from carrier_studio.core.scenarios.record import RunRecord, Verdict


def place(where: Where | None) -> str:
    """``greet.yaml:12``: the file's name is enough inside the workspace's scenarios folder."""
    return f"{where.path.name}:{where.line}" if where is not None else ""


def _verdict_key(verdict: Verdict) -> tuple[int | None, str, int | None]:
    return (verdict.expect.where.line, verdict.expect.kind, verdict.turn)


def differences(previous: RunRecord | None, current: RunRecord) -> list[str]:
    """What changed since ``previous``, one plain line each (empty: nothing did)."""
    if previous is None:
        return ["No earlier run of this scenario on this model."]
    lines: list[str] = []

    def outcome(r: RunRecord) -> str:
        return "error" if r.error else ("pass" if r.passed else "fail")

    if outcome(previous) != outcome(current):
        lines.append(f"Was {outcome(previous)}, now {outcome(current)}.")
    before = {_verdict_key(v): v for v in previous.verdicts}
    for verdict in current.verdicts:
        old = before.get(_verdict_key(verdict))
        where = place(verdict.expect.where)
        if old is None:
            lines.append(f"New expectation {verdict.expect.kind} at {where}.")
        elif old.passed != verdict.passed:
            now = "holds" if verdict.passed else "fails"
            lines.append(f"{verdict.expect.kind} at {where} now {now}: {verdict.detail}")
    if abs(current.latency_s - previous.latency_s) >= 0.05:
        delta = current.latency_s - previous.latency_s
        lines.append(
            f"Latency {previous.latency_s:.1f} s → {current.latency_s:.1f} s ({delta:+.1f} s)."
        )
    if current.tokens != previous.tokens:
        lines.append(f"Tokens {previous.tokens} → {current.tokens}.")
    if current.cost_usd != previous.cost_usd and None not in (current.cost_usd, previous.cost_usd):
        lines.append(f"Cost ${previous.cost_usd:.4f} → ${current.cost_usd:.4f}.")
    for number, (old_turn, new_turn) in enumerate(
        zip(previous.turns, current.turns, strict=False), 1
    ):
        if old_turn.reply != new_turn.reply:
            diff = difflib.unified_diff(
                old_turn.reply.splitlines(), new_turn.reply.splitlines(), lineterm="", n=1
            )
            body = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
            lines.append(f"Turn {number} reply changed:\n" + "\n".join(body[:12]))
    if len(previous.turns) != len(current.turns):
        lines.append(f"Turns {len(previous.turns)} → {len(current.turns)}.")
    return lines or ["Same outcome, replies and figures as the previous run."]


class RunTranscript(QTextBrowser):
    """A read-only view of one `RunRecord`."""

    def __init__(self, colors: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runTranscript")
        self.setOpenLinks(False)
        self._colors = colors
        self.record: RunRecord | None = None
        self.show_empty()

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors

    def show_empty(self, text: str = "Run tests, then pick a cell to see its transcript.") -> None:
        self.record = None
        self.setHtml(f"<p style='color:{self._colors['text_muted']}'>{escape(text)}</p>")

    def show_problem(self, text: str) -> None:
        """Why a scenario file cannot be run (``file:line: field: what``)."""
        self.record = None
        self.setHtml(
            f"<h4 style='color:{self._colors['error']}'>This file cannot be run</h4>"
            f"<pre style='white-space:pre-wrap'>{escape(text)}</pre>"
        )

    def show_record(
        self, record: RunRecord, previous: RunRecord | None, *, compared: bool = True
    ) -> None:
        """Draw ``record``; ``compared`` False while the previous run is still being read."""
        self.record = record
        c = self._colors
        parts = [self._heading(record)]
        failed = [v for v in record.verdicts if not v.passed]
        if failed:
            parts.append(f"<h4 style='color:{c['error']}'>Failed expectations</h4>")
            parts += [self._verdict(v) for v in failed]
        for number, turn in enumerate(record.turns):
            parts.append(f"<h4>Turn {number + 1}</h4>")
            parts.append(self._line("User", turn.user, c["accent"]))
            parts += [
                self._line("Recalled", f"{mid}: {text}", c["text_muted"])
                for mid, text in turn.recalled
            ]
            for call in turn.tool_calls:
                arguments = json.dumps(call.arguments, ensure_ascii=False)
                parts.append(
                    self._line(f"Tool {call.name}", f"{arguments} → {call.result}", c["text_muted"])
                )
            parts += [self._line("Handoff", to, c["text_muted"]) for to in turn.handoffs]
            parts += [
                self._line("Approval asked", tool, c["warn"]) for tool in turn.approvals_asked
            ]
            if turn.reply:
                parts.append(self._line(turn.agent or record.character, turn.reply, c["text"]))
            if turn.error:
                parts.append(self._line("Error", turn.error, c["error"]))
            parts += [self._verdict(v) for v in record.verdicts if v.turn == number]
        whole = [v for v in record.verdicts if v.turn is None]
        if whole:
            parts.append("<h4>The whole run</h4>")
            parts += [self._verdict(v) for v in whole]
        parts.append("<h4>Since the previous run</h4>")
        if compared:
            parts += [
                f"<pre style='white-space:pre-wrap'>{escape(line)}</pre>"
                for line in differences(previous, record)
            ]
        else:
            parts.append(f"<p style='color:{c['text_muted']}'>Reading the previous run…</p>")
        self.setHtml("\n".join(parts))

    def _heading(self, record: RunRecord) -> str:
        c = self._colors
        if record.error:
            outcome, color = "Could not run", c["error"]
        elif record.passed:
            outcome, color = "Passed", c["ok"]
        else:
            outcome, color = "Failed", c["error"]
        figures = [] if record.error else [f"{record.latency_s:.1f} s", f"{record.tokens} tokens"]
        if record.cost_usd is not None:
            figures.append(f"${record.cost_usd:.4f}")
        if record.replayed:
            figures.append("replayed from the cassette")
        html = (
            f"<h3>{escape(record.scenario)} on {escape(record.model)}: "
            f"<span style='color:{color}'>{outcome}</span></h3>"
        )
        if figures:
            html += f"<p style='color:{c['text_muted']}'>{escape(' · '.join(figures))}</p>"
        if record.error:
            html += f"<p style='color:{c['error']}'>{escape(record.error)}</p>"
        for note in record.notes:  # what the run went without (a small window's left-outs)
            html += f"<p style='color:{c['text_muted']}'>{escape(note)}</p>"
        return html

    @staticmethod
    def _line(who: str, text: str, color: str) -> str:
        body = escape(text).replace("\n", "<br>")
        return f"<p><b style='color:{color}'>{escape(who)}:</b> {body}</p>"

    def _verdict(self, verdict: Verdict) -> str:
        c = self._colors
        mark, color = ("✓", c["ok"]) if verdict.passed else ("✗", c["error"])
        value = verdict.expect.value
        shown = "" if value is None else f" {json.dumps(value, ensure_ascii=False)}"
        html = (
            f"<p style='margin-left:12px'><span style='color:{color}'><b>{mark} "
            f"{escape(verdict.expect.kind)}</b>{escape(shown)}</span> "
            f"<code>{escape(place(verdict.expect.where))}</code><br>{escape(verdict.detail)}"
        )
        if verdict.reasoning:
            html += f"<br><i style='color:{c['text_muted']}'>Judge: {escape(verdict.reasoning)}</i>"
        return html + "</p>"
