-- Schema 5: the Instagram post queue. Every step of publishing is saved here before the next
-- one starts, so a worker that dies anywhere resumes without losing or repeating a post.
CREATE TABLE instagram_posts (
    -- AUTOINCREMENT: a removed post's id is never given to a new post, so a copy of the old
    -- one still held somewhere (the worker's list of due posts) can never be saved onto it.
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Order among posts due at the same time (drag to reorder); smaller goes first.
    position             INTEGER NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('image', 'carousel', 'reel', 'story')),
    caption              TEXT NOT NULL DEFAULT '',
    alt_text             TEXT NOT NULL DEFAULT '',
    -- The character the caption was written as ('' when written by hand).
    character            TEXT NOT NULL DEFAULT '',
    -- ISO 8601 UTC; NULL: as soon as possible.
    scheduled_at         TEXT,
    state                TEXT NOT NULL,
    -- The (carousel parent) container, once Meta created it, and when: it expires after 24 h.
    container_id         TEXT,
    container_created_at TEXT,
    -- 1 when the caption or alt text changed after the container was made: not reusable.
    container_stale      INTEGER NOT NULL DEFAULT 0,
    -- The published media's id (NULL when publishing was detected after a restart).
    media_id             TEXT,
    last_error           TEXT NOT NULL DEFAULT '',
    waiting_reason       TEXT NOT NULL DEFAULT '',
    next_attempt_at      TEXT,
    failures             INTEGER NOT NULL DEFAULT 0,
    -- Bumped by every change of the row; the worker saves a step only if the revision is still
    -- the one it read (optimistic concurrency), so it never writes back fields from an old copy.
    revision             INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX instagram_posts_order ON instagram_posts (state, position);

CREATE TABLE instagram_media (
    post_id      INTEGER NOT NULL REFERENCES instagram_posts (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    -- The studio's copy in <workspace>/instagram/media/; the user's file is never changed.
    path         TEXT NOT NULL,
    media_type   TEXT NOT NULL CHECK (media_type IN ('image', 'video')),
    source       TEXT NOT NULL DEFAULT '',
    thumbnail    TEXT,
    remote_name  TEXT,
    public_url   TEXT,
    container_id TEXT,
    PRIMARY KEY (post_id, idx)
) STRICT;

-- The timeline of each post: every step the worker took and every user action.
CREATE TABLE instagram_attempts (
    id      INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES instagram_posts (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    step    TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX instagram_attempts_post ON instagram_attempts (post_id, id);
