"""The built-in tools: exact arithmetic that refuses work that would freeze the studio."""

from __future__ import annotations

import asyncio
import json

import pytest
from agents.tool_context import ToolContext

from carrier_studio.core.runtime.tools import calculate


def _call(expression: str) -> str:
    context = ToolContext(context=None, tool_name="calculate", tool_call_id="1", tool_arguments="")
    return asyncio.run(calculate.on_invoke_tool(context, json.dumps({"expression": expression})))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("6 * 7", "42"), ("2 ** 10", "1024"), ("7 / 2", "3.5"), ("-(3 - 5)", "2")],
)
def test_arithmetic(expression, expected):
    assert _call(expression) == expected


@pytest.mark.parametrize(
    "expression", ["((9**99)**99)**99", "10**1000", "2**2**2**2**2", "9" * 400 + " * 10"]
)
def test_huge_numbers_are_refused_at_once(expression):
    assert _call(expression) == "error: the number is too large"


def test_only_arithmetic_is_evaluated():
    assert _call("__import__('os').system('true')").startswith("error: only numbers")
