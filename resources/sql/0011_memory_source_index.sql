-- Schema 11: the Memory page's source filter within a character (services/memory/sqlite_rows.py).
--
-- A page filtered by character and source (chat, discord, instagram, …) walked the character's
-- memories newest first until it had a page: a source the character has few or no memories
-- from meant reading all of them (0.48 s for a million, bench/memory_page.py). With this index
-- the query reads just that character's memories from that source, in page order (0.0 ms).
-- It costs ≈5 % of a bulk insert's CPU and, on a database holding a million memories, ≈2 s
-- once, here.
CREATE INDEX memories_character_client_newest ON memories (character, client, created_at, seq);
