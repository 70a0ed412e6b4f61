"""The team memory store: memories in a Supabase project (PostgreSQL + pgvector).

Every operation is one SQL function of ``resources/sql/supabase/0001_memories.sql``, called
through the ``supabase`` client's ``rpc`` (always ``POST /rest/v1/rpc/<fn>``: a ``GET`` would
send vectors as Postgres array literals in the URL). All the logic runs in SQL, which is why the
tests can run this module, unchanged, against real PostgreSQL + pgvector behind a small RPC
bridge. The tables themselves are closed to the REST API (RLS, no policies); only the
``service_role`` may call the functions, so the key this store needs is the project's
*service* key, which the studio keeps in the keyring.

Vectors travel as pgvector's text form (``"[0.1,0.2,…]"``), built and parsed in a worker thread:
as JSON arrays, 500×384 floats would take the loop ≈100 ms to encode.
"""

# Long: the Supabase store's RPC calls and their JSON encoders mirror the SQL functions one
# for one; the encoders are the next cut.

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from carrier_studio import assets
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.core.memory.model import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryPage,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    SearchHit,
    StoredMemory,
)
from carrier_studio.core.memory.search import Candidate, fuse, keyword_score
from carrier_studio.core.secret_names import SUPABASE_DB_URL_SECRET
from carrier_studio.services.memory.supabase_copy import INIT_COMMAND

if TYPE_CHECKING:
    import httpx
    from supabase import AsyncClient

    from carrier_studio.services.memory.supabase_copy import CopyLoader
    from carrier_studio.services.memory.supabase_index import IndexBuild

#: The migration's schema version this code needs (``memories_status().schema_version``).
SCHEMA_VERSION = 2  # 2: memories_insert(…, p_keep_existing): imports that can run again
#: Records per RPC (≈1 MB of JSON with 384-d vectors): small enough that the supabase client's
#: JSON encoding and decoding, which run on the event loop, stay within a few milliseconds.
WRITE_BATCH = 200
READ_BATCH = 250
#: Records per RPC in a bulk move (`begin_bulk`): fewer, larger calls. Their pgvector text is
#: built in a thread, but the supabase client encodes the JSON body (≈2.7 MB) on the loop:
#: ≈15 ms at 500, within a frame; 1,000 took ≈30 ms.
BULK_BATCH = 500
#: From this many memories a move through the API suggests the database URL (COPY): below, the
#: API's few seconds are not worth the advice.
LARGE_MOVE = 10_000
#: Seconds `end_bulk` waits for the vector index to be built (≈0.5 ms a memory here).
INDEX_BUILD_TIMEOUT = 900.0
#: What the user is told of the vector index (`index_note`), by its state.
INDEX_BUILDING = "search index building — searches are exact until it is ready"
INDEX_MISSING = (
    "search index not built — searches are exact, and slower, until it is; opening the store "
    f"with the database URL set builds it, or `{INIT_COMMAND} --apply`"
)
#: This store's build (a resumed one, or a move's) failed: why, and what to check.
INDEX_FAILED = (
    "search index build failed: {reason} — searches are exact, and slower, until it is built; "
    "check Settings → Memory → Supabase database URL, then open the store again"
)


def index_build_failed(note: str) -> bool:
    """Whether ``note`` (`index_note`'s words) says this store's index build failed."""
    return note.startswith(INDEX_FAILED.partition("{")[0])


#: Refused by `apply_migration` while a background build runs: its DDL and the build's
#: CREATE INDEX CONCURRENTLY would wait on each other's locks.
MIGRATION_DURING_BUILD = (
    "a search index build is running; run this again when `carrier-studio memory stats` says "
    "the index is ready"
)

_NOT_INSTALLED_CODES = {"PGRST202", "42883", "42P01"}
_KEY_REFUSED_CODES = {"PGRST301", "PGRST302", "PGRST303", "401"}
_SPACE_CODES = {"CM001", "CM002"}


def migration_sql() -> str:
    """The SQL that prepares a Supabase project (paste it into the Supabase SQL editor)."""
    return assets.resource("sql", "supabase", "0001_memories.sql").read_text("utf-8")


def apply_migration(database_url: str) -> None:
    """Run the migration over a direct PostgreSQL connection (blocking: call it from a thread
    or the CLI). ``database_url`` is the project's connection string (Project Settings →
    Database), e.g. ``postgresql://postgres:PASSWORD@db.<ref>.supabase.co:5432/postgres``.
    Safe to run again."""
    import psycopg

    from carrier_studio.services.memory.supabase_copy import connect, first_line, redact_url, scrub

    where = redact_url(database_url)
    # Says what failed (unreachable, refused, not a connection string), password left out.
    with connect(database_url) as connection:
        try:
            # The script may build a vector index a bulk move left to it (minutes for a large
            # store): no time limit for this session.
            connection.execute("set statement_timeout = 0")
            if _building(connection):
                raise MemoryStoreError(MIGRATION_DURING_BUILD, where=where)
            # No parameters: psycopg sends the whole script in one simple-query round trip,
            # which PostgreSQL runs as one transaction (autocommit: no transaction around it).
            connection.execute(migration_sql())
        except psycopg.Error as exc:
            diag = exc.diag
            detail = scrub(diag.message_primary or "", database_url) or first_line(
                exc, database_url
            )
            # From None: the server's words in the driver's exception may quote the password.
            raise MemoryStoreError(
                f"the migration failed: {detail}",
                where=where,
                hint=scrub(diag.message_hint or "", database_url) or None,
            ) from None


class SupabaseMemoryStore:
    """A `MemoryStore` over a Supabase project's RPC API.

    Args:
        url: The project URL, e.g. ``https://<ref>.supabase.co``.
        key: The project's ``service_role`` key (the anon key is refused by the functions).
        call_timeout: Seconds to wait for one call.
        database_url: The project's connection string, if the user gave it: a bulk move then
            goes over it with COPY (`supabase_copy`), ≈10× faster than through the API.
    """

    name = "supabase"
    #: The store's name in a sentence for the user.
    title = "Supabase"

    def __init__(
        self, url: str, key: str, *, call_timeout: float = 30.0, database_url: str = ""
    ) -> None:
        self.url = url.strip().rstrip("/")
        self._key = key
        self._database_url = database_url.strip()
        #: Between `begin_bulk` and `end_bulk` of a move over the direct connection.
        self._copy: CopyLoader | None = None
        self._timeout = call_timeout
        self._client: AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None
        # Concurrent first calls (a hybrid search beside a write) must share one client.
        self._connecting = asyncio.Lock()
        #: Between `begin_bulk` and `end_bulk` on a project that has the bulk functions.
        self._bulk = False
        #: The vector index build a move over the database URL left running, or one this
        #: store resumed on opening (`index_build`).
        self._index_build: IndexBuild | None = None

    @classmethod
    async def open(
        cls, url: str, key: str, *, call_timeout: float = 30.0, database_url: str = ""
    ) -> SupabaseMemoryStore:
        """A store whose project was reached, accepted the key and has the migration applied.

        Raises:
            MemoryStoreError: with what to do (fix the URL or key, or run the init command).
        """
        store = cls(url, key, call_timeout=call_timeout, database_url=database_url)
        try:
            status = await store._status()
        except BaseException:
            await store.close()
            raise
        if store._database_url and _index_left(status):
            # A build the app's quit (or a failure) stopped: build it again, in the background.
            from carrier_studio.services.memory.supabase_copy import CopyLoader
            from carrier_studio.services.memory.supabase_index import IndexBuild

            store._index_build = IndexBuild(CopyLoader(store._database_url), connect=True)
        return store

    @property
    def index_build(self) -> asyncio.Future[None] | None:
        """Resolves when the vector index build this store started has ended (None: none)."""
        return None if self._index_build is None else self._index_build.done

    async def index_note(self) -> str:
        """A few words for the user while the vector index is not there ("" once it is):
        building, left unbuilt by a stopped build or move, or this store's build failed."""
        return (await self.index_status())[1]

    async def index_status(self) -> tuple[EmbeddingSpace | None, str, bool]:
        """The store's embedding space, `index_note`'s words and whether a build runs
        elsewhere (another store or studio: nothing here says when it ends), in one call."""
        status = await self._status()
        space = _space(status)
        if not status.get("vector_index_deferred"):
            # The index is there (a build's lock held without one missing is the SQL script
            # being applied: it holds the lock while it runs).
            return space, "", False
        own = self._index_build
        if own is not None and own.running:
            return space, INDEX_BUILDING, False
        if status.get("vector_index_building"):
            return space, INDEX_BUILDING, True
        if own is not None and own.failure:
            return space, INDEX_FAILED.format(reason=own.failure), False
        return space, INDEX_MISSING, False

    # -- the protocol --------------------------------------------------------------------------

    async def space(self) -> EmbeddingSpace | None:
        return _space(await self._status())

    async def _status(self) -> dict[str, Any]:
        status = await self._rpc("memories_status", {})
        if not isinstance(status, dict) or not isinstance(status.get("schema_version"), int):
            raise MemoryStoreError(
                "memories_status answered something unexpected",
                where=self.url,
                hint=f"Run `{INIT_COMMAND}` and apply the SQL again.",
            )
        if status["schema_version"] < SCHEMA_VERSION:
            raise MemoryStoreError(
                f"the memory functions in this project are schema {status['schema_version']}; "
                f"this studio needs {SCHEMA_VERSION}",
                where=self.url,
                hint=f"Run `{INIT_COMMAND}` and apply the SQL again.",
            )
        return status

    async def add(
        self, items: Sequence[StoredMemory], space: EmbeddingSpace, *, keep_existing: bool = False
    ) -> int:
        if self._copy is not None and not keep_existing:
            return await self._copy.add(items, space)
        written = 0
        size = BULK_BATCH if self._bulk else WRITE_BATCH
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            payload = await asyncio.to_thread(_items_json, batch)
            count = await self._rpc(
                "memories_insert",
                {
                    "p_items": payload,
                    "p_embedder_id": space.embedder_id,
                    "p_dimension": space.dimension,
                    "p_keep_existing": keep_existing,
                },
            )
            written += int(count or 0)
        return written

    # -- moving many memories in -------------------------------------------------------------

    async def begin_bulk(self, space: EmbeddingSpace, expected: int) -> int:
        """Prepare for ``expected`` memories: when they are at least as many as the store holds,
        its vector index is dropped, to be built once by `end_bulk`. Returns the records per
        `add` call that suit a bulk load (`BULK_BATCH`). A project whose SQL predates the bulk
        functions (schema 2) loads row by row as before. With a database URL the move goes over
        it (COPY, `COPY_BATCH` a call); one that fails to connect stops the move before anything
        moved, naming what failed."""
        # This store's own build from an earlier move or open: stopped (its rows join this
        # move's, and one build at the end covers both).
        if self._index_build is not None:
            build, self._index_build = self._index_build, None
            await build.stop()
        if self._database_url:
            return await self._begin_copy(space, expected)
        found = await self._rpc(
            "memories_bulk_begin",
            {"p_embedder_id": space.embedder_id, "p_dimension": space.dimension,
             "p_expected": int(expected)},
            optional=True,
        )  # fmt: skip
        self._bulk = found is not None
        return BULK_BATCH if self._bulk else WRITE_BATCH

    async def end_bulk(self) -> None:
        """Build the vector index a `begin_bulk` dropped (or an interrupted move left dropped);
        this can take minutes for a large store. Over the database URL (schema 4) it returns at
        once, the rows being stored: the build goes on in the background (`index_build`)."""
        if self._copy is not None:
            copy, self._copy = self._copy, None
            if copy.builds_later:
                from carrier_studio.services.memory.supabase_index import IndexBuild

                self._index_build = IndexBuild(copy)
                return
            try:
                await copy.end()
            except MemoryStoreError as exc:
                raise MemoryStoreError(
                    f"the memories were moved, but their vector index was not built "
                    f"({exc.message}); searches there still work, more slowly",
                    where=copy.where,
                    hint=f"Run `{INIT_COMMAND} --apply`: it builds the index over the "
                    "database URL saved in Settings.",
                ) from None
            finally:
                await copy.close()
            return
        if not self._bulk:
            return
        await self._connect()
        assert self._http is not None
        timeout, self._http.timeout = self._http.timeout, INDEX_BUILD_TIMEOUT
        try:
            await self._rpc("memories_bulk_end", {})
        except MemoryStoreError as exc:
            raise MemoryStoreError(
                f"the memories were moved, but their vector index was not built ({exc.args[0]}); "
                "searches there still work, more slowly",
                where=self.url,
                hint=f"Run `{INIT_COMMAND} --apply` with {SUPABASE_DB_URL_SECRET} set to the "
                "project's connection string: over a direct connection the API's time limit does "
                "not apply.",
            ) from exc
        finally:
            self._http.timeout = timeout
        self._bulk = False

    async def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        rows = await self._rpc("memories_get", {"p_ids": list(ids)})
        found = {row["id"]: _record(row) for row in rows}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    async def update(self, record: MemoryRecord, vector: np.ndarray | None = None) -> None:
        args: dict[str, Any] = {
            "p_record": {
                "id": record.id,
                "content": record.content,
                "kind": record.kind,
                "importance": float(record.importance),
                "pinned": bool(record.pinned),
                "metadata": dict(record.metadata),
            }
        }
        if vector is not None:
            args["p_embedding"] = np.asarray(vector, dtype=np.float32).tolist()
        changed = await self._rpc("memories_update", args)
        if changed == 0:
            raise MemoryStoreError(
                f"there is no memory {record.id} to update (deleted elsewhere?)", where=self.url
            )

    async def delete(self, ids: Sequence[str]) -> list[StoredMemory]:
        if not ids:
            return []
        rows = await self._rpc("memories_delete", {"p_ids": list(ids)})
        removed = {item.record.id: item for item in await asyncio.to_thread(_stored, rows)}
        return [removed[i] for i in dict.fromkeys(ids) if i in removed]

    async def search(self, query: MemoryQuery, vector: np.ndarray | None) -> list[SearchHit]:
        if query.mode == "semantic" and vector is None:
            raise MemoryStoreError("a semantic search needs the query's vector", where=self.url)
        if query.limit <= 0:
            return []
        filter_json = _filter_json(query.filter)
        as_list = None if vector is None else np.asarray(vector, dtype=np.float32).tolist()
        if query.mode == "semantic":
            rows = await self._rpc(
                "match_memories",
                {"p_query": as_list, "p_filter": filter_json, "p_limit": query.limit},
            )
        elif query.mode == "keyword":
            rows = await self._rpc(
                "memories_keyword_search",
                {"p_text": query.text, "p_filter": filter_json, "p_limit": query.limit},
            )
        else:
            rows = await self._rpc(
                "memories_hybrid_search",
                {
                    "p_text": query.text,
                    "p_query": as_list,
                    "p_filter": filter_json,
                    "p_limit": query.limit,
                },
            )
        candidates = [
            Candidate(
                _record(row),
                semantic=None if row.get("similarity") is None else float(row["similarity"]),
                keyword=None if row.get("rank") is None else keyword_score(row["rank"]),
            )
            for row in rows
        ]
        return fuse(candidates, query.mode, query.limit)

    async def page(
        self, filter: MemoryFilter, cursor: str | None = None, limit: int = 200
    ) -> MemoryPage:
        before_at, before_id = self._decode_cursor(cursor)
        rows = await self._rpc(
            "memories_page",
            {
                "p_filter": _filter_json(filter),
                "p_before_created_at": before_at,
                "p_before_id": before_id,
                # One more than asked: whether a next page exists without a second call.
                "p_limit": limit + 1,
            },
        )
        records = [_record(row) for row in rows[:limit]]
        more = len(rows) > limit and records
        return MemoryPage(records, _encode_cursor(records[-1]) if more else None)

    async def count(self, filter: MemoryFilter) -> int:
        return int(await self._rpc("memories_count", {"p_filter": _filter_json(filter)}))

    async def vectors(self, filter: MemoryFilter, limit: int = 5000) -> list[StoredMemory]:
        found: list[StoredMemory] = []
        async for batch in self._vector_batches(filter, READ_BATCH, limit):
            found.extend(batch)
        return found

    def iter_all(self, batch: int = 500) -> AsyncIterator[list[StoredMemory]]:
        return self._vector_batches(MemoryFilter(), batch, None)

    async def replace_vectors(
        self, vectors: Sequence[tuple[str, np.ndarray]], space: EmbeddingSpace
    ) -> None:
        """In batches; into another space the batches are staged and the last one swaps them
        all in at once, or fails (changing nothing) if some memory got no new vector."""
        starts = list(range(0, len(vectors), WRITE_BATCH)) or [0]
        for start in starts:
            # Slicing may read the vectors from disk (the re-embedding's staging): a thread's job.
            payload = await asyncio.to_thread(_vectors_slice_json, vectors, start)
            await self._rpc(
                "memories_replace_vectors",
                {
                    "p_items": payload,
                    "p_embedder_id": space.embedder_id,
                    "p_dimension": space.dimension,
                    "p_final": start == starts[-1],
                },
            )

    def move_advice(self, moved: int) -> str:
        """A sentence for the user after a move of ``moved`` memories into this store: that
        its search index is still being built; after a large one through the API, that the
        database URL makes such moves faster."""
        if self._index_build is not None and self._index_build.running:
            return INDEX_BUILDING[0].upper() + INDEX_BUILDING[1:] + "."
        if self._database_url or moved < LARGE_MOVE:
            return ""
        return "Large moves are faster with the database URL (Settings → Memory)."

    async def _begin_copy(self, space: EmbeddingSpace, expected: int) -> int:
        from carrier_studio.services.memory.supabase_copy import COPY_BATCH, CopyLoader

        # Held before it connects (up to 15 s): a `close` meanwhile (Stop) closes the
        # connection as soon as it is made, rather than leaving it open with the index dropped.
        copy = self._copy = CopyLoader(self._database_url)
        try:
            status = await self._rpc("memories_status", {})
            # SQL from before memories_status said which database answers: counts instead.
            count = None if "database" in status else await self.count(MemoryFilter())
            await copy.begin(space, expected, self.url, status, count)
        except BaseException:
            if self._copy is copy:
                self._copy = None
            await copy.close()
            raise
        return COPY_BATCH

    async def close(self) -> None:
        # A vector index build goes on without the store (`IndexBuild`): a move closes its
        # target as soon as the rows are stored.
        copy, self._copy = self._copy, None
        if copy is not None:
            await copy.close()
        self._client = None
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    # -- plumbing ------------------------------------------------------------------------------

    async def _vector_batches(
        self, filter: MemoryFilter, batch: int, limit: int | None
    ) -> AsyncIterator[list[StoredMemory]]:
        filter_json = _filter_json(filter)
        before_at: str | None = None
        before_id: str | None = None
        left = limit
        while left is None or left > 0:
            size = batch if left is None else min(batch, left)
            rows = await self._rpc(
                "memories_vectors",
                {
                    "p_filter": filter_json,
                    "p_before_created_at": before_at,
                    "p_before_id": before_id,
                    "p_limit": size,
                },
            )
            if not rows:
                return
            items = await asyncio.to_thread(_stored, rows)
            yield items
            if len(rows) < size:
                return
            last = items[-1].record
            before_at, before_id = _iso(last.created_at), last.id
            if left is not None:
                left -= len(rows)

    async def _connect(self) -> AsyncClient:
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                await self._create_client()
        assert self._client is not None
        return self._client

    async def _create_client(self) -> None:
        # Imported here: the supabase package costs ≈0.7 s of start-up.
        import httpx
        from supabase import AsyncClient, AsyncClientOptions, AsyncSupabaseException

        # Our own HTTP client (the timeout argument of the supabase options is deprecated);
        # the REST and auth clients share it and `close()` closes it.
        self._http = httpx.AsyncClient(timeout=self._timeout)
        options = AsyncClientOptions(
            httpx_client=self._http, auto_refresh_token=False, persist_session=False
        )
        try:
            self._client = await AsyncClient.create(self.url, self._key, options)
        except AsyncSupabaseException as exc:
            await self.close()
            raise MemoryStoreError(
                f"cannot use this Supabase project: {exc.message}",
                where=self.url or "Settings → Memory",
                hint="The URL looks like https://<project>.supabase.co; "
                "the key is the service_role key from Project Settings → API.",
            ) from exc

    async def _rpc(self, function: str, args: dict[str, Any], *, optional: bool = False) -> Any:
        """Call ``function``; with ``optional``, a function the project lacks answers None."""
        import httpx
        from postgrest import APIError

        client = await self._connect()
        try:
            response = await client.rpc(function, args).execute()
        except APIError as exc:
            if optional and str(exc.code or "") in _NOT_INSTALLED_CODES:
                return None
            raise self._api_error(function, exc) from exc
        except httpx.TimeoutException as exc:
            raise MemoryStoreError(
                f"Supabase did not answer {function} within {self._timeout:g} s",
                where=self.url,
                hint="Check your network; a very large batch may need a longer timeout.",
            ) from exc
        except httpx.TransportError as exc:
            raise MemoryStoreError(
                f"cannot reach Supabase: {exc or type(exc).__name__}",
                where=self.url,
                hint="Check the project URL in Settings → Memory and your network connection.",
            ) from exc
        return response.data

    def _api_error(self, function: str, exc: Any) -> MemoryStoreError:
        code = str(exc.code or "")
        message = exc.message or "unknown error"
        if code in _NOT_INSTALLED_CODES:
            return MemoryStoreError(
                f"this Supabase project has no memory functions ({function} is missing)",
                where=self.url,
                hint=f"Run `{INIT_COMMAND}` and paste the SQL into the Supabase SQL editor "
                "(or add --apply DATABASE_URL to run it for you).",
            )
        if code in _KEY_REFUSED_CODES or message == "Invalid API key":
            return MemoryStoreError(
                "Supabase refused the key",
                where=self.url,
                hint="Paste the project's service_role key (Project Settings → API) into "
                "Settings → Memory.",
            )
        if code == "42501":
            return MemoryStoreError(
                f"this key may not call the memory functions ({message})",
                where=self.url,
                hint="Use the service_role key, not the anon key (Project Settings → API).",
            )
        if code in _SPACE_CODES:
            return EmbeddingSpaceError(message, where=self.url, hint=exc.hint)
        if code.isdigit() and len(code) == 3:
            # Not PostgREST's JSON: something else answered at this URL.
            return MemoryStoreError(
                f"{self.url}/rest/v1 did not answer like Supabase (HTTP {code} {message})",
                where=self.url,
                hint="Check the project URL: it looks like https://<project>.supabase.co.",
            )
        detail = f" ({exc.details})" if exc.details else ""
        return MemoryStoreError(
            f"{function} failed: {message}{detail}", where=self.url, hint=exc.hint
        )

    def _decode_cursor(self, cursor: str | None) -> tuple[str | None, str | None]:
        if cursor is None:
            return None, None
        at, sep, memory_id = cursor.partition("|")
        try:
            datetime.fromisoformat(at)
        except ValueError:
            sep = ""
        if not sep:
            raise MemoryStoreError(f"not a page cursor of this store: {cursor!r}", where=self.url)
        return at, memory_id


# -- conversions (pure; the batch ones run in a worker thread) ---------------------------------


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _encode_cursor(record: MemoryRecord) -> str:
    return f"{_iso(record.created_at)}|{record.id}"


def _filter_json(filter: MemoryFilter) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("character", "client", "room", "pinned"):
        value = getattr(filter, name)
        if value is not None:
            found[name] = value
    if filter.kinds is not None:
        found["kinds"] = sorted(filter.kinds)
    if filter.since is not None:
        found["since"] = _iso(filter.since)
    if filter.until is not None:
        found["until"] = _iso(filter.until)
    return found


def _vector_text(vector: np.ndarray) -> str:
    """pgvector's text form; nine significant digits give back every float32 exactly."""
    values = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
    template = _TEMPLATES.get(len(values))
    if template is None:
        # One %-format over the whole vector runs in C: 1.6× faster than a format per value,
        # and a bulk move spends a fifth of its time here.
        template = _TEMPLATES[len(values)] = "[" + ",".join(["%.9g"] * len(values)) + "]"
    return template % tuple(values)


_TEMPLATES: dict[int, str] = {}


def _parse_vector(text: str) -> np.ndarray:
    # One short C call per vector, so this worker thread hands the GIL back to the loop often.
    return np.fromstring(text[1:-1], dtype=np.float32, sep=",")


def _items_json(items: Sequence[StoredMemory]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        record = item.record
        found.append(
            {
                "id": record.id,
                "character": record.character,
                "kind": record.kind,
                "content": record.content,
                "client": record.provenance.client,
                "room": record.provenance.room,
                "message_id": record.provenance.message_id,
                "speaker": record.provenance.speaker,
                "created_at": _iso(record.created_at),
                "importance": float(record.importance),
                "pinned": bool(record.pinned),
                "metadata": json.loads(json.dumps(dict(record.metadata))),
                "embedding": _vector_text(item.vector),
            }
        )
    return found


def _vectors_slice_json(vectors: Sequence[tuple[str, np.ndarray]], start: int):
    return _vectors_json(vectors[start : start + WRITE_BATCH])


def _vectors_json(vectors: Sequence[tuple[str, np.ndarray]]) -> list[dict[str, str]]:
    return [{"id": memory_id, "embedding": _vector_text(vector)} for memory_id, vector in vectors]


def _record(row: dict[str, Any]) -> MemoryRecord:
    return MemoryRecord(
        id=row["id"],
        character=row["character"],
        kind=row["kind"],
        content=row["content"],
        provenance=Provenance(
            client=row["client"],
            room=row["room"],
            message_id=row["message_id"],
            speaker=row["speaker"],
        ),
        created_at=datetime.fromisoformat(row["created_at"]).astimezone(UTC),
        importance=float(row["importance"]),
        pinned=bool(row["pinned"]),
        metadata=row["metadata"] or {},
    )


def _space(status: dict[str, Any]) -> EmbeddingSpace | None:
    if status.get("embedder_id") is None:
        return None
    return EmbeddingSpace(str(status["embedder_id"]), int(status["dimension"]))


def _building(connection: Any) -> bool:
    """A background vector index build is running on the database (schema 4; older SQL has
    no such builds)."""
    (found,) = connection.execute(
        "select to_regprocedure('public.memories_index_building()') is not null"
    ).fetchone()
    if not found:
        return False
    (building,) = connection.execute("select public.memories_index_building()").fetchone()
    return bool(building)


def _index_left(status: dict[str, Any]) -> bool:
    """A vector index a stopped build or move left unbuilt, that nobody is building."""
    deferred = bool(status.get("vector_index_deferred"))
    return deferred and status.get("vector_index_building") is False


def _stored(rows: list[dict[str, Any]]) -> list[StoredMemory]:
    return [StoredMemory(_record(row), _parse_vector(row["embedding"])) for row in rows]
