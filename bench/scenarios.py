"""Character tests: a matrix run with one job against four, and the replay of the same runs.

Run: ``uv run python bench/scenarios.py [--scenarios 100] [--delay 0.25]``.

A temporary workspace holds the shipped characters and N scenario files (one scripted turn
each, a ``contains`` and a ``max_chars`` expectation); three models, each an OpenAI-compatible
endpoint on its own scripted server (tests/fakes, run in a child process as a provider is
another machine), answer every turn after ``--delay`` seconds of streaming, the way a provider
spends most of a run waiting. The real `ScenarioService` runs
the N × 3 matrix through the chat's runtime and stores every run in studio.db:

(a) ``--jobs 1`` (the baseline) and ``--jobs 4``, in the same process, one after the other;
    target: ≥ 2.5× faster with 4 jobs on 2 cores, since the wait is I/O.
(b) the same N × 3 runs recorded into cassettes, then replayed with every server stopped;
    target: the replay takes ≤ 10 s, and gives the same verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py, which would shadow the `mcp` package: run from the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio import assets  # noqa: E402
from carrier_studio.core.scenarios.loader import load_scenario  # noqa: E402
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings  # noqa: E402
from carrier_studio.services.characters.store import CharacterStore  # noqa: E402
from carrier_studio.services.platform.db import Database  # noqa: E402
from carrier_studio.services.platform.secrets import SecretStore  # noqa: E402
from carrier_studio.services.platform.settings_store import SettingsStore  # noqa: E402
from carrier_studio.services.scenarios import (  # noqa: E402
    RunnerDeps,
    ScenarioRunStore,
    ScenarioService,
)
from tests.fakes import ScriptedLLMServer, text  # noqa: E402

#: Matrix passes the servers answer: --jobs 1, --jobs 4, --record, plus the warm-up.
PASSES = 3

CHARACTERS = ["Ada", "Mira", "Juniper"]
REPLY = "Hello there, it is lovely to hear from you today, friend."
#: Pieces the reply streams in (the delay is spread between them).
PIECES = 6


def _workspace(root: Path, urls: list[str], count: int) -> tuple:
    shutil.copytree(assets.seed_characters_dir(), root / "characters")
    for path in (root / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        for key in ("model", "mcp_servers", "handoffs", "memory"):
            data.pop(key, None)
        data["memory"] = {"enabled": False}
        path.write_text(json.dumps(data, indent=2))
    folder = root / "scenarios"
    folder.mkdir()
    for index in range(count):
        (folder / f"s{index:03d}.yaml").write_text(
            f"character: {CHARACTERS[index % len(CHARACTERS)]}\n"
            "turns:\n"
            f"  - user: Hello number {index}\n"
            "    expect:\n"
            "      - contains: lovely\n"
            "      - max_chars: 400\n"
        )
    settings = Settings()
    settings.providers.endpoints = [
        CompatEndpoint(name=f"m{i}", base_url=url) for i, url in enumerate(urls)
    ]
    settings.providers.default = ModelChoice(
        provider="openai-compatible", model="test-model", endpoint="m0"
    )
    store = SettingsStore(root / "settings.json", settings)
    secrets = SecretStore("session", root / ".env", environ={})
    characters = CharacterStore(root / "characters", root / ".trash")
    cache: dict = {}

    async def by_name():
        # Read once: every run of the matrix asks, as the chat does per conversation.
        if not cache:
            entries = await asyncio.to_thread(characters.list)
            cache.update({e.doc.name: e.doc for e in entries if e.doc is not None})
        return dict(cache)

    return folder, store, secrets, by_name


def _replies(count: int, delay: float) -> list:
    chunk = " ".join(REPLY.split()[:PIECES])
    pieces = [chunk + " ", REPLY[len(chunk) + 1 :]]
    return [text(REPLY)] + [text(REPLY, chunks=pieces, delay=delay)] * (count * PASSES)


async def _serve(count: int, delay: float) -> None:
    """The child process: three scripted servers; their URLs on stdout; stop at stdin's end."""
    servers = [ScriptedLLMServer() for _ in range(3)]
    for server in servers:
        await server.start()
        server.script(*_replies(count, delay))
    print(json.dumps([server.openai_base_url for server in servers]), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for server in servers:
        await server.close()


def _start_servers(count: int, delay: float) -> tuple[subprocess.Popen, list[str]]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count), str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


async def _timed(service: ScenarioService, scenarios, models, jobs: int, mode: str):
    start = time.perf_counter()
    records = await service.run(scenarios, models, jobs=jobs, mode=mode)  # type: ignore[arg-type]
    return time.perf_counter() - start, records


def _outcome(records) -> list[tuple[str, str, bool, str | None]]:
    return sorted((r.scenario, r.model, r.passed, r.error) for r in records)


async def main(count: int, delay: float) -> None:
    child, urls = _start_servers(count, delay)
    root = Path(tempfile.mkdtemp(prefix="carrier-bench-scenarios-"))
    db = Database(root / "studio.db")
    try:
        folder, store, secrets, by_name = _workspace(root, urls, count)
        await db.open()
        service = ScenarioService(folder, RunnerDeps(store, secrets, by_name), ScenarioRunStore(db))
        scenarios = [load_scenario(p) for p in sorted(folder.glob("*.yaml"))]
        models = [f"openai-compatible:test-model@m{i}" for i in range(3)]
        runs = len(scenarios) * len(models)
        # One warm-up run per model, so the first timing does not pay the SDK's imports.
        await service.run(scenarios[:1], models, jobs=3)
        one, records_one = await _timed(service, scenarios, models, 1, "live")
        four, records_four = await _timed(service, scenarios, models, 4, "live")
        record, recorded = await _timed(service, scenarios, models, 4, "record")
        child.communicate("", timeout=30)  # the servers stop: nothing listens any more
        replay, replayed = await _timed(service, scenarios, models, 4, "replay")
        replay_one, _ = await _timed(service, scenarios, models, 1, "replay")
    finally:
        if child.poll() is None:
            child.kill()
        await db.close()
        shutil.rmtree(root, ignore_errors=True)

    passed = sum(r.passed for r in records_one)
    same = _outcome(records_one) == _outcome(records_four) == _outcome(replayed)
    print(
        f"Character tests: {len(scenarios)} scenarios × {len(models)} models = {runs} runs, "
        f"replies streaming for {delay:.2f} s each ({passed} of {runs} passed)"
    )
    print(f"  --jobs 1 (baseline)              {one:7.2f} s  {runs / one:6.1f} runs/s")
    print(f"  --jobs 4                         {four:7.2f} s  {runs / four:6.1f} runs/s")
    print(f"  jobs 4 / jobs 1 speed-up         {one / four:7.2f} ×   (target ≥ 2.5)")
    print(f"  --record (jobs 4)                {record:7.2f} s")
    print(
        f"  --replay (jobs 4), servers down  {replay:7.2f} s  {runs / replay:6.1f} runs/s"
        "   (target ≤ 10 s)"
    )
    print(f"  --replay (jobs 1)                {replay_one:7.2f} s")
    print(f"  same verdicts live/4 jobs/replay {'yes' if same else 'NO'}")
    if any(r.error for r in replayed + recorded):
        first = next(r.error for r in replayed + recorded if r.error)
        print(f"  a run failed: {first}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.25, help="seconds a reply streams")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)  # the servers' process
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(int(args.serve[0]), float(args.serve[1])))
    else:
        asyncio.run(main(args.scenarios, args.delay))
