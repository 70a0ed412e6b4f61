-- Schema 13: the Memory page's source filter across all characters (services/memory/sqlite_rows.py).
--
-- A page of every character's memories from one source (chat, discord, instagram, …) walked
-- all memories newest first until it had a page: a source with few or no memories read all of
-- them (0.32 s for a million, bench/memory_page.py). With this index the query seeks that
-- source's memories in page order, as schema 11's does within one character. Like that one it
-- costs a few per cent of a bulk insert and, on a database holding a million memories, a few
-- seconds once.
CREATE INDEX memories_client_newest ON memories (client, created_at, seq);
