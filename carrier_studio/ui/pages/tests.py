"""The Tests page: the workspace's character tests (scenarios) per character, run on a chosen
set of models, with a grid of scenario × model filled live as results arrive.

A cell opens its transcript with each expectation's verdict (failed ones marked with their
``file:line`` and the judge's reasoning) and what changed since the previous run of the same
cell. Running goes through `ScenarioService` (services/scenarios), the same runtime as the
chat; this page only draws what it reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.scenarios.record import RunRecord
from carrier_studio.ui.models.run_grid import QtRunGridModel, RecordRole, Row, short_label
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.page import Page, page_shortcut
from carrier_studio.ui.widgets.run_transcript import RunTranscript
from carrier_studio.ui.widgets.scenario_tree import (
    ScenarioTree,
    error_text,
    without_duplicates,
)

Mode = Literal["live", "record", "replay"]
#: The service's model string for each character's own model (the one the chat would use).
OWN_MODEL = "default"


class Entry(Protocol):
    """One file of the scenarios folder: parsed, or the reason it could not be."""

    path: Path
    scenario: Scenario | None
    error: str | None


class ScenarioRunner(Protocol):
    """What the page needs of `ScenarioService` (services/scenarios/service.py)."""

    async def list(self) -> list[Any]: ...

    async def run(
        self,
        scenarios: list[Scenario],
        models: list[str],
        *,
        jobs: int = 2,
        mode: Mode = "live",
        on_result: Callable[[RunRecord], None] | None = None,
    ) -> list[RunRecord]: ...

    async def previous(self, scenario: str, model: str) -> RunRecord | None: ...

    async def latest(self) -> list[RunRecord]: ...


@dataclass
class TestsPageDeps:
    __test__ = False  # not a pytest class, whatever its name says

    service: ScenarioRunner
    #: The models a matrix may run on: (label as records name it, "provider:model[@endpoint]").
    model_options: Callable[[], list[tuple[str, str]]]
    #: The models chosen last time (specs), and remembering a new choice.
    chosen_models: Callable[[], list[str]]
    save_chosen_models: Callable[[list[str]], Awaitable[None]]
    colors: Callable[[], dict[str, str]]
    theme_changed: Any = None
    #: Open a scenario file in the system's editor (None: the button is hidden).
    open_file: Callable[[Path], None] | None = None
    #: How many runs go at once (the service caps each provider further).
    jobs: int = 2


def row_key(scenario: Scenario) -> str:
    """What `RunRecord.scenario` says for this scenario: the grid's row key."""
    return scenario.name


class TestsPage(Page):
    __test__ = False  # not a pytest class, whatever its name says

    def __init__(self, deps: TestsPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "Tests",
            "Scenarios written once, run on every model: pick some, pick models, press Run.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        self.entries: list[Any] = []
        self._run_task: asyncio.Task[Any] | None = None
        self._total = 0
        self._done = 0
        self._want_path: Path | None = None
        self.body.addLayout(self._build_toolbar())
        splitter = QSplitter()
        splitter.addWidget(self._build_sidebar())
        splitter.addWidget(self._build_results())
        # Scenario names are sentences ("Ada names the path …"): the list gets room to show them.
        splitter.setSizes([320, 640])
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.body.addWidget(splitter, 1)
        page_shortcut("Ctrl+R", self, self.run_selected)
        self._save_timer = QTimer(self, singleShot=True, interval=300)
        self._save_timer.timeout.connect(self._save_models)
        if deps.theme_changed is not None:
            deps.theme_changed.connect(lambda _scheme: self._on_theme_changed())
        self.refresh()

    # -- building ---------------------------------------------------------------------------

    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.run_button = QPushButton("Run selected")
        self.run_button.setObjectName("runSelected")
        self.run_button.setProperty("primary", True)
        self.run_button.setToolTip("Run the chosen scenarios on the chosen models (Ctrl+R)")
        self.run_button.clicked.connect(self.run_selected)
        self.run_all_button = QPushButton("Run all")
        self.run_all_button.clicked.connect(self.run_all)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopTests")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.mode = QComboBox()
        self.mode.setObjectName("testMode")
        for label, mode, tip in (
            ("Live", "live", "Ask the models"),
            ("Record", "record", "Ask the models and keep a cassette beside each scenario"),
            ("Replay", "replay", "Answer from the cassettes: offline, no key, no server"),
        ):
            self.mode.addItem(label, mode)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.progress = QProgressBar()
        self.progress.setObjectName("testProgress")
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.state = QLabel()
        self.state.setObjectName("testState")
        for widget in (self.run_button, self.run_all_button, self.stop_button, self.mode):
            row.addWidget(widget)
        row.addWidget(self.progress)
        row.addWidget(self.state, 1)
        return row

    def _build_sidebar(self) -> QWidget:
        panel = QWidget()
        # A wider window widens the grid more than the list; up to 520 px the list grows
        # too (capped at 400, it cut "Mira keeps an unhappy customer's replies short…").
        panel.setMaximumWidth(520)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 8, 0)
        self.tree = ScenarioTree()
        self.tree.itemSelectionChanged.connect(self._on_tree_selection_changed)
        self.tree.itemDoubleClicked.connect(lambda _item, _col: self.run_selected())
        layout.addWidget(self.tree, 1)
        files = QHBoxLayout()
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the scenarios folder again")
        self.reload_button.clicked.connect(self.refresh)
        files.addWidget(self.reload_button)
        self.edit_button = QPushButton("Edit file")
        self.edit_button.setToolTip("Open the selected scenario file in your editor")
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.edit_button.setVisible(self.deps.open_file is not None)
        files.addWidget(self.edit_button)
        files.addStretch(1)
        layout.addLayout(files)
        layout.addWidget(QLabel("Models"))
        self.models = QListWidget()
        self.models.setObjectName("testModels")
        self.models.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.models.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.models.setMaximumHeight(100)
        self.models.itemChanged.connect(lambda _item: self._save_timer.start())
        layout.addWidget(self.models)
        return panel

    def _build_results(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setContentsMargins(8, 0, 0, 0)
        self.grid_model = QtRunGridModel(self.deps.colors(), self)
        self.grid = QTableView()
        self.grid.setObjectName("resultGrid")
        self.grid.setModel(self.grid_model)
        self.grid.setWordWrap(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.grid.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.grid.verticalHeader().setMaximumWidth(170)
        self.grid.installEventFilter(self)  # the names' share follows the grid's width
        self.grid.verticalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self.grid.selectionModel().selectionChanged.connect(self._on_grid_selection_changed)
        # Columns come and go as results arrive: each new one shares the width too.
        for signal in (self.grid_model.columnsInserted, self.grid_model.columnsRemoved):
            signal.connect(lambda *_: header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch))
        splitter.addWidget(self.grid)
        self.transcript = RunTranscript(self.deps.colors())
        splitter.addWidget(self.transcript)
        splitter.setSizes([220, 320])
        splitter.setChildrenCollapsible(False)
        return splitter

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.grid and event.type() == QEvent.Type.Resize:
            # Scenario names get a third of the grid: whole on a wide screen, cut short (the
            # tooltip has them) where the models' columns need the room.
            self.grid.verticalHeader().setMaximumWidth(max(140, self.grid.width() // 3))
        return False

    # -- scenarios and models -----------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.start("Reading the scenarios", self._load())

    async def _load(self) -> None:
        self._fill_models()
        self.entries = without_duplicates(list(await self.deps.service.list()))
        self._fill_tree()
        if not self.running:
            self._show_matrix(self.scenarios(), waiting=False)
            # The last results on the models ticked now (any model, for each character's own).
            checked = self.checked_models()
            wanted = None if OWN_MODEL in checked else set(self._labels(checked))
            for record in await self.deps.service.latest():
                if self.grid_model.row_of(record.scenario) >= 0 and (
                    wanted is None or record.model in wanted
                ):
                    self.grid_model.set_record(record)
            if self.grid_model.records():
                self.grid_model.drop_empty_columns()  # the last results say which models
            self._fit_rows()

    def _fill_models(self) -> None:
        chosen = set(self.checked_models()) if self.models.count() else None
        remembered = set(self.deps.chosen_models())
        self.models.blockSignals(True)
        self.models.clear()
        options = self.deps.model_options()
        for index, (label, spec) in enumerate(options):
            item = QListWidgetItem(short_label(label))
            item.setData(Qt.ItemDataRole.UserRole, spec)
            item.setToolTip(spec)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = spec in (chosen if chosen is not None else remembered) or (
                not remembered and chosen is None and index == 0
            )
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.models.addItem(item)
        self.models.blockSignals(False)

    def checked_models(self) -> list[str]:
        return [
            item.data(Qt.ItemDataRole.UserRole)
            for i in range(self.models.count())
            if (item := self.models.item(i)).checkState() == Qt.CheckState.Checked
        ]

    def _labels(self, specs: list[str]) -> list[str]:
        """The grid's columns for ``specs``, as records name them (`ModelChoice.label`)."""
        labels = {spec: label for label, spec in self.deps.model_options()}
        return [labels.get(spec, spec) for spec in specs]

    def _save_models(self) -> None:
        if (
            self.tasks.start(
                "Remembering the chosen models", self.deps.save_chosen_models(self.checked_models())
            )
            is None
        ):
            self._save_timer.start()  # a save is under way: save this choice after it
        if not self.running:
            self._show_matrix(self.scenarios(), waiting=False)

    def _fill_tree(self) -> None:
        selected = {self._want_path} if self._want_path else set(self.tree.selected_paths())
        self.tree.fill(self.entries, self.deps.colors())
        self.tree.select_paths(selected)
        self._want_path = None

    def selected_paths(self) -> list[Path]:
        return self.tree.selected_paths()

    def _on_tree_selection_changed(self) -> None:
        """A broken file picked in the list: its whole error, which the list cuts short."""
        paths = set(self.selected_paths())
        broken = [e for e in self.entries if e.scenario is None and e.path in paths]
        if len(paths) == 1 and broken:
            self.transcript.show_problem(error_text(broken[0]))

    def scenarios(self, paths: list[Path] | None = None) -> list[Scenario]:
        """The parsed scenarios, all or those in ``paths``, in the tree's order."""
        wanted = None if paths is None else set(paths)
        ordered = sorted(
            (e.scenario for e in self.entries if e.scenario is not None),
            key=lambda s: (s.character.casefold(), str(s.path)),
        )
        return [s for s in ordered if wanted is None or s.path in wanted]

    def show_scenario(self, path: Path) -> None:
        """Select one scenario file (a test just saved from the chat), reading the folder anew."""
        self._want_path = Path(path)
        self.refresh()

    def _on_edit_clicked(self) -> None:
        paths = self.selected_paths()
        if paths and self.deps.open_file is not None:
            self.deps.open_file(paths[0])

    # -- running ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    def run_selected(self) -> None:
        paths = self.selected_paths()
        if not paths:
            messages.warning("Select scenarios (or a character) in the list first.")
            return
        self.run(self.scenarios(paths))

    def run_all(self) -> None:
        self.run(self.scenarios())

    def run(self, scenarios: list[Scenario]) -> None:
        models = self.checked_models()
        if not scenarios:
            messages.warning("There is no scenario to run: fix or add a scenario file first.")
            return
        if not models:
            messages.warning("Tick at least one model under Models.")
            return
        if self.running:
            return
        self._show_matrix(scenarios, models=models, waiting=True)
        # A scenario that pins its model runs on that one only.
        self._total = sum(1 if s.model else len(models) for s in scenarios)
        self._done = 0
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.show()
        self.state.setText(f"Running {self._total} tests…")
        self.stop_button.setEnabled(True)
        self._run_task = self.tasks.start(
            "Running tests",
            self._run(scenarios, models, self.mode.currentData()),
            busy=[self.run_button, self.run_all_button, self.mode],
        )

    def stop(self) -> None:
        if self.running and self._run_task is not None:
            self._run_task.cancel()
            self.state.setText("Stopping…")

    async def _run(self, scenarios: list[Scenario], models: list[str], mode: Mode) -> None:
        try:
            await self.deps.service.run(
                scenarios, models, jobs=self.deps.jobs, mode=mode, on_result=self._on_result
            )
        except asyncio.CancelledError:
            self.grid_model.stop_waiting(stopped=True)
            self._say_outcome(stopped=True)
            raise
        else:
            self.grid_model.stop_waiting(stopped=False)
            self.grid_model.drop_empty_columns()
            self._say_outcome(stopped=False)
        finally:
            self.stop_button.setEnabled(False)
            self.progress.hide()

    def _on_result(self, record: RunRecord) -> None:
        index = self.grid_model.set_record(record)
        self.grid.resizeRowToContents(index.row())
        self._done += 1
        self.progress.setValue(self._done)
        if self.grid.currentIndex() == index:  # the cell picked while it waited
            self._show_cell(index)

    def _say_outcome(self, *, stopped: bool) -> None:
        records = self.grid_model.records()
        failed = sum(1 for r in records if not r.passed)
        counts = f"{len(records) - failed} passed, {failed} failed"
        if stopped:
            text = f"Stopped after {len(records)} of {self._total} runs"
            self.state.setText(f"{text}: {counts}" if records else text)
        else:
            self.state.setText(f"{len(records)} {'run' if len(records) == 1 else 'runs'}: {counts}")

    def _show_matrix(
        self, scenarios: list[Scenario], *, models: list[str] | None = None, waiting: bool
    ) -> None:
        rows = [
            Row(row_key(s), s.name, f"{s.character}: {s.name}\n{s.path.name}") for s in scenarios
        ]
        self.grid_model.set_matrix(
            rows, self._labels(models or self.checked_models()), waiting=waiting
        )
        self._fit_rows()

    def _fit_rows(self) -> None:
        self.grid.resizeRowsToContents()

    # -- one cell -------------------------------------------------------------------------------

    def _on_grid_selection_changed(self, selected: QItemSelection, _old: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self._show_cell(indexes[0])

    def _show_cell(self, index: QModelIndex) -> None:
        record = index.data(RecordRole)
        if record is None:
            self.transcript.show_empty("This cell has no result yet.")
            return
        self.transcript.show_record(record, None, compared=False)
        name = f"Comparing {record.scenario} on {record.model}"
        self.tasks.start(name, self._compare(record))

    async def _compare(self, record: RunRecord) -> None:
        previous = await self.deps.service.previous(record.scenario, record.model)
        if self.transcript.record is record:
            self.transcript.show_record(record, previous)

    def _on_theme_changed(self) -> None:
        colors = self.deps.colors()
        self.grid_model.set_colors(colors)
        self.transcript.set_colors(colors)
        self._fill_tree()
        current = self.grid.currentIndex()
        if current.isValid():
            self._show_cell(current)

    async def shutdown(self) -> None:
        """Stop a running matrix (window shutdown)."""
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
            await asyncio.gather(self._run_task, return_exceptions=True)
