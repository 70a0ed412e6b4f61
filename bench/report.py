"""Run every bench and write one markdown table: figure, target, baseline, ratio, load (#21).

Run: ``nice uv run python bench/report.py [--full] [--only mcp memory_real] [--write]``.

Each bench runs in a process of its own (as one would run it by hand), one after the other, and
its output is kept whole in the log (``--log``, default /tmp/carrier-bench-report.log). The
figures are read from that output: each bench prints a figure beside the baseline it measured in
the same run (a bare call, numpy's exact search, the SDK's own spawn, …), and the table puts
them side by side with their ratio and the machine's load average when the bench ended. A bench
that is missing, fails or prints something the reader below no longer recognises gets a row
saying so (the log has its output) rather than stopping the report.

By default every bench runs in a quick mode (fewer runs, smaller data; the table's "mode"
column says which arguments ran); ``--full`` runs each with its own defaults, which takes an
hour or more on 2 cores. ``--write`` replaces the "Latest report" section of
docs/performance.md with the table.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Latest report"
NUMBER = r"([0-9][0-9,]*\.?[0-9]*)"


@dataclass
class Figure:
    """One row: ``value`` and (optionally) ``baseline`` are regexes whose first group is a
    number in the bench's output; ``unit`` is how the bench printed it."""

    label: str
    target: str
    value: str
    unit: str
    baseline: str | None = None
    baseline_label: str = ""
    #: The ratio is now / baseline, unless the target is a speed-up: then baseline / now.
    speedup: bool = False


@dataclass
class Bench:
    script: str
    quick: list[str]
    figures: list[Figure]
    full: list[str] = field(default_factory=list)
    timeout: float = 1800.0


BENCHES = [
    Bench(
        "chat.py",
        ["--runs", "9", "--mcp-runs", "3", "--real-runs", "9"],
        [
            Figure(
                "chat: send → first token painted",
                "≤ 1.15× bare",
                r"send -> first token painted\s+median\s+" + NUMBER,
                "ms",
                r"bare openai stream -> first delta\s+median\s+" + NUMBER,
                "bare `openai`",
            ),
            Figure(
                "chat: the same, event-loop thread's CPU",
                "—",
                r"event-loop thread CPU: studio " + NUMBER,
                "ms",
                r"event-loop thread CPU: studio [\d.]+ ms, bare " + NUMBER,
                "bare `openai`",
            ),
            Figure(
                "chat: longest loop gap while streaming",
                "≤ 16 ms",
                r"loop gaps while streaming.*\n\s+max " + NUMBER,
                "ms",
            ),
            Figure(
                "chat: Stop → turn ended (median)",
                "≤ 100 ms",
                r"turn ended: median " + NUMBER,
                "ms",
            ),
            Figure(
                "chat: first turn, character's stdio servers ready",
                "≤ 1.2× bare",
                r"servers ready:\s+send -> first token median\s+" + NUMBER,
                "ms",
                r"servers ready:.*bare " + NUMBER,
                "bare call",
            ),
            Figure(
                "chat: send → first token painted on a real model (SmolLM2-135M, llama.cpp)",
                "≤ 1.15× bare",
                r"\(e\) real model.*\n\s+send -> first token painted median\s+" + NUMBER,
                "ms",
                r"\(e\) real model.*\n.*bare openai " + NUMBER,
                "bare `openai`, same server",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "context_fit.py",
        ["--turns", "100", "500", "--calls", "10"],
        [
            Figure(
                "chat: fitting 100 turns into the context window, per model call",
                "—",
                r"gpt-4o tools\s+100 turns.*incremental\s+" + NUMBER,
                "ms",
                r"gpt-4o tools\s+100 turns.*before\s+" + NUMBER,
                "every item measured, as before",
            ),
            Figure(
                "chat: the same, 500 turns into an 8k window (most left out)",
                "—",
                r"llama3 tools\s+500 turns.*incremental\s+" + NUMBER,
                "ms",
                r"llama3 tools\s+500 turns.*before\s+" + NUMBER,
                "every item measured, as before",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "connect.py",
        ["--runs", "7", "--pause-runs", "1"],
        [
            Figure(
                "chat: a new conversation's send → first token, TLS, 40 ms round trip",
                "2 round trips less",
                r"after: shared clients\s+median\s+" + NUMBER,
                "ms",
                r"before: fresh client per conversation\s+median\s+" + NUMBER,
                "a new client per conversation",
            ),
            Figure(
                "chat: the same after a 6 s pause (past httpx's 5 s keep-alive)",
                "≈ no pause",
                r"after, [\d.]+ s pause before each\s+median\s+" + NUMBER,
                "ms",
            ),
            Figure(
                "chat: the first conversation of a session, sent 0.3 s after it opened",
                "2 round trips less",
                r"warmed as it opened\s+median\s+" + NUMBER,
                "ms",
                r"not warmed \(before\)\s+median\s+" + NUMBER,
                "not warmed",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "mcp.py",
        ["--quick"],
        [
            Figure(
                "MCP: longest loop stall while 3 stdio servers start",
                "≤ 16 ms",
                r"spawner thread \(now\)\s+wall\s+" + NUMBER,
                "ms",
                r"spawn on the loop \(before\)\s+wall\s+" + NUMBER,
                "SDK's spawn on the loop",
            ),
            Figure(
                "MCP: the same, idle loop (the machine's floor)",
                "—",
                r"idle loop, same length \(the floor\)\s+wall\s+" + NUMBER,
                "ms",
            ),
            Figure(
                "MCP: most loop-thread CPU between two ticks",
                "—",
                r"between ticks: now\s+" + NUMBER,
                "ms",
                r"^\s+before\s+" + NUMBER,
                "SDK's spawn on the loop",
            ),
            Figure(
                "MCP: three servers at once, connect + list tools",
                "≈ slowest alone",
                r"three at once \(ensure\)\s+" + NUMBER,
                "ms",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "memory.py",
        ["--queries", "30"],
        [
            # bench/memory.py measures 1M recall in two states of the OS page cache, each
            # with queries not asked before: "cached:" lines and "cold:" lines.
            Figure(
                "memory 1M: recall p50, file in the OS cache",
                "≤ 25 ms",
                r"cached: store semantic p50\s+" + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?\s+numpy brute force p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "memory 1M: recall p95, file in the OS cache",
                "≤ 60 ms",
                r"cached: store semantic.*p95\s+" + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?\s+numpy brute force.*p95\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "memory 1M: first recall after opening (loads the bit index), file in the OS cache",
                "≤ 0.25 s",
                r"cached: first query after open \(loads the bit index\): " + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?.*bit index read from the rows, as before schema 10: " + NUMBER,
                "the index read from the rows",
            ),
            Figure(
                "memory 1M: recall p50, file not in the OS cache (after a reboot)",
                "≤ 25 ms",
                r"cold: store semantic p50\s+" + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?\s+numpy brute force p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "memory 1M: recall p95, file not in the OS cache (after a reboot)",
                "≤ 60 ms",
                r"cold: store semantic.*p95\s+" + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?\s+numpy brute force.*p95\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "memory 1M: first recall after opening, file not in the OS cache (after a reboot)",
                "≤ 0.25 s",
                r"cold: first query after open \(loads the bit index\): " + NUMBER,
                "ms",
                r"cached: first query after open \(loads the bit index\): " + NUMBER,
                "the same, file in the OS cache",
            ),
            # Cold passes with the store's vectors warming (services/memory/sqlite_warm.py),
            # beside the pass with it off ("cold, no warming:").
            Figure(
                "memory 1M: recall p50, file not in the OS cache, from 2 s after opening",
                "≤ 25 ms",
                r"cold 2 s after opening: store semantic p50\s+" + NUMBER,
                "ms",
                r"cold, no warming: store semantic p50\s+" + NUMBER,
                "the same from opening, warming off",
            ),
            Figure(
                "memory 1M: recall p95, file not in the OS cache, from 2 s after opening",
                "≤ 60 ms",
                r"cold 2 s after opening: store semantic.*p95\s+" + NUMBER,
                "ms",
                r"cold, no warming: store semantic.*p95\s+" + NUMBER,
                "the same from opening, warming off",
            ),
            Figure(
                "memory 1M: recall p95, file not in the OS cache, once the warming finished",
                "≤ 60 ms",
                r"cold, warming done: store semantic.*p95\s+" + NUMBER,
                "ms",
                r"cold, no warming: store semantic.*p95\s+" + NUMBER,
                "the same from opening, warming off",
            ),
            Figure(
                "memory 1M: recall@10, clustered synthetic vectors (file in the OS cache)",
                "≥ 0.97",
                r"cached: store semantic.*recall@10 " + NUMBER,
                "",
            ),
            Figure(
                "memory: batched insert",
                "≥ 25k rows/s",
                r"batched insert.*?: " + NUMBER + " rows/s",
                "rows/s",
            ),
            Figure(
                "memory: batched insert, per CPU-second (what a free core gives)",
                "—",
                r"batched insert.*? wall, " + NUMBER + " rows per CPU-second",
                "rows/s",
            ),
            Figure(
                "memory 1M: recall p95 during an import (same store)",
                "≤ 60 ms",
                r"\(b\)(?:.*\n)*?\s+during an import.*?\sp95\s+" + NUMBER,
                "ms",
                r"\(b\)(?:.*\n)*?.*queued on the writer's thread \(before\) p95\s+" + NUMBER,
                "searches queued behind the import's writes, before",
            ),
            Figure(
                "memory 100k: recall p50",
                "≤ 10 ms",
                r"\(a\)(?:.*\n)*?\s+store semantic\s+p50\s+" + NUMBER,
                "ms",
                r"\(a\)(?:.*\n)*?\s+numpy brute force p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "memory 1M: Memory page, first screen",
                "≤ 150 ms",
                r"first screen\s+" + NUMBER,
                "ms",
                r"store\.page alone\s+" + NUMBER,
                "store.page alone",
            ),
            Figure(
                "memory 1M: a filter that matches nothing, first page",
                "≤ 50 ms",
                r"\+ source instagram\s+first screen\s+" + NUMBER,
                "ms",
                r"\+ source instagram.*store\.page alone\s+" + NUMBER,
                "store.page alone",
            ),
            Figure(
                "memory 1M: one source across all characters, first page",
                "≤ 50 ms",
                r"\n\s+source instagram, all characters\s+first screen\s+" + NUMBER,
                "ms",
                r"\n\s+source instagram, all characters.*store\.page alone\s+" + NUMBER,
                "store.page alone",
            ),
            Figure(
                "memory 1M: Memory page, first screen while an import writes",
                "≤ 150 ms",
                r"importing, all memories\s+first screen\s+" + NUMBER,
                "ms",
                r"importing, all memories.*store\.page alone\s+" + NUMBER,
                "store.page alone",
            ),
            Figure(
                "memory: local embedding, batched",
                "≥ 150/s",
                r"batch 16:\s+" + NUMBER + " sentences/s",
                "sentences/s",
                r"batch 1:\s+" + NUMBER + " sentences/s",
                "batch 1",
            ),
        ],
        timeout=3600.0,
    ),  # fmt: skip
    Bench(
        "memory_real.py",
        ["--queries", "100"],
        [
            Figure(
                "real embeddings 100k: recall@10 (default candidates)",
                "≥ 0.97",
                r"100k: (?:.*\n)*?.*cand\..*recall@10 " + NUMBER,
                "",
            ),
            Figure(
                "real embeddings 100k: recall p50",
                "—",
                r"100k: (?:.*\n)*?.*cand\. p50\s+" + NUMBER,
                "ms",
                r"100k: (?:.*\n)*?\s+numpy exact\s+p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "real embeddings 100k: recall p95",
                "—",
                r"100k: (?:.*\n)*?.*cand\..*p95\s+" + NUMBER,
                "ms",
                r"100k: (?:.*\n)*?\s+numpy exact.*p95\s+" + NUMBER,
                "numpy exact",
            ),
            # At 1M, "cached:" lines (the file read whole first; the default's is the first)
            # and a "cold:" line (the file dropped from the OS cache first), other queries.
            Figure(
                "real embeddings 1M (noisy copies): recall@10 (file in the OS cache)",
                "≥ 0.97",
                r"1M \((?:.*\n)*?\s+cached: .*cand\..*recall@10 " + NUMBER,
                "",
            ),
            Figure(
                "real embeddings 1M: recall p50, file in the OS cache",
                "≤ 25 ms",
                r"1M \((?:.*\n)*?\s+cached: .*cand\. p50\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+numpy exact\s+p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "real embeddings 1M: recall p95, file in the OS cache",
                "≤ 60 ms",
                r"1M \((?:.*\n)*?\s+cached: .*cand\..*p95\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+numpy exact.*p95\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "real embeddings 1M: first recall after opening, file in the OS cache",
                "≤ 0.25 s",
                r"1M \((?:.*\n)*?\s+cached: .*first query\s+" + NUMBER,
                "ms",
            ),
            Figure(
                "real embeddings 1M: recall p50, file not in the OS cache (after a reboot)",
                "≤ 25 ms",
                r"1M \((?:.*\n)*?\s+cold: .*cand\. p50\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+numpy exact\s+p50\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "real embeddings 1M: recall p95, file not in the OS cache (after a reboot)",
                "≤ 60 ms",
                r"1M \((?:.*\n)*?\s+cold: .*cand\..*p95\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+numpy exact.*p95\s+" + NUMBER,
                "numpy exact",
            ),
            Figure(
                "real embeddings 1M: first recall after opening, file not in the OS cache",
                "≤ 0.25 s",
                r"1M \((?:.*\n)*?\s+cold: .*first query\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+cached: .*first query\s+" + NUMBER,
                "the same, file in the OS cache",
            ),
            Figure(
                "real embeddings 1M: recall p50, file not in the OS cache, from 2 s after opening",
                "≤ 25 ms",
                r"1M \((?:.*\n)*?\s+cold 2 s after opening: .*cand\. p50\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+cold, no warming: .*cand\. p50\s+" + NUMBER,
                "the same from opening, warming off",
            ),
            Figure(
                "real embeddings 1M: recall p95, file not in the OS cache, from 2 s after opening",
                "≤ 60 ms",
                r"1M \((?:.*\n)*?\s+cold 2 s after opening: .*cand\..*p95\s+" + NUMBER,
                "ms",
                r"1M \((?:.*\n)*?\s+cold, no warming: .*cand\..*p95\s+" + NUMBER,
                "the same from opening, warming off",
            ),
            Figure(
                "local embedding of chat lines",
                "≥ 150/s",
                r"embedding rate now: " + NUMBER,
                "lines/s",
            ),
        ],
        timeout=3600.0,
    ),  # fmt: skip
    Bench(
        "memory_supabase.py",
        ["--rows", "2000", "--queries", "20", "--move", "10000"],
        [
            Figure(
                "Supabase: moving memories into it, COPY over the database URL, until the rows "
                "are safe (the search index builds after)",
                "≥ 5k rows/s",
                r"COPY \(database URL\), rows safe\s+" + NUMBER,
                "rows/s",
                r"row by row \(before #21\)\s+" + NUMBER,
                "row by row",
            ),
            Figure(
                "Supabase: the same COPY move until its search index is ready (built in the "
                "background; searches exact meanwhile)",
                "—",
                r"COPY \(database URL\), index ready\s+" + NUMBER,
                "rows/s",
                r"row by row \(before #21\)\s+" + NUMBER,
                "row by row",
            ),
            Figure(
                "Supabase: the same COPY move with its index built inside it (as before the "
                "build moved to the background)",
                "—",
                r"COPY, index built in the move\s+" + NUMBER,
                "rows/s",
                r"row by row \(before #21\)\s+" + NUMBER,
                "row by row",
            ),
            Figure(
                "Supabase: the same through the API (no URL; index built once, in the move)",
                "—",
                r"API, bulk \(index built once\)\s+" + NUMBER,
                "rows/s",
                r"row by row \(before #21\)\s+" + NUMBER,
                "row by row",
            ),
            Figure(
                "Supabase: recall (client + HTTP + SQL) p50",
                "—",
                r"store\.search semantic.*?\s" + NUMBER + " ms",
                "ms",
                r"numpy brute force \(exact\)\s+" + NUMBER,
                "numpy exact",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "startup.py",
        ["--runs", "3"],
        [
            Figure(
                "start-up: Characters listed, existing profile",
                "≤ 1.0 s",
                r"studio, useful screen\s+median " + NUMBER,
                "s",
                r"bare PySide6 window, first paint\s+median " + NUMBER,
                "bare window",
            ),
            Figure(
                "start-up: Characters listed, fresh profile",
                "≤ 2.0 s",
                r"useful screen, fresh profile\s+median " + NUMBER,
                "s",
                r"bare PySide6 window, first paint\s+median " + NUMBER,
                "bare window",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "scenarios.py",
        ["--scenarios", "20"],
        [
            Figure(
                "character tests: matrix run, --jobs 4",
                "≥ 2.5× faster",
                r"--jobs 4\s+" + NUMBER + " s",
                "s",
                r"--jobs 1 \(baseline\)\s+" + NUMBER + " s",
                "--jobs 1",
                speedup=True,
            ),
            Figure(
                "character tests: replay, servers down",
                "≤ 10 s",
                r"--replay \(jobs 4\), servers down\s+" + NUMBER + " s",
                "s",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "instagram.py",
        ["--posts", "5", "--video-mb", "10"],
        [
            Figure(
                "Instagram: publish one image post through the worker",
                "—",
                r"worker, every step saved\s+" + NUMBER,
                "ms",
                r"direct calls \(baseline\)\s+" + NUMBER,
                "direct calls",
            ),
            Figure(
                "Instagram: longest loop stall, uploading a reel",
                "≤ 16 ms",
                r"reel: .*longest loop stall " + NUMBER,
                "ms",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "memory_locks.py",
        ["--n", "30000"],
        [
            Figure(
                "memory import: longest write-lock hold",
                "—",
                r"after:(?:.*\n)*?.*import of .*longest lock hold " + NUMBER,
                "s",
                r"before \(baselines\):(?:.*\n)*?.*import of .*longest lock hold " + NUMBER,
                "one transaction",
            ),
            Figure(
                "memory import: chat's longest write wait",
                "< 5 s busy timeout",
                r"after:(?:.*\n)*?.*import of .*chat's longest write wait " + NUMBER,
                "s",
                r"before \(baselines\):(?:.*\n)*?.*import of .*chat's longest write wait " + NUMBER,
                "one transaction",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "sync_modes.py",
        ["--n", "300", "--rounds", "1"],
        [
            Figure(
                "studio.db: a chat message saved (synchronous=FULL), median",
                "—",
                r"FULL\s+app .*median\s+" + NUMBER,
                "ms",
                r"NORMAL\s+app .*median\s+" + NUMBER,
                "NORMAL",
            ),
        ],
    ),  # fmt: skip
    Bench(
        "memory_scores.py",
        [],
        [
            Figure(
                "memory scores: related memories, p50 score",
                "—",
                r"related\s+n=\s*\d+\s+p10 [0-9.]+\s+p50 " + NUMBER,
                "",
                r"unrelated\s+n=\s*\d+\s+p10 [0-9.]+\s+p50 " + NUMBER,
                "unrelated p50",
            ),
        ],
    ),  # fmt: skip
]


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _number(pattern: str | None, text: str) -> float | None:
    if pattern is None:
        return None
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1).replace(",", "")) if found else None


def _show(value: float, unit: str) -> str:
    if unit in ("", "s"):
        digits = 3
    else:
        digits = 0 if value >= 100 else 1 if value >= 10 else 2
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def run(bench: Bench, full: bool, log: Path) -> list[str]:
    """The bench's rows of the table (run it, keep its output in ``log``, read its figures)."""
    args = bench.full if full else bench.quick
    mode = " ".join(args) if args else "defaults"
    script = ROOT / "bench" / bench.script
    if not script.exists():
        return [f"| {bench.script} | — | not in this tree | | | | |"]
    began = time.perf_counter()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    try:
        done = subprocess.run(
            [sys.executable, str(script), *args], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=bench.timeout, check=False,
        )  # fmt: skip
        out, status = done.stdout + done.stderr, str(done.returncode)
    except subprocess.TimeoutExpired as exc:
        out = f"{exc.stdout or ''}{exc.stderr or ''}"
        out = out if isinstance(out, str) else out.decode(errors="replace")
        status = f"timed out after {bench.timeout:.0f} s"
    took = time.perf_counter() - began
    load = _load()
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n===== {bench.script} | {mode} | exit {status} | {took:.0f} s | {load}\n")
        handle.write(out)
    print(f"  {bench.script} {mode}: {took:.0f} s, exit {status}", file=sys.stderr, flush=True)
    return rows(bench, out, status, mode, load)


def rows(bench: Bench, out: str, status: str, mode: str, load: str) -> list[str]:
    """The table's rows for one bench's output."""
    found = []
    for figure in bench.figures:
        value = _number(figure.value, out)
        baseline = _number(figure.baseline, out)
        if value is None:
            why = f"not found in the output (exit {status}; see the log)"
            found.append(f"| {figure.label} | {figure.target} | {why} | | | {mode} | {load} |")
            continue
        base, ratio = "", ""
        if baseline is not None:
            base = f"{_show(baseline, figure.unit)} ({figure.baseline_label})"
            if figure.speedup and value:
                ratio = f"{baseline / value:.2f}× faster"
            elif baseline:
                ratio = f"{value / baseline:.2f}×"
        shown = _show(value, figure.unit)
        found.append(f"| {figure.label} | {figure.target} | {shown} | {base} | {ratio} | "
                     f"{bench.script} {mode} | {load} |")  # fmt: skip
    return found


def from_log(log: Path, chosen: list[Bench]) -> list[str]:
    """The rows of a report already run, read back from its log (``--from-log``)."""
    sections = re.split(r"^===== ", log.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    outputs = {}
    for section in sections:
        head, _, out = section.partition("\n")
        script, mode, status, _took, load = (part.strip() for part in head.split("|"))
        outputs[script] = (out, status.removeprefix("exit "), mode, load)
    found = []
    for bench in chosen:
        if bench.script in outputs:
            found += rows(bench, *outputs[bench.script])
        else:
            found.append(f"| {bench.script} | — | not in {log} | | | | |")
    return found


def table(rows: list[str], full: bool, when: str) -> str:
    mode = "`--full` (each bench's defaults)" if full else "quick mode"
    head = (
        f"`bench/report.py`, {mode}, run {when}, {os.cpu_count()} cores; ratio is now / "
        "baseline; load is the 1/5/15-minute load average when the bench ended.\n\n"
        "| figure | target | now | baseline, same run | ratio | bench, mode | load |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(rows) + "\n"


def write(doc: Path, text: str) -> None:
    """Replace the section ``SECTION`` of ``doc`` (up to the next ``## ``) with ``text``."""
    current = doc.read_text(encoding="utf-8")
    body = f"{SECTION}\n\n{text}\n"
    start = current.find(SECTION)
    if start < 0:
        raise SystemExit(f"{doc}: no '{SECTION}' heading to replace; add one first")
    end = current.find("\n## ", start + len(SECTION))
    end = len(current) if end < 0 else end + 1
    doc.write_text(current[:start] + body + current[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each bench with its defaults")
    parser.add_argument("--only", nargs="*", help="these benches (names without .py)")
    parser.add_argument("--write", action="store_true", help=f"update '{SECTION}' in {DOC}")
    parser.add_argument("--log", type=Path, default=Path("/tmp/carrier-bench-report.log"))
    parser.add_argument("--from-log", type=Path, help="make the table from a run's log")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.script[:-3] in args.only]
    # memory_page.py runs inside memory.py (its 1M database); chat_corpus.py is a module;
    # mcp_soak.py is a 10-minute soak whose figures are counts of failures, reported on its own
    # (docs/performance.md, "MCP: liveness soak").
    known = {b.script for b in BENCHES} | {"report.py", "chat_corpus.py", "memory_page.py"}
    known |= {"mcp_soak.py"}
    unknown = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name not in known)
    table_rows: list[str] = []
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    if args.from_log:
        when = args.from_log.read_text(encoding="utf-8").partition("\n")[0].partition(", ")[2]
        table_rows = from_log(args.from_log, chosen)
    else:
        args.log.write_text(f"bench/report.py, {when}\n")
        for bench in chosen:
            table_rows += run(bench, args.full, args.log)
    # A bench added since this list was written still shows up, so nobody thinks it ran.
    table_rows += [f"| {name} | — | not run: report.py does not know it yet | | | | |"
             for name in unknown]  # fmt: skip
    text = table(table_rows, args.full, when)
    print(text)
    if args.write:
        write(DOC, text)
        print(f"written to {DOC}; the benches' output is in {args.log}", file=sys.stderr)


if __name__ == "__main__":
    main()
