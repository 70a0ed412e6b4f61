"""The Tests page's list of scenario files: grouped per character, files that cannot be read
kept in sight under "Files with errors" with their ``file:line`` (never hidden)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from carrier_studio.ui import icons

#: The item role holding a scenario file's path (scenario and broken-file items).
PathRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Duplicate:
    """A file whose scenario name another file already uses, listed as a broken file."""

    path: Path
    error: str
    scenario: None = None


def without_duplicates(entries: list[Any]) -> list[Any]:
    """``entries`` with each scenario whose name an earlier file (by path) already took turned
    into a broken file: runs are filed by name, so two files of one name would mix results."""
    seen: dict[str, Path] = {}
    kept: list[Any] = []
    for entry in sorted(entries, key=lambda e: str(e.path)):
        name = entry.scenario.name if entry.scenario is not None else None
        if name is not None and name in seen:
            kept.append(
                Duplicate(
                    entry.path,
                    f"{entry.path.name}: name: “{name}” is also the name of {seen[name].name}; "
                    "give each scenario its own name (results are kept by name)",
                )
            )
            continue
        if name is not None:
            seen[name] = entry.path
        kept.append(entry)
    return kept


def error_text(entry: Any) -> str:
    """A broken file's error with the folder left out: the name and line say where."""
    text = (entry.error or "could not be read").replace(str(entry.path), entry.path.name)
    return text if entry.path.name in text else f"{entry.path.name}: {text}"


class ScenarioTree(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scenarioTree")
        self.setHeaderHidden(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)

    def fill(self, entries: list[Any], colors: dict[str, str]) -> None:
        """Show ``entries`` (`ScenarioEntry`: path, scenario or error)."""
        self.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        broken = [e for e in entries if e.scenario is None]
        for entry in sorted(entries, key=lambda e: str(e.path)):
            scenario = entry.scenario
            if scenario is None:
                continue
            group = groups.get(scenario.character)
            if group is None:
                title = f"{scenario.character} (team)" if scenario.team else scenario.character
                group = groups[scenario.character] = QTreeWidgetItem([title])
                bold = QFont(group.font(0))
                bold.setBold(True)
                group.setFont(0, bold)
            item = QTreeWidgetItem([scenario.name])
            item.setData(0, PathRole, str(entry.path))
            tip = f"{scenario.name}\n{entry.path.name}\n{scenario.description}"
            item.setToolTip(0, tip.strip())
            group.addChild(item)
        for name in sorted(groups, key=str.casefold):
            self.addTopLevelItem(groups[name])
            groups[name].setExpanded(True)
        if broken:
            red = QBrush(QColor(colors["error"]))
            group = QTreeWidgetItem([f"Files with errors ({len(broken)})"])
            group.setForeground(0, red)
            group.setIcon(0, icons.icon("error", colors["error"]))
            for entry in sorted(broken, key=lambda e: str(e.path)):
                text = error_text(entry)
                item = QTreeWidgetItem([text.splitlines()[0]])
                item.setToolTip(0, text)
                item.setData(0, PathRole, str(entry.path))
                item.setForeground(0, red)
                group.addChild(item)
            self.addTopLevelItem(group)
            group.setExpanded(True)
        if not entries:
            empty = QTreeWidgetItem(["No scenarios yet: use Save as test in the chat"])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addTopLevelItem(empty)

    def items(self) -> list[QTreeWidgetItem]:
        """Every file's item (scenarios and broken files)."""
        found = []
        for top in range(self.topLevelItemCount()):
            group = self.topLevelItem(top)
            found += [group.child(i) for i in range(group.childCount())]
        return [item for item in found if item.data(0, PathRole)]

    def select_paths(self, paths: set[Path]) -> None:
        for item in self.items():
            if Path(item.data(0, PathRole)) in paths:
                item.setSelected(True)
                self.scrollToItem(item)

    def selected_paths(self) -> list[Path]:
        """The files selected; a selected character stands for all its scenarios."""
        paths: list[Path] = []
        for item in self.selectedItems():
            children = [item.child(i) for i in range(item.childCount())] or [item]
            paths += [Path(c.data(0, PathRole)) for c in children if c.data(0, PathRole)]
        return list(dict.fromkeys(paths))
