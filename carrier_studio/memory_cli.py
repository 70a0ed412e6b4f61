"""`carrier-studio memory init | search | export | import | stats`: the memory without a window.

Works on the workspace and settings the window uses (same store, same embedder), so a server
or a script sees exactly the memories the studio shows. Imports no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.secret_names import SUPABASE_DB_URL_SECRET
from carrier_studio.services.platform.paths import AppPaths


def add_parser(commands: argparse._SubParsersAction) -> None:
    memory = commands.add_parser("memory", help="inspect, search, import and export memories")
    actions = memory.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init", help="prepare the memory store (local: studio.db; --supabase: print its SQL)"
    )
    init.add_argument(
        "--supabase",
        action="store_true",
        help="print the SQL that prepares a Supabase project (paste it in the SQL editor)",
    )
    init.add_argument(
        "--apply",
        action="store_true",
        help="with --supabase: apply the SQL over a direct Postgres connection instead, to the "
        f"database in ${SUPABASE_DB_URL_SECRET} (postgresql://…; an environment variable keeps the "
        "password out of the process list and the shell history) or, without it, the "
        "'Supabase database URL' saved in Settings → Memory",
    )
    search = actions.add_parser("search", help="search memories by meaning and keywords")
    search.add_argument("query", help="what to look for")
    search.add_argument("--character", "-c", help="only this character's memories")
    search.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    search.add_argument("--limit", "-k", type=int, default=10, help="how many (default 10)")
    export = actions.add_parser("export", help="write memories to a JSONL file")
    export.add_argument("path", type=Path, help="the .jsonl file to write")
    export.add_argument("--character", "-c", help="only this character's memories")
    export.add_argument(
        "--vectors", action="store_true", help="include the embeddings (larger file)"
    )
    imported = actions.add_parser("import", help="add memories from a JSONL file")
    imported.add_argument("path", type=Path, help="the .jsonl file to read")
    imported.add_argument(
        "--replace",
        action="store_true",
        help="replace memories that are already stored (same id) instead of skipping them",
    )
    actions.add_parser("stats", help="how many memories, per character and kind")


def run_memory(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        if args.memory_command == "init" and args.supabase:
            return _init_supabase(args, out)
        return asyncio.run(_run(args, out))
    except CarrierError as exc:
        print(f"carrier-studio memory {args.memory_command}: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=err)
        return 130


def _init_supabase(args: argparse.Namespace, out: TextIO) -> int:
    from carrier_studio.services.memory.supabase_copy import INIT_COMMAND
    from carrier_studio.services.memory.supabase_store import apply_migration, migration_sql

    if args.apply:
        import os

        url = os.environ.get(SUPABASE_DB_URL_SECRET, "").strip() or _saved_database_url(args)
        if not url:
            raise CarrierError(
                f"--apply needs the database's connection string in ${SUPABASE_DB_URL_SECRET}",
                hint="Copy it from the Supabase dashboard (Connect → direct connection), then "
                f"run: {SUPABASE_DB_URL_SECRET}='postgresql://…' {INIT_COMMAND} --apply",
            )
        apply_migration(url)
        print("The Supabase memory functions are in place.", file=out)
    else:
        print(migration_sql(), file=out, end="")
    return 0


def _saved_database_url(args: argparse.Namespace) -> str:
    """The URL the user saved in Settings (keyring) or the workspace .env, or ''."""
    from carrier_studio.services.platform.paths import WorkspacePaths
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsStore

    app_paths = AppPaths.for_user()
    settings = SettingsStore.load(app_paths.settings_file)
    paths = WorkspacePaths(app_paths.choose_workspace(args.workspace))
    secrets = SecretStore(settings.settings.secrets.storage, paths.env_file)
    return (secrets.get(SUPABASE_DB_URL_SECRET) or "").strip()


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    from carrier_studio.session import Session

    session = Session.build(AppPaths.for_user(), args.workspace)
    # Opens (and migrates) studio.db and memory; the Instagram publisher stays off here.
    await session.start(instagram=False)
    try:
        if session.database_error is not None:
            raise session.database_error
        service = await session.memory.ready()
        command: Callable = {
            "init": _init,
            "search": _search,
            "export": _export,
            "import": _import,
            "stats": _stats,
        }[args.memory_command]
        return await command(session, service, args, out)
    finally:
        await session.stop()


async def _init(session, service, args, out) -> int:  # noqa: ANN001
    space = await service.store.space()
    print(f"Memory store: {service.store.name} ({session.workspace.paths.database})", file=out)
    print(f"Embedder: {service.embedder.id} ({service.embedder.dimension} dimensions)", file=out)
    if space is not None and space != service.space:
        print(
            f"The stored vectors come from {space.embedder_id}: re-embed them from the Memory "
            "page to search them by meaning.",
            file=out,
        )
    print("Ready.", file=out)
    return 0


async def _search(session, service, args, out) -> int:  # noqa: ANN001
    from carrier_studio.core.memory import MemoryFilter, MemoryQuery

    query = MemoryQuery(
        args.query, MemoryFilter(character=args.character), max(1, args.limit), args.mode
    )
    hits = await service.search(query)
    if not hits:
        print("No memories match.", file=out)
        return 0
    for hit in hits:
        record = hit.record
        parts = []
        if hit.semantic is not None:
            parts.append(f"meaning {hit.semantic:.2f}")
        if hit.keyword is not None:
            parts.append(f"words {hit.keyword:.2f}")
        content = " ".join(record.content.split())
        print(
            f"{hit.score:.3f}  [{record.character} · {record.kind} · "
            f"{record.provenance.client} · {record.created_at:%Y-%m-%d}]  {content[:160]}"
            f"  ({', '.join(parts)}; id {record.id})",
            file=out,
        )
    return 0


async def _export(session, service, args, out) -> int:  # noqa: ANN001
    count = await service.export_jsonl(args.path, character=args.character, vectors=args.vectors)
    print(f"Wrote {count:,} memories to {args.path}", file=out)
    return 0


async def _import(session, service, args, out) -> int:  # noqa: ANN001
    stored = [0, 0]

    def on_progress(progress) -> None:  # noqa: ANN001
        if progress.job == "stored":
            stored[:] = [progress.done, progress.total]

    try:
        result = await service.import_jsonl(args.path, replace=args.replace, progress=on_progress)
    except asyncio.CancelledError:
        # Ctrl+C: what was stored stays, and running the same import again adds the rest.
        print(
            f"Stopped: {stored[0]:,} of {stored[1]:,} memories from {args.path} were stored; "
            "run the same import again to add the rest.",
            file=out,
        )
        raise
    skipped = getattr(result, "skipped", 0)
    print(
        f"Added {int(result):,} memories from {args.path}"
        + (
            f"; skipped {skipped:,} already stored (--replace to overwrite them)" if skipped else ""
        ),
        file=out,
    )
    return 0


async def _stats(session, service, args, out) -> int:  # noqa: ANN001
    from carrier_studio.core.memory import KINDS, MemoryFilter

    total = await service.count()
    space = await service.store.space()
    print(f"Store: {service.store.name}", file=out)
    print(f"Embedder: {service.embedder.id}", file=out)
    if space is not None:
        print(f"Stored vectors: {space.embedder_id} ({space.dimension} dimensions)", file=out)
    print(f"Memories: {total:,}", file=out)
    index_note = getattr(service.store, "index_note", None)
    if index_note is not None:
        print(f"Search index: {await index_note() or 'ready'}", file=out)
    names = sorted(
        e.doc.name for e in await asyncio.to_thread(session.characters.list) if e.doc is not None
    )
    for name in names:
        count = await service.count(MemoryFilter(character=name))
        if not count:
            continue
        kinds = []
        for kind in KINDS:
            n = await service.count(MemoryFilter(character=name, kinds=frozenset({kind})))
            if n:
                kinds.append(f"{kind} {n:,}")
        print(f"  {name}: {count:,} ({', '.join(kinds)})", file=out)
    return 0
