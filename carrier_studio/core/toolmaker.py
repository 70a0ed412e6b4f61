"""The tool maker's plain parts: what to ask a model for, and how its code is checked.

The model writes one small Python MCP server (mcp 2's `MCPServer`, the FastMCP of mcp 1). The
code is parsed with `ast` before anyone sees it, and a few rules a server must follow are
checked with line numbers: it imports what exists, declares at least one tool, runs when
started, and never prints to stdout (over stdio, stdout *is* the MCP connection).
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass

from carrier_studio.core.errors import CarrierError

SYSTEM = """You write small tool servers for Carrier Studio, in Python, with the MCP SDK (mcp 2).
Answer with ONE Python code block and nothing else. The server must look like this:

```python
from mcp.server.mcpserver import MCPServer

server = MCPServer("short-name")


@server.tool()
def tool_name(arg: str, count: int = 1) -> str:
    \"\"\"What the tool does, for the model that will call it.\"\"\"
    return ...


if __name__ == "__main__":
    server.run()
```

Rules: use only the Python standard library unless the description asks for something else;
type every argument; give every tool a docstring; never print to stdout (it carries the
protocol; log to sys.stderr); no API keys or passwords in the code (read them from
environment variables). `from mcp.server.fastmcp import FastMCP` does NOT exist in mcp 2."""


class ToolCodeError(CarrierError):
    """The model's code cannot be used as an MCP server (where says the line)."""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ToolCode:
    """Code that passed the checks: the server's name and its tools."""

    code: str
    server_name: str
    tools: tuple[str, ...]


_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def first_prompt(description: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"The tool to write:\n{description.strip()}"}]


def retry_prompt(problems: list[Problem]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:15])
    return f"The code cannot be used:\n{listed}\nAnswer again with the whole corrected code block."


def extract_code(answer: str) -> str:
    """The code block of a model's answer (the longest one), or the whole answer if none."""
    blocks = _FENCE.findall(answer)
    code = max(blocks, key=len) if blocks else answer
    return code.strip("\n") + "\n"


def slug(name: str) -> str:
    """A server name usable as a file name and a Python module name."""
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "tool"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = f"tool_{text}"
    return text[:48]


def check(code: str) -> tuple[ToolCode | None, list[Problem]]:
    """Parse and check ``code``; the usable server, or the problems with their lines."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        where = f" (column {exc.offset})" if exc.offset else ""
        return None, [Problem(exc.lineno or 1, f"{exc.msg}{where}")]
    problems: list[Problem] = []
    server_vars: dict[str, str] = {}
    has_run = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "fastmcp" in node.module:
            problems.append(
                Problem(
                    node.lineno,
                    f"`{node.module}` does not exist in mcp 2: use "
                    "`from mcp.server.mcpserver import MCPServer`",
                )
            )
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in ("MCPServer", "FastMCP"):
                first = node.value.args[0] if node.value.args else None
                label = first.value if isinstance(first, ast.Constant) else ""
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        server_vars[target.id] = str(label or "")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "run":
                has_run = True
            if isinstance(func, ast.Name) and func.id == "print":
                if not any(k.arg == "file" for k in node.keywords):
                    problems.append(
                        Problem(
                            node.lineno,
                            "print() writes to stdout, which carries the MCP protocol; "
                            "use print(..., file=sys.stderr)",
                        )
                    )
    if not server_vars:
        problems.append(Problem(1, 'no server is created (server = MCPServer("name"))'))
    tools = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "tool"
                    and isinstance(target.value, ast.Name)
                    and target.value.id in server_vars
                ):
                    tools.append(node.name)
    if server_vars and not tools:
        problems.append(Problem(1, "no tool is declared (a function decorated @server.tool())"))
    if not has_run:
        problems.append(
            Problem(len(code.splitlines()) or 1, "the server never runs (server.run())")
        )
    if problems:
        return None, sorted(problems, key=lambda p: p.line)
    name = next(iter(server_vars.values())) or tools[0]
    return ToolCode(code, slug(name), tuple(tools)), []


def checked(code: str) -> ToolCode:
    """``code`` as a usable server; ToolCodeError naming the first problem's line otherwise."""
    result, problems = check(code)
    if result is None:
        first = problems[0]
        more = f" ({len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ToolCodeError(f"{first.message}{more}", where=f"line {first.line}")
    return result
