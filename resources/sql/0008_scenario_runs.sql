-- Schema 8: character test runs (#17). One row per scenario run on one model: the whole
-- RunRecord as JSON (transcript, verdicts, error) plus the columns the Tests page and the CLI
-- look runs up by. "The previous run of a cell" is the row before the newest for the same
-- (scenario, model), so the index leads with those and ends with the row id.
CREATE TABLE scenario_runs (
    id INTEGER PRIMARY KEY,
    scenario TEXT NOT NULL,
    model TEXT NOT NULL,
    character TEXT NOT NULL,
    passed INTEGER NOT NULL,
    replayed INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX scenario_runs_cell ON scenario_runs (scenario, model, id);
