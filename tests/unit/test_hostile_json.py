"""Hostile JSON through every path that reads JSON a user wrote: a clear error naming the file
and what is wrong (deep nesting, a key written twice), never a RecursionError, never a silent
pick of one of two values. Characters have their own corpus (tests/data/hostile/characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carrier_studio.core.errors import ConfigError
from carrier_studio.core.mcp.config import Catalogue, McpConfigError, import_claude_desktop
from carrier_studio.core.memory.errors import MemoryImportError
from carrier_studio.core.memory.jsonl import read_lines
from carrier_studio.core.teams.model import Team, TeamError
from carrier_studio.services.mcp.catalogue import server_names
from carrier_studio.services.platform.settings_store import read_settings

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile" / "json"
DEEP = HOSTILE / "deep.json"
TWICE = HOSTILE / "duplicate-key.json"

READERS = {
    "mcp catalogue": (lambda p: Catalogue.from_text(p.read_text(), p), McpConfigError),
    "claude desktop import": (lambda p: import_claude_desktop(p.read_text(), p), McpConfigError),
    "team file": (lambda p: Team.from_text(p.read_text(), p), TeamError),
    "settings": (read_settings, ConfigError),
}


@pytest.mark.parametrize("reader", READERS)
def test_deep_nesting_is_named(reader, tmp_path):
    read, error = READERS[reader]
    with pytest.raises(error, match="nests more than 64 levels") as info:
        read(DEEP)
    assert info.value.path == DEEP


@pytest.mark.parametrize("reader", READERS)
def test_a_key_written_twice_is_named_with_its_line(reader):
    read, error = READERS[reader]
    with pytest.raises(error, match='"name" twice') as info:
        read(TWICE)
    assert info.value.path == TWICE and info.value.where == "line 4, column 3"


def test_memory_lines_name_nesting_and_twice_written_keys():
    deep = DEEP.read_text().strip()
    with pytest.raises(MemoryImportError) as info:
        read_lines(
            [
                '{"character": "Ada", "content": "fine"}',
                deep,
                '{"character": "Ada", "content": "x", "content": "y"}',
            ]
        )
    problems = dict(info.value.problems)
    assert "nests more than 64 levels" in problems[2]
    assert '"content" twice' in problems[3]


def test_the_catalogue_names_helper_gives_no_names_rather_than_crashing():
    assert server_names(DEEP) == []
