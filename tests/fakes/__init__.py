"""Fakes that speak real wire protocols, so real clients run end to end in tests.

from tests.fakes import ScriptedLLMServer, text, tool_call

async with ScriptedLLMServer() as server:
    server.script(tool_call("get_weather", {"city": "Paris"}), text("Sunny."))
    client = AsyncOpenAI(base_url=server.openai_base_url, api_key="test-key")
"""

from .llm_server import (
    DEFAULT_MODELS,
    RecordedRequest,
    ScriptedLLMServer,
    ThreadedLLMServer,
    running_server,
)
from .replies import (
    Completion,
    ErrorReply,
    Hang,
    Reply,
    ToolCall,
    Usage,
    count_words,
    error,
    hang,
    json_text,
    prompt_words,
    slow_text,
    text,
    tool_call,
    tool_calls,
)

__all__ = [
    "DEFAULT_MODELS",
    "Completion",
    "ErrorReply",
    "Hang",
    "RecordedRequest",
    "Reply",
    "ScriptedLLMServer",
    "ThreadedLLMServer",
    "ToolCall",
    "Usage",
    "count_words",
    "error",
    "hang",
    "json_text",
    "prompt_words",
    "running_server",
    "slow_text",
    "text",
    "tool_call",
    "tool_calls",
]
