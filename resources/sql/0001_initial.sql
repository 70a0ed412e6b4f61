-- Schema 1: bookkeeping every later feature relies on.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- A local record of what happened (runs, service events), so nothing needs uploading to be seen.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX events_kind_created ON events (kind, created_at);
