"""What an MCP server may ask the studio during a call, and the answers, as plain values.

A server may ask the user for input (elicitation: a form, or a page to open), ask the studio's
model for a completion (sampling, approved by the user first) or ask which folders it may see
(roots). `services.mcp.client` turns the MCP SDK's requests into these values and the answers
back; the window implements `McpAsker` with dialogs (ui/widgets/mcp_elicitation.py,
ui/widgets/mcp_sampling.py). No SDK and no Qt here.

The notifications a server sends during a call (progress, log messages, changed lists) are the
values at the end (`ToolProgress`, `ServerLog`, `ListChanged`); `McpManager` emits them.
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from carrier_studio.core.mcp.elicitation import FormField
from carrier_studio.core.settings import ModelChoice

#: What a user's answer to an elicitation was (the MCP ``action``).
Action = Literal["accept", "decline", "cancel"]


@dataclass(frozen=True)
class ElicitationRequest:
    """A server asks the user something: a form (``fields``) or a page to open (``url``)."""

    server: str
    message: str
    mode: Literal["form", "url"] = "form"
    #: The form's fields, defaults filled (SEP-1034); empty in URL mode.
    fields: tuple[FormField, ...] = ()
    url: str = ""
    #: The requested schema as sent (kept so an answer can be checked against it).
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ElicitationAnswer:
    action: Action
    #: The values by field name (accept in form mode only).
    content: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SamplingMessage:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class SamplingRequest:
    """A server asks for a completion (``sampling/createMessage``), shown before it runs."""

    server: str
    system_prompt: str
    messages: tuple[SamplingMessage, ...]
    max_tokens: int
    #: The model it would run on, as a person reads it (``gpt-4.1-mini (openai)``).
    model_label: str = ""


class SamplingDecision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    #: Allow, and do not ask again for this server (remembered in settings).
    ALWAYS = "always"


class McpAsker(Protocol):
    """What the window does for servers' requests (the dialogs); None when there is no window,
    and the studio then declines every elicitation and denies every sampling request."""

    async def elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        """Ask the user: a form, or (URL mode) whether to open the page; opening it is the
        asker's part too. Cancel when the user closes the dialog."""
        ...

    async def approve_sampling(self, request: SamplingRequest) -> SamplingDecision: ...


@dataclass(frozen=True)
class ToolProgress:
    """A server's progress notification for a running tool call."""

    server: str
    #: The agents SDK's tool call id (the chat's tool card), "" when the call came elsewhere.
    call_id: str
    tool: str
    progress: float
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Progress as 0..1 when the server said the total, else None."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.progress / self.total))


@dataclass(frozen=True)
class ServerLog:
    """A log message a server sent (``notifications/message``), already redacted."""

    server: str
    #: The MCP level: debug, info, notice, warning, error, critical, alert, emergency.
    level: str
    text: str
    logger: str = ""


@dataclass(frozen=True)
class ListChanged:
    """A server said its tools, resources or prompts changed (caches are already dropped)."""

    server: str
    kind: Literal["tools", "resources", "prompts"]


#: The model the current chat turn runs on, set by the chat thread before its run; a server's
#: sampling request during a tool call of that run is answered by this model (else the
#: workspace default). A context variable: the run's tool calls inherit it.
chat_model: contextvars.ContextVar[ModelChoice | None] = contextvars.ContextVar(
    "carrier_chat_model", default=None
)
