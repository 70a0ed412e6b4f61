-- Schema 9: a conversation is a tree of messages, so an edited message or a regenerated reply
-- keeps the earlier ones as alternatives. Each message names the one before it on its branch
-- (NULL: it starts the conversation); the conversation names the last message of the branch
-- shown and sent to the model (NULL: none yet). A message that ends a turn keeps the SDK
-- history as it was after that turn, so switching branches gives the model that branch's
-- history (the conversation's own `history` stays that of the branch shown).
ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE messages ADD COLUMN history TEXT;
ALTER TABLE conversations ADD COLUMN leaf_id INTEGER REFERENCES messages (id) ON DELETE SET NULL;
CREATE INDEX messages_parent ON messages (conversation_id, parent_id);

-- Conversations written before this were one straight line: each message follows the one
-- before it, the last one is shown, and it has the conversation's history.
UPDATE messages SET parent_id = (
    SELECT max(m.id) FROM messages m
    WHERE m.conversation_id = messages.conversation_id AND m.id < messages.id
);
UPDATE conversations SET leaf_id = (
    SELECT max(m.id) FROM messages m WHERE m.conversation_id = conversations.id
);
UPDATE messages SET history = (
    SELECT c.history FROM conversations c WHERE c.id = messages.conversation_id
) WHERE id IN (SELECT leaf_id FROM conversations WHERE leaf_id IS NOT NULL);
