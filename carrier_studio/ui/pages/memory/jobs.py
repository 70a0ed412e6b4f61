"""The Memory page's long jobs: importing and exporting JSONL, moving to Supabase, re-embedding.

One job runs at a time, in the job bar (ui/widgets/job_bar.py): it says what it does and how
far it is, its buttons are disabled meanwhile, and Cancel stops it (what the finished steps did
is kept). A re-embedding can also be the session's (started by a new embedder in Settings):
then the bar follows that job, and Cancel there stops it. When a job ends, the listing, the map
and the status bar are brought up to date with the store as it is now.
"""

from __future__ import annotations

import asyncio
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from carrier_studio.core import messages
from carrier_studio.core.memory.errors import MemoryImportError
from carrier_studio.ui.widgets.job_bar import JobBar

if TYPE_CHECKING:
    from carrier_studio.services.memory.service import Progress
    from carrier_studio.ui.pages.memory.page import MemoryPage


class MemoryJobs(QObject):
    def __init__(self, page: MemoryPage) -> None:
        super().__init__(page)
        self.page = page
        self.tasks = page.tasks
        self.deps = page.deps
        self._build_buttons()
        # A long job: what it does, how far, and a way to stop it.
        self.bar = JobBar(self.tasks)
        self._build_reembed_bar()
        # A file that could not be imported: which lines, and why.
        self.import_problems = QLabel()
        self.import_problems.setObjectName("memoryImportProblems")
        self.import_problems.setWordWrap(True)
        self.import_problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_problems.hide()

    def _build_buttons(self) -> None:
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add memories from a JSONL file")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the shown character's memories (or all) to JSONL")
        self.export_button.clicked.connect(self._on_export_clicked)
        # Short: "To Supabase…" was cut short under the table at 1024x700.
        self.move_button = QPushButton("Supabase…")
        self.move_button.clicked.connect(self._on_move_clicked)
        self.move_button.setToolTip(
            "Move every local memory to the Supabase project set in Settings"
        )

    def _build_reembed_bar(self) -> None:
        # The embedder changed since the memories were embedded.
        self.reembed_bar = QWidget()
        reembed = QHBoxLayout(self.reembed_bar)
        reembed.setContentsMargins(0, 0, 0, 0)
        self.reembed_label = QLabel()
        self.reembed_label.setWordWrap(True)
        self.reembed_button = QPushButton("Re-embed")
        self.reembed_button.clicked.connect(self.start_reembed)
        reembed.addWidget(self.reembed_label, 1)
        reembed.addWidget(self.reembed_button)
        self.reembed_bar.hide()

    def update_move_button(self, ready: bool = True) -> None:
        deps = self.deps
        configured = deps.move_target is not None and (deps.can_move is None or deps.can_move())
        self.move_button.setEnabled(ready and configured and not self.bar.running)
        self.move_button.setToolTip(
            "Move every local memory into the Supabase store"
            if configured
            else "Set up a Supabase store under Settings → Memory to move memories there"
        )

    # -- embeddings -------------------------------------------------------------------------

    async def check_embeddings(self) -> None:
        """Offer re-embedding when the stored vectors come from another embedder (and show
        the session's job when one already runs, e.g. started by a change in Settings)."""
        service = self.page.service
        if service is None:
            return
        running = self.deps.reembedding() if self.deps.reembedding is not None else None
        if running is not None and not running.done():
            self.reembed_bar.hide()
            if not self.bar.running:
                self._follow_reembed(running)
            return
        stored = await service.store.space()
        if stored is None or stored == service.space:
            self.reembed_bar.hide()
            return
        self.reembed_label.setText(
            f"These memories were embedded with {stored.embedder_id}; the studio now uses "
            f"{service.space.embedder_id}. Until they are embedded again, search finds them by "
            "words only."
        )
        self.reembed_bar.show()

    def start_reembed(self) -> None:
        service = self.page.service
        if service is None:
            return
        if self.deps.start_reembed is not None:
            self._follow_reembed(self.deps.start_reembed())
            return
        job = service.reembed(service.embedder, progress=self._on_progress)
        self._start("Re-embedding memories", job)

    def on_session_reembed(self, progress: Progress) -> None:
        """The session's re-embedding reported: show it here if nothing else runs."""
        running = self.deps.reembedding() if self.deps.reembedding is not None else None
        if running is not None and not running.done() and not self.bar.running:
            self._follow_reembed(running)
            self._on_progress(progress)

    def _follow_reembed(self, job: Any) -> None:
        """Show the session's re-embedding job in the job bar; Cancel there stops it."""

        async def follow() -> None:
            subscribe = self.deps.on_reembed_progress
            unsubscribe = subscribe(self._on_progress) if subscribe is not None else None
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                if not job.done():
                    job.cancel()  # the user pressed Cancel (or the page closes)
                raise
            finally:
                if unsubscribe is not None:
                    unsubscribe()

        self._start("Re-embedding memories", follow())

    # -- import, export, move ---------------------------------------------------------------

    def _on_import_clicked(self) -> None:
        path = self.page.ask.open_jsonl(self.page)
        if path:
            self.import_jsonl(Path(path))

    def import_jsonl(self, path: Path) -> None:
        self.import_problems.hide()
        self._start("Importing memories", self._import(path))

    async def _import(self, path: Path) -> None:
        stored = [0, 0]  # stored so far, of how many

        def on_progress(progress: Progress) -> None:
            if progress.job == "stored":
                stored[:] = [progress.done, progress.total]
            self._on_progress(progress)

        try:
            n = await self.page.memory.import_jsonl(path, progress=on_progress)
        except MemoryImportError as exc:
            self._show_import_problems(path, exc)
            return
        except asyncio.CancelledError:
            # What was stored stays (imports are idempotent by id): say so, and how to finish.
            messages.info(
                f"Import of {path.name} stopped: {stored[0]:,} of {stored[1]:,} memories were "
                "stored. Import the file again to add the rest."
            )
            self._after_bulk_change()
            raise
        skipped = getattr(n, "skipped", 0)
        messages.info(
            f"Imported {n:,} memories from {path.name}"
            + (f"; {skipped:,} were already stored." if skipped else ".")
        )
        self._after_bulk_change()

    def _show_import_problems(self, path: Path, exc: MemoryImportError) -> None:
        lines = [f"line {n}: {what}" for n, what in exc.problems]
        shown = "<br>".join(escape(line, quote=False) for line in lines[:8])
        more = f"<br>… and {len(lines) - 8} more" if len(lines) > 8 else ""
        self.import_problems.setText(
            f"<b>{escape(path.name, quote=False)} was not imported</b> — nothing was added. "
            f"{escape(str(exc), quote=False) if not lines else ''}<br>{shown}{more}"
        )
        self.import_problems.show()
        messages.error(f"{path.name} was not imported: {exc}", details="\n".join(lines) or None)

    def _on_export_clicked(self) -> None:
        character = self.page.browser.filters.character.currentData()
        suggested = f"{character or 'memories'}.jsonl"
        path = self.page.ask.save_jsonl(self.page, suggested)
        if path:
            self.export_jsonl(Path(path), character)

    def export_jsonl(self, path: Path, character: str | None) -> None:
        self._start("Exporting memories", self._export(path, character))

    async def _export(self, path: Path, character: str | None) -> None:
        n = await self.page.memory.export_jsonl(
            path, character=character, progress=self._on_progress
        )
        messages.info(f"Exported {n:,} memories to {path}.")

    def _on_move_clicked(self) -> None:
        if self.deps.move_target is None:
            return
        if not self.page.ask.confirm(
            self.page,
            "Move to Supabase",
            "Move every local memory to the Supabase store? Each batch is deleted here once "
            "it is stored there; an interrupted move can simply be started again.",
        ):
            return
        self._start("Moving memories to Supabase", self._move())

    async def _move(self) -> None:
        assert self.deps.move_target is not None
        target = await self.deps.move_target()
        try:
            n = await self.page.memory.move_to(target, progress=self._on_progress)
        finally:
            await target.close()
        title = getattr(target, "title", target.name)
        advice = target.move_advice(n) if hasattr(target, "move_advice") else ""
        messages.info(" ".join(filter(None, [f"Moved {n:,} memories to {title}.", advice])))
        self._after_bulk_change()

    def _after_bulk_change(self) -> None:
        self.page.browser.refresh()
        self.page.map_pane.redraw_soon()

    # -- running one at a time --------------------------------------------------------------

    def _start(self, name: str, coro: Any) -> None:
        buttons = [self.import_button, self.export_button, self.move_button, self.reembed_button]
        self.bar.start(name, coro, busy=buttons, ended=lambda: self._on_job_ended(name))

    def _on_job_ended(self, name: str) -> None:
        self.update_move_button(self.page.service is not None)
        self.page.tell_store_changed()
        if name.startswith(("Re-embedding", "Moving")):
            # Whether it finished or stopped half-way, show the stores as they are now.
            self.tasks.start("Checking embeddings", self.check_embeddings())
            self._after_bulk_change()

    def _on_progress(self, progress: Progress) -> None:
        self.bar.report(progress.done, progress.total)

    def cancel(self) -> None:
        self.bar.cancel()
