-- Schema 2: chat conversations, their messages, remembered tool approvals, and local run records.
CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY,
    character     TEXT NOT NULL,
    title         TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- The agent SDK's input items after the last finished turn: what the model sees next time.
    history       TEXT NOT NULL DEFAULT '[]',
    -- A run paused for tool approvals (the SDK's RunState as JSON), so it survives a restart.
    pending_state TEXT
) STRICT;
CREATE INDEX conversations_character_updated ON conversations (character, updated_at);

-- What the chat view shows, in order. kind: user | assistant | tool | handoff | approval | error.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    kind            TEXT NOT NULL,
    agent           TEXT NOT NULL DEFAULT '',
    content         TEXT NOT NULL,
    meta            TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- "Remember for this tool" answers to approval prompts, per character.
CREATE TABLE tool_approvals (
    character TEXT NOT NULL,
    tool      TEXT NOT NULL,
    policy    TEXT NOT NULL CHECK (policy IN ('off', 'ask', 'auto')),
    PRIMARY KEY (character, tool)
) STRICT;

-- Runs are recorded here instead of being uploaded as traces.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    started_at      TEXT NOT NULL,
    duration_ms     INTEGER NOT NULL,
    agent           TEXT NOT NULL,
    model           TEXT NOT NULL,
    status          TEXT NOT NULL,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    error           TEXT
) STRICT;
