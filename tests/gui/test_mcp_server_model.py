"""`QtMcpServerModel` under Qt's model tester, with the statuses the MCP manager publishes."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from carrier_studio import assets
from carrier_studio.core.mcp.status import ServerState, ServerStatus, ToolInfo
from carrier_studio.ui.models.mcp_servers import COLUMNS, QtMcpServerModel

COLORS = json.loads(assets.resource("themes", "palettes.json").read_text("utf-8"))["light"]

FILES = ServerStatus(
    "files",
    ServerState.RUNNING,
    "stdio",
    tools=(ToolInfo("read_file"), ToolInfo("write_file")),
    pid=4242,
)
SEARCH = ServerStatus(
    "search",
    ServerState.FAILED,
    "streamable-http",
    error="connection refused\nat http://127.0.0.1:9/mcp",
    restarts=2,
    retry_in=4.0,
)
NOTES = ServerStatus("notes", ServerState.STOPPED, "sse", enabled=False)


def _row(model: QtMcpServerModel, row: int) -> list[str]:
    return [model.index(row, column).data() or "" for column in range(len(COLUMNS))]


def _record(model: QtMcpServerModel) -> list[tuple]:
    """Every change signal the model emits, in order (emitted synchronously)."""
    seen: list[tuple] = []
    model.dataChanged.connect(
        lambda top, bottom, _roles=(): seen.append(
            ("changed", top.row(), top.column(), bottom.row(), bottom.column())
        )
    )
    model.rowsAboutToBeInserted.connect(
        lambda _p, first, last: seen.append(("insert", first, last))
    )
    model.rowsInserted.connect(lambda _p, first, last: seen.append(("inserted", first, last)))
    model.modelReset.connect(lambda: seen.append(("reset",)))
    return seen


def test_the_server_model_passes_the_model_tester(qtmodeltester):
    model = QtMcpServerModel(COLORS)
    qtmodeltester.check(model)  # empty; the tester stays attached and checks every change
    seen = _record(model)

    model.set_statuses([FILES, SEARCH, NOTES])
    qtmodeltester.check(model)
    assert seen == [("reset",)]
    assert model.rowCount() == 3 and model.columnCount() == len(COLUMNS)
    assert model.rowCount(model.index(0, 0)) == 0, "a table: rows have no children"
    assert _row(model, 0) == ["", "files", "running", "stdio", "2", ""]
    assert _row(model, 1) == [
        "", "search", "failed · retry in 4 s", "streamable-http", "", "connection refused"
    ]  # fmt: skip
    assert model.index(1, 5).data(Qt.ItemDataRole.ToolTipRole) == SEARCH.error
    assert model.index(2, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert model.index(1, 2).data(Qt.ItemDataRole.DecorationRole).name().lower() == (
        COLORS["error"].lower()
    )


def test_updates_change_one_row_or_insert_one_under_the_model_tester(qtmodeltester):
    model = QtMcpServerModel(COLORS)
    model.set_statuses([FILES, SEARCH])
    qtmodeltester.check(model)
    seen = _record(model)

    # A known server changes: its whole row changes in place, nothing is inserted.
    model.update(
        ServerStatus("search", ServerState.RUNNING, "streamable-http", tools=(ToolInfo("find"),))
    )
    assert seen == [("changed", 1, 0, 1, len(COLUMNS) - 1)]
    assert _row(model, 1) == ["", "search", "running", "streamable-http", "1", ""]
    assert model.index(1, 5).data(Qt.ItemDataRole.ToolTipRole) is None
    qtmodeltester.check(model)

    # A new server appends one row, announced before and after.
    seen.clear()
    model.update(NOTES)
    assert seen == [("insert", 2, 2), ("inserted", 2, 2)]
    assert model.rowCount() == 3 and model.row_of("notes") == 2
    assert _row(model, 2) == ["", "notes", "stopped", "sse", "", ""]
    qtmodeltester.check(model)

    # A server stops: still one row each, the tool count goes with it.
    seen.clear()
    model.update(ServerStatus("files", ServerState.STOPPED, "stdio"))
    assert seen == [("changed", 0, 0, 0, len(COLUMNS) - 1)]
    assert [model.status(row).name for row in range(model.rowCount())] == [
        "files", "search", "notes"
    ]  # fmt: skip
    assert _row(model, 0)[2:5] == ["stopped", "stdio", ""]
    qtmodeltester.check(model)


def test_ticking_a_server_asks_to_toggle_it_without_changing_the_row(qtmodeltester):
    model = QtMcpServerModel(COLORS)
    model.set_statuses([FILES, NOTES])
    qtmodeltester.check(model)
    asked: list[tuple[str, bool]] = []
    model.toggle_requested.connect(lambda name, on: asked.append((name, on)))
    assert model.flags(model.index(1, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.flags(model.index(1, 1)) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.setData(
        model.index(1, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole
    )
    assert not model.setData(model.index(1, 1), "x", Qt.ItemDataRole.EditRole)
    assert asked == [("notes", True)]
    # The manager answers with a new status; until then the row shows what is true.
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    model.update(ServerStatus("notes", ServerState.STARTING, "sse"))
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert not model.index(0, 0, model.index(0, 0)).isValid()
    qtmodeltester.check(model)
