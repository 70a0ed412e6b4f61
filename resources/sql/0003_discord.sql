-- Schema 3: the Discord bot's rooms. Each channel a character answers in is one conversation,
-- remembered here so the bot continues it after a restart. Deleting the conversation in the
-- studio forgets the room; the bot starts a new conversation there on the next message.
CREATE TABLE discord_channels (
    character       TEXT NOT NULL,
    -- Discord snowflakes fit a signed 64-bit integer.
    channel_id      INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- "#general (My Server)" or "DM with sam", as it was when the room was created.
    label           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (character, channel_id)
) STRICT;
CREATE INDEX discord_channels_conversation ON discord_channels (conversation_id);
