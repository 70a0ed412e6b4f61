"""`carrier-studio test`: run character tests (scenarios) without a window, for a creator's CI.

The same `ScenarioService` the Tests page uses, on a `Session` of the workspace: the same
characters, providers, MCP servers and run history. Prints each run as it finishes, then a
table of scenarios × models and every failed expectation with its file and line.

Exit status: 0 when every run passed, 1 when an expectation failed, 2 when the tests could not
start (a bad argument or scenario file, no such character, a model that cannot answer, a
cassette that does not fit). Imports no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from carrier_studio.core.errors import CarrierError

if TYPE_CHECKING:
    from carrier_studio.core.scenarios.model import Scenario
    from carrier_studio.core.scenarios.record import RunRecord
    from carrier_studio.session import Session

PASSED, FAILED, NOT_STARTED = 0, 1, 2


class StartError(CarrierError):
    """The tests cannot start; exit status 2."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    test = commands.add_parser(
        "test",
        help="run character tests (scenarios/*.yaml) on one or more models",
        description="Run character tests. Exit status: 0 all passed, 1 an expectation failed, "
        "2 the tests could not start.",
    )
    test.add_argument(
        "targets",
        nargs="*",
        metavar="PATH|CHARACTER",
        help="scenario files or folders, or a character's name (its scenarios in the "
        "workspace); default: every scenario in the workspace's scenarios/ folder",
    )
    test.add_argument(
        "--model",
        "-m",
        action="append",
        dest="models",
        metavar="M",
        help="provider:model[@endpoint], e.g. openai:gpt-4.1-mini or "
        "openai-compatible:qwen2.5@lm; repeat for a matrix; 'default' is the model the chat "
        "would use (default: default)",
    )
    test.add_argument(
        "--matrix",
        type=Path,
        metavar="FILE",
        help="a YAML file with 'models:' (and optionally 'scenarios:' and 'jobs:') to run",
    )
    tape = test.add_mutually_exclusive_group()
    tape.add_argument(
        "--record",
        action="store_true",
        help="store every model and tool exchange in a cassette beside each scenario",
    )
    tape.add_argument(
        "--replay",
        action="store_true",
        help="run from the cassettes: offline, no key, no server, same result every time",
    )
    test.add_argument("--jobs", "-j", type=int, help="runs at a time (default 2)")
    test.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    test.add_argument("--json", type=Path, metavar="FILE", help="write every run as JSON")


def run_tests(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return asyncio.run(_run(args, out, err))
    except StartError as exc:
        print(f"carrier-studio test: {_worded(exc)}", file=err)
        return NOT_STARTED
    except CarrierError as exc:
        print(f"carrier-studio test: could not start: {_worded(exc)}", file=err)
        return NOT_STARTED
    except KeyboardInterrupt:
        print("stopped", file=err)
        return 130


def _worded(exc: CarrierError) -> str:
    return str(exc)  # the message, then its hint


# -- choosing what to run -------------------------------------------------------------------


def _matrix(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StartError(f"{path}: cannot read the matrix file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise StartError(f"{where}: the matrix file is not YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models", []), list):
        raise StartError(f"{path}: a matrix file is a mapping with a list of 'models:'")
    unknown = sorted(set(data) - {"models", "scenarios", "jobs"})
    if unknown:
        raise StartError(f"{path}: unknown field {unknown[0]!r} (known: models, scenarios, jobs)")
    jobs = data.get("jobs", 2)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise StartError(f"{path}: jobs must be a whole number, 1 or more, not {jobs!r}")
    if not isinstance(data.get("scenarios", []), list):
        raise StartError(f"{path}: scenarios must be a list of files or folders")
    return data


def _files(target: str, base: Path, folder: Path) -> list[Path] | None:
    """The scenario files ``target`` names as a path (None: it is not a path)."""
    # Relative to the shell's folder (or the matrix file's), and shown as written.
    path = (base / target).expanduser()
    if path.is_dir():
        return sorted(path.glob("*.yaml"))
    if path.is_file():
        return [path]
    if any(c in target for c in "*?["):
        return sorted(base.glob(target))
    return None


def _load(path: Path, err: TextIO) -> Scenario:
    from carrier_studio.core.scenarios.loader import ScenarioError
    from carrier_studio.services.scenarios import load_file

    try:
        scenario, dropped = load_file(path)
    except ScenarioError as exc:
        raise StartError(str(exc)) from exc
    except OSError as exc:
        raise StartError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    for note in dropped:
        print(f"{path}: imported from ElizaOS, dropped: {note}", file=err)
    return scenario


async def _chosen(
    session: Session, args: argparse.Namespace, matrix: dict[str, Any], err: TextIO
) -> list[Scenario]:
    folder = session.workspace.paths.scenarios_dir
    targets = list(args.targets)
    base = Path()  # the shell's folder; paths are shown as written
    if not targets and matrix.get("scenarios"):
        targets = [str(t) for t in matrix["scenarios"]]
        base = args.matrix.parent
    paths: list[Path] = []
    by_character: list[str] = []
    for target in targets:
        found = _files(target, base, folder)
        if found is None:
            by_character.append(target)
        elif not found:
            raise StartError(f"{target}: no scenario files (*.yaml) there")
        else:
            paths.extend(found)
    if not targets:
        paths = sorted(folder.glob("*.yaml"))
        if not paths:
            raise StartError(
                f"there are no scenarios in {folder}: write one (see the README's "
                "'Character tests'), or name a file"
            )
    scenarios = [await asyncio.to_thread(_load, p, err) for p in dict.fromkeys(paths)]
    if by_character:
        everything = [await asyncio.to_thread(_load, p, err) for p in sorted(folder.glob("*.yaml"))]
        for name in by_character:
            theirs = [s for s in everything if s.character.lower() == name.lower()]
            if not theirs:
                raise StartError(
                    f"{name!r} is neither a scenario file or folder nor a character with "
                    f"scenarios in {folder}"
                )
            scenarios.extend(theirs)
    return scenarios


# -- running ----------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from carrier_studio.services.platform.paths import AppPaths
    from carrier_studio.session import Session

    matrix = _matrix(args.matrix) if args.matrix else {}
    models = [str(m) for m in (args.models or matrix.get("models") or ["default"])]
    jobs = args.jobs if args.jobs is not None else int(matrix.get("jobs", 2))
    if jobs < 1:
        raise StartError("--jobs must be 1 or more")
    mode = "record" if args.record else "replay" if args.replay else "live"
    try:
        session = Session.build(AppPaths.for_user(), args.workspace)
    except CarrierError as exc:
        raise StartError(f"could not open the workspace: {_worded(exc)}") from exc
    scenarios = await _chosen(session, args, matrix, err)
    # studio.db keeps the run history; the Instagram publisher stays off here.
    await session.start(instagram=False)
    try:
        if session.database_error is not None:
            raise StartError(f"could not open studio.db: {_worded(session.database_error)}")
        service = session.scenarios
        assert service is not None
        cells = sum(1 if s.model else len(models) for s in scenarios)
        what = "replaying" if mode == "replay" else "recording" if mode == "record" else "running"
        print(
            f"{what.capitalize()} {cells} run{'s' if cells != 1 else ''} "
            f"({len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''}), "
            f"{jobs} at a time",
            file=out,
            flush=True,
        )
        done = [0]

        def progress(record: RunRecord) -> None:
            done[0] += 1
            print(f"[{done[0]}/{cells}] {_line(record)}", file=out, flush=True)

        records = await service.run(scenarios, models, jobs=jobs, mode=mode, on_result=progress)
    finally:
        await session.stop()
    from carrier_studio.services.scenarios import report

    print("", file=out)
    print(report.table(records), file=out)
    details = report.failures(records)
    if details:
        print("", file=out)
        print(details, file=out)
    if args.junit:
        report.write_junit(args.junit, scenarios, records)
    if args.json:
        report.write_json(args.json, scenarios, records)
    if any(r.error for r in records):
        return NOT_STARTED
    return PASSED if all(r.passed for r in records) else FAILED


def _line(record: RunRecord) -> str:
    from carrier_studio.services.scenarios.report import status

    parts = [status(record), record.scenario, "on", record.model]
    if record.error is None:
        parts.append(f"· {record.latency_s:.1f} s · {record.tokens} tokens")
        if record.cost_usd is not None:  # list prices (core/scenarios/pricing.py)
            parts.append(f"· ${record.cost_usd:.4f}")
        failed = sum(not v.passed for v in record.verdicts)
        if failed:
            parts.append(f"· {failed} of {len(record.verdicts)} expectations failed")
    else:
        parts.append(f"· {record.error}")
    return " ".join(parts)
