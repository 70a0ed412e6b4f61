"""A small PostgREST stand-in: ``POST /rest/v1/rpc/<fn>`` runs ``fn`` on a real PostgreSQL.

No registry ships a PostgREST server, but a store that does all its work through SQL functions
only needs PostgREST's RPC endpoint. This bridge answers it the way PostgREST does, so the real
``supabase`` client (and so the real store code) runs end to end against real SQL:

- the JSON body's keys are the function's named arguments, converted by ``json_to_record`` to
  the declared argument types (as PostgREST does); overloads are chosen by those names;
- a function returning rows (``returns table``/``setof``) answers a JSON array of row objects,
  any other function its bare value, serialised by PostgreSQL itself (``json_agg``/``to_json``);
- errors are PostgREST's ``{code, message, details, hint}`` with its HTTP status per SQLSTATE,
  and an unknown function is ``404 PGRST202``;
- keys are checked like Supabase's gateway: an unknown ``apikey`` is ``401 Invalid API key``,
  an unknown bearer token ``401 PGRST301``; a known key runs the call as its role
  (``set local role``), so grants and RLS apply as on Supabase.

Use ``with running_bridge(database_url, keys) as bridge:`` to serve on a background thread's
loop (the tests' own loops come and go with each ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from aiohttp import web
from psycopg import sql

_JSON = "application/json; charset=utf-8"
_POOL_SIZE = 4

# SQLSTATE (or its class) -> HTTP status, as PostgREST maps them.
_STATUS_BY_CODE = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "42883": 404,
    "42P01": 404,
    "42501": 403,
    "P0001": 400,
    "53400": 500,
}
_STATUS_BY_CLASS = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "22": 400,
    "23": 400,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
    "42": 400,
}


@dataclass(frozen=True)
class _Function:
    schema: str
    name: str
    #: Input arguments (name, SQL type) in declaration order.
    args: tuple[tuple[str, str], ...]
    #: How many trailing input arguments have defaults.
    defaults: int
    returns_rows: bool
    returns_set: bool
    returns_void: bool

    def accepts(self, keys: set[str]) -> bool:
        names = [name for name, _ in self.args]
        required = set(names[: len(names) - self.defaults])
        return keys <= set(names) and required <= keys


class PostgrestBridge:
    """The bridge on the current event loop; ``start()`` it, then point a client at ``url``."""

    def __init__(
        self, database_url: str, keys: Mapping[str, str], schemas: tuple[str, ...] = ("public",)
    ) -> None:
        #: API key -> the database role the call runs as (like Supabase's anon/service_role).
        self.keys = dict(keys)
        self.schemas = schemas
        self.calls: list[str] = []
        self._database_url = database_url
        self._pool: asyncio.Queue[psycopg.AsyncConnection] | None = None
        self._connections: list[psycopg.AsyncConnection] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """The project URL to give the supabase client (it appends ``/rest/v1``)."""
        assert self._port is not None, "the bridge is not running"
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        self._pool = asyncio.Queue()
        for _ in range(_POOL_SIZE):
            connection = await psycopg.AsyncConnection.connect(self._database_url)
            self._connections.append(connection)
            self._pool.put_nowait(connection)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/rest/v1/rpc/{function}", self._rpc)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner, self._port = runner, site.port

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        for connection in self._connections:
            await connection.close()
        self._connections.clear()

    # -- requests ------------------------------------------------------------------------------

    async def _unknown_route(self, request: web.Request) -> web.Response:
        return _error(404, "PGRST125", f"Invalid path specified in request URL: {request.path}")

    async def _rpc(self, request: web.Request) -> web.Response:
        role = self._role(request)
        if isinstance(role, web.Response):
            return role
        schema = request.headers.get("Content-Profile", self.schemas[0])
        if schema not in self.schemas:
            return _error(
                406,
                "PGRST106",
                "Invalid schema: " + schema,
                hint="Only the following schemas are exposed: " + ", ".join(self.schemas),
            )
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            return _error(400, "PGRST102", "Empty or invalid json", details=str(exc))
        if not isinstance(body, dict):
            return _error(
                400,
                "PGRST102",
                "Empty or invalid json",
                details="an RPC body must be a JSON object of named arguments",
            )
        name = request.match_info["function"]
        self.calls.append(name)
        assert self._pool is not None
        connection = await self._pool.get()
        try:
            return await self._call(connection, role, schema, name, body)
        finally:
            self._pool.put_nowait(connection)

    def _role(self, request: web.Request) -> str | web.Response:
        apikey = request.headers.get("apikey")
        if apikey not in self.keys:
            # What Supabase's API gateway answers before PostgREST sees the request.
            return web.Response(
                status=401,
                content_type="application/json",
                text=json.dumps(
                    {
                        "message": "Invalid API key",
                        "hint": "Double check your Supabase `anon` or `service_role` API key.",
                    }
                ),
            )
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip()
        if token not in self.keys:
            return _error(
                401,
                "PGRST301",
                "No suitable key or wrong key type",
                details="JWSError JWSInvalidSignature",
            )
        return self.keys[token]

    async def _call(
        self,
        connection: psycopg.AsyncConnection,
        role: str,
        schema: str,
        name: str,
        body: dict[str, Any],
    ) -> web.Response:
        try:
            async with connection.transaction():
                function = await _find_function(connection, schema, name, set(body))
                if function is None:
                    return _not_found(schema, name, sorted(body))
                await connection.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                cursor = await connection.execute(_call_query(function, body), [json.dumps(body)])
                row = await cursor.fetchone()
                # Publish this call's statistics (index scans…) as soon as it ends, so tests can
                # read them instead of waiting for the ≈10 s idle flush.
                await connection.execute("select pg_stat_force_next_flush()")
        except psycopg.Error as exc:
            return _database_error(exc)
        if function.returns_void:
            return web.Response(status=204)
        text = row[0] if row and row[0] is not None else "null"
        return web.Response(status=200, body=text.encode(), headers={"Content-Type": _JSON})


async def _find_function(
    connection: psycopg.AsyncConnection, schema: str, name: str, keys: set[str]
) -> _Function | None:
    cursor = await connection.execute(
        """
        select p.proargnames, p.proargmodes, p.proargtypes::oid[], p.pronargdefaults,
               p.proretset, p.prorettype = 'void'::regtype,
               p.prorettype = 'record'::regtype or t.typtype = 'c',
               array(select format_type(a, null) from unnest(p.proargtypes) a)
        from pg_proc p
        join pg_namespace n on n.oid = p.pronamespace
        join pg_type t on t.oid = p.prorettype
        where n.nspname = %s and p.proname = %s and p.prokind = 'f'
        """,
        [schema, name],
    )
    for names, modes, _types, defaults, retset, void, rows, type_names in await cursor.fetchall():
        names = names or []
        # Input arguments: modes NULL means all IN; otherwise keep i (in), b (inout), v.
        inputs = [
            n
            for n, m in zip(names, modes or ["i"] * len(names), strict=False)
            if m in ("i", "b", "v")
        ]
        function = _Function(
            schema, name, tuple(zip(inputs, type_names, strict=False)), defaults, rows, retset, void
        )
        if function.accepts(keys):
            return function
    return None


def _call_query(function: _Function, body: dict[str, Any]) -> sql.Composed:
    """``json_to_record`` turns the body into typed arguments, as PostgREST's own query does."""
    fn = sql.Identifier(function.schema, function.name)
    given = [(name, kind) for name, kind in function.args if name in body]
    if given:
        record = sql.SQL("json_to_record(%s::json) as _args({})").format(
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in given
            )
        )
        call = sql.SQL("{}({})").format(
            fn,
            sql.SQL(", ").join(
                sql.SQL("{} => _args.{}").format(sql.Identifier(name), sql.Identifier(name))
                for name, _ in given
            ),
        )
    else:
        record = sql.SQL("(select %s::json) as _args")
        call = sql.SQL("{}()").format(fn)
    if function.returns_rows:
        query = "select coalesce(json_agg(_row), '[]')::text from {record}, lateral {call} _row"
    elif function.returns_set:
        query = "select coalesce(json_agg(_v), '[]')::text from {record}, lateral {call} _v"
    else:
        query = "select to_json({call})::text from {record}"
    return sql.SQL(query).format(record=record, call=call)


def _not_found(schema: str, name: str, keys: list[str]) -> web.Response:
    with_args = f"({', '.join(keys)})" if keys else " without parameters"
    return _error(
        404,
        "PGRST202",
        f"Could not find the function {schema}.{name}{with_args} in the schema cache",
        details=f"Searched for the function {schema}.{name}"
        + (f" with parameters {', '.join(keys)}" if keys else " without parameters")
        + ", but no matches were found in the schema cache.",
    )


def _database_error(exc: psycopg.Error) -> web.Response:
    diag = exc.diag
    code = diag.sqlstate or "XX000"
    status = _STATUS_BY_CODE.get(code) or _STATUS_BY_CLASS.get(code[:2], 400)
    return _error(
        status,
        code,
        diag.message_primary or str(exc),
        details=diag.message_detail,
        hint=diag.message_hint,
    )


def _error(
    status: int, code: str, message: str, *, details: str | None = None, hint: str | None = None
) -> web.Response:
    body = {"code": code, "details": details, "hint": hint, "message": message}
    return web.Response(status=status, text=json.dumps(body), headers={"Content-Type": _JSON})


@contextmanager
def running_bridge(
    database_url: str, keys: Mapping[str, str], timeout: float = 10.0
) -> Iterator[PostgrestBridge]:
    """Serve a bridge on a background thread's event loop for the ``with`` block."""
    loop = asyncio.new_event_loop()
    bridge = PostgrestBridge(database_url, keys)
    thread = threading.Thread(target=_serve, args=(loop,), name="postgrest-bridge", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(bridge.start(), loop).result(timeout)
        try:
            yield bridge
        finally:
            asyncio.run_coroutine_threadsafe(bridge.close(), loop).result(timeout)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
