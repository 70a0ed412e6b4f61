"""The local store for the contract suite: a fresh studio.db in the test's temp folder."""

from __future__ import annotations

import itertools

import pytest

from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore


@pytest.fixture
def sqlite_store_factory(tmp_path):
    numbers = itertools.count(1)

    async def open_store() -> SqliteMemoryStore:
        return await SqliteMemoryStore.open(tmp_path / f"studio-{next(numbers)}.db")

    return open_store
