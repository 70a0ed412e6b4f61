"""Errors the memory stores, the service and the JSONL format raise."""

from __future__ import annotations

from carrier_studio.core.errors import CarrierError


class MemoryStoreError(CarrierError):
    """A memory store cannot do what was asked (not open, unreachable, refused)."""


class EmbeddingSpaceError(MemoryStoreError):
    """Vectors of one embedder were offered to a store that holds another's."""


class MemoryImportError(CarrierError):
    """A JSONL file of memories has lines that cannot be read; nothing was imported.

    ``problems`` lists ``(line number, what is wrong)`` for every bad line.
    """

    def __init__(self, message: str, problems: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.problems = problems
