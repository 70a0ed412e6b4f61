-- Schema 10: the local memory's bit index kept in studio.db (services/memory/sqlite_bits.py).
--
-- Rebuilding a character's sign-bit index from `memories.bits` reads a row per memory (3.5 s
-- per million); these chunks hold the same codes as a few long blobs per thousand memories
-- and load in ≈0.1 s per million. The store writes them in the same transactions as the rows,
-- so they cannot disagree after a crash.
--
-- Existing memories keep their rows as they are: no character is ready yet, so each one's
-- chunks are written the first time its index is loaded (once, as slow as before).

-- Up to 1,024 memories of one character: their row numbers (`seq`, int64 little-endian,
-- ascending) and sign codes (uint64 little-endian, word-major: every row's first word, then
-- every row's second, …). A chunk holds the rows from its `first_seq` up to the next chunk's.
CREATE TABLE memory_bit_chunks (
    id        INTEGER PRIMARY KEY,
    character TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    seqs      BLOB NOT NULL,
    codes     BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX memory_bit_chunks_at ON memory_bit_chunks (character, first_seq);

-- The characters whose chunks hold exactly their stored memories.
CREATE TABLE memory_bit_ready (
    character TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;
