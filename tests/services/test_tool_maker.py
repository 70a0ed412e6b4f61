"""The tool maker: a scripted model writes a FastMCP-style server; it is checked, saved, added
to mcp_servers.json turned off, and then really starts over stdio and lists its tool."""

from __future__ import annotations

import asyncio
import json

import pytest

from carrier_studio.core import toolmaker
from carrier_studio.core.mcp import ServerState, lookup_chain
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.core.toolmaker import ToolCodeError
from carrier_studio.services.mcp.manager import McpManager
from carrier_studio.services.mcp.tool_maker import (
    RUN_TOOL_ARGS,
    ToolMaker,
    draft_tool,
    studio_variables,
)
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import text_model
from tests.fakes import ScriptedLLMServer, text

GOOD = '''Here is the tool:

```python
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("Word counter")


@server.tool()
def count_words(text: str) -> int:
    """How many words the text has."""
    return len(text.split())


if __name__ == "__main__":
    print("word counter ready", file=sys.stderr)
    server.run()
```
'''

OLD_API = """```python
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("words")


@mcp.tool()
def count_words(text: str) -> int:
    print("counting")
    return len(text.split())


mcp.run()
```"""

#: Hand-written, with an inline list and odd spacing that a rewrite would lose.
CATALOGUE = """{
  "version": 1,
  "mcpServers": {
    "everything": {"command": "node", "args": ["a.js", "stdio"],   "enabled": false}
  },
  "x-mine": [1,2,3]
}
"""


def test_the_tool_maker_writes_a_server_that_starts_and_lists_its_tool(tmp_path, keyring_backend):
    catalogue = tmp_path / "mcp_servers.json"
    catalogue.write_text(CATALOGUE)

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text(OLD_API), text(GOOD))
            providers = ProviderSettings(
                endpoints=[CompatEndpoint(name="local", base_url=server.openai_base_url)]
            )
            choice = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
            secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
            model = text_model(choice, providers, secrets)
            progress: list[str] = []
            try:
                tool = await draft_tool("count the words of a text", model, progress.append)
            finally:
                await model.close()
            retry = json.dumps(server.requests[1].body)
            manager = McpManager(catalogue, lookup_chain(studio_variables(tmp_path)))
            try:
                maker = ToolMaker(tmp_path / "tools", catalogue, mcp=manager)
                saved = await maker.save(tool)
                again = await maker.save(tool)  # the same name twice: a free one, no overwrite
                state_before = manager.status(saved.server).state
                await manager.set_enabled(saved.server, True)
                status = await manager.start(saved.server)
                tools = await manager.list_tools(saved.server)
                result = await manager.call_tool(saved.server, "count_words", {"text": "a b c"})
            finally:
                await manager.shutdown()
            return tool, progress, retry, saved, again, state_before, status, tools, result

    tool, progress, retry, saved, again, before, status, tools, result = asyncio.run(go())
    assert "line 1: `mcp.server.fastmcp` does not exist in mcp 2" in retry
    assert "line 8: print() writes to stdout" in retry
    assert len(progress) >= 3 and "asking" in progress[1]
    assert (tool.server_name, tool.tools) == ("word_counter", ("count_words",))
    assert saved.path == tmp_path / "tools" / "word_counter.py"
    assert saved.path.read_text() == tool.code
    assert (again.server, again.path.name) == ("word_counter_2", "word_counter_2.py")
    written = catalogue.read_text()
    # Only the new servers were added: the hand-written parts are byte for byte as they were.
    assert written.startswith(CATALOGUE.split("\n  },")[0])
    assert '"x-mine": [1,2,3]' in written
    entry = json.loads(written)["mcpServers"]["word_counter"]
    # Portable: no interpreter path of this machine in the user's file.
    assert entry["command"] == "${STUDIO_PYTHON}"
    assert entry["args"] == [*RUN_TOOL_ARGS, "${WORKSPACE}/tools/word_counter.py"]
    assert before is not ServerState.RUNNING, "it is registered turned off"
    assert status.state is ServerState.RUNNING
    assert [t.name for t in tools] == ["count_words"]
    assert not result.is_error and "3" in result.text


def test_code_that_does_not_parse_is_refused_with_its_line():
    with pytest.raises(ToolCodeError) as caught:
        toolmaker.checked("from mcp.server.mcpserver import MCPServer\n\ndef broken(:\n    pass\n")
    assert caught.value.where == "line 3"
    code, problems = toolmaker.check("x = 1\n")
    assert code is None
    assert [str(p) for p in problems] == [
        'line 1: no server is created (server = MCPServer("name"))',
        "line 1: the server never runs (server.run())",
    ]
