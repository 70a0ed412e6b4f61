"""One re-embedding, one move to Supabase at a time per workspace, across processes (#20).

A second taker — another process (the window and `headless` on one workspace) or this one —
is refused at once with who holds it; the lock dies with its holder however it ends
(kill -9), so nothing is left to clean up.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from carrier_studio.core.memory import MemoryRecord, Provenance
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.joblock import JobRunningError, job_lock
from tests.reliability.processes import REPO

REEMBED = "re-embedding of this workspace"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="holder killed with SIGKILL")

HOLDER = """
import sys
from pathlib import Path
from carrier_studio.services.platform.joblock import job_lock
with job_lock(Path(sys.argv[1]), sys.argv[2], "job"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin or kills it
"""


class Holder:
    """Another process holding a workspace's job lock until ``release`` or ``kill``."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder), kind],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # blocks until it holds the lock, or died
        assert line == "held\n", self.proc.stderr.read()

    def release(self) -> None:
        self.proc.stdin.close()
        code = self.proc.wait(timeout=60)
        errors = self.proc.stderr.read()
        self.close()
        assert code == 0, errors

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()


class HashEmbedder:
    """Deterministic vectors with no model: the tests are about the lock."""

    def __init__(self, name: str, dimension: int = 8) -> None:
        self.id, self.dimension = name, dimension

    async def embed(self, texts):
        rows = [hashlib.sha256(f"{self.id}:{t}".encode()).digest()[: self.dimension] for t in texts]
        vectors = np.array([[b - 127.5 for b in row] for row in rows], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_second_taker_in_this_process_is_refused_with_the_holders_pid(tmp_path):
    with job_lock(tmp_path, "reembed", REEMBED):
        with pytest.raises(JobRunningError) as refused:
            with job_lock(tmp_path, "reembed", REEMBED):
                pass
        assert str(refused.value).startswith(
            f"another re-embedding of this workspace is running (pid {os.getpid()})"
        )
        with job_lock(tmp_path, "move", "move"):  # another kind is not held
            pass
    with job_lock(tmp_path, "reembed", REEMBED):  # released
        pass


def test_another_process_holds_it_until_it_ends_even_by_kill_9(tmp_path):
    holder = Holder(tmp_path, "reembed")
    try:
        with pytest.raises(JobRunningError, match=rf"\(pid {holder.proc.pid}\)"):
            with job_lock(tmp_path, "reembed", REEMBED):
                pass
        holder.kill()  # SIGKILL: no finally ran in it
        with job_lock(tmp_path, "reembed", REEMBED):
            assert (tmp_path / "reembed.lock").read_text().strip() == str(os.getpid())
    finally:
        holder.close()


def test_reembed_and_move_refuse_while_another_process_runs_them(tmp_path):
    locks = tmp_path / "studio.db.locks"

    async def main() -> None:
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, HashEmbedder("old"), locks=locks)
        other = await SqliteMemoryStore.open(tmp_path / "other.db")
        try:
            record = MemoryRecord(
                character="Ada", content="Sam likes jazz.", kind="fact", provenance=Provenance()
            )
            await service.remember([record])
            old_space = await store.space()

            holder = Holder(locks, "reembed")
            try:
                with pytest.raises(JobRunningError) as refused:
                    await service.reembed(HashEmbedder("new"))
                assert f"another {REEMBED} is running (pid {holder.proc.pid})" in str(refused.value)
                assert await store.space() == old_space  # nothing was done
            finally:
                holder.release()
            await service.reembed(HashEmbedder("new"))  # free again: it runs
            assert (await store.space()).embedder_id == "new"

            holder = Holder(locks, "move")
            try:
                with pytest.raises(JobRunningError, match="move of this workspace's memories"):
                    await service.move_to(other)
                assert await service.count() == 1
            finally:
                holder.release()
            assert await service.move_to(other) == 1
        finally:
            await service.close()
            await other.close()

    asyncio.run(main())
