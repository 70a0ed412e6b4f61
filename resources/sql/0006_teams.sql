-- Schema 6: team runs and their transcripts (who sent what to whom, tool calls, why it stopped).
CREATE TABLE team_runs (
    id          INTEGER PRIMARY KEY,
    team        TEXT NOT NULL,
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at    TEXT,
    -- running | finished | budget | loop | stalled | stopped | error
    status      TEXT NOT NULL DEFAULT 'running',
    reason      TEXT NOT NULL DEFAULT '',
    turns       INTEGER NOT NULL DEFAULT 0,
    -- The team as it ran (members, talksTo, channels), so an old transcript draws its graph.
    team_json   TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX team_runs_team ON team_runs (team, id);

-- One row per TeamEvent, in order. kind: message | broadcast | task | result | user | reply |
-- note | tool | refused | turn | error | stopped.
CREATE TABLE team_events (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES team_runs (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    turn        INTEGER NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL,
    sender      TEXT NOT NULL DEFAULT '',
    recipients  TEXT NOT NULL DEFAULT '[]',
    content     TEXT NOT NULL DEFAULT '',
    meta        TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX team_events_run ON team_events (run_id, id);
