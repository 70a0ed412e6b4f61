"""Character test run history (table ``scenario_runs``): every run stored, the last two of a cell
read back for the Tests page's grid and its "difference from the previous run"."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import apsw

from carrier_studio.core.scenarios.record import RunRecord
from carrier_studio.core.scenarios.record_json import record_from_dict, record_to_dict
from carrier_studio.services.platform.db import Database


class ScenarioRunStore:
    """Runs of scenarios, newest last; the SQL of the feature lives here and nowhere else."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, record: RunRecord) -> None:
        """Store ``record`` (its ``finished_at`` is set now if it has none)."""
        if record.finished_at is None:
            record.finished_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        text = json.dumps(record_to_dict(record), ensure_ascii=False)

        def write(conn: apsw.Connection) -> None:
            conn.execute(
                "INSERT INTO scenario_runs"
                " (scenario, model, character, passed, replayed, finished_at, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.scenario,
                    record.model,
                    record.character,
                    int(record.passed),
                    int(record.replayed),
                    record.finished_at,
                    text,
                ),
            )

        await self._db.run(write)

    async def history(self, scenario: str, model: str, limit: int = 2) -> list[RunRecord]:
        """The cell's last ``limit`` runs, newest first."""

        def read(conn: apsw.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT record FROM scenario_runs WHERE scenario = ? AND model = ?"
                " ORDER BY id DESC LIMIT ?",
                (scenario, model, limit),
            )
            return [row[0] for row in rows]

        return [record_from_dict(json.loads(text)) for text in await self._db.run(read)]

    async def latest(self) -> list[RunRecord]:
        """The newest run of every (scenario, model) cell, by scenario then model."""

        def read(conn: apsw.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT record FROM scenario_runs WHERE id IN"
                " (SELECT MAX(id) FROM scenario_runs GROUP BY scenario, model)"
                " ORDER BY scenario, model"
            )
            return [row[0] for row in rows]

        return [record_from_dict(json.loads(text)) for text in await self._db.run(read)]
