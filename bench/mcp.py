"""MCP start-up: three stdio servers through McpManager.ensure, together and one after another.

Run: ``bash scripts/npm_ci.sh tests/mcp && uv run python bench/mcp.py [--runs 5]``.
The servers are the test ones: npm's server-everything and server-filesystem (node) and the
FastMCP server in tests/mcp (Python). Each figure is the median of ``--runs`` fresh managers;
a run ends when every server is connected and its tools are listed. The agents SDK is imported
before timing (the studio imports it after the window paints).

Prints each server alone, the three one after another, the three at once (target: about the
slowest single one, so the ratio near 1; on 2 cores the CPU of three start-ups overlaps only
partly), the longest event-loop stall while they start, and the time to shut the three down.

The stall (target ≤ 16 ms, one frame at 60 Hz) is measured with the studio's spawn (on its
spawner thread, #21) and, interleaved in the same run, with the MCP SDK's own spawn on the
loop (the baseline, as before #21), beside the longest gap of the same 1 ms ticker on an idle
loop (the machine's floor: on a shared machine the loop's thread also waits for a core). Each
stall is printed twice: wall time (what a person sees) and the loop thread's own CPU time
between two ticks (the work the loop did, which the machine's load does not change).
``--quick`` runs only the three-at-once start (3 runs each way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is called mcp.py: take its folder off the path, or `import mcp` would find it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.mcp import ServerState  # noqa: E402
from carrier_studio.services.mcp import spawn  # noqa: E402
from carrier_studio.services.mcp.manager import McpManager  # noqa: E402
from tests.mcp.servers import EVERYTHING, FASTMCP, FILESYSTEM  # noqa: E402

NAMES = ["everything", "filesystem", "fastmcp"]


def _catalogue(folder: Path) -> Path:
    servers = {
        "everything": {"command": "node", "args": [str(EVERYTHING)]},
        "filesystem": {"command": "node", "args": [str(FILESYSTEM), str(folder)]},
        "fastmcp": {"command": sys.executable, "args": [str(FASTMCP)]},
    }
    path = folder / "mcp_servers.json"
    path.write_text(json.dumps({"version": 1, "mcpServers": servers}, indent=2))
    return path


async def _stalls(stop: asyncio.Event, out: list[tuple[float, float]]) -> None:
    """The gaps between 1 ms ticks: (wall, the loop thread's CPU) — how long the loop could
    not run anything, and how much of that it spent working."""
    last, last_cpu = time.perf_counter(), time.thread_time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now, cpu = time.perf_counter(), time.thread_time()
        out.append((now - last, cpu - last_cpu))
        last, last_cpu = now, cpu


def _longest(gaps: list[tuple[float, float]]) -> tuple[float, float]:
    return max((g[0] for g in gaps), default=0.0), max((g[1] for g in gaps), default=0.0)


async def _idle(seconds: float) -> tuple[float, float]:
    """The longest gaps of the ticker on a loop with nothing else to do."""
    gaps: list[tuple[float, float]] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_stalls(stop, gaps))
    await asyncio.sleep(seconds)
    stop.set()
    await ticker
    return _longest(gaps)


async def _timed(
    path: Path, groups: list[list[str]], off_loop: bool = True
) -> tuple[float, tuple[float, float], float]:
    """Seconds to start ``groups`` one after another (each group at once), the longest loop
    stall meanwhile (wall, loop CPU), and the seconds to shut everything down."""
    spawn.off_loop = off_loop
    manager = McpManager(path, lambda name: None)
    await manager.load()
    gaps: list[tuple[float, float]] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_stalls(stop, gaps))
    try:
        start = time.perf_counter()
        for group in groups:
            started = await manager.ensure(group)
            assert len(started) == len(group), manager.failed
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        await ticker
        down = time.perf_counter()
        await manager.shutdown()
        down = time.perf_counter() - down
        spawn.off_loop = True
    assert all(s.state is ServerState.STOPPED for s in manager.statuses())
    return elapsed, _longest(gaps), down


def _ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:6.1f} ms (runs: "
        + ", ".join(f"{v * 1000:.0f}" for v in values)
        + ")"
    )


async def main(runs: int, quick: bool) -> None:
    import agents.mcp  # noqa: F401 - imported before timing, as the studio does after paint

    print(f"MCP stdio start-up; {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        catalogue = _catalogue(path)
        await _timed(catalogue, [NAMES])  # warm the OS caches (node modules, Python bytecode)
        await _timed(catalogue, [NAMES], off_loop=False)
        if not quick:
            single = {
                name: statistics.median(
                    [(await _timed(catalogue, [[name]]))[0] for _ in range(runs)]
                )
                for name in NAMES
            }
            sequential = [await _timed(catalogue, [[name] for name in NAMES]) for _ in range(runs)]
        together, on_loop, idle = [], [], []
        for _ in range(runs):  # interleaved, so both see the same machine
            together.append(await _timed(catalogue, [NAMES]))
            on_loop.append(await _timed(catalogue, [NAMES], off_loop=False))
            idle.append(await _idle(together[-1][0]))

    con = statistics.median(r[0] for r in together)
    print(f"median of {runs} runs (connect + list tools)")
    if not quick:
        seq = statistics.median(r[0] for r in sequential)
        slowest = max(single.values())
        for name, seconds in single.items():
            print(f"  {name:<12} alone          {seconds * 1000:7.0f} ms")
        print(f"  three one after another    {seq * 1000:7.0f} ms")
        print(f"  three at once (ensure)     {con * 1000:7.0f} ms")
        print(f"  at once / slowest single   {con / slowest:7.2f}   (target ≈ 1)")
        print(f"  at once / one after another{con / seq:7.2f}")
    else:
        print(f"  three at once (ensure)     {con * 1000:7.0f} ms")
    print("  longest loop stall while the three start at once (target <= 16 ms):")
    print(f"    spawned on the spawner thread (now)  wall {_ms([r[1][0] for r in together])}")
    print(f"    the SDK's spawn on the loop (before) wall {_ms([r[1][0] for r in on_loop])}")
    print(f"    idle loop, same length (the floor)   wall {_ms([r[0] for r in idle])}")
    print(f"    most loop-thread CPU between ticks: now {_ms([r[1][1] for r in together])}")
    print(f"                                     before {_ms([r[1][1] for r in on_loop])}")
    down = statistics.median(r[2] for r in together)
    print(f"  shutdown of the three      {down * 1000:7.0f} ms")
    print(f"done; {_load()}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the three at once, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3
    missing = [p for p in (EVERYTHING, FILESYSTEM) if not p.is_file()]
    if missing:
        sys.exit(f"missing {missing[0]}: run bash scripts/npm_ci.sh tests/mcp")
    asyncio.run(main(args.runs, args.quick))
