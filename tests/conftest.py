"""Shared fixtures: every path in a temp folder, an in-memory keyring, a qasync loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

# Qt needs a platform before the first QApplication exists; tests never need a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from carrier_studio.core import messages
from carrier_studio.services.platform.paths import AppPaths


class MemoryKeyring(KeyringBackend):
    """A real keyring backend (the keyring API end to end) that keeps entries in memory."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError(username)
        del self.entries[(service, username)]


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def app_paths(tmp_path) -> AppPaths:
    return AppPaths.under(tmp_path / "user")


@pytest.fixture(autouse=True)
def message_bus(monkeypatch) -> messages.MessageBus:
    """A fresh process-wide message bus per test, so held messages never leak between tests."""
    bus = messages.MessageBus()
    monkeypatch.setattr(messages, "bus", bus)
    return bus


@pytest.fixture
def loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the test QApplication; drive async code with run_until_complete."""
    from tests.helpers.qt_loop import TestLoop

    event_loop = TestLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.run_until_complete(event_loop.shutdown_default_executor())
    event_loop.close()
    asyncio.set_event_loop(None)
