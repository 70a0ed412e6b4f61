"""Moving memories into Supabase over a direct PostgreSQL connection: binary COPY (#21).

Supabase gives every project a connection string (Project Settings → Database, the direct
connection or the session pooler on port 5432). With it, a move skips the REST API: each batch
goes in as one binary ``COPY`` (no JSON, vectors as pgvector's binary form straight from numpy),
and the vector index is dropped first and built once at the end with no API time limit (the API
roles stop a statement after 8 s). Over the API the same move spends most of its time turning
500×384 floats into JSON text and back.

The move ends once the rows are stored (and deleted locally): the index is then built in the
background (`supabase_index.IndexBuild`, on the move's own connection).

Resumable by id as the RPC move is: a batch is one transaction that first deletes the ids it
brings (a batch a crash left committed but not yet deleted locally is replaced, not doubled),
and the caller deletes the batch locally only after that transaction committed.

The connection string holds the database password: it is kept as a secret (keyring, like the
service key), and every message here names the database by `redact_url`, never by the string.
All blocking work (psycopg is used synchronously) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np

from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.core.memory.model import EmbeddingSpace, StoredMemory

if TYPE_CHECKING:
    import psycopg

#: Prints the SQL that prepares a Supabase project; with ``--apply`` runs it over the database
#: URL (here, not in supabase_store, which imports this module).
INIT_COMMAND = "carrier-studio memory init --supabase"
#: Memories per COPY: ≈3 MB on the wire; each is one transaction, then deleted locally.
COPY_BATCH = 2000
SETTINGS = "Settings → Memory → Supabase database URL"
#: With memory functions that do not say which database answers, counts over the API and the
#: direct connection may differ by this much (or 1 %) and still be one database: others'
#: writes between the two looks.
SAME_COUNT_SLACK = 100

_COLUMNS = (
    "id, character, kind, content, client, room, message_id, speaker, created_at, "
    "importance, pinned, metadata, embedding"
)
_TYPES = [
    *["text"] * 8, "timestamptz", "float8", "bool", "jsonb",
    # pgvector's binary form, sent as the raw bytes its receive function reads.
    "bytea",
]  # fmt: skip
_BULK_BEGIN = "public.memories_bulk_begin(text,integer,bigint,real)"
#: Schema 4: the index built after the move (`IndexBuild`); older SQL builds it within the move.
_BUILD_BEGIN = "public.memories_index_build_begin()"
log = logging.getLogger(__name__)
_UNREACHABLE = (
    "could not translate host name", "connection refused", "timeout expired", "timed out",
    "no route to host", "network is unreachable", "could not connect", "no such file",
    "server closed the connection",
)  # fmt: skip
_REFUSED = ("password authentication failed", "no password supplied", "authentication failed",
            "role \"", "no pg_hba.conf entry")  # fmt: skip


def redact_url(database_url: str) -> str:
    """The connection string with its password as ***, to name the database in a message."""
    return _redacted(database_url)[0]


def first_line(exc: BaseException, database_url: str = "") -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return scrub(text, database_url)


def scrub(text: str, database_url: str) -> str:
    """``text`` without the connection string or its password (a driver or the server may
    echo either)."""
    if not database_url:
        return text
    redacted, passwords = _redacted(database_url)
    text = text.replace(database_url, redacted)
    for password in sorted(passwords, key=len, reverse=True):
        if len(password) >= 3:  # Shorter would star out ordinary words.
            text = text.replace(password, "***")
    return text


# libpq reads a URI's user part up to the first "@" before any "/", so a password pasted with
# "?" or "#" in it still counts as one (urlsplit would cut it there and leave the rest).
_URI = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?:(?P<user>[^@/:]*)(?::(?P<password>[^@/]*))?@)?"
    r"(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
# A keyword/value string's password: bare up to a space, or single-quoted with \' and \\.
_KEYWORD = re.compile(r"(?<!\S)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)")


def _redacted(database_url: str) -> tuple[str, list[str]]:
    """The connection string with every password it holds as ***, and those passwords (as
    written and as libpq reads them). A URI may hold one in its user part and one in a
    ``password=`` parameter; a keyword/value string (``host=… password=…``) in its keyword."""
    passwords: list[str] = []

    def star(value: str) -> str:
        passwords.extend([value, unquote(value)])
        return "***"

    uri = _URI.fullmatch(database_url.strip())
    if uri is None:

        def keyword(match: re.Match[str]) -> str:
            value = match[2]
            if value.startswith("'"):
                passwords.append(re.sub(r"\\(.)", r"\1", value[1:].removesuffix("'")))
            return match[1] + star(value)

        return _KEYWORD.sub(keyword, database_url), [p for p in passwords if p]
    head = uri["scheme"]
    if uri["user"] is not None:
        head += uri["user"] + (":" + star(uri["password"]) if uri["password"] else "") + "@"
    location, sep, query = uri["rest"].partition("?")
    if sep:
        pairs = query.split("&")
        for i, pair in enumerate(pairs):
            name, equals, value = pair.partition("=")
            if equals and unquote(name).strip() == "password":
                pairs[i] = f"{name}={star(value)}"
        query = "&".join(pairs)
    return head + location + sep + query, [p for p in passwords if p]


def connect(database_url: str, *, timeout: int = 15) -> psycopg.Connection:
    """A direct connection (blocking), or an error that says what failed: the server could not
    be reached, it refused the user or password, or the string is not a connection string."""
    import psycopg

    where = redact_url(database_url)
    try:
        return psycopg.connect(database_url, connect_timeout=timeout, autocommit=True)
    except psycopg.OperationalError as exc:
        detail = first_line(exc, database_url)
        lower = str(exc).lower()
        if any(word in lower for word in _REFUSED) or (exc.sqlstate or "").startswith("28"):
            what = "the database refused the user name or password"
            hint = "Copy the connection string again and put the database password in it."
        elif 'database "' in lower and "does not exist" in lower:
            what = "the server has no database of that name"
            hint = "The database of a Supabase project is named postgres (the URL's last part)."
        elif any(word in lower for word in _UNREACHABLE):
            what = "cannot reach the database server"
            hint = "Check the host and port (Project Settings → Database: the direct connection "
            hint += "or the session pooler on port 5432) and your network."
        else:
            what = "cannot connect to the database"
            hint = "Check the connection string (Project Settings → Database) and its password."
        # From None: the driver's own exception text may quote the connection string.
        raise MemoryStoreError(f"{what} ({detail})", where=where, hint=hint) from None
    except psycopg.Error as exc:
        raise MemoryStoreError(
            f"this is not a PostgreSQL connection string ({first_line(exc, database_url)})",
            where=where,
            hint="It looks like postgresql://postgres:PASSWORD@db.<project>.supabase.co:5432/"
            "postgres (Project Settings → Database).",
        ) from None


class CopyLoader:
    """One bulk move's direct connection: `begin`, `add` per batch, `end`, `close`."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self.where = redact_url(database_url)
        self._connection: psycopg.Connection | None = None
        #: Set by `close`, which may come while `_begin` is still connecting in its thread
        #: (Stop during the first seconds of a move): the connection then made is closed.
        self._closing = False
        self._state = threading.Lock()
        #: The SQL can build the index after the move, concurrently (schema 4).
        self.builds_later = False

    async def begin(
        self,
        space: EmbeddingSpace,
        expected: int,
        api_url: str,
        api_status: Mapping[str, Any],
        api_count: int | None = None,
    ) -> None:
        """Connect, check that the database holds the memory functions and is the one the
        project's API answers from (``api_status``, its ``memories_status()``; memory functions
        from before that said which database answers: about ``api_count`` memories), record
        ``space`` (or refuse another) and drop the vector index when the move brings at least
        as many memories as the store holds."""
        await asyncio.to_thread(self._begin, space, expected, api_url, api_status, api_count)

    def _begin(
        self,
        space: EmbeddingSpace,
        expected: int,
        api_url: str,
        api_status: Mapping[str, Any],
        api_count: int | None,
    ) -> None:
        self.connect()
        try:
            # `_open` each time: a close meanwhile stops here, before the index is dropped.
            row = self._open().execute(
                "select (select extversion from pg_extension where extname = 'vector'), "
                "to_regclass('public.memories') is not null, to_regprocedure(%s) is not null, "
                "to_regprocedure(%s) is not null",
                [_BULK_BEGIN, _BUILD_BEGIN],
            )
            vector, table, functions, self.builds_later = row.fetchone()  # type: ignore[misc]
            if vector is None:
                raise MemoryStoreError(
                    'this database has no pgvector (the extension "vector")',
                    where=self.where,
                    hint="Is it the Supabase project's database? Run "
                    f"`{INIT_COMMAND} --apply` to install the memory tables and functions.",
                )
            if table and not functions:
                raise MemoryStoreError(
                    "the memory functions in this database predate bulk moves",
                    where=self.where,
                    hint=f"Run `{INIT_COMMAND} --apply` to bring them up to date (the "
                    "memories stay).",
                )
            if not functions:
                raise MemoryStoreError(
                    "this database has no Carrier Studio memory tables and functions",
                    where=self.where,
                    hint=f"Run `{INIT_COMMAND} --apply` with this connection string, or check "
                    "that it is the database of the Supabase project in Settings.",
                )
            self._same_database(api_url, api_status, api_count)
            self._call("select public.memories_bulk_begin(%s, %s, %s)",
                       [space.embedder_id, space.dimension, expected])  # fmt: skip
        except BaseException:
            self.close_blocking()
            raise

    def connect(self) -> None:
        """Make the connection (blocking; `begin` does, and a resumed index build)."""
        connection = connect(self._url)
        with self._state:
            closing = self._closing
            if not closing:
                self._connection = connection
        if closing:
            connection.close()
            raise MemoryStoreError("the move was stopped while connecting", where=self.where)
        # No time limit for this session: the one index build may take minutes.
        self._open().execute("set statement_timeout = 0")

    def _same_database(
        self, api_url: str, api_status: Mapping[str, Any], api_count: int | None
    ) -> None:
        """Refuse a connection string that leads elsewhere than the project's API: moved
        memories would be deleted here and never seen in the studio's store."""
        (status,) = self._open().execute("select public.memories_status()").fetchone()  # type: ignore[misc]
        hint = (
            "Give the connection string of the same project (Project Settings → Database) in "
            f"{SETTINGS}."
        )
        if "database" in status or "database" in api_status:
            here = (status.get("database"), status.get("server_started"))
            there = (api_status.get("database"), api_status.get("server_started"))
            if here == there:
                return
            which = (
                f'its database is "{here[0]}", {api_url}\'s is "{there[0]}"'
                if here[0] != there[0]
                else "a database of the same name on another server"
            )
            raise MemoryStoreError(
                f"the database URL leads to another database than the Supabase URL ({which}); "
                "nothing was moved",
                where=self.where,
                hint=hint,
            )
        # Memory functions from before they said which database answers: the two counts,
        # allowing for memories others stored or deleted between them.
        (held,) = self._open().execute("select count(*) from public.memories").fetchone()  # type: ignore[misc]
        expected = api_count or 0
        if abs(held - expected) > max(SAME_COUNT_SLACK, expected // 100):
            raise MemoryStoreError(
                f"the database URL seems to lead to another database than the Supabase URL (it "
                f"holds {held:,} memories, {api_url} holds {expected:,}: more apart than writes "
                "meanwhile explain); nothing was moved",
                where=self.where,
                hint=f"{hint} If it is the same, run `{INIT_COMMAND} --apply` to update the "
                "memory functions: they then tell databases apart by more than their counts.",
            )

    async def add(self, items: Sequence[StoredMemory], space: EmbeddingSpace) -> int:
        """Store ``items`` in one transaction (replacing any with the same ids); returns when
        it has committed."""
        if not items:
            return 0
        return await asyncio.to_thread(self._add, items, space)

    def _add(self, items: Sequence[StoredMemory], space: EmbeddingSpace) -> int:
        import psycopg

        rows = _rows(items, space)
        connection = self._open()
        try:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.execute(
                    "delete from public.memories where id = any(%s)", [[r[0] for r in rows]]
                )
                copy_sql = f"copy public.memories ({_COLUMNS}) from stdin (format binary)"
                with cursor.copy(copy_sql) as copy:  # type: ignore[arg-type]
                    copy.set_types(_TYPES)
                    for row in rows:
                        copy.write_row(row)
        except psycopg.OperationalError as exc:
            raise MemoryStoreError(
                f"the connection to the database broke ({first_line(exc, self._url)}); this "
                "batch was not stored and stays here",
                where=self.where,
                hint="Run the move again: it goes on from where it stopped.",
            ) from None
        except psycopg.Error as exc:
            raise self.sql_error("storing a batch", exc) from None
        return len(rows)

    async def end(self) -> None:
        """Build the vector index `begin` dropped (no time limit on this connection)."""
        await asyncio.to_thread(self._call, "select public.memories_bulk_end()", [])

    async def close(self) -> None:
        await asyncio.to_thread(self.close_blocking)

    @property
    def stopping(self) -> bool:
        """`close` was called (a statement failing now failed because of it)."""
        return self._closing

    def execute(self, query: str, args: list[Any] | None = None) -> psycopg.Cursor:
        """Run ``query`` on the connection (blocking); raises psycopg's errors."""
        return self._open().execute(query, args)  # type: ignore[arg-type]

    def _open(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            raise MemoryStoreError("the direct database connection is closed", where=self.where)
        return self._connection

    def _call(self, query: str, args: list[Any]) -> None:
        import psycopg

        try:
            self._open().execute(query, args)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise self.sql_error(query.split("(")[0].removeprefix("select "), exc) from None

    def sql_error(self, doing: str, exc: Any) -> MemoryStoreError:
        diag = exc.diag
        message = scrub(diag.message_primary or first_line(exc), self._url)
        hint = scrub(diag.message_hint or "", self._url) or None
        if exc.sqlstate in ("CM001", "CM002"):
            return EmbeddingSpaceError(message, where=self.where, hint=hint)
        return MemoryStoreError(f"{doing} failed: {message}", where=self.where, hint=hint)

    def close_blocking(self) -> None:
        """`close` from a thread (an index build's own)."""
        with self._state:
            self._closing = True
            connection, self._connection = self._connection, None
        if connection is not None:
            # A move cancelled mid-batch or mid-build: the server stops the statement (a batch
            # not committed stays in the source; one that did is replaced by the next move).
            with contextlib.suppress(Exception):
                connection.cancel_safe(timeout=5)
            # Not while a worker thread is inside libpq on it (close takes no lock itself).
            with connection.lock:
                connection.close()


def _rows(items: Sequence[StoredMemory], space: EmbeddingSpace) -> list[tuple]:
    """The COPY rows of a batch (in the worker thread): one numpy conversion for all vectors."""
    from psycopg.types.json import Jsonb

    dimension = space.dimension
    vectors = [np.asarray(item.vector, dtype=np.float32).reshape(-1) for item in items]
    for item, vector in zip(items, vectors, strict=True):
        if vector.shape[0] != dimension:
            raise EmbeddingSpaceError(
                f"memory {item.record.id} has a vector of {vector.shape[0]} dimensions, not "
                f"{dimension}"
            )
    # pgvector's binary form: dimension and a reserved word (int16, big-endian), then float4s.
    head = struct.pack(">hh", dimension, 0)
    packed = np.stack(vectors).astype(">f4") if vectors else np.empty((0, dimension), ">f4")
    rows = []
    for item, vector in zip(items, packed, strict=True):
        record = item.record
        created = record.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        provenance = record.provenance
        rows.append((
            record.id, record.character, record.kind, record.content, provenance.client,
            provenance.room, provenance.message_id, provenance.speaker, created,
            float(record.importance), bool(record.pinned), Jsonb(dict(record.metadata)),
            head + vector.tobytes(),
        ))  # fmt: skip
    return rows
