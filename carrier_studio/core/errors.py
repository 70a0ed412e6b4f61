"""One root error with typed subclasses.

Core and services raise these; only the UI (or the CLI) words them for a person. Each error
carries where the problem is (a file, a field) so the message can say what and where.
"""

from __future__ import annotations

from pathlib import Path


def with_hint(text: str, hint: str | None) -> str:
    """``text``, then what to do about it as its own sentence: most messages end without a
    full stop, and "github is turned off Turn it on first." read as one run-on line."""
    if not hint:
        return text
    stop = "" if not text or text.rstrip()[-1:] in ".!?:;" else "."
    return f"{text}{stop} {hint}"


class CarrierError(Exception):
    """The root of every error the studio raises on purpose.

    Args:
        message: What is wrong, in a sentence a user can act on.
        path: The file the problem is in, when there is one.
        where: A location inside that file: a JSON path, a field name or ``line 3, column 7``.
        hint: What the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(str(self.path) + (f" ({self.where})" if self.where else ""))
        elif self.where:
            parts.append(self.where)
        text = f"{': '.join(parts)}: {self.message}" if parts else self.message
        return with_hint(text, self.hint)


class ConfigError(CarrierError):
    """A settings or configuration file is unreadable or invalid."""


class WorkspaceError(CarrierError):
    """The workspace folder cannot be opened or seeded."""


class DatabaseError(CarrierError):
    """studio.db cannot be opened, migrated or used."""


class SecretStoreError(CarrierError):
    """A secret cannot be stored or read (for example, no keyring backend works)."""


class ProviderError(CarrierError):
    """A model provider refused or failed a request (bad key, rate limit, unknown model…)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        #: Seconds the provider asked us to wait (HTTP 429 retry-after), when it said.
        self.retry_after = retry_after


class ScenarioError(CarrierError):
    """A character test (scenario file) cannot be read, or a run of one cannot start.

    Args:
        message: What is wrong.
        path: The scenario file.
        line: The 1-based line in that file, when known.
        field: Where in the file's structure, written as a creator reads it: ``turns[1].expect[0]``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, where=field, hint=hint)
        self.line = line
        self.field = field

    def __str__(self) -> str:
        # ``greet.yaml:14: turns[1].expect[0]: …``: the compiler-style form editors and CI logs
        # turn into links.
        place = str(self.path) if self.path is not None else ""
        if place and self.line is not None:
            place += f":{self.line}"
        parts = [part for part in (place, self.field) if part]
        text = ": ".join([*parts, self.message])
        return with_hint(text, self.hint)
