"""`QtRunGridModel` under Qt's model tester, filled the way a running matrix fills it."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from carrier_studio import assets
from carrier_studio.core.scenarios.model import Expect, Where
from carrier_studio.core.scenarios.record import RunRecord, TurnRecord, Verdict
from carrier_studio.ui.models.run_grid import QtRunGridModel, RecordRole, Row
from carrier_studio.ui.widgets.run_transcript import differences
from carrier_studio.ui.widgets.scenario_tree import without_duplicates

COLORS = json.loads(assets.resource("themes", "palettes.json").read_text("utf-8"))["light"]
WHERE = Where(Path("/w/scenarios/greet.yaml"), 7)


def _record(scenario: str, model: str, passed: bool, reply: str = "Hello") -> RunRecord:
    verdict = Verdict(Expect("contains", "hello", WHERE), passed, "seen" if passed else "missing")
    turn = TurnRecord("Hi", reply, latency_s=1.25, input_tokens=30, output_tokens=12)
    return RunRecord(scenario, "Ada", model, [turn], [verdict], cost_usd=0.0012)


def test_the_grid_passes_the_model_tester_while_results_arrive(qtmodeltester):
    model = QtRunGridModel(COLORS)
    qtmodeltester.check(model)
    model.set_matrix([Row("greet", "Ada · greet"), Row("bye", "Ada · bye")], ["m1", "m2"])
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "…"
    inserted: list[str] = []
    model.rowsInserted.connect(lambda *_: inserted.append("row"))
    model.columnsInserted.connect(lambda *_: inserted.append("column"))
    model.set_record(_record("greet", "m1", True))
    model.set_record(_record("bye", "m2", False))
    model.set_record(_record("new", "m3", True))  # a pair the grid did not show yet
    assert inserted == ["row", "column"]  # told to views, not changed behind their back
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (3, 3)
    assert model.index(0, 0).data().startswith("✓ pass")
    assert "1.2 s · 42 tok · $0.0012" in model.index(0, 0).data()
    assert model.index(1, 1).data().startswith("✗ 1 failed")
    assert "greet.yaml:7" in model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 1).data(RecordRole).scenario == "bye"
    assert model.waiting() == 2
    model.stop_waiting()
    assert model.index(0, 1).data() == "stopped" and model.waiting() == 0
    # A stand-in column ("each character's own model") no result came for goes at the end.
    model.set_matrix([Row("greet", "greet")], ["own", "m1"])
    model.set_record(_record("greet", "m1", True))
    model.stop_waiting(stopped=False)
    model.drop_empty_columns()
    qtmodeltester.check(model)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == ["m1", None]


def test_differences_name_what_changed_since_the_previous_run():
    before = _record("greet", "m1", True, reply="Hello there")
    after = _record("greet", "m1", False, reply="Bonjour")
    lines = differences(before, after)
    assert lines[0] == "Was pass, now fail."
    assert any("contains at greet.yaml:7 now fails: missing" in line for line in lines)
    assert any(line.startswith("Turn 1 reply changed") and "+Bonjour" in line for line in lines)
    assert differences(None, after) == ["No earlier run of this scenario on this model."]
    assert differences(before, before) == ["Same outcome, replies and figures as the previous run."]


def test_two_files_of_one_scenario_name_keep_the_first_and_flag_the_second():
    from types import SimpleNamespace

    def entry(path: str, name: str):
        return SimpleNamespace(path=Path(path), scenario=SimpleNamespace(name=name), error=None)

    kept = without_duplicates([entry("/s/b.yaml", "greet"), entry("/s/a.yaml", "greet")])
    assert kept[0].scenario.name == "greet" and kept[0].path.name == "a.yaml"
    assert kept[1].scenario is None
    assert kept[1].error.startswith("b.yaml: name: “greet” is also the name of a.yaml")


def test_the_transcript_says_what_the_run_went_without(qtbot):
    from carrier_studio.ui.widgets.run_transcript import RunTranscript

    view = RunTranscript(COLORS)
    qtbot.addWidget(view)
    record = _record("greet", "m1", True)
    record.notes = ["Ada's fs is left out of this model's requests: its tools' descriptions"]
    view.show_record(record, None)
    assert "Ada's fs is left out of this model's requests" in view.toPlainText()
