"""The Teams page: build, edit or import a team, watch it work on a live graph, speak as USER.

The page draws what the `TeamRunner` reports (services/teams/runner.py) and asks it to act;
running, routing, guarding and storing all happen there. One runner at a time: Start runs turns
until the team stops, Step runs one, Stop ends the current turn at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.teams.events import TeamEvent
from carrier_studio.core.teams.model import USER, Team, TeamError
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.page import Page
from carrier_studio.ui.widgets.team_builder import (
    ImportReport,
    TeamBuilderDialog,
    TeamsEmptyState,
)
from carrier_studio.ui.widgets.team_graph import TeamGraph

if TYPE_CHECKING:
    from carrier_studio.services.teams import ImportResult, TeamRunner, TeamService

#: Transcript rows kept on screen; everything is in studio.db anyway.
TRANSCRIPT_ROWS = 1000

_KIND_COLOR = {
    "refused": "warn",
    "error": "error",
    "stopped": "text_muted",
    "note": "text_muted",
    "tool": "text_muted",
    "turn": "idle",
}


@dataclass
class TeamsPageDeps:
    teams: TeamService
    colors: Callable[[], dict[str, str]]
    #: Emits when the theme changes (ThemeManager.changed), so the graph follows it.
    theme_changed: Any = None


def transcript_line(event: TeamEvent) -> str:
    """How an event reads in the transcript."""
    if event.moves:
        where = f" #{event.meta['channel']}" if event.meta.get("channel") else ""
        label = {
            "task": f"task {event.meta.get('task_id', '')}",
            "result": f"result of {event.meta.get('task_id', '')}",
            "broadcast": f"to{where}",
        }.get(event.kind, "")
        label = f" ({label})" if label else ""
        return f"{event.sender} → {', '.join(event.recipients)}{label}: {event.text}"
    if event.kind == "tool":
        return f"{event.sender} used {event.meta.get('name')}: {event.text}"
    if event.kind == "turn":
        return f"— turn {event.turn}: {event.sender} answers {event.meta.get('from', '')}"
    if event.kind == "note":
        return f"{event.sender} (note): {event.text}" if event.sender else event.text
    if event.kind == "refused":
        return f"{event.sender}: {event.text}"
    if event.kind == "error":
        return f"{event.sender} failed: {event.text}"
    return event.text


class TeamsPage(Page):
    def __init__(self, deps: TeamsPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "Teams",
            "Characters working together: who talks to whom, channels, tasks. Messages light "
            "up the graph as they pass; a turn budget and a loop guard stop runaway teams.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        self.runner: TeamRunner | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._teams: dict[str, Team] = {}
        #: The team builder while it is open (tests fill it in).
        self.builder: TeamBuilderDialog | None = None

        top = QHBoxLayout()
        self.picker_label = QLabel("Team")
        top.addWidget(self.picker_label)
        self.picker = QComboBox()
        self.picker.setObjectName("teamPicker")
        self.picker.setMinimumWidth(220)
        self.picker.currentTextChanged.connect(self._on_picker_changed)
        top.addWidget(self.picker)
        self.new_button = QPushButton("New team…")
        self.new_button.setObjectName("teamNew")
        self.new_button.clicked.connect(self.new_team)
        top.addWidget(self.new_button)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("teamEdit")
        self.edit_button.setToolTip("Change the members, who talks to whom, channels, budget")
        self.edit_button.clicked.connect(self.edit_team)
        top.addWidget(self.edit_button)
        self.import_button = QPushButton("Import HAAS folder…")
        self.import_button.setObjectName("teamImport")
        self.import_button.setToolTip("A folder with an agents.yaml: its agents become characters")
        self.import_button.clicked.connect(self._on_import_clicked)
        top.addWidget(self.import_button)
        top.addStretch(1)
        self.body.addLayout(top)

        # Without a team the page says what a team is and offers the two ways to get one,
        # instead of an empty graph and buttons that do nothing.
        self.stack = QStackedWidget()
        self.body.addWidget(self.stack, 1)
        self.empty = TeamsEmptyState()
        self.empty_text, self.empty_new, self.empty_import = (
            self.empty.text,
            self.empty.new_button,
            self.empty.import_button,
        )
        self.empty_new.clicked.connect(self.new_team)
        self.empty_import.clicked.connect(self._on_import_clicked)
        self.stack.addWidget(self.empty)
        view = QWidget()
        self.view = QVBoxLayout(view)
        self.view.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(view)

        controls = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("teamStart")
        self.start_button.setProperty("primary", True)
        self.start_button.clicked.connect(self.start)
        self.step_button = QPushButton("Step")
        self.step_button.setObjectName("teamStep")
        self.step_button.setToolTip("Run one turn: the next message is answered")
        self.step_button.clicked.connect(self.step)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("teamStop")
        self.stop_button.clicked.connect(self.stop)
        for button in (self.start_button, self.step_button, self.stop_button):
            controls.addWidget(button)
        self.status_label = QLabel()
        self.status_label.setObjectName("teamStatus")
        self.status_label.setWordWrap(True)
        controls.addWidget(self.status_label, 1)
        self.view.addLayout(controls)

        # What the last import changed, per member, stays on the page: a message box would be
        # gone before the user has compared it with the graph.
        self.import_panel = ImportReport()
        self.import_report = self.import_panel.text
        self.view.addWidget(self.import_panel)

        splitter = QSplitter()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.graph = TeamGraph(deps.colors())
        column.addWidget(self.graph, 1)
        legend = QLabel(
            "Arrows: who talks to whom (talksTo). Dashed: members who share a channel. "
            "An arrow lights up as a message passes; the member at work is highlighted."
        )
        legend.setProperty("muted", True)
        legend.setWordWrap(True)
        column.addWidget(legend)
        splitter.addWidget(left)
        if deps.theme_changed is not None:
            deps.theme_changed.connect(lambda _scheme: self.graph.set_colors(deps.colors()))
        self.transcript = QListWidget()
        self.transcript.setObjectName("teamTranscript")
        self.transcript.setWordWrap(True)
        self.transcript.setSpacing(2)
        splitter.addWidget(self.transcript)
        splitter.setSizes([420, 560])
        self.view.addWidget(splitter, 1)

        speak = QHBoxLayout()
        speak.addWidget(QLabel("Speak as USER to"))
        self.recipient = QComboBox()
        self.recipient.setObjectName("teamRecipient")
        speak.addWidget(self.recipient)
        self.user_input = QLineEdit()
        self.user_input.setObjectName("teamUserInput")
        self.user_input.setPlaceholderText("A message to the team…")
        self.user_input.returnPressed.connect(self.send)
        speak.addWidget(self.user_input, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("teamSend")
        self.send_button.clicked.connect(self.send)
        speak.addWidget(self.send_button)
        self.view.addLayout(speak)

        # A task is still registered while its own finally runs: buttons follow its end.
        self.tasks.finished.connect(self._on_tasks_finished)
        self._update_buttons()
        self.tasks.start("Loading teams", self.reload())

    # -- questions (tests replace these) ---------------------------------------------------

    @staticmethod
    def ask_folder(parent: QWidget) -> str | None:
        path = QFileDialog.getExistingDirectory(parent, "Folder with agents.yaml")
        return path or None

    # -- teams -----------------------------------------------------------------------------

    @property
    def team(self) -> Team | None:
        return self._teams.get(self.picker.currentText())

    async def reload(self, select: str = "") -> None:
        entries = await self.deps.teams.teams()
        current = select or self.picker.currentText()
        self._teams = {e.team.name: e.team for e in entries if e.team is not None}
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItems(list(self._teams))
        for entry in entries:
            if entry.team is None and entry.error is not None:
                messages.warning(f"A team file cannot be read: {entry.error}")
        if current in self._teams:
            self.picker.setCurrentText(current)
        self.picker.blockSignals(False)
        await self._show_team()

    def _on_picker_changed(self, _name: str) -> None:
        if self.running:
            return
        self.tasks.start("Showing the team", self._show_team())

    async def _show_team(self) -> None:
        await self._drop_runner()
        team = self.team
        self.transcript.clear()
        self.recipient.clear()
        self.stack.setCurrentIndex(0 if team is None else 1)
        # With no team at all, the empty state's own buttons are the way in.
        for widget in (self.picker_label, self.picker, self.edit_button):
            widget.setVisible(bool(self._teams))
        if team is None:
            self.graph.set_team([], [], {})
            self.status_label.setText("")
            self._update_buttons()
            return
        self.graph.set_team(team.names, team.links(), team.channels(), team.entry_member)
        self.recipient.addItems(team.names)
        self.recipient.setCurrentText(team.entry_member)
        runs = await self.deps.teams.runs(team.name)
        if runs:
            for event in await self.deps.teams.transcript(runs[0].id):
                self._add_row(event)
            self.status_label.setText(
                f"Last run: {runs[0].reason or runs[0].status} Start runs it again."
            )
        else:
            self.status_label.setText(
                f"{len(team.names)} members, a budget of {team.turn_budget} turns."
            )
        self._update_buttons()

    def new_team(self) -> None:
        self.tasks.start("Building a team", self._build(None), busy=[self.new_button])

    def edit_team(self) -> None:
        if self.team is not None and not self.running:
            self.tasks.start("Editing the team", self._build(self.team), busy=[self.edit_button])

    async def _build(self, team: Team | None) -> None:
        """Ask for the team (a new one, or ``team`` changed) and save it. When saving fails
        (another team has the name) the builder opens again as it was left."""
        characters = await self.deps.teams.character_names()
        if not characters and team is None:
            messages.warning(
                "A team is made of characters, and this workspace has none yet.",
                "Create a character on the Characters page, or import a HAAS folder.",
            )
            return
        previous = team.name if team else ""
        dialog = self.builder = TeamBuilderDialog(characters, team, self)
        try:
            while True:
                if not await dialog.answered():
                    return
                built = dialog.team()
                try:
                    await self.deps.teams.save(built, previous=previous)
                except TeamError as exc:
                    messages.error(f"The team {built.name} {exc.message}")
                    continue
                break
        finally:
            self.builder = None
            dialog.deleteLater()
        messages.info(f"Saved the team {built.name}.")
        await self.reload(select=built.name)

    def _on_import_clicked(self) -> None:
        folder = self.ask_folder(self)
        if folder:
            self.tasks.start(
                "Importing a team", self._import(Path(folder)), busy=[self.import_button]
            )

    async def _import(self, folder: Path) -> None:
        result = await self.deps.teams.import_haas(folder)
        made = ", ".join(result.created) or "no new characters"
        notes = "".join(f"\n• {n}" for n in result.notes)
        text = f"Imported the team {result.team.name} ({made})."
        self.import_panel.show_text(import_report_text(result))
        if notes:
            messages.warning(text, notes.strip())
        else:
            messages.info(text)
        await self.reload(select=result.team.name)

    # -- running ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.tasks.running("Running the team") or self.tasks.running("One team turn")

    def _update_buttons(self) -> None:
        busy = self.running
        has_team = self.team is not None
        self.edit_button.setEnabled(has_team and not busy)
        self.new_button.setEnabled(not busy)
        self.start_button.setEnabled(has_team and not busy)
        self.step_button.setEnabled(has_team and not busy)
        self.stop_button.setEnabled(busy)
        self.picker.setEnabled(not busy)
        self.send_button.setEnabled(has_team)

    async def _ensure_runner(self, *, again: bool) -> TeamRunner:
        """The current run; a new one when there is none, or when ``again`` and the last one
        finished with nothing left to answer (Start after a finished run starts over)."""
        runner = self.runner
        if runner is not None:
            finished = runner.stopped is not None and runner.stopped.kind == "finished"
            if not (again and finished and not runner.network.queue):
                return runner
        await self._drop_runner()
        team = self.team
        if team is None:
            raise RuntimeError("no team is chosen")
        self.transcript.clear()
        runner = self.deps.teams.runner(team)
        unsubscribe = runner.changed.subscribe(self._on_event)
        try:
            # A message typed before any run replaces the team's first message.
            await runner.open(initial=again)
        except BaseException:
            unsubscribe()
            await runner.close()
            raise
        self.runner, self._unsubscribe = runner, unsubscribe
        return runner

    async def _drop_runner(self) -> None:
        runner, self.runner = self.runner, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if runner is not None:
            await runner.close()

    def start(self) -> None:
        self.tasks.start("Running the team", self._run(), failure="stopped with an error")
        self._update_buttons()

    def step(self) -> None:
        self.tasks.start("One team turn", self._step(), failure="stopped with an error")
        self._update_buttons()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    async def _run(self) -> None:
        try:
            runner = await self._ensure_runner(again=True)
            self.status_label.setText("Running…")
            await runner.run()
        finally:
            self._after_run()

    async def _step(self) -> None:
        try:
            runner = await self._ensure_runner(again=True)
            stop = await runner.step()
            if stop is None:
                queued = len(runner.network.queue)
                self.status_label.setText(
                    f"Turn {runner.network.turns} of {runner.team.turn_budget}; "
                    f"{queued} message(s) waiting. Step again or Start."
                )
        finally:
            self._after_run()

    def _after_run(self) -> None:
        self.graph.set_active("")

    def _on_tasks_finished(self, _name: str) -> None:
        self._update_buttons()

    def send(self) -> None:
        text = self.user_input.text().strip()
        if not text or self.team is None:
            return
        self.user_input.clear()
        self.tasks.start("Speaking to the team", self._send(text, self.recipient.currentText()))

    async def _send(self, text: str, to: str) -> None:
        runner = await self._ensure_runner(again=False)
        posted = await runner.say(text, to)
        if posted.ok and not self.running:
            self.start()

    def _on_event(self, event: TeamEvent) -> None:
        self._add_row(event)
        if event.moves:
            self.graph.flash(event.sender, event.recipients)
        if event.kind == "turn":
            self.graph.set_active(event.sender)
            runner = self.runner
            budget = runner.team.turn_budget if runner else 0
            self.status_label.setText(f"Turn {event.turn} of {budget}: {event.sender} is working…")
        elif event.kind == "stopped":
            self.status_label.setText(event.text)

    def _add_row(self, event: TeamEvent) -> None:
        item = QListWidgetItem(transcript_line(event))
        item.setData(Qt.ItemDataRole.UserRole, event)
        colors = self.deps.colors()
        role = _KIND_COLOR.get(event.kind)
        if event.kind == "stopped" and event.meta.get("reason") in ("loop", "stalled", "budget"):
            role = "warn"
        if event.sender == USER or USER in event.recipients:
            role = "accent"
        if role:
            item.setForeground(QColor(colors[role]))
        self.transcript.addItem(item)
        while self.transcript.count() > TRANSCRIPT_ROWS:
            self.transcript.takeItem(0)
        self.transcript.scrollToBottom()

    async def shutdown(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        await self._drop_runner()


def import_report_text(result: ImportResult) -> str:
    """What an import changed, one line per member (plain text for the report label)."""
    lines = [f"What importing {result.team.name} changed:"]
    for member in result.members:
        changes = "; ".join(member.changes) or "imported as written"
        lines.append(f"• {member.name}: {changes}")
    return "\n".join(lines)
