"""Opens the workspace's memory for a session (window or headless) and keeps its status.

The controller builds the store and embedder the settings ask for, opens them in the background
(the embedder's model loads on first use), and stands in for the memory service wherever a turn
needs it: chat and the Discord bot call `recall`/`remember` here, which wait for the store to be
open. A memory that cannot open does not stop a chat: recall finds nothing, the status bar says
why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.events import Emitter
from carrier_studio.core.memory import MemoryRecord, SearchHit
from carrier_studio.core.memory.privacy import fetch_limit, recallable
from carrier_studio.core.secret_names import SUPABASE_DB_URL_SECRET
from carrier_studio.core.settings import MemorySettings
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore

if TYPE_CHECKING:
    # Imported when the memory opens, not with the session: numpy alone is ≈0.2 s, and the
    # window is built right after its first paint.
    from carrier_studio.services.memory.service import MemoryService, Progress

log = logging.getLogger(__name__)

#: The keyring entry of the Supabase key (a service-role or anon key with the functions granted).
SUPABASE_KEY = "SUPABASE_SERVICE_KEY"


def _effective(memory: MemorySettings) -> tuple[str, str, str]:
    """What decides which store and embedder a session uses (the Supabase URL only when the
    store is Supabase)."""
    url = memory.supabase_url.strip() if memory.backend == "supabase" else ""
    return memory.backend, memory.embedder, url


class MemoryUnavailableError(CarrierError):
    """The memory store is not open (it failed to open, or the session is closing)."""


def build_embedder(settings: MemorySettings, secrets: SecretStore, openai_base_url: str = ""):
    """The embedder the settings choose (nothing is loaded until the first text)."""
    from carrier_studio.services.memory.embedders import LocalEmbedder, OpenAIEmbedder

    if settings.embedder == "openai":
        return OpenAIEmbedder(secrets, base_url=openai_base_url or None)
    return LocalEmbedder()


async def open_store(settings: MemorySettings, secrets: SecretStore, database_path: Path):  # noqa: ANN201 - a MemoryStore
    """The store the settings choose, opened."""
    if settings.backend == "supabase":
        from carrier_studio.services.memory.supabase_store import SupabaseMemoryStore

        if not settings.supabase_url:
            raise MemoryUnavailableError(
                "the memory store is set to Supabase but no Supabase URL is set",
                where="Settings → Memory",
                hint="Enter the project URL, or switch the store back to local.",
            )
        key = await asyncio.to_thread(secrets.get, SUPABASE_KEY)
        if not key:
            raise MemoryUnavailableError(
                f"the memory store is set to Supabase but no {SUPABASE_KEY} is in the keyring",
                where="Settings → Memory",
                hint="Add the project's key, or switch the store back to local.",
            )
        database_url = await asyncio.to_thread(secrets.get, SUPABASE_DB_URL_SECRET)
        return await SupabaseMemoryStore.open(
            settings.supabase_url, key, database_url=database_url or ""
        )
    from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

    return await SqliteMemoryStore.open(database_path)


#: Seconds between looks at a Supabase index another store or studio is building: its end
#: reaches this session by no other way.
INDEX_RECHECK = 5.0


def _index_build_failed(note: str) -> bool:
    # Only a Supabase store has a note: its module is loaded by then.
    from carrier_studio.services.memory.supabase_store import index_build_failed

    return index_build_failed(note)


async def _space_and_note(store):  # noqa: ANN001, ANN202 - a MemoryStore
    """The store's embedding space, its word on its search index ("" when it has none to say)
    and whether that index is being built where nothing here says when it ends."""
    index_status = getattr(store, "index_status", None)
    if index_status is None:
        return await store.space(), "", False
    return await index_status()


class MemoryController:
    """The session's memory: opened once in the background, closed at shutdown."""

    def __init__(
        self,
        database_path: Path,
        settings: SettingsStore,
        secrets: SecretStore,
        status: StatusBoard,
    ) -> None:
        self._database_path = database_path
        self._settings = settings
        self._secrets = secrets
        self._status = status
        self.service: MemoryService | None = None
        self.error: CarrierError | None = None
        self._opening: asyncio.Future[MemoryService | None] | None = None
        #: Emits the opened service (or None) when it opens, fails or is replaced.
        self.changed: Emitter[MemoryService | None] = Emitter("memory")
        #: The memory settings the open service was built from.
        self._opened_with: MemorySettings | None = None
        #: The reopening a settings change started, if any (awaitable).
        self.reopening: asyncio.Future[MemoryService | None] | None = None
        #: The re-embedding job, while one runs (`start_reembed`).
        self.reembedding: asyncio.Future[None] | None = None
        #: Emits the re-embedding job's `Progress`.
        self.reembed_progress: Emitter[Progress] = Emitter("re-embedding")
        #: The store's own index build whose end refreshes the status (registered once).
        self._watched_build: asyncio.Future[None] | None = None
        #: The next look at an index built elsewhere (`INDEX_RECHECK`), cancelled on close.
        self._recheck: asyncio.TimerHandle | None = None
        #: Status refreshes those two started, kept until they end.
        self._refreshes: set[asyncio.Task[None]] = set()
        settings.changed.subscribe(self._on_settings)

    def _on_settings(self, change) -> None:  # noqa: ANN001 - platform.settings_store.SettingsChange
        settings = change.settings
        """A new store or embedder in Settings: reopen with it (in the background); a new
        embedder also starts re-embedding the stored memories."""
        if self._opening is None or self._opened_with is None:
            return
        if _effective(self._opened_with) == _effective(settings.memory):
            return  # e.g. a Supabase URL typed while the store is local: nothing to reopen
        new_embedder = self._opened_with.embedder != settings.memory.embedder
        if self.reopening is None or self.reopening.done():
            try:
                self.reopening = asyncio.ensure_future(self.reopen(reembed=new_embedder))
            except RuntimeError:  # saved with no loop running: the next start reads them
                self._opening = None

    async def reopen(self, *, reembed: bool = False) -> MemoryService | None:
        """Close the service and open it again with the current settings; with ``reembed``,
        start embedding the stored memories again when they come from another embedder."""
        await self._close()
        service = await self.start()
        if reembed and service is not None and await self._reembedding_due(service):
            self.start_reembed()
        return service

    def _changed(self) -> None:
        self.changed.emit(self.service)

    @property
    def store_name(self) -> str:
        return self._settings.settings.memory.backend

    def start(self) -> asyncio.Future[MemoryService | None]:
        """Open the memory in the background (once); the future gives the service or None."""
        if self._opening is None or self._opening.cancelled():
            self._opening = asyncio.ensure_future(self._open())
        return self._opening

    async def _service(self) -> MemoryService | None:
        """The service once open. Shielded: a caller that gives up waiting (a chat's recall
        timeout) must not cancel the opening everyone else waits for."""
        return await asyncio.shield(self.start())

    async def ready(self) -> MemoryService:
        """The open service; raises `MemoryUnavailableError` (with the reason) when it could not
        open."""
        service = await self._service()
        if service is None:
            raise self.error or MemoryUnavailableError("the memory is closed")
        return service

    async def _open(self) -> MemoryService | None:
        settings = self._settings.settings
        memory = settings.memory
        self._opened_with = memory
        self._status.set("memory", State.STARTING, f"opening the {memory.backend} store")
        try:
            store = await open_store(memory, self._secrets, self._database_path)
        except CarrierError as exc:
            return self._failed(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never a dead session
            log.exception("memory store failed to open")
            return self._failed(MemoryUnavailableError(f"the memory store could not open: {exc}"))
        embedder = build_embedder(memory, self._secrets, settings.providers.openai_base_url)
        from carrier_studio.services.memory.service import MemoryService

        # One re-embedding, one move at a time per workspace, whichever process starts it.
        locks = Path(self._database_path)
        locks = locks.with_name(locks.name + ".locks")
        self.service = MemoryService(store, embedder, locks=locks)
        await self.refresh_status()
        self._changed()
        return self.service

    def _failed(self, exc: CarrierError) -> None:
        self.error = exc
        self._status.set("memory", State.ERROR, str(exc))
        self._changed()
        return None

    async def refresh_status(self) -> None:
        """Say in the status bar which store, how many memories, and whether the vectors need
        re-embedding for the chosen embedder."""
        service = self.service
        if service is None:
            return
        try:
            count = await service.count()
            # Supabase: its vector index while a background build runs, or left unbuilt.
            stored, note, elsewhere = await _space_and_note(service.store)
        except Exception as exc:  # noqa: BLE001 - a status line must not raise
            if self.service is service:
                self._status.set("memory", State.ERROR, f"{service.store.name}: {exc}")
            return
        if self.service is not service:
            return  # closed or replaced meanwhile: its status is said already
        if stored is not None and stored != service.space:
            self._status.set(
                "memory",
                State.ERROR,
                f"{service.store.name} · {count:,} memories embedded with "
                f"{stored.embedder_id}: re-embed them for {service.embedder.id} "
                "(Memory page)",
            )
            return
        line = f"{service.store.name} · {count:,} memories" + (f" · {note}" if note else "")
        # A failed index build is the user's to fix (the note says how): searches still answer,
        # exactly and slowly, so the memory is not down, but the dot must not say all is well.
        state = State.ERROR if note and _index_build_failed(note) else State.RUNNING
        self._status.set("memory", state, line)
        self._watch_index(service, note, elsewhere)

    def _watch_index(self, service: MemoryService, note: str, elsewhere: bool) -> None:
        """Say the status again when the search index's build ends: this store's own build
        tells when; one elsewhere (a move's target store, another studio) is looked at again
        every `INDEX_RECHECK` seconds until it ends."""
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        build = getattr(service.store, "index_build", None)
        if note and build is not None and not build.done():
            if build is not self._watched_build:
                self._watched_build = build
                build.add_done_callback(lambda _: self._refresh_later())
        elif elsewhere:
            loop = asyncio.get_running_loop()
            self._recheck = loop.call_later(INDEX_RECHECK, self._refresh_later)

    def _refresh_later(self) -> None:
        task = asyncio.ensure_future(self.refresh_status())
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    def can_move_to_supabase(self) -> bool:
        """Moving local memories to Supabase makes sense: the store is local and a Supabase
        project is set up in Settings."""
        memory = self._settings.settings.memory
        return memory.backend == "sqlite" and bool(memory.supabase_url.strip())

    async def open_supabase(self):  # noqa: ANN201 - a SupabaseMemoryStore
        """The Supabase store of the settings, opened (the caller closes it)."""
        memory = self._settings.settings.memory.model_copy(update={"backend": "supabase"})
        return await open_store(memory, self._secrets, self._database_path)

    # -- re-embedding ----------------------------------------------------------------------------

    async def _reembedding_due(self, service: MemoryService) -> bool:
        stored = await service.store.space()
        return stored is not None and stored != service.space and await service.count() > 0

    def start_reembed(self) -> asyncio.Future[None]:
        """Embed every memory again with the current embedder (one job at a time). Progress
        goes to the status bar and to `on_reembed_progress` listeners; cancel it with
        `cancel_reembed` (the old vectors stay in use until it finishes)."""
        if self.reembedding is not None and not self.reembedding.done():
            return self.reembedding
        service = self.service
        if service is None:
            raise MemoryUnavailableError("the memory is not open")
        self.reembedding = asyncio.ensure_future(self._reembed(service))
        self._changed()
        return self.reembedding

    async def _reembed(self, service: MemoryService) -> None:
        from carrier_studio.core import messages

        self._status.set("memory", State.STARTING, f"re-embedding with {service.embedder.id}…")
        try:
            await service.reembed(service.embedder, progress=self._on_reembed_progress)
        except asyncio.CancelledError:
            messages.info("Re-embedding stopped; the memories keep their earlier vectors.")
            raise
        except CarrierError as exc:
            messages.error(f"Re-embedding the memories failed: {exc}")
        finally:
            await self.refresh_status()
            self._changed()

    def _on_reembed_progress(self, progress: Progress) -> None:
        self._status.set(
            "memory",
            State.STARTING,
            f"re-embedding {progress.done:,} of {progress.total:,} memories (Memory page)",
        )
        self.reembed_progress.emit(progress)

    def cancel_reembed(self) -> None:
        if self.reembedding is not None and not self.reembedding.done():
            self.reembedding.cancel()

    # -- what a turn needs (core.runtime.memory_hooks.RecallService) ---------------------------

    async def recall(
        self,
        character: str,
        text: str,
        *,
        room: str | None = None,
        limit: int = 8,
        client: str | None = None,
    ) -> list[SearchHit]:
        """The memories for a turn, kept to what the turn's room may see
        (`core.memory.privacy`: a Discord room does not recall other Discord rooms) and
        without the turn's own room (its conversation is in the model's input already)."""
        service = await self._service()
        if service is None:
            return []  # the status bar says why; a chat goes on without memories
        hits = await service.recall(
            character, text, room=room, client=client or "chat", limit=fetch_limit(client, limit)
        )
        return recallable(hits, client=client, room=room, limit=limit)

    async def warm(self, character: str) -> None:
        """Load a character's vector index ahead of its first recall (a conversation opened)."""
        service = await self._service()
        if service is not None:
            await service.warm(character)

    async def remember(self, records: Sequence[MemoryRecord]) -> None:
        service = await self._service()
        if service is None:
            return
        await service.remember(records)
        await self.refresh_status()

    async def close(self) -> None:
        """Close for good (shutdown): a reopening in flight finishes first, so nothing it
        opens is left behind."""
        reopening = self.reopening
        if reopening is not None and not reopening.done():
            await asyncio.gather(reopening, return_exceptions=True)
        await self._close()

    async def _close(self) -> None:
        if self.reembedding is not None and not self.reembedding.done():
            self.reembedding.cancel()
            await asyncio.gather(self.reembedding, return_exceptions=True)
        if self._opening is not None and not self._opening.done():
            await asyncio.gather(self._opening, return_exceptions=True)
        service, self.service = self.service, None
        self._opening = None
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        self._watched_build = None
        # A refresh the index's end started must not say a closed store's status after this.
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        if service is not None:
            await service.close()
        self._status.set("memory", State.STOPPED, "")
