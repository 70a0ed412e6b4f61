"""MCP start-up: three stdio servers through McpManager.ensure, together and one after another.

Run: ``bash scripts/install_test_mcp_servers.sh && uv run python bench/mcp.py [--runs 5]``.
The servers are the test ones: npm's server-everything and server-filesystem (node) and the
FastMCP server in tests/mcp (Python). Each figure is the median of ``--runs`` fresh managers;
a run ends when every server is connected and its tools are listed. The agents SDK is imported
before timing (the studio imports it after the window paints).

Prints each server alone, the three one after another, the three at once (target: about the
slowest single one, so the ratio near 1; on 2 cores the CPU of three start-ups overlaps only
partly), the longest event-loop stall while they start, and the time to shut the three down.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def _stalls(stop: asyncio.Event, out: list[float]) -> None:
    """The longest gap between 1 ms ticks: how long the loop could not run anything."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        out.append(now - last)
        last = now


async def _timed(path: Path, groups: list[list[str]]) -> tuple[float, float, float]:
    """Seconds to start ``groups`` one after another (each group at once), the longest loop
    stall meanwhile, and the seconds to shut everything down."""
    manager = McpManager(path, lambda name: None)
    await manager.load()
    gaps: list[float] = []
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
    assert all(s.state is ServerState.STOPPED for s in manager.statuses())
    return elapsed, max(gaps, default=0.0), down


async def main(runs: int) -> None:
    import agents.mcp  # noqa: F401 - imported before timing, as the studio does after paint

    with tempfile.TemporaryDirectory() as tmp:
        path = _catalogue(Path(tmp))
        await _timed(path, [NAMES])  # warm the OS caches (node modules, Python bytecode)
        single = {
            name: statistics.median([(await _timed(path, [[name]]))[0] for _ in range(runs)])
            for name in NAMES
        }
        sequential = [await _timed(path, [[name] for name in NAMES]) for _ in range(runs)]
        together = [await _timed(path, [NAMES]) for _ in range(runs)]

    seq = statistics.median(r[0] for r in sequential)
    con = statistics.median(r[0] for r in together)
    slowest = max(single.values())
    print(f"MCP stdio start-up, median of {runs} runs (connect + list tools)")
    for name, seconds in single.items():
        print(f"  {name:<12} alone          {seconds * 1000:7.0f} ms")
    print(f"  three one after another    {seq * 1000:7.0f} ms")
    print(f"  three at once (ensure)     {con * 1000:7.0f} ms")
    print(f"  at once / slowest single   {con / slowest:7.2f}   (target ≈ 1)")
    print(f"  at once / one after another{con / seq:7.2f}")
    stall = statistics.median(r[1] for r in together)
    print(f"  longest loop stall at once {stall * 1000:7.1f} ms (median)")
    down = statistics.median(r[2] for r in together)
    print(f"  shutdown of the three      {down * 1000:7.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    missing = [p for p in (EVERYTHING, FILESYSTEM) if not p.is_file()]
    if missing:
        sys.exit(f"missing {missing[0]}: run bash scripts/install_test_mcp_servers.sh")
    asyncio.run(main(args.runs))
