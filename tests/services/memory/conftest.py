"""Every memory store runs the same contract suite: ``store_factory`` is parametrized by store.

Each ``<name>_env.py`` provides a ``<name>_store_factory`` fixture: an async callable that opens
a fresh, empty store (the test closes it). The Supabase one needs PostgreSQL; when its module is
not there yet, its parameter is skipped rather than failing the local suite.
"""

from __future__ import annotations

import pytest

from tests.services.memory.sqlite_env import sqlite_store_factory  # noqa: F401 - a fixture

try:
    from tests.services.memory.supabase_env import supabase_store_factory  # noqa: F401
except ImportError:  # pragma: no cover - until the Supabase store lands
    HAVE_SUPABASE = False
else:
    HAVE_SUPABASE = True


@pytest.fixture(params=["sqlite", "supabase"])
def store_factory(request):
    if request.param == "supabase" and not HAVE_SUPABASE:
        pytest.skip("the Supabase store's test environment (supabase_env.py) is not there yet")
    return request.getfixturevalue(f"{request.param}_store_factory")
