"""Build or edit a team: members from the workspace's characters, who talks to whom, channels,
the entry member, the first message and a turn budget; and the Teams page's empty state, which
offers to.

The dialog only edits a `Team` (core/teams/model.py) and shows what `Team.problems` says is
wrong as it changes; saving is the page's job (TeamService.save). An edited team keeps the keys
the studio does not know, since the new team is built on the old one's ``data``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.teams.model import DEFAULT_TURN_BUDGET, USER, Member, Team
from carrier_studio.ui.widgets.ask import accepted

#: The talks-to grid's last column: the member's channels, typed as "desk, news".
CHANNELS = "Channels"


class TeamBuilderDialog(QDialog):
    """A team from checked characters and a talks-to grid; `team()` is the result."""

    def __init__(
        self, characters: list[str], team: Team | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {team.name}" if team else "New team")
        self.setObjectName("teamBuilder")
        self.original = team
        self.characters = list(characters)
        #: The grid's rows (members) and talks-to columns as last filled: a tick in the member
        #: list changes `chosen()` before the grid follows it.
        self._rows: list[str] = []
        self._columns: list[str] = []
        layout = QVBoxLayout(self)

        form = QFormLayout()
        self.name = QLineEdit(team.name if team else "")
        self.name.setObjectName("teamBuilderName")
        self.name.setPlaceholderText("Research desk")
        form.addRow("Name", self.name)
        layout.addLayout(form)

        layout.addWidget(QLabel("Members (the characters in the team):"))
        self.members = QListWidget()
        self.members.setObjectName("teamBuilderMembers")
        self.members.setMaximumHeight(130)
        chosen = team.names if team else []
        # The team's members come first, in the team's order (the first is the entry when none
        # is named). A member whose character is gone stays listed, so an edit does not drop
        # it silently; the problems line says it names no character.
        for name in [*chosen, *(n for n in self.characters if n not in chosen)]:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            self.members.addItem(item)
        layout.addWidget(self.members)

        layout.addWidget(
            QLabel(
                "Who talks to whom: tick a row's member to let it message a column's. "
                "Members in the same channel can broadcast to each other."
            )
        )
        self.grid = QTableWidget()
        self.grid.setObjectName("teamBuilderGrid")
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.grid.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.grid, 1)

        details = QFormLayout()
        self.entry = QComboBox()
        self.entry.setObjectName("teamBuilderEntry")
        self.entry.setToolTip("Who gets the first message, and may answer USER")
        details.addRow("Entry member", self.entry)
        self.init_message = QPlainTextEdit(team.init_message if team else "")
        self.init_message.setObjectName("teamBuilderMessage")
        self.init_message.setPlaceholderText("The team's first message (the task)")
        self.init_message.setMaximumHeight(70)
        details.addRow("First message", self.init_message)
        self.budget = QSpinBox()
        self.budget.setObjectName("teamBuilderBudget")
        self.budget.setRange(1, 10_000)
        self.budget.setValue(team.turn_budget if team else DEFAULT_TURN_BUDGET)
        self.budget.setToolTip("The team stops after this many turns, whatever is left")
        details.addRow("Turn budget", self.budget)
        layout.addLayout(details)

        self.problems = QLabel()
        self.problems.setObjectName("teamBuilderProblems")
        self.problems.setWordWrap(True)
        self.problems.setProperty("role", "error")
        layout.addWidget(self.problems)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._fill_grid(team)
        self._fill_entry(team.entry_member if team else "")
        self.members.itemChanged.connect(self._on_members_item_changed)
        self.grid.itemChanged.connect(lambda _item: self._check())
        self.name.textChanged.connect(lambda _text: self._check())
        self.entry.currentTextChanged.connect(lambda _text: self._check())
        self.budget.valueChanged.connect(lambda _value: self._check())
        self.resize(620, 560)  # fits a 1024x700 screen
        self._check()

    async def answered(self) -> bool:
        """Open window-modal and wait until closed; True when accepted (`ask.accepted`)."""
        return await accepted(self)

    # -- reads -----------------------------------------------------------------------------

    def chosen(self) -> list[str]:
        return [
            self.members.item(i).text()
            for i in range(self.members.count())
            if self.members.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _targets(self) -> list[str]:
        return [*self.chosen(), USER]

    def set_talks(self, sender: str, target: str, on: bool = True) -> None:
        """Tick (or untick) ``sender`` → ``target`` in the grid."""
        row, column = self._rows.index(sender), self._columns.index(target)
        item = self.grid.item(row, column)
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def set_channels(self, member: str, channels: str) -> None:
        self.grid.item(self._rows.index(member), len(self._columns)).setText(channels)

    def team(self) -> Team:
        """The team as the fields say (members in the order of the list)."""
        targets = self._columns
        members = []
        for row, name in enumerate(self._rows):
            talks = tuple(
                t
                for column, t in enumerate(targets)
                if (item := self.grid.item(row, column)) is not None
                and item.checkState() == Qt.CheckState.Checked
            )
            cell = self.grid.item(row, len(targets))
            text = cell.text() if cell is not None else ""
            channels = tuple(dict.fromkeys(c.strip().lstrip("#") for c in text.split(",")))
            members.append(Member(name, talks, tuple(c for c in channels if c)))
        original = self.original
        team = Team(
            name=self.name.text().strip(),
            members=members,
            init_message=self.init_message.toPlainText().strip(),
            entry=self.entry.currentText(),
            turn_budget=self.budget.value(),
            data=dict(original.data) if original else {},
        )
        if original is not None:
            team.repeat_limit, team.stall_turns = original.repeat_limit, original.stall_turns
        return team

    # -- keeping the grid in step with the members ---------------------------------------------

    def _fill_grid(self, team: Team | None) -> None:
        """Rows for the chosen members; ticks and channels carried over from ``team`` or,
        without one, from the grid as it was."""
        before = {m.name: m for m in (team or self.team()).members}
        names, targets = self.chosen(), self._targets()
        self._rows, self._columns = names, targets
        self.grid.blockSignals(True)
        self.grid.clear()
        self.grid.setRowCount(len(names))
        self.grid.setColumnCount(len(targets) + 1)
        self.grid.setHorizontalHeaderLabels([f"→ {t}" for t in targets] + [CHANNELS])
        self.grid.setVerticalHeaderLabels(names)
        for row, name in enumerate(names):
            old = before.get(name)
            for column, target in enumerate(targets):
                item = QTableWidgetItem()
                if target == name:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)  # nobody talks to itself
                else:
                    item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                    on = old is not None and target in old.talks_to
                    item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.grid.setItem(row, column, item)
            channels = QTableWidgetItem(", ".join(old.channels) if old is not None else "")
            channels.setToolTip("Channel names, separated by commas (double-click to type)")
            self.grid.setItem(row, len(targets), channels)
        self.grid.blockSignals(False)

    def _fill_entry(self, current: str) -> None:
        self.entry.blockSignals(True)
        self.entry.clear()
        self.entry.addItems(self.chosen())
        if current in self.chosen():
            self.entry.setCurrentText(current)
        self.entry.blockSignals(False)

    def _on_members_item_changed(self, _item: QListWidgetItem) -> None:
        entry = self.entry.currentText()
        self._fill_grid(None)
        self._fill_entry(entry)
        self._check()

    def _check(self) -> None:
        """Show the first thing that stops the team from being saved, and allow Save only
        without one."""
        problem = ""
        if not self.name.text().strip():
            problem = "The team needs a name."
        elif not self.chosen():
            problem = "Tick at least one character to be a member."
        else:
            found = self.team().problems(self.characters)
            if found:
                where, message = found[0]
                problem = f"{message[:1].upper()}{message[1:]} ({where})."
        self.problems.setText(problem)
        self.problems.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problem)


class TeamsEmptyState(QWidget):
    """What the Teams page shows without a team: what a team is, and the two ways to get one
    (the page connects the buttons)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamEmpty")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.text = QLabel(
            "<b>No team yet.</b><br>A team is a few of your characters working together on a "
            "task: you choose who may message whom, which channels they share for broadcasts, "
            "who gets the first message, and a turn budget that stops the run. Build one from "
            "your characters, or import a HAAS folder (an agents.yaml with its instruction "
            "files), whose agents become characters."
        )
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setMaximumWidth(620)  # a readable line on a wide screen
        # Centred by stretches, not by an alignment flag: a word-wrapped label placed with one
        # gets its one-line size hint, and the text was cut after "characters working".
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(self.text, 100)
        centred.addStretch(1)
        layout.addLayout(centred)
        offers = QHBoxLayout()
        offers.addStretch(1)
        self.new_button = QPushButton("New team…")
        self.new_button.setObjectName("teamEmptyNew")
        self.new_button.setProperty("primary", True)
        self.import_button = QPushButton("Import HAAS folder…")
        self.import_button.setObjectName("teamEmptyImport")
        offers.addWidget(self.new_button)
        offers.addWidget(self.import_button)
        offers.addStretch(1)
        layout.addLayout(offers)
        layout.addStretch(2)


class ImportReport(QWidget):
    """What the last HAAS import changed, per member: a few lines that scroll, and Hide.

    At 1024x700 the newsroom's report, shown in full, took 170 px; the graph under it got less
    than its minimum and its legend covered the Reporter's node.
    """

    LINES = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel()
        self.text.setObjectName("teamImportReport")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.area = QScrollArea()
        self.area.setObjectName("teamImportReportArea")
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.area.setWidget(self.text)
        self.area.setMaximumHeight(self.text.fontMetrics().lineSpacing() * self.LINES + 4)
        row.addWidget(self.area, 1)
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Hide what the last import changed")
        self.hide_button.clicked.connect(self.hide)
        row.addWidget(self.hide_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str) -> None:
        self.text.setText(text)
        self.area.verticalScrollBar().setValue(0)
        self.show()
