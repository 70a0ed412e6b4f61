-- Carrier Studio: long-term memory on Supabase (PostgreSQL + pgvector).
--
-- Run this once in the Supabase SQL editor (`carrier-studio memory init --supabase` prints it),
-- or let `carrier-studio memory init --supabase --apply DATABASE_URL` run it over a direct
-- connection. Running it again is safe: everything is created "if not exists" or replaced.
--
-- This is NOT a studio.db migration: it lives in resources/sql/supabase/ and runs on Postgres.
--
-- Every store operation is one of the functions below, called through PostgREST's
-- `POST /rest/v1/rpc/<function>`. The studio never reads or writes the tables directly, so:
--   * the tables have row level security ON and no policies: the REST API's table endpoints
--     (`/rest/v1/memories`) see nothing, whatever key is used;
--   * the functions are SECURITY DEFINER (they run as the owner, who bypasses RLS) and only the
--     `service_role` may execute them. The anon key is public in every Supabase project, so it
--     must not reach anyone's memories; the studio keeps the service key in the keyring.
--
-- Vectors: the column is a plain `vector` (any dimension) so that re-embedding with another
-- model can run row by row, but each dimension in use gets its own partial HNSW index over
-- `embedding::vector(N)` (pgvector's documented way to index mixed dimensions). The embedding
-- space (embedder id + dimension) of the store is recorded in `memories_space`; writes with
-- another space are refused with a clear error.

-- A vector index build running in the background (schema 4, `memories_index_build_begin`):
-- this script's DDL and its CREATE INDEX CONCURRENTLY would wait on each other, so stop; else
-- hold the build's lock until the script ends, so that none begins meanwhile.
do $$
declare
    dimension integer;
begin
    if exists (select from pg_locks
               where locktype = 'advisory' and classid = 1129533267 and objsubid = 2 and granted
                 and pid <> pg_backend_pid()
                 and database = (select oid from pg_database where datname = current_database()))
    then
        raise exception 'a search index build is running; run this again when '
                        '`carrier-studio memory stats` says the index is ready'
            using errcode = '55006';
    end if;
    if to_regclass('public.memories_space') is not null then
        execute 'select dimension from public.memories_space where id = 1' into dimension;
        if dimension is not null and not pg_try_advisory_xact_lock(1129533267, dimension) then
            raise exception 'a search index build is running; run this again when '
                            '`carrier-studio memory stats` says the index is ready'
                using errcode = '55006';
        end if;
    end if;
end
$$;

create extension if not exists vector;

-- A table named `memories` that this script did not create is somebody else's: stop before
-- touching it.
do $$
declare
    existing regclass := to_regclass('public.memories');
begin
    if existing is not null
       and coalesce(obj_description(existing, 'pg_class'), '') not like 'carrier-studio memories%' then
        raise exception 'a table "public.memories" already exists and was not created by Carrier Studio'
            using errcode = 'CM004',
                  hint = 'Rename or drop that table, or use another Supabase project for the studio.';
    end if;
end
$$;

create table if not exists public.memories (
    id          text primary key,
    character   text not null,
    kind        text not null check (kind in ('message', 'fact', 'summary', 'post', 'note')),
    content     text not null,
    -- Provenance: where the memory came from.
    client      text not null default 'user',
    room        text,
    message_id  text,
    speaker     text,
    created_at  timestamptz not null default now(),
    importance  double precision not null default 0.5,
    pinned      boolean not null default false,
    metadata    jsonb not null default '{}'::jsonb,
    -- L2-normalised; cosine distance ranks them. No fixed dimension (see the header).
    embedding   vector not null,
    -- 'simple': no stemming and no stop words, the same for every language, like the local
    -- store's FTS5 unicode61 tokenizer.
    fts         tsvector generated always as (to_tsvector('simple', content)) stored,
    -- Re-embedding into another space stages the new vectors here until every memory has one
    -- (see memories_replace_vectors): search keeps working on the old ones meanwhile.
    pending_embedding vector
);
comment on table public.memories is 'carrier-studio memories, schema 1';

-- Newest first, keyset-paged (page, vectors), overall and per character.
create index if not exists memories_newest on public.memories (created_at desc, id desc);
create index if not exists memories_character_newest
    on public.memories (character, created_at desc, id desc);
create index if not exists memories_fts on public.memories using gin (fts);
-- The default local embedder (all-MiniLM-L6-v2) is 384-d; other dimensions get their index
-- from memories_set_space() when they are first used.
create index if not exists memories_embedding_hnsw_384
    on public.memories using hnsw ((embedding::vector(384)) vector_cosine_ops)
    where vector_dims(embedding) = 384;

-- Which embedder made the stored vectors: one row once anything was stored.
create table if not exists public.memories_space (
    id          integer primary key default 1 check (id = 1),
    embedder_id text not null,
    dimension   integer not null check (dimension > 0),
    -- The space a re-embedding in progress is staging vectors for.
    pending_embedder_id text,
    pending_dimension   integer
);

-- Schema 3: a bulk move builds the vector index once at its end (memories_bulk_begin/_end);
-- true while it is dropped for one.
alter table public.memories_space
    add column if not exists vector_index_deferred boolean not null default false;

alter table public.memories enable row level security;
alter table public.memories_space enable row level security;
revoke all on public.memories, public.memories_space from public;
do $$
begin
    if exists (select from pg_roles where rolname = 'anon') then
        revoke all on public.memories, public.memories_space from anon;
    end if;
    if exists (select from pg_roles where rolname = 'authenticated') then
        revoke all on public.memories, public.memories_space from authenticated;
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Helpers (not callable through the API)
-- ---------------------------------------------------------------------------------------------

-- A WHERE clause for a filter object: {"character", "kinds": [...], "client", "room",
-- "since", "until", "pinned"}; absent or null keys match everything. Values are quoted with
-- format('%L'), so the caller's text never becomes SQL. Built as text so that every query is
-- planned with its real values (partial indexes, selectivity).
create or replace function public.memories_where(p_filter jsonb)
returns text
language plpgsql
stable
set search_path = pg_catalog, public, extensions
as $$
declare
    f jsonb := coalesce(p_filter, '{}'::jsonb);
    parts text[] := array['true'];
begin
    if jsonb_typeof(f) <> 'object' then
        raise exception 'the memory filter must be a JSON object, not %', jsonb_typeof(f)
            using errcode = '22023';
    end if;
    if jsonb_typeof(f -> 'character') = 'string' then
        parts := parts || format('m.character = %L', f ->> 'character');
    end if;
    if jsonb_typeof(f -> 'kinds') = 'array' then
        parts := parts || format('m.kind = any(%L::text[])',
                                 array(select jsonb_array_elements_text(f -> 'kinds')));
    end if;
    if jsonb_typeof(f -> 'client') = 'string' then
        parts := parts || format('m.client = %L', f ->> 'client');
    end if;
    if jsonb_typeof(f -> 'room') = 'string' then
        parts := parts || format('m.room = %L', f ->> 'room');
    end if;
    if jsonb_typeof(f -> 'since') = 'string' then
        parts := parts || format('m.created_at >= %L::timestamptz', f ->> 'since');
    end if;
    if jsonb_typeof(f -> 'until') = 'string' then
        parts := parts || format('m.created_at < %L::timestamptz', f ->> 'until');
    end if;
    if jsonb_typeof(f -> 'pinned') = 'boolean' then
        parts := parts || format('m.pinned = %L::boolean', f ->> 'pinned');
    end if;
    return array_to_string(parts, ' and ');
end
$$;

-- A vector from JSON: pgvector's text form ("[0.1,0.2]", what the studio sends: cheap to build
-- off the event loop) or a JSON array of numbers (what other clients may send).
create or replace function public.memories_vector(p_value jsonb)
returns vector
language sql
immutable
set search_path = pg_catalog, public, extensions
as $$
    select case jsonb_typeof(p_value)
        when 'string' then (p_value #>> '{}')::vector
        when 'array' then (p_value::text)::vector
    end;
$$;

-- The CREATE INDEX of a dimension's vector index: one text for the build inside a function
-- (memories_record_space) and the one a direct connection runs concurrently (schema 4). pgvector's
-- defaults (m 16, ef_construction 64): on 100k real sentence embeddings they give recall@10 0.992
-- at the store's ef_search; ef_construction 32 builds twice as fast but gives 0.976, and m 8
-- 0.970 (bench figures in docs/performance.md), too close to the 0.97 floor to trade.
create or replace function public.memories_index_ddl(p_dimension integer, p_concurrently boolean)
returns text
language sql
immutable
set search_path = pg_catalog, public, extensions
as $$
    select format(
        'create index %s if not exists %I on public.memories using hnsw '
        '((embedding::vector(%s)) vector_cosine_ops) where vector_dims(embedding) = %s',
        case when p_concurrently then 'concurrently' else '' end,
        'memories_embedding_hnsw_' || p_dimension, p_dimension, p_dimension);
$$;

-- Whether a session is building the vector index in the background (memories_index_build_begin
-- holds this advisory lock until the build ends or its connection closes: an app that quit
-- mid-build holds nothing, so the flag cannot outlive the build). Another session's: this
-- script holds it while it runs (above), and builds what is left itself.
create or replace function public.memories_index_building()
returns boolean
language sql
stable
set search_path = pg_catalog, public, extensions
as $$
    select exists (
        select from pg_locks
        where locktype = 'advisory' and classid = 1129533267 and objsubid = 2 and granted
          and pid <> pg_backend_pid()
          and database = (select oid from pg_database where datname = current_database()));
$$;

-- Drops the dimension's vector index if a stopped concurrent build left it invalid.
create or replace function public.memories_drop_invalid_index(p_dimension integer)
returns void
language plpgsql
set search_path = pg_catalog, public, extensions
as $$
begin
    if exists (select from pg_index i
               where i.indexrelid = to_regclass('public.memories_embedding_hnsw_' || p_dimension)
                 and not i.indisvalid) then
        execute format('drop index if exists %I', 'memories_embedding_hnsw_' || p_dimension);
    end if;
end
$$;

-- Records the store's embedding space (creating the HNSW index its dimension needs).
create or replace function public.memories_record_space(p_embedder_id text, p_dimension integer)
returns void
language plpgsql
set search_path = pg_catalog, public, extensions
as $$
begin
    if p_embedder_id is null or p_embedder_id = '' or p_dimension is null or p_dimension < 1 then
        raise exception 'an embedding space needs an embedder id and a positive dimension'
            using errcode = '22023';
    end if;
    insert into public.memories_space (id, embedder_id, dimension)
    values (1, p_embedder_id, p_dimension)
    on conflict (id) do update
        set embedder_id = excluded.embedder_id, dimension = excluded.dimension;
    -- pgvector's HNSW indexes at most 2000 dimensions; wider vectors are searched exactly.
    if p_dimension <= 2000 then
        -- A background build that was stopped leaves its index invalid (unused by searches,
        -- yet "existing"): drop it so that it is built again, unless a build is running.
        if not public.memories_index_building() then
            perform public.memories_drop_invalid_index(p_dimension);
        end if;
        execute public.memories_index_ddl(p_dimension, false);
    end if;
end
$$;

-- Refuses vectors of another space than the store's; records the space on the first write.
create or replace function public.memories_check_space(p_embedder_id text, p_dimension integer)
returns void
language plpgsql
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
begin
    select * into s from public.memories_space where id = 1 for update;
    if not found then
        perform public.memories_record_space(p_embedder_id, p_dimension);
    elsif s.embedder_id <> p_embedder_id or s.dimension <> p_dimension then
        raise exception 'this Supabase memory store holds vectors of "%" (% dimensions), not of "%" (% dimensions)',
                s.embedder_id, s.dimension, p_embedder_id, p_dimension
            using errcode = 'CM001',
                  hint = 'Use the embedder the store was filled with, or re-embed the store first.';
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The API: every function the studio calls through POST /rest/v1/rpc/<name>
-- ---------------------------------------------------------------------------------------------

-- The schema version and the embedding space (nulls for a store never written to), and which
-- database answers: a move over the database URL asks both the API and the direct connection and
-- refuses to write unless they agree (its name and the server's start time, which any role may
-- read, unlike pg_control_system()'s identifier, which a host may restrict; the time as epoch
-- seconds, the same whatever the session's time zone).
create or replace function public.memories_status()
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, public, extensions
as $$
    select jsonb_build_object(
        'schema_version', 4,
        'embedder_id', (select embedder_id from public.memories_space where id = 1),
        'dimension', (select dimension from public.memories_space where id = 1),
        -- Flagged and not there: a build whose session ended after its index became valid
        -- (the app quit at the very end) leaves nothing to report.
        'vector_index_deferred',
            coalesce((select s.vector_index_deferred and not exists (
                          select from pg_index i
                          where i.indexrelid
                                = to_regclass('public.memories_embedding_hnsw_' || s.dimension)
                            and i.indisvalid)
                      from public.memories_space s where s.id = 1),
                     false),
        -- Schema 4: true while a session builds it in the background (or this script runs,
        -- holding the build's lock); deferred and not building is an index a stopped build or
        -- move left unbuilt.
        'vector_index_building', public.memories_index_building(),
        'database', current_database(),
        'server_started', extract(epoch from pg_postmaster_start_time())::text);
$$;

-- Records the space of an empty store (a store holding vectors changes space only through
-- memories_replace_vectors).
create or replace function public.memories_set_space(p_embedder_id text, p_dimension integer)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
begin
    select * into s from public.memories_space where id = 1 for update;
    if found and (s.embedder_id <> p_embedder_id or s.dimension <> p_dimension)
       and exists (select from public.memories) then
        raise exception 'this Supabase memory store holds vectors of "%" (% dimensions); they cannot be relabelled as "%" (% dimensions)',
                s.embedder_id, s.dimension, p_embedder_id, p_dimension
            using errcode = 'CM001',
                  hint = 'Re-embed the memories (memories_replace_vectors) instead.';
    end if;
    perform public.memories_record_space(p_embedder_id, p_dimension);
    return public.memories_status();
end
$$;

-- Stores records with their vectors; ids are kept, and a record whose id exists is replaced
-- (an undo or a retried move brings it back as it was) unless p_keep_existing: then it is left
-- as it is and not counted, so an import run twice, or by two people at once, stores each
-- memory once and each run reports exactly what it added. p_items is a JSON array of objects
-- with the record's fields and "embedding" (see memories_vector). Returns how many were written.
-- (Schema 1 had a three-argument version; it goes, so a call cannot match two functions.)
drop function if exists public.memories_insert(jsonb, text, integer);
create or replace function public.memories_insert(
    p_items jsonb, p_embedder_id text, p_dimension integer, p_keep_existing boolean default false)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    bad text;
    written integer;
begin
    perform public.memories_check_space(p_embedder_id, p_dimension);
    select x.id into bad
    from jsonb_to_recordset(p_items) as x(id text, embedding jsonb)
    where coalesce(vector_dims(public.memories_vector(x.embedding)), 0) <> p_dimension
    limit 1;
    if found then
        raise exception 'memory % has a vector of the wrong dimension (expected %)', bad, p_dimension
            using errcode = 'CM002';
    end if;
    insert into public.memories as m (
        id, character, kind, content, client, room, message_id, speaker, created_at,
        importance, pinned, metadata, embedding)
    select x.id, x.character, x.kind, x.content, coalesce(x.client, 'user'), x.room,
           x.message_id, x.speaker, coalesce(x.created_at, now()), coalesce(x.importance, 0.5),
           coalesce(x.pinned, false), coalesce(x.metadata, '{}'::jsonb),
           public.memories_vector(x.embedding)
    from jsonb_to_recordset(p_items) as x(
        id text, character text, kind text, content text, client text, room text,
        message_id text, speaker text, created_at timestamptz, importance double precision,
        pinned boolean, metadata jsonb, embedding jsonb)
    on conflict (id) do update set
        character = excluded.character, kind = excluded.kind, content = excluded.content,
        client = excluded.client, room = excluded.room, message_id = excluded.message_id,
        speaker = excluded.speaker, created_at = excluded.created_at,
        importance = excluded.importance, pinned = excluded.pinned,
        metadata = excluded.metadata, embedding = excluded.embedding,
        pending_embedding = null
    where not p_keep_existing;  -- a row not updated is not counted either
    get diagnostics written = row_count;
    return written;
end
$$;

-- Vector search: the memories nearest to p_query (cosine), best first, with their similarity.
create or replace function public.match_memories(
    p_query real[], p_filter jsonb default '{}'::jsonb, p_limit integer default 10)
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb, similarity double precision)
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
    dims integer := coalesce(array_length(p_query, 1), 0);
begin
    select * into s from public.memories_space where memories_space.id = 1;
    if not found then
        return;
    end if;
    if dims <> s.dimension then
        raise exception 'the query vector has % dimensions; this Supabase memory store holds % (embedder "%")',
                dims, s.dimension, s.embedder_id
            using errcode = 'CM002',
                  hint = 'Search with the embedder the store was filled with.';
    end if;
    -- Candidates the HNSW search keeps: on 10k sentence-like 384-d vectors the default (40)
    -- found 76% of the true top 10, 200 found 96%, 400 found 99% (≈5 ms here; bench/
    -- memory_supabase.py). Strict iterative scans keep filling k when a filter drops rows.
    perform set_config('hnsw.ef_search', greatest(400, least(1000, p_limit * 20))::text, true);
    perform set_config('hnsw.iterative_scan', 'strict_order', true);
    return query execute format(
        'select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, '
        '       m.speaker, m.created_at, m.importance, m.pinned, m.metadata, '
        '       1 - (m.embedding::vector(%1$s) <=> $1::vector(%1$s)) '
        'from public.memories m '
        'where vector_dims(m.embedding) = %1$s and %2$s '
        'order by m.embedding::vector(%1$s) <=> $1::vector(%1$s) '
        'limit $2',
        s.dimension, public.memories_where(p_filter))
    using p_query, greatest(0, least(p_limit, 1000));
end
$$;

-- Keyword search: memories holding any of the words of p_text, best full-text rank first.
-- The rank is ts_rank × 10 (one matched word in a short memory ≈ 0.6), on the scale of the
-- local store's FTS5 bm25, so that both stores weigh keywords alike in a hybrid search.
create or replace function public.memories_keyword_search(
    p_text text, p_filter jsonb default '{}'::jsonb, p_limit integer default 10)
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb, rank real)
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    words text[] := tsvector_to_array(to_tsvector('simple', coalesce(p_text, '')));
    word text;
    query tsquery;
begin
    if coalesce(array_length(words, 1), 0) = 0 then
        return;
    end if;
    -- Any of the words (OR), each turned into a query by the same configuration, so no user
    -- text is read as tsquery syntax.
    foreach word in array words loop
        query := case when query is null then plainto_tsquery('simple', word)
                      else query || plainto_tsquery('simple', word) end;
    end loop;
    return query execute format(
        'select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, '
        '       m.speaker, m.created_at, m.importance, m.pinned, m.metadata, '
        '       (10 * ts_rank(m.fts, $1))::real '
        'from public.memories m '
        'where m.fts @@ $1 and %s '
        'order by ts_rank(m.fts, $1) desc, m.created_at desc, m.id '
        'limit $2',
        public.memories_where(p_filter))
    using query, greatest(0, least(p_limit, 1000));
end
$$;

-- Hybrid search: the 2 × p_limit nearest memories by vector and the 2 × p_limit best by
-- keywords, each with BOTH parts (similarity, and rank when its words match), so that the
-- client's fusion compares like with like. Words found in more than 5000 memories are left to
-- the vector half ("the", "what": they say little and would cost most of the query).
-- p_query may be null (no embedding at hand): then only the keyword half runs.
create or replace function public.memories_hybrid_search(
    p_text text, p_query real[] default null, p_filter jsonb default '{}'::jsonb,
    p_limit integer default 10)
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb, similarity double precision, rank real)
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
    dims integer := coalesce(array_length(p_query, 1), 0);
    words text[] := tsvector_to_array(to_tsvector('simple', coalesce(p_text, '')));
    word text;
    query tsquery;
    matches bigint;
    want integer := 2 * greatest(0, least(p_limit, 1000));
    vector_part text := 'select null::text as id where false';
    similarity text := 'null::double precision';
begin
    foreach word in array words loop
        select count(*) into matches
        from (select 1 from public.memories m
              where m.fts @@ plainto_tsquery('simple', word) limit 5001) c;
        if matches <= 5000 then
            query := case when query is null then plainto_tsquery('simple', word)
                          else query || plainto_tsquery('simple', word) end;
        end if;
    end loop;
    select * into s from public.memories_space where memories_space.id = 1;
    if p_query is not null and found then
        if dims <> s.dimension then
            raise exception 'the query vector has % dimensions; this Supabase memory store holds % (embedder "%")',
                    dims, s.dimension, s.embedder_id
                using errcode = 'CM002',
                      hint = 'Search with the embedder the store was filled with.';
        end if;
        perform set_config('hnsw.ef_search', greatest(400, least(1000, want * 20))::text, true);
        perform set_config('hnsw.iterative_scan', 'strict_order', true);
        vector_part := format(
            'select m.id from public.memories m '
            'where vector_dims(m.embedding) = %1$s and %2$s '
            'order by m.embedding::vector(%1$s) <=> $1::vector(%1$s) limit $3',
            s.dimension, public.memories_where(p_filter));
        similarity := format(
            'case when vector_dims(m.embedding) = %1$s '
            'then 1 - (m.embedding::vector(%1$s) <=> $1::vector(%1$s)) end', s.dimension);
    end if;
    return query execute format(
        'with found as ( '
        '    (%1$s) '
        '    union '
        '    (select m.id from public.memories m '
        '     where $2::tsquery is not null and m.fts @@ $2 and %2$s '
        '     order by ts_rank(m.fts, $2) desc limit $3)) '
        'select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, '
        '       m.speaker, m.created_at, m.importance, m.pinned, m.metadata, '
        '       %3$s, '
        '       case when $2::tsquery is not null and m.fts @@ $2 '
        '            then (10 * ts_rank(m.fts, $2))::real end '
        'from found join public.memories m on m.id = found.id',
        vector_part, public.memories_where(p_filter), similarity)
    using p_query, query, want;
end
$$;

-- The records with these ids (those that exist), without vectors.
create or replace function public.memories_get(p_ids text[])
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb)
language sql
stable
security definer
set search_path = pg_catalog, public, extensions
as $$
    select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, m.speaker,
           m.created_at, m.importance, m.pinned, m.metadata
    from public.memories m
    where m.id = any(p_ids);
$$;

-- Replaces a record's content, kind, importance, pinned and metadata (and its vector when
-- p_embedding is given). Returns the number of rows changed: 0 when the id does not exist.
create or replace function public.memories_update(p_record jsonb, p_embedding real[] default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
    changed integer;
begin
    if p_embedding is not null then
        select * into s from public.memories_space where id = 1;
        if found and coalesce(array_length(p_embedding, 1), 0) <> s.dimension then
            raise exception 'the new vector has % dimensions; this Supabase memory store holds % (embedder "%")',
                    coalesce(array_length(p_embedding, 1), 0), s.dimension, s.embedder_id
                using errcode = 'CM002';
        end if;
    end if;
    update public.memories m set
        content = coalesce(p_record ->> 'content', m.content),
        kind = coalesce(p_record ->> 'kind', m.kind),
        importance = coalesce((p_record ->> 'importance')::double precision, m.importance),
        pinned = coalesce((p_record ->> 'pinned')::boolean, m.pinned),
        metadata = coalesce(p_record -> 'metadata', m.metadata),
        embedding = coalesce(p_embedding::vector, m.embedding),
        -- New content needs a new vector in a re-embedding in progress too.
        pending_embedding = case when p_embedding is null
                                 and (p_record ->> 'content') is not distinct from m.content
                                 then m.pending_embedding end
    where m.id = p_record ->> 'id';
    get diagnostics changed = row_count;
    return changed;
end
$$;

-- Removes memories and returns them with their vectors, so an undo can insert them back.
create or replace function public.memories_delete(p_ids text[])
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb, embedding text)
language sql
security definer
set search_path = pg_catalog, public, extensions
as $$
    delete from public.memories m
    where m.id = any(p_ids)
    returning m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, m.speaker,
              m.created_at, m.importance, m.pinned, m.metadata, m.embedding::text;
$$;

-- One page, newest first, strictly after the keyset (p_before_created_at, p_before_id) when
-- given: an index range scan, as fast on the millionth row as on the first.
create or replace function public.memories_page(
    p_filter jsonb default '{}'::jsonb,
    p_before_created_at timestamptz default null,
    p_before_id text default null,
    p_limit integer default 200)
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb)
language plpgsql
stable
security definer
set search_path = pg_catalog, public, extensions
as $$
begin
    return query execute format(
        'select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, '
        '       m.speaker, m.created_at, m.importance, m.pinned, m.metadata '
        'from public.memories m '
        'where %s and ($1::timestamptz is null or (m.created_at, m.id) < ($1, $2)) '
        'order by m.created_at desc, m.id desc '
        'limit $3',
        public.memories_where(p_filter))
    using p_before_created_at, coalesce(p_before_id, ''), greatest(0, least(p_limit, 10000));
end
$$;

-- How many memories match a filter.
create or replace function public.memories_count(p_filter jsonb default '{}'::jsonb)
returns bigint
language plpgsql
stable
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    n bigint;
begin
    execute format('select count(*) from public.memories m where %s',
                   public.memories_where(p_filter))
        into n;
    return n;
end
$$;

-- Like memories_page, with the vectors: the memory map, moving stores, exporting.
create or replace function public.memories_vectors(
    p_filter jsonb default '{}'::jsonb,
    p_before_created_at timestamptz default null,
    p_before_id text default null,
    p_limit integer default 5000)
returns table (
    id text, "character" text, kind text, content text, client text, room text,
    message_id text, speaker text, created_at timestamptz, importance double precision,
    pinned boolean, metadata jsonb, embedding text)
language plpgsql
stable
security definer
set search_path = pg_catalog, public, extensions
as $$
begin
    return query execute format(
        'select m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, '
        '       m.speaker, m.created_at, m.importance, m.pinned, m.metadata, '
        '       m.embedding::text '
        'from public.memories m '
        'where %s and ($1::timestamptz is null or (m.created_at, m.id) < ($1, $2)) '
        'order by m.created_at desc, m.id desc '
        'limit $3',
        public.memories_where(p_filter))
    using p_before_created_at, coalesce(p_before_id, ''), greatest(0, least(p_limit, 10000));
end
$$;

-- Re-embedding: new vectors for existing ids. p_items is a JSON array of {"id", "embedding"}.
-- In the store's own space the vectors are replaced at once (a repair may be partial). Into
-- another space, calls stage the vectors; the call with p_final swaps them all in and records
-- the new space, and fails (changing nothing) unless every memory then has a new vector: the
-- store never holds vectors of two spaces. Returns how many memories were given a vector.
create or replace function public.memories_replace_vectors(
    p_items jsonb, p_embedder_id text, p_dimension integer, p_final boolean default true)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
    bad text;
    changed integer;
    missing bigint;
begin
    select x.id into bad
    from jsonb_to_recordset(p_items) as x(id text, embedding jsonb)
    where coalesce(vector_dims(public.memories_vector(x.embedding)), 0) <> p_dimension
    limit 1;
    if found then
        raise exception 'memory % has a vector of the wrong dimension (expected %)', bad, p_dimension
            using errcode = 'CM002';
    end if;
    select * into s from public.memories_space where id = 1 for update;
    if not found or (s.embedder_id = p_embedder_id and s.dimension = p_dimension) then
        if not found then
            perform public.memories_record_space(p_embedder_id, p_dimension);
        end if;
        update public.memories m set embedding = public.memories_vector(x.embedding)
        from jsonb_to_recordset(p_items) as x(id text, embedding jsonb)
        where m.id = x.id;
        get diagnostics changed = row_count;
        return changed;
    end if;

    if s.pending_embedder_id is distinct from p_embedder_id
       or s.pending_dimension is distinct from p_dimension then
        update public.memories set pending_embedding = null where pending_embedding is not null;
        update public.memories_space
            set pending_embedder_id = p_embedder_id, pending_dimension = p_dimension
            where id = 1;
    end if;
    update public.memories m set pending_embedding = public.memories_vector(x.embedding)
    from jsonb_to_recordset(p_items) as x(id text, embedding jsonb)
    where m.id = x.id;
    get diagnostics changed = row_count;
    if not p_final then
        return changed;
    end if;

    select count(*) into missing from public.memories where pending_embedding is null;
    if missing > 0 then
        raise exception 're-embedding into "%" (% dimensions) must give every memory a new vector; % have none',
                p_embedder_id, p_dimension, missing
            using errcode = 'CM001',
                  hint = 'The store still holds the vectors of "' || s.embedder_id || '"; run the re-embedding again.';
    end if;
    update public.memories set embedding = pending_embedding, pending_embedding = null;
    update public.memories_space
        set pending_embedder_id = null, pending_dimension = null
        where id = 1;
    if s.dimension <> p_dimension then
        execute format('drop index if exists %I', 'memories_embedding_hnsw_' || s.dimension);
    end if;
    perform public.memories_record_space(p_embedder_id, p_dimension);
    return changed;
end
$$;

-- Moving many memories in (schema 3). HNSW keeps its graph current row by row: ≈2 ms a row
-- here, most of an insert's cost, while building the index once over the loaded rows costs
-- ≈0.5 ms a row. memories_bulk_begin records the space (as a first insert would) and, when the
-- move brings at least as many memories as the store holds and the build will fit in this
-- call's time limit, drops the space's vector index; memories_bulk_end builds it again. The
-- limit is the API role's statement_timeout (Supabase: 8 s unless raised), which a function
-- cannot lengthen for the statement that calls it; the build is reckoned at p_build_ms a row,
-- with half the limit to spare. Searches meanwhile still answer, exactly, by a scan. An
-- interrupted move, or a build that timed out, leaves the index dropped (memories_status says
-- so) until a move ends or this script runs again over a direct connection (see its end).
drop function if exists public.memories_bulk_begin(text, integer, bigint);
create or replace function public.memories_bulk_begin(
    p_embedder_id text, p_dimension integer, p_expected bigint, p_build_ms real default 1)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    held bigint;
    limit_ms bigint := public.memories_timeout_ms();
begin
    perform public.memories_check_space(p_embedder_id, p_dimension);
    select count(*) into held from (select 1 from public.memories limit p_expected + 1) c;
    -- A background build running elsewhere keeps its index: the rows join it as they come.
    if p_expected >= held and not public.memories_index_building()
       and (limit_ms = 0 or (held + p_expected) * p_build_ms <= limit_ms / 2) then
        execute format('drop index if exists %I', 'memories_embedding_hnsw_' || p_dimension);
        update public.memories_space set vector_index_deferred = true where id = 1;
    end if;
    return public.memories_status();
end
$$;

-- This session's statement_timeout in milliseconds (0: none).
create or replace function public.memories_timeout_ms()
returns bigint
language sql
stable
set search_path = pg_catalog, public, extensions
as $$
    select case
        when s.setting = '0' then 0
        else (s.setting::bigint * case s.unit when 's' then 1000 when 'min' then 60000 else 1 end)
    end
    from pg_settings s where s.name = 'statement_timeout';
$$;

create or replace function public.memories_bulk_end()
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
begin
    select * into s from public.memories_space where id = 1 for update;
    if found then
        -- The whole graph in memory builds several times faster than spilling (pgvector's
        -- notice "hnsw graph no longer fits into maintenance_work_mem"); for this build only.
        perform set_config('maintenance_work_mem', '256MB', true);
        perform public.memories_record_space(s.embedder_id, s.dimension);
        update public.memories_space set vector_index_deferred = false where id = 1;
    end if;
    return public.memories_status();
end
$$;

-- The vector index built after a move over a direct connection (schema 4), so that the move
-- ends once its rows are stored: the connection runs the statement this returns, CREATE INDEX
-- CONCURRENTLY (searches answer exactly meanwhile, and writes go on: a plain build would hold
-- them for its whole length), then memories_index_build_end(). Returns null when there is
-- nothing to build (no space yet; over 2000 dimensions, whose flag it clears) or when another
-- session is building it. Not callable through the API: a build has no time limit.
create or replace function public.memories_index_build_begin()
returns text
language plpgsql
set search_path = pg_catalog, public, extensions
as $$
declare
    s public.memories_space;
begin
    select * into s from public.memories_space where id = 1;
    if not found then
        return null;
    end if;
    if s.dimension > 2000 then
        perform public.memories_bulk_end();
        return null;
    end if;
    -- Held by this session until memories_index_build_end or its connection closes.
    if not pg_try_advisory_lock(1129533267, s.dimension) then
        return null;
    end if;
    perform public.memories_drop_invalid_index(s.dimension);
    -- The whole graph in memory (see memories_bulk_end), for this session's build.
    perform set_config('maintenance_work_mem', '256MB', false);
    return public.memories_index_ddl(s.dimension, true);
end
$$;

create or replace function public.memories_index_build_end()
returns jsonb
language plpgsql
set search_path = pg_catalog, public, extensions
as $$
begin
    -- The index exists now: this records it (building nothing) and clears the flag.
    perform public.memories_bulk_end();
    perform pg_advisory_unlock_all();
    return public.memories_status();
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Who may call what: nobody but the service role (and the owner).
-- ---------------------------------------------------------------------------------------------
revoke all on function
    public.memories_where(jsonb),
    public.memories_vector(jsonb),
    public.memories_record_space(text, integer),
    public.memories_check_space(text, integer),
    public.memories_status(),
    public.memories_set_space(text, integer),
    public.memories_insert(jsonb, text, integer, boolean),
    public.match_memories(real[], jsonb, integer),
    public.memories_keyword_search(text, jsonb, integer),
    public.memories_hybrid_search(text, real[], jsonb, integer),
    public.memories_get(text[]),
    public.memories_update(jsonb, real[]),
    public.memories_delete(text[]),
    public.memories_page(jsonb, timestamptz, text, integer),
    public.memories_count(jsonb),
    public.memories_vectors(jsonb, timestamptz, text, integer),
    public.memories_replace_vectors(jsonb, text, integer, boolean),
    public.memories_bulk_begin(text, integer, bigint, real),
    public.memories_bulk_end(),
    public.memories_timeout_ms(),
    public.memories_index_ddl(integer, boolean),
    public.memories_index_building(),
    public.memories_drop_invalid_index(integer),
    public.memories_index_build_begin(),
    public.memories_index_build_end()
from public;

do $$
declare
    api text[] := array[
        'public.memories_status()',
        'public.memories_set_space(text, integer)',
        'public.memories_insert(jsonb, text, integer, boolean)',
        'public.match_memories(real[], jsonb, integer)',
        'public.memories_keyword_search(text, jsonb, integer)',
        'public.memories_hybrid_search(text, real[], jsonb, integer)',
        'public.memories_get(text[])',
        'public.memories_update(jsonb, real[])',
        'public.memories_delete(text[])',
        'public.memories_page(jsonb, timestamptz, text, integer)',
        'public.memories_count(jsonb)',
        'public.memories_vectors(jsonb, timestamptz, text, integer)',
        'public.memories_replace_vectors(jsonb, text, integer, boolean)',
        'public.memories_bulk_begin(text, integer, bigint, real)',
        'public.memories_bulk_end()'];
    fn text;
    role text;
begin
    -- Supabase grants new functions to anon and authenticated by default: take that back.
    foreach role in array array['anon', 'authenticated'] loop
        if exists (select from pg_roles where rolname = role) then
            foreach fn in array api loop
                execute format('revoke all on function %s from %I', fn, role);
            end loop;
        end if;
    end loop;
    if exists (select from pg_roles where rolname = 'service_role') then
        foreach fn in array api loop
            execute format('grant execute on function %s to service_role', fn);
        end loop;
    end if;
end
$$;

-- A bulk move whose index build did not finish (interrupted, or over the API's time limit):
-- build it now. Over a direct connection (`memory init --supabase --apply`) no API limit applies.
-- Not while a session builds it in the background: that build ends the same way.
do $$
begin
    if exists (select from public.memories_space where vector_index_deferred)
       and not public.memories_index_building() then
        perform public.memories_bulk_end();
    end if;
end
$$;

-- PostgREST caches the functions it can call; tell it about these (ignored without PostgREST).
notify pgrst, 'reload schema';
