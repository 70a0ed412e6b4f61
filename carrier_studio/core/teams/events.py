"""What a running team tells its listeners: one flat event type, easy to store and to draw.

``kind`` says what happened:

- ``message`` / ``broadcast`` / ``task`` / ``result``: words moved from ``sender`` to
  ``recipients`` through a network tool (``meta`` has ``channel`` or ``task_id``);
- ``user``: the person at the keyboard said something (sender ``USER``);
- ``reply``: a member answered USER with plain text;
- ``note``: a member's plain text that went to nobody;
- ``tool``: a member called a tool (``meta``: ``name``, ``arguments``, ``result``);
- ``refused``: a network tool was refused (``text`` is what the model read);
- ``turn``: a member starts answering (``meta``: ``from``);
- ``error``: a member's run failed (``meta``: ``hint``);
- ``stopped``: the team stopped (``meta``: ``reason`` kind: finished, budget, loop, stalled,
  stopped, error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Kinds that carry words from one member to others (the graph lights these edges).
MOVING = frozenset({"message", "broadcast", "task", "result", "reply", "user"})


@dataclass(frozen=True)
class TeamEvent:
    kind: str
    sender: str = ""
    recipients: tuple[str, ...] = ()
    text: str = ""
    turn: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def moves(self) -> bool:
        return self.kind in MOVING and bool(self.recipients)

    def line(self) -> str:
        """One line of plain text for logs and tests."""
        if self.moves:
            where = f" #{self.meta['channel']}" if self.meta.get("channel") else ""
            task = f" [{self.meta['task_id']}]" if self.meta.get("task_id") else ""
            to = ", ".join(self.recipients)
            return f"{self.sender} → {to}{where}{task} ({self.kind}): {self.text}"
        if self.kind == "tool":
            return f"{self.sender} used {self.meta.get('name')}({self.meta.get('arguments')})"
        return f"{self.kind}: {self.sender + ': ' if self.sender else ''}{self.text}"
