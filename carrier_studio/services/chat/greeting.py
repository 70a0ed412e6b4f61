"""A new conversation opens with its character's greeting (core/characters/greeting.py).

The greeting is stored as the character's first message and put in the SDK history as an
assistant message, so it is shown, survives a restart and is what the model sees it said. While
nothing else has been said, another of the character's greetings can take its place.
"""

from __future__ import annotations

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.characters.greeting import greetings
from carrier_studio.core.runtime.transcript import AssistantText
from carrier_studio.services.chat.conversations import ConversationStore


async def greet(store: ConversationStore, conversation_id: int, doc: CharacterDoc) -> bool:
    """Open a new conversation with the character's main greeting; False when it has none."""
    said = greetings(doc)
    if not said:
        return False
    await _say(store, conversation_id, doc, said[0])
    return True


async def greeting_choice(
    store: ConversationStore, conversation_id: int, doc: CharacterDoc
) -> tuple[int, int] | None:
    """(which greeting is showing, how many there are) while the conversation holds only its
    greeting and the character has more than one; else None (nothing to switch)."""
    said = greetings(doc)
    stored = await store.transcript(conversation_id)
    if len(said) < 2 or len(stored) != 1 or not isinstance(stored[0].item, AssistantText):
        return None
    text = stored[0].item.text
    return (said.index(text) if text in said else 0, len(said))


async def next_greeting(store: ConversationStore, conversation_id: int, doc: CharacterDoc) -> bool:
    """Replace the greeting by the character's next one (round the list); False when the
    conversation has gone past its greeting, or there is no other."""
    choice = await greeting_choice(store, conversation_id, doc)
    if choice is None:
        return False
    index, count = choice
    stored = await store.transcript(conversation_id)
    await store.delete_messages_from(conversation_id, stored[0].id)
    await _say(store, conversation_id, doc, greetings(doc)[(index + 1) % count])
    return True


async def _say(
    store: ConversationStore, conversation_id: int, doc: CharacterDoc, text: str
) -> None:
    await store.add_item(conversation_id, AssistantText(text, doc.name, final=True))
    # The SDK's input item for something the assistant said: the model sees its greeting.
    await store.save_history(conversation_id, [{"role": "assistant", "content": text}], None)
