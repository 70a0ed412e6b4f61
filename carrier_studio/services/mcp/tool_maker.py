"""The tool maker: the default model writes a small MCP server; on accept it is saved under the
workspace ``tools/`` and added to mcp_servers.json turned off, ready for a test call.

Nothing is overwritten: a name already used (a file in ``tools/`` or a server in the catalogue)
gets a free one. The catalogue is edited in place (`core.mcp.jsonedit`): the new server is
added after the others and every other byte of the file stays as the user wrote it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core import toolmaker
from carrier_studio.core.mcp import Catalogue, McpConfigError, jsonedit
from carrier_studio.core.toolmaker import ToolCode, ToolCodeError
from carrier_studio.services.platform.files import atomic_write_text
from carrier_studio.services.providers import TextModel

if TYPE_CHECKING:
    from carrier_studio.services.mcp.manager import McpManager

ATTEMPTS = 2


@dataclass(frozen=True)
class SavedTool:
    server: str
    path: Path
    tools: tuple[str, ...]


async def draft_tool(
    description: str,
    model: TextModel,
    progress: Callable[[str], None] = lambda _text: None,
) -> ToolCode:
    """Ask ``model`` for a server; send the problems back once; raise if still unusable."""
    if not description.strip():
        raise ToolCodeError("describe the tool first")
    messages = toolmaker.first_prompt(description)
    problems: list[toolmaker.Problem] = []
    for attempt in range(1, ATTEMPTS + 1):
        progress(
            f"Asking {model.label} to write the tool…"
            if attempt == 1
            else f"The code had {len(problems)} problem(s); asking {model.label} to fix them…"
        )
        answer = await model.complete(toolmaker.SYSTEM, messages)
        code = toolmaker.extract_code(answer.text)
        result, problems = toolmaker.check(code)
        if result is not None:
            progress(f"Wrote {result.server_name} with {', '.join(result.tools)}.")
            return result
        messages = [
            *messages,
            {"role": "assistant", "content": answer.text},
            {"role": "user", "content": toolmaker.retry_prompt(problems)},
        ]
    first = problems[0]
    raise ToolCodeError(
        f"{model.label} did not write usable code in {ATTEMPTS} attempts: {first.message}",
        where=f"line {first.line}",
        hint="Try again, describe the tool differently, or choose a stronger model.",
    )


#: How ${STUDIO_PYTHON} runs a tool file: the packaged app is the CLI itself; from a checkout
#: or a wheel the interpreter runs the package.
RUN_TOOL_ARGS: list[str] = (
    ["run-tool"] if getattr(sys, "frozen", False) else ["-m", "carrier_studio", "run-tool"]
)


def studio_variables(workspace_root: Path) -> dict[str, str]:
    """The ${…} names the studio itself fills in mcp_servers.json."""
    return {"WORKSPACE": str(workspace_root), "STUDIO_PYTHON": sys.executable}


class ToolMaker:
    """Saves accepted tools into a workspace.

    Args:
        tools_dir: The workspace's ``tools/`` folder.
        catalogue: The workspace's mcp_servers.json.
        python: What runs the servers: ``${STUDIO_PYTHON}`` (see `studio_variables`), the
            studio's own interpreter — it has ``mcp`` — or, in the packaged app, the app.
        mcp: The running McpManager, told to read the catalogue again after a save.
    """

    def __init__(
        self,
        tools_dir: Path,
        catalogue: Path,
        *,
        python: str = "${STUDIO_PYTHON}",
        mcp: McpManager | None = None,
    ) -> None:
        self.tools_dir = tools_dir
        self.catalogue = catalogue
        self.python = python
        self.mcp = mcp

    async def save(self, tool: ToolCode, name: str | None = None) -> SavedTool:
        """Write ``tools/<name>.py`` and register it, turned off; returns where it went."""
        checked = toolmaker.checked(tool.code)  # never save code that was not checked
        saved = await asyncio.to_thread(self._save, checked, name or checked.server_name)
        if self.mcp is not None:
            await self.mcp.load()
        return saved

    def _save(self, tool: ToolCode, wanted: str) -> SavedTool:
        text = (
            self.catalogue.read_text("utf-8-sig")
            if self.catalogue.exists()
            else Catalogue.empty().to_text()
        )
        catalogue = Catalogue.from_text(text, self.catalogue)  # a broken file is not touched
        base = toolmaker.slug(wanted)
        name, counter = base, 2
        while name in catalogue.names or (self.tools_dir / f"{name}.py").exists():
            name, counter = f"{base}_{counter}", counter + 1
        path = self.tools_dir / f"{name}.py"
        # ${WORKSPACE} is filled in when the server starts, so a moved workspace still works.
        raw = {
            "type": "stdio",
            "command": self.python,
            # Through the studio's own `run-tool` command, which works the same from a
            # checkout and from the packaged app (whose executable is not a Python).
            "args": [*RUN_TOOL_ARGS, f"${{WORKSPACE}}/tools/{name}.py"],
            "enabled": False,
            "description": f"Written by the tool maker: {', '.join(tool.tools)}",
        }
        edited = jsonedit.set_member(text, ("mcpServers",), name, raw)
        if edited is None:  # no mcpServers object to add to: write the document anew
            catalogue.put(name, raw)
            edited = catalogue.to_text()
        try:
            Catalogue.from_text(edited, self.catalogue).server(name)
        except McpConfigError as exc:  # pragma: no cover - the entry above is always valid
            raise ToolCodeError(f"could not be registered: {exc}") from exc
        self.tools_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, tool.code)
        atomic_write_text(self.catalogue, edited)
        return SavedTool(name, path, tool.tools)


def describe(saved: SavedTool) -> str:
    """One sentence for the status bar."""
    tools = ", ".join(saved.tools)
    return (
        f"Saved {saved.path.name} ({tools}) and added the MCP server {json.dumps(saved.server)}, "
        "turned off: turn it on and try it on the MCP page."
    )
