"""`transports.dies_with_studio` (#20): on Linux a stdio server is started behind a shim that
sets PR_SET_PDEATHSIG=SIGKILL and execs it, so it dies with the studio even when the studio is
killed with SIGKILL. Real processes; `tests/reliability/test_mcp_orphans.py` does it end to end
with `carrier-studio headless`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mcp.client.stdio import StdioServerParameters

from carrier_studio.services.mcp.transports import dies_with_studio

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

READ_PDEATHSIG = (
    "import ctypes, os; c = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(c)); "
    "print(os.getpid(), c.value)"
)
DEADLINE = 20.0


def _run(params: StdioServerParameters) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [params.command, *params.args], capture_output=True, text=True, timeout=DEADLINE
    )


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {DEADLINE} s")
        time.sleep(0.02)


@linux
def test_the_server_runs_with_a_parent_death_signal_under_its_own_pid():
    params = dies_with_studio(
        StdioServerParameters(command=sys.executable, args=["-c", READ_PDEATHSIG])
    )
    assert params.command == sys.executable and params.args[-2:] == ["-c", READ_PDEATHSIG]
    proc = subprocess.Popen([params.command, *params.args], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=DEADLINE)
    pid, deathsig = map(int, out.split())
    assert pid == proc.pid, "the shim execs the server: the pid the SDK sees is the server's"
    assert deathsig == signal.SIGKILL


@linux
def test_a_command_that_cannot_be_found_is_left_as_it_is():
    missing = StdioServerParameters(command="no-such-mcp-server-here", args=["x"])
    assert dies_with_studio(missing) == missing
    relative = StdioServerParameters(command="./nope.sh", cwd="/")
    assert dies_with_studio(relative) == relative


@linux
def test_the_shim_gives_up_when_the_studio_is_already_gone(tmp_path):
    marker = tmp_path / "ran"
    params = dies_with_studio(
        StdioServerParameters(command="touch", args=[str(marker)], env={"PATH": os.defpath})
    )
    args = list(params.args)
    args[4] = str(os.getpid() + 1_000_000)  # a parent that is not the one that spawned it
    done = _run(params.model_copy(update={"args": args}))
    assert done.returncode == 1 and not marker.exists()
    assert _run(params).returncode == 0 and marker.exists()


def test_nothing_changes_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    params = StdioServerParameters(command=sys.executable, args=["-V"])
    assert dies_with_studio(params) == params


def _spawner(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


#: A server that ignores SIGTERM: says it runs, then sleeps.
SLEEPER = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('running', flush=True); time.sleep(600)"
)
SPAWN = f"""\
import subprocess, sys, time
from mcp.client.stdio import StdioServerParameters
from carrier_studio.services.mcp.transports import dies_with_studio
p = dies_with_studio(StdioServerParameters(command=sys.executable, args=["-c", {SLEEPER!r}]))
child = subprocess.Popen([p.command, *p.args], start_new_session=True, stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


@linux
def test_a_server_that_ignores_sigterm_dies_when_its_parent_is_killed():
    parent = _spawner(SPAWN)
    child = None
    try:
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=DEADLINE)
        _wait_for(lambda: not _alive(child), "the server's death")
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if child is not None and _alive(child):  # a failed run must not leave the orphan
            os.kill(child, signal.SIGKILL)


@linux
def test_the_signal_follows_the_spawning_thread_not_the_process():
    """Why the servers must be spawned on the main thread (the event loop's): a server spawned
    by a thread that ends is killed then, while the studio runs on."""
    spawned: list[subprocess.Popen[str]] = []

    def spawn() -> None:
        params = dies_with_studio(
            StdioServerParameters(command=sys.executable, args=["-c", SLEEPER])
        )
        child = subprocess.Popen([params.command, *params.args], stdout=subprocess.PIPE, text=True)
        spawned.append(child)
        child.stdout.readline()  # the server runs: the shim has set its parent-death signal

    worker = threading.Thread(target=spawn)
    worker.start()
    worker.join()
    (child,) = spawned
    try:
        assert child.wait(timeout=DEADLINE) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
