"""Built-in function tools every character may use, and tool approval policies.

A policy per character and tool decides how a call runs: ``auto`` (no question), ``ask`` (the
user approves each call, or remembers an answer), ``off`` (the agent does not get the tool).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from agents import FunctionTool, function_tool

Policy = Literal["off", "ask", "auto"]

_OPERATORS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


#: Anything larger is refused: huge integers make the interpreter grind for minutes while
#: holding the GIL (``((9**99)**99)**99``), and a tool must never freeze the studio.
_LIMIT = 10**300


def _checked(value: float) -> float:
    if abs(value) > _LIMIT:
        raise ValueError("the number is too large")
    return value


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return _checked(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > 1000 or (abs(left) > 1 and abs(right) * math.log10(abs(left)) > 300):
                raise ValueError("the number is too large")
        return _checked(_OPERATORS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _checked(_OPERATORS[type(node.op)](_evaluate(node.operand)))
    raise ValueError("only numbers and + - * / // % ** are allowed")


@function_tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly, e.g. "12 * (3 + 4) / 2".

    Args:
        expression: Numbers with + - * / // % ** and parentheses.
    """
    try:
        return str(_evaluate(ast.parse(expression, mode="eval")))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return f"error: {exc}"


@function_tool
def current_time() -> str:
    """The current local date and time, ISO 8601, with the weekday."""
    now = datetime.now().astimezone()
    return f"{now.isoformat(timespec='seconds')} ({now:%A})"


BUILTIN_TOOLS: dict[str, FunctionTool] = {tool.name: tool for tool in (calculate, current_time)}
#: Built-in tools are harmless, so they run without asking unless a character says otherwise.
DEFAULT_POLICY: Policy = "auto"


def policy_for(
    tool: str,
    character_policy: Mapping[str, Any],
    remembered: Mapping[str, str],
    default: Policy = DEFAULT_POLICY,
) -> str:
    """What to do with ``tool``: a remembered answer wins, then the character's file, then the
    tool's own default."""
    if tool in remembered:
        return remembered[tool]
    value = character_policy.get(tool)
    return value if value in ("off", "ask", "auto") else default


#: An MCP tool can do anything its server can (write files, call APIs): ask unless told.
MCP_DEFAULT_POLICY: Policy = "ask"


def mcp_policy_for(
    tool: str,
    server: str,
    character_policy: Mapping[str, Any],
    remembered: Mapping[str, str],
    workspace: Mapping[str, str],
) -> str:
    """An MCP tool's policy: a remembered answer, then the character's file (for the tool, then
    for its whole server), then the workspace default set on the MCP page, then ask."""
    if tool in remembered:
        return remembered[tool]
    for value in (character_policy.get(tool), character_policy.get(server), workspace.get(tool)):
        if value in ("off", "ask", "auto"):
            return value
    return MCP_DEFAULT_POLICY


def with_policy(tool: FunctionTool, policy: str) -> FunctionTool | None:
    """The tool as the agent gets it under ``policy`` (None: not at all)."""
    if policy == "off":
        return None
    import dataclasses

    return dataclasses.replace(tool, needs_approval=policy == "ask")
