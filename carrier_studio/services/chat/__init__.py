"""Conversations with a character: `ChatService` opens `ChatThread`s that run turns through the
agents SDK and store their transcript in studio.db (`ConversationStore`).

Other features use these names only; the modules inside are this package's own business.
"""

from carrier_studio.services.chat.conversations import Conversation, ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.chat.thread import ChatThread

__all__ = ["ChatService", "ChatThread", "Conversation", "ConversationStore"]
