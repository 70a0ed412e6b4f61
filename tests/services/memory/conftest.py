"""Every memory store runs the same contract suite: ``store_factory`` is parametrized by store.

Each ``<name>_env.py`` provides a ``<name>_store_factory`` fixture: an async callable that opens
a fresh, empty store (the test closes it). Both always run: a broken Supabase environment
fails the suite rather than quietly leaving half of it out.
"""

from __future__ import annotations

import pytest

from tests.services.memory.sqlite_env import sqlite_store_factory  # noqa: F401 - a fixture
from tests.services.memory.supabase_env import supabase_store_factory  # noqa: F401 - a fixture


@pytest.fixture(params=["sqlite", "supabase"])
def store_factory(request):
    return request.getfixturevalue(f"{request.param}_store_factory")
