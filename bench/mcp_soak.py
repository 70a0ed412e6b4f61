"""MCP soak: four servers stay up at the default liveness interval while their tools are called.

Run: ``bash scripts/npm_ci.sh tests/mcp && uv run python bench/mcp_soak.py``
(``--seconds 600`` by default).

One server per transport and per protocol version (tests/mcp/soak.py): the FastMCP test server
over stdio and over streamable HTTP (protocol 2026-07-28, which has no ping) and npm's
server-everything over stdio and over SSE (2025-11-25, which has). `McpManager` runs them with
its default liveness interval (10 s) and restart policy; every ``--every`` seconds (default 1)
one tool of each server is called, all four at once.

Prints per server: the protocol version, state at the end, restarts, liveness intervals, calls,
failed calls (with the first reasons) and the median and slowest call. Exits 1 if any server
restarted, stopped running or failed a call (target: 0 of each).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py: take the folder off the path, or `import mcp` would find that file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.mcp import ServerState  # noqa: E402
from carrier_studio.services.mcp.manager import McpManager  # noqa: E402
from tests.mcp.servers import node_servers  # noqa: E402
from tests.mcp.soak import (  # noqa: E402
    NAMES,
    Tally,
    keep_calling,
    protocol_versions,
    soak_catalogue,
)


async def soak(path: Path, seconds: float, every: float) -> tuple[McpManager, Tally, dict]:
    manager = McpManager(path, lambda name: None)  # the default liveness interval and back-off
    tally = Tally()
    try:
        started = await manager.ensure(NAMES, strict=True)
        assert len(started) == len(NAMES)
        versions = protocol_versions(manager)
        print(
            f"soak: {len(NAMES)} servers running, interval {manager.ping_interval:g} s; "
            f"calling every {every:g} s for {seconds:g} s",
            flush=True,
        )
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        progress = asyncio.create_task(_progress(manager, tally, end))
        await keep_calling(manager, every, lambda: loop.time() >= end, tally)
        progress.cancel()
        report = {
            name: {
                "version": versions[name],
                "status": manager.status(name),
                "checks": manager._entry(name).liveness_checks,
            }
            for name in NAMES
        }
        return manager, tally, report
    finally:
        await manager.shutdown()


async def _progress(manager: McpManager, tally: Tally, end: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(60)
        states = ", ".join(f"{s.name} {s.state.value} r{s.restarts}" for s in manager.statuses())
        left = max(0.0, end - loop.time())
        print(f"  {left:4.0f} s left: {states}; {tally.failed} failed calls", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long (default 600)")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between rounds")
    args = parser.parse_args()
    servers = node_servers()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="carrier-soak-") as folder:
        with soak_catalogue(Path(folder), servers) as path:
            _, tally, report = asyncio.run(soak(path, args.seconds, args.every))
    print(f"\nsoak: {time.perf_counter() - began:.0f} s in all")
    header = f"{'server':18} {'protocol':11} {'state':8} {'restarts':>8} {'checks':>6} "
    print(header + f"{'calls':>6} {'failed':>6} {'median':>8} {'slowest':>8}")
    bad = 0
    for name in NAMES:
        row = report[name]
        status = row["status"]
        seconds = tally.seconds[name] or [0.0]
        failed = len(tally.failures[name])
        print(
            f"{name:18} {row['version']:11} {status.state.value:8} {status.restarts:8d} "
            f"{row['checks']:6d} {tally.calls[name]:6d} {failed:6d} "
            f"{statistics.median(seconds) * 1000:6.1f}ms {max(seconds) * 1000:6.1f}ms"
        )
        for reason in tally.failures[name][:3]:
            print(f"    {reason}")
        bad += status.restarts + failed + (status.state is not ServerState.RUNNING)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
