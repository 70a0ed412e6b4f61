"""Long-term memory for the studio: one facade over a store and an embedder.

Chat calls `recall` before each run and `remember` after it; the Memory page lists, searches,
edits, deletes (with undo), imports and exports; Settings switches the embedder (`reembed`) or
moves memories to Supabase (`move_to`). Embedding happens in the embedder's thread and storage in
the store's, so nothing here blocks the loop. Long jobs report progress through a plain callback
and stop when their task is cancelled, leaving both stores consistent.
"""

# Long: the memory facade (recall, remember, import/export, re-embedding staging) over two
# stores; the staging classes are the next cut.

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from carrier_studio.core.memory import jsonl
from carrier_studio.core.memory.errors import (
    EmbeddingSpaceError,
    MemoryImportError,
    MemoryStoreError,
)
from carrier_studio.core.memory.model import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryPage,
    MemoryQuery,
    MemoryRecord,
    SearchHit,
    StoredMemory,
)
from carrier_studio.core.memory.protocols import BulkLoading, Embedder, MemoryStore
from carrier_studio.core.redaction import Redactor
from carrier_studio.services.platform.joblock import job_lock

#: Texts per embedder call: big enough to amortise, small enough to show progress often.
EMBED_BATCH = 64
#: Memories per store call in jobs (export, re-embedding, moving).
STORE_BATCH = 500
#: Memories per transaction of an import: ≈30 ms of studio.db's write lock, far below the
#: 5 s busy timeout that chat's writes on the other connection wait at most. A recall waits
#: behind at most one (same store thread): with 2,000 its p95 during an import at 1M memories
#: doubled (bench/memory.py).
IMPORT_CHUNK = 500
#: Longest pause between an import's transactions (each pauses as long as it held the lock).
IMPORT_PAUSE = 0.05
#: Where every service's `generation` comes from: one count for the process, so a service
#: opened in place of another (a store or embedder switched in Settings) never repeats a value
#: the one it replaced had.
_GENERATIONS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a job is: ``done`` of ``total`` memories (total may grow while it runs)."""

    job: str  # "import", "export", "reembed", "move"
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


def _from_room(record: MemoryRecord, room: tuple[str, str] | None) -> bool:
    if room is None:
        return False
    return (record.provenance.client, record.provenance.room) == room


def space_of(embedder: Embedder) -> EmbeddingSpace:
    return EmbeddingSpace(embedder.id, embedder.dimension)


class _Staging:
    """New-space vectors of a re-embedding, kept in one temporary file until the switch, so a
    million memories do not sit in RAM and a cancelled job leaves nothing behind.

    Rows are appended; ``_row`` maps each id to its latest row, so a vector staged again (an
    edit during the job) simply supersedes the earlier one. ``written`` holds the ids that
    writes through the service staged themselves while the job ran: their staged vector is of
    their newest content, which the job's own (older) read of them must not overwrite."""

    def __init__(self, space: EmbeddingSpace) -> None:
        self.space = space
        self._dir = tempfile.TemporaryDirectory(prefix="carrier-reembed-")
        self._file = open(Path(self._dir.name) / "vectors.f32", "w+b")  # noqa: SIM115
        self._rows = 0
        self._row: dict[str, int] = {}
        self.written: set[str] = set()

    def put(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not ids:
            return
        block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        self._file.seek(0, os.SEEK_END)
        self._file.write(block.tobytes())
        for offset, mid in enumerate(ids):
            self._row[mid] = self._rows + offset
        self._rows += len(ids)

    def __len__(self) -> int:
        return len(self._row)

    def snapshot(self) -> _StagedVectors:
        self._file.flush()
        return _StagedVectors(self, list(self._row.items()))

    def read(self, row: int) -> np.ndarray:
        size = 4 * self.space.dimension
        data = os.pread(self._file.fileno(), size, row * size)
        return np.frombuffer(data, np.float32).copy()

    def close(self) -> None:
        self._file.close()
        self._dir.cleanup()


class _StagedVectors(Sequence):
    """The staged vectors as the ``Sequence`` `MemoryStore.replace_vectors` takes: an ordered
    id list, each vector read from the staging file when asked for (O(1) per item)."""

    def __init__(self, staging: _Staging, rows: list[tuple[str, int]]) -> None:
        self._staging = staging
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for mid, row in self._rows:
            yield mid, self._staging.read(row)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [(mid, self._staging.read(row)) for mid, row in self._rows[index]]
        mid, row = self._rows[index]
        return mid, self._staging.read(row)


class DeletedMemories(list):
    """What `MemoryService.delete` removed, with the space its vectors are in, so an undo
    after an embedder switch knows to embed them again instead of failing."""

    def __init__(self, items: Sequence[StoredMemory] = (), space: EmbeddingSpace | None = None):
        super().__init__(items)
        self.space = space


class ImportResult(int):
    """How many memories an import stored (the int itself), and how many it ``skipped``
    because a memory with that id was already there."""

    skipped: int

    def __new__(cls, imported: int, skipped: int = 0) -> ImportResult:
        result = super().__new__(cls, imported)
        result.skipped = skipped
        return result


class MemoryService:
    """Remember, recall, browse and maintain one store's memories with one embedder."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        *,
        batch: int = STORE_BATCH,
        import_chunk: int = IMPORT_CHUNK,
        redactor: Redactor | None = None,
        locks: Path | None = None,
    ):
        self.store = store
        self.embedder = embedder
        #: Cleans what `remember` and `update` store, so a key pasted into a chat never reaches
        #: the store, its keyword index, search or an export. The session sets the workspace's
        #: redactor (which knows its secret values); the default knows credential shapes.
        self.redactor = redactor or Redactor()
        #: Memories per store call in jobs (export, re-embedding, moving) and in `remember`.
        self.batch = batch
        #: Memories per store call (one short transaction locally) in an import.
        self.import_chunk = import_chunk
        # Held while embedding and writing, so a re-embedding switch sees no half-done write.
        # Writes take it through `_write`, which moves `generation` on.
        self._writing = asyncio.Lock()
        #: Changes whenever a write through this service ends (remember, edit, delete, undo,
        #: import, move, re-embedding switch): a recall made under another value may hold
        #: memories since deleted or edited (services.chat.recall reuses one only if not).
        self.generation = next(_GENERATIONS)
        # Chat turns being remembered: a recall waits for them (`recall`).
        self._remembering: set[asyncio.Future[None]] = set()
        self._staging: tuple[_Staging, Embedder] | None = None
        #: The workspace's job-lock folder: a re-embedding or a move runs in one process at a
        #: time (`job_lock`); None (tests, a store with no workspace) takes no lock.
        self.locks = locks

    @contextlib.asynccontextmanager
    async def _write(self):  # noqa: ANN202 - an async context manager
        """Hold the write lock for a change to the memories; `generation` moves on when it
        ends, after the store's write returned (committed), failed or not: a recall started
        before then may have read the memories as they were."""
        async with self._writing:
            try:
                yield
            finally:
                self.generation = next(_GENERATIONS)

    @property
    def space(self) -> EmbeddingSpace:
        """The space this service's embedder writes in."""
        return space_of(self.embedder)

    async def _embed(self, texts: Sequence[str], embedder: Embedder | None = None) -> np.ndarray:
        embedder = embedder or self.embedder
        parts = [
            await embedder.embed(list(texts[i : i + EMBED_BATCH]))
            for i in range(0, len(texts), EMBED_BATCH)
        ]
        return np.concatenate(parts) if parts else np.empty((0, embedder.dimension), np.float32)

    async def _stage_too(self, records: Sequence[MemoryRecord]) -> None:
        """While a re-embedding runs, writes get their new-space vector as well."""
        if self._staging is not None and records:
            staging, new = self._staging
            vectors = await self._embed([r.content for r in records], new)
            ids = [r.id for r in records]
            staging.written.update(ids)
            staging.put(ids, vectors)

    # -- chat ---------------------------------------------------------------------------------

    async def remember(self, records: Sequence[MemoryRecord]) -> None:
        """Embed and store ``records`` (ids already stored are replaced), secrets redacted."""
        records = [self._redacted(r) for r in records]
        if not records:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._remembering.add(done)
        try:
            async with self._write():
                for start in range(0, len(records), self.batch):
                    chunk = records[start : start + self.batch]
                    vectors = await self._embed([r.content for r in chunk])
                    await self._stage_too(chunk)
                    items = [StoredMemory(r, v) for r, v in zip(chunk, vectors, strict=True)]
                    await self.store.add(items, self.space)
        finally:
            self._remembering.discard(done)
            done.set_result(None)

    def _redacted(self, record: MemoryRecord) -> MemoryRecord:
        content = self.redactor.redact(record.content)
        return record if content == record.content else replace(record, content=content)

    async def recall(
        self,
        character: str,
        text: str,
        *,
        room: str | None = None,
        client: str = "chat",
        limit: int = 8,
    ) -> list[SearchHit]:
        """What ``character`` should have in mind when answering ``text`` in ``room`` (a
        conversation or channel of ``client``): the best of its memories, except those that
        came from that room — the turn's own conversation is in the model's input already."""
        if not text.strip() or limit <= 0:
            return []
        if self._remembering:
            # Read your writes: the local store searches on a thread of its own, beside its
            # writes, so a turn remembered before this recall is waited for here (an embedding
            # and a short write; an import's chunks are not waited for).
            await asyncio.gather(*self._remembering)
        vector = await self._query_vector(text)
        mode = "hybrid" if vector is not None else "keyword"
        not_from = None if room is None else (client, room)
        query = MemoryQuery(text, MemoryFilter(character=character, not_from=not_from), limit, mode)
        hits = await self.store.search(query, vector)
        # The local store leaves them out in its query; this also holds for a store that does
        # not know the filter (Supabase's search functions), which then returns fewer.
        return [h for h in hits if not _from_room(h.record, not_from)][:limit]

    async def warm(self, character: str) -> None:
        """Prepare ``character``'s recall ahead of its first turn: loads the local store's
        vector index and, for an embedder that has one, its local model. Never embeds
        anything: with a paid embedder (OpenAI) that would cost a request per opened chat."""
        warm = getattr(self.store, "warm", None)
        if warm is not None:
            await warm(character)
        load = getattr(self.embedder, "warm", None)
        if load is not None:
            await load()

    async def _query_vector(self, text: str) -> np.ndarray | None:
        """The query's vector, or None when the stored vectors are of another space (a
        re-embedding is due): then only keywords can match."""
        stored = await self.store.space()
        if stored is not None and stored != self.space:
            return None
        return (await self._embed([text]))[0]

    # -- the Memory page ----------------------------------------------------------------------

    async def search(self, query: MemoryQuery) -> list[SearchHit]:
        if query.mode == "keyword":
            return await self.store.search(query, None)
        vector = await self._query_vector(query.text)
        if vector is None:
            if query.mode == "semantic":
                stored = await self.store.space()
                raise EmbeddingSpaceError(
                    f"the memories were embedded with {stored.embedder_id if stored else '?'}, "
                    f"not {self.embedder.id}",
                    hint="Re-embed the memories to search them by meaning.",
                )
            query = replace(query, mode="keyword")
        return await self.store.search(query, vector)

    async def page(
        self, filter: MemoryFilter, cursor: str | None = None, limit: int = 200
    ) -> MemoryPage:
        return await self.store.page(filter, cursor, limit)

    async def count(self, filter: MemoryFilter | None = None) -> int:
        return await self.store.count(filter or MemoryFilter())

    async def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        return await self.store.get(ids)

    async def vectors(self, filter: MemoryFilter, limit: int = 5000) -> list[StoredMemory]:
        return await self.store.vectors(filter, limit)

    async def update(self, record: MemoryRecord) -> None:
        """Save an edited memory, secrets redacted; its vector is recomputed when its content
        changed."""
        record = self._redacted(record)
        async with self._write():
            old = await self.store.get([record.id])
            vector = None
            if not old or old[0].content != record.content:
                vector = (await self._embed([record.content]))[0]
                await self._stage_too([record])
            await self.store.update(record, vector)

    async def delete(self, ids: Sequence[str]) -> DeletedMemories:
        """Delete; keep the result (a list, with the space its vectors are in) to
        `undo_delete` it."""
        async with self._write():
            space = await self.store.space()
            return DeletedMemories(await self.store.delete(ids), space)

    async def undo_delete(self, removed: Sequence[StoredMemory]) -> None:
        """Put deleted memories back as they were. If the store's space changed since the
        delete (an embedder switch or a re-embedding), their content is embedded again with
        the current embedder, so the undo still restores them."""
        if not removed:
            return
        space = getattr(removed, "space", None)  # None: a plain list, from before DeletedMemories
        removed = list(removed)
        async with self._write():
            stored = await self.store.space()
            records = [s.record for s in removed]
            await self._stage_too(records)
            if stored is None or space == stored or (space is None and stored == self.space):
                await self.store.add(removed, stored or space or self.space)
                return
            for start in range(0, len(records), self.batch):
                chunk = records[start : start + self.batch]
                vectors = await self._embed([r.content for r in chunk])
                items = [StoredMemory(r, v) for r, v in zip(chunk, vectors, strict=True)]
                await self.store.add(items, self.space)

    # -- files --------------------------------------------------------------------------------

    async def export_jsonl(
        self,
        path: Path,
        *,
        character: str | None = None,
        vectors: bool = True,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Write memories (one character's, or all) to ``path``; returns how many. The file
        appears whole or not at all."""
        total = await self.store.count(MemoryFilter(character=character))
        space = await self.store.space()
        fd, tmp_name = tempfile.mkstemp(prefix=".export-", suffix=".jsonl", dir=path.parent)
        tmp = Path(tmp_name)
        done = 0
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                await asyncio.to_thread(
                    out.write, jsonl.header_line(space if vectors else None) + "\n"
                )
                async with contextlib.aclosing(self.store.iter_all(self.batch)) as batches:
                    async for batch in batches:
                        chosen = [s for s in batch if character in (None, s.record.character)]
                        # Encoding 500 vectors as JSON takes ≈140 ms: off the loop, with the write.
                        await asyncio.to_thread(_write_lines, out, chosen, vectors)
                        done += len(chosen)
                        if progress:
                            progress(Progress("export", done, max(total, done)))
            await asyncio.to_thread(os.replace, tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return done

    async def import_jsonl(
        self,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        replace: bool = False,
    ) -> ImportResult:
        """Read a JSONL file of memories and store them all, or none: MemoryImportError names
        every bad line.

        Records keep their ids. A memory whose id is already stored is skipped (it may have
        been edited since the export) unless ``replace`` is true; the result is how many were
        stored, an int whose ``skipped`` says how many were left as they were. Progress runs
        over the memories to store (skipped ones are not embedded).

        The rows go in in chunks of `import_chunk`, each its own short transaction, so studio.db
        is never locked for long. Whether an id is already stored is decided inside each
        chunk's write (``keep_existing``), so the count is exact even when another process
        imports the same file at the same time. A cancelled or failed import keeps the chunks
        it committed — nothing is deleted again (an undo worked out from a stale list once
        deleted another process's rows) — and importing the file again adds just the rest;
        `Progress` with job ``"stored"`` says how many are in after each chunk.
        """

        def read() -> jsonl.ParsedFile:
            try:
                with path.open(encoding="utf-8") as src:
                    return jsonl.read_lines(src, str(path))
            except UnicodeDecodeError as exc:
                raise MemoryImportError(
                    f"is not UTF-8 text (byte {exc.start}); nothing was imported", [], path=path
                ) from exc
            except OSError as exc:
                raise MemoryImportError(f"cannot be read: {exc.strerror}", [], path=path) from exc

        parsed = await asyncio.to_thread(read)
        existing: set[str] = set()
        all_ids = [r.id for r in parsed.records]
        for start in range(0, len(all_ids), self.import_chunk):
            found = await self.store.get(all_ids[start : start + self.import_chunk])
            existing.update(r.id for r in found)
        chosen = [i for i, r in enumerate(parsed.records) if replace or r.id not in existing]
        records = [parsed.records[i] for i in chosen]
        total = len(records)
        reuse = parsed.space == self.space
        vectors: list[np.ndarray | None] = (
            [parsed.vectors[i] for i in chosen] if reuse else [None] * total
        )
        # A key pasted into an exported memory is not stored either; its text changed, so its
        # vector is made again from what is stored.
        for i, record in enumerate(records):
            redacted = self._redacted(record)
            if redacted is not record:
                records[i], vectors[i] = redacted, None
        todo = [i for i, v in enumerate(vectors) if v is None]
        for start in range(0, len(todo), EMBED_BATCH):
            part = todo[start : start + EMBED_BATCH]
            embedded = await self._embed([records[i].content for i in part])
            for i, vector in zip(part, embedded, strict=True):
                vectors[i] = vector
            if progress:
                progress(Progress("import", total - len(todo) + start + len(part), total))
        items = await asyncio.to_thread(  # 100k objects would hold the loop for ≈50 ms
            lambda: [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
        )
        loop = asyncio.get_running_loop()
        written = 0
        for start in range(0, total, self.import_chunk):
            chunk = items[start : start + self.import_chunk]
            async with self._write():
                await self._stage_too([s.record for s in chunk])
                began = loop.time()
                adding = asyncio.ensure_future(
                    self.store.add(chunk, self.space, keep_existing=not replace)
                )
                try:
                    written += await asyncio.shield(adding)
                except asyncio.CancelledError:
                    # The chunk's transaction cannot be stopped halfway (it runs on the
                    # store's thread or server): let it end, so "stored" tells the truth.
                    if not adding.cancelled():
                        written += await adding
                    if progress:
                        progress(Progress("stored", written, total))
                    raise
                held = loop.time() - began
            if progress:
                progress(Progress("stored", written, total))
            if start + self.import_chunk < total:
                # Give way: back-to-back transactions would starve chat's writes on the
                # other connection, whose busy handler retries only every ≈100 ms.
                await asyncio.sleep(min(IMPORT_PAUSE, held))
        if progress:
            progress(Progress("import", total, total))
        # Ids another import stored while this one ran count as skipped, not added.
        return ImportResult(written, len(parsed.records) - written)

    async def reembed(
        self, embedder: Embedder, *, progress: ProgressCallback | None = None
    ) -> None:
        """Embed every memory again with ``embedder`` and switch to it.

        The new vectors are staged aside; the store keeps answering with the old ones until
        the switch, which is one store call. Cancel the task to stop: nothing changes then.
        Memories written meanwhile through this service get both vectors.
        """
        running = MemoryStoreError(
            "a re-embedding is already running", hint="Wait for it, or cancel it."
        )
        if self._staging is not None:
            raise running  # at once, not after waiting for the running one's switch
        with self._job("reembed", "re-embedding of this workspace"):
            await self._reembed(embedder, running, progress)

    async def _reembed(
        self, embedder: Embedder, running: MemoryStoreError, progress: ProgressCallback | None
    ) -> None:
        new_space = space_of(embedder)
        async with self._writing:
            if self._staging is not None:
                raise running
            staging = _Staging(new_space)
            self._staging = (staging, embedder)
        try:
            total = await self.store.count(MemoryFilter())
            done = 0
            async with contextlib.aclosing(self.store.iter_all(self.batch)) as batches:
                async for batch in batches:
                    records = [s.record for s in batch]
                    embedded = await self._embed([r.content for r in records], embedder)
                    # A write staged its own, newer vector while this batch was read or
                    # embedded: keep that one (checked and put with no await in between).
                    keep = [n for n, r in enumerate(records) if r.id not in staging.written]
                    staging.put([records[n].id for n in keep], embedded[keep])
                    done += len(batch)
                    if progress:
                        progress(Progress("reembed", done, max(total, done)))
            # The switch is one store call; once begun it is let finish (a cancel arriving
            # then takes effect after it), so the store and self.embedder always agree.
            switch = asyncio.ensure_future(self._switch(staging, embedder))
            try:
                await asyncio.shield(switch)
            except asyncio.CancelledError:
                await switch
                raise
        finally:
            self._staging = None
            staging.close()

    async def _switch(self, staging: _Staging, embedder: Embedder) -> None:
        async with self._write():
            await self.store.replace_vectors(staging.snapshot(), staging.space)
            self.embedder = embedder

    async def move_to(self, other: MemoryStore, *, progress: ProgressCallback | None = None) -> int:
        """Move every memory into ``other`` (e.g. local → Supabase): each batch is copied,
        then deleted here. Interrupted, it can simply run again: copies are keyed by id.
        Returns how many were moved."""
        with self._job("move", "move of this workspace's memories"):
            return await self._move_to(other, progress)

    def _job(self, kind: str, what: str) -> contextlib.AbstractContextManager[None]:
        """The workspace's lock for this kind of job, across processes (none without `locks`)."""
        return contextlib.nullcontext() if self.locks is None else job_lock(self.locks, kind, what)

    async def _move_to(self, other: MemoryStore, progress: ProgressCallback | None) -> int:
        space = await self.store.space()
        if space is None:
            return 0
        theirs = await other.space()
        if theirs is not None and theirs != space:
            raise EmbeddingSpaceError(
                f"the {other.name} store holds vectors from {theirs.embedder_id}, these are "
                f"from {space.embedder_id}",
                hint="Re-embed one side first so both use the same embedder.",
            )
        total = await self.store.count(MemoryFilter())
        size = self.batch
        bulk = isinstance(other, BulkLoading) and total > 0
        if bulk:
            # Its vector index is built once at the end; an interrupted move leaves it to the
            # next one, which starts where this one stopped (moved rows are gone from here).
            size = max(size, await other.begin_bulk(space, total))
        moved = 0
        async with contextlib.aclosing(self.store.iter_all(size)) as batches:
            async for batch in batches:
                await other.add(batch, space)
                async with self._write():
                    await self.store.delete([s.record.id for s in batch])
                moved += len(batch)
                if progress:
                    progress(Progress("move", moved, max(total, moved)))
        if bulk:
            await other.end_bulk()
        return moved

    async def close(self) -> None:
        """Close the store and the embedder (when it has anything to close)."""
        await self.store.close()
        closer = getattr(self.embedder, "close", None)
        if closer is not None:
            await closer()


def _write_lines(out, chosen: Sequence[StoredMemory], vectors: bool) -> None:
    out.write(
        "".join(jsonl.record_line(s.record, s.vector if vectors else None) + "\n" for s in chosen)
    )
