-- Schema 4: long-term memory (the local store, services/memory_sqlite.py).
--
-- Vectors are searched through an in-memory packed-bit index (one sign bit per dimension) that
-- the store builds from `memories.bits` and rescored with the float vectors kept in
-- `memory_vectors`, an ordinary INTEGER PRIMARY KEY table (point lookups by rowid are cheap
-- there; a vec0 exact scan is ≈90 ms per 100k rows without SIMD). Keywords go through FTS5.

-- Which embedder made the stored vectors; one row once anything was stored.
CREATE TABLE memory_space (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    embedder_id TEXT NOT NULL,
    dimension   INTEGER NOT NULL
) STRICT;

-- Bumped by every memory write (services/memory_sqlite.py), so a store's in-memory index is
-- rebuilt only when memories changed, not whenever any table of studio.db was written (which
-- is all `PRAGMA data_version` can tell: chat commits a message before each recall).
CREATE TABLE memory_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO memory_generation (id, value) VALUES (1, 0);

CREATE TABLE memories (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    character   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    content     TEXT NOT NULL,
    client      TEXT NOT NULL,
    room        TEXT,
    message_id  TEXT,
    speaker     TEXT,
    -- Microseconds since the Unix epoch, UTC: exact, and cheap to compare in keyset paging.
    created_at  INTEGER NOT NULL,
    importance  REAL NOT NULL DEFAULT 0.5,
    pinned      INTEGER NOT NULL DEFAULT 0,
    metadata    TEXT NOT NULL DEFAULT '{}',
    -- The sign bits of the vector, packed little-endian and padded to whole 64-bit words.
    bits        BLOB NOT NULL
) STRICT;
CREATE INDEX memories_newest ON memories (created_at, seq);
CREATE INDEX memories_character_newest ON memories (character, created_at, seq);

-- float32 vectors, L2-normalised, for rescoring and for moving between stores.
CREATE TABLE memory_vectors (
    memory INTEGER PRIMARY KEY,
    vector BLOB NOT NULL
) STRICT;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    content,
    content = 'memories',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Merge segments less eagerly than the default (4): bulk inserts run ≈20% faster.
INSERT INTO memories_fts (memories_fts, rank) VALUES ('automerge', 16);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    DELETE FROM memory_vectors WHERE memory = old.seq;
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
END;
