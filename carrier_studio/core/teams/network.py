"""How messages move in a running team: routing, tasks, the queue of turns, and the guards.

Plain logic with no model in it, so every rule is tested without a network. The runtime
(services/teams/runner.py) asks `post` what happens when a member calls a network tool, takes turns
from `next_turn`, and asks `check` after each turn whether the team must stop.

A turn is one member answering one delivery. Text a member says without a tool is a note in the
transcript, not a message: only tools move words between members, as in HAAS. The exception is
an answer to USER, which goes back to the user.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field

from carrier_studio.core.teams.model import USER, Team


@dataclass(frozen=True)
class Delivery:
    """A message waiting in a member's inbox."""

    sender: str
    recipient: str
    text: str
    #: message | broadcast | task | result
    kind: str = "message"
    channel: str = ""
    task_id: str = ""

    def prompt(self) -> str:
        """How the recipient's model sees it."""
        if self.kind == "broadcast":
            return f"[#{self.channel}] {self.sender}: {self.text}"
        if self.kind == "task":
            return (
                f"[task {self.task_id} from {self.sender}] {self.text}\n"
                f"(When it is done, call resolve_task with task_id {self.task_id!r}.)"
            )
        if self.kind == "result":
            return f"[result of task {self.task_id} from {self.sender}] {self.text}"
        return f"[message from {self.sender}] {self.text}"


@dataclass
class Task:
    id: str
    assigned_by: str
    assignee: str
    text: str
    result: str | None = None

    @property
    def open(self) -> bool:
        return self.result is None


@dataclass(frozen=True)
class Posted:
    """What a network tool did: the deliveries it queued, or why it was refused."""

    deliveries: tuple[Delivery, ...] = ()
    refusal: str = ""
    task_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.refusal

    def tool_output(self) -> str:
        """What the calling model reads back."""
        if self.refusal:
            return f"refused: {self.refusal}"
        if not self.deliveries:
            return "sent (nobody else is in that channel)"
        names = ", ".join(d.recipient for d in self.deliveries)
        if self.task_id and self.deliveries[0].kind == "task":
            return f"task {self.task_id} assigned to {names}"
        return f"delivered to {names}"


@dataclass(frozen=True)
class Stop:
    #: finished | budget | loop | stalled | stopped | error
    kind: str
    reason: str


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


@dataclass
class TeamNetwork:
    team: Team
    turns: int = 0
    tasks: dict[str, Task] = field(default_factory=dict)
    queue: deque[Delivery] = field(default_factory=deque)
    #: Every delivery so far, in order (what the graph and the guard look at).
    sent: list[Delivery] = field(default_factory=list)
    _repeats: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _last_progress: int = 0
    _loop: str = ""

    # -- routing ---------------------------------------------------------------------------

    def can_send(self, sender: str, recipient: str) -> bool:
        if sender == USER:
            return self.team.member(recipient) is not None
        return (sender, recipient) in self.team.links()

    def post(self, sender: str, recipient: str, text: str) -> Posted:
        """``sender`` calls send_message(recipient, text)."""
        recipient = recipient.strip()
        if not text.strip():
            return Posted(refusal="the message is empty")
        if recipient != USER and self.team.member(recipient) is None:
            return Posted(refusal=self._unknown(sender, recipient))
        if not self.can_send(sender, recipient):
            return Posted(refusal=self._not_linked(sender, recipient))
        return self._deliver(Delivery(sender, recipient, text))

    def broadcast(self, sender: str, channel: str, text: str) -> Posted:
        channel = channel.strip().lstrip("#")
        members = self.team.channels().get(channel)
        if members is None:
            known = ", ".join(f"#{c}" for c in self.team.channels()) or "none"
            return Posted(refusal=f"there is no channel #{channel} (channels: {known})")
        if sender != USER and sender not in members:
            return Posted(refusal=f"{sender} is not in #{channel}")
        if not text.strip():
            return Posted(refusal="the message is empty")
        deliveries = [
            Delivery(sender, name, text, "broadcast", channel) for name in members if name != sender
        ]
        return self._deliver(*deliveries)

    def assign(self, sender: str, recipient: str, text: str) -> Posted:
        recipient = recipient.strip()
        if self.team.member(recipient) is None:
            return Posted(refusal=self._unknown(sender, recipient))
        if not self.can_send(sender, recipient):
            return Posted(refusal=self._not_linked(sender, recipient))
        task = Task(f"T{len(self.tasks) + 1}", sender, recipient, text)
        self.tasks[task.id] = task
        self._last_progress = self.turns
        posted = self._deliver(Delivery(sender, recipient, text, "task", task_id=task.id))
        return Posted(posted.deliveries, task_id=task.id)

    def resolve(self, sender: str, task_id: str, result: str) -> Posted:
        task = self.tasks.get(task_id.strip())
        if task is None:
            known = ", ".join(t.id for t in self.tasks.values() if t.open) or "none"
            return Posted(refusal=f"there is no task {task_id!r} (open tasks: {known})")
        if task.assignee != sender:
            return Posted(refusal=f"task {task.id} was given to {task.assignee}, not {sender}")
        if not task.open:
            return Posted(refusal=f"task {task.id} is already resolved")
        task.result = result
        self._last_progress = self.turns
        # The result goes back to whoever assigned the task, whatever talksTo says.
        return self._deliver(Delivery(sender, task.assigned_by, result, "result", task_id=task.id))

    def answer_user(self, sender: str, text: str) -> Delivery:
        """A member's plain answer to a delivery from USER."""
        delivery = Delivery(sender, USER, text)
        self.sent.append(delivery)
        self._last_progress = self.turns
        return delivery

    def _deliver(self, *deliveries: Delivery) -> Posted:
        for delivery in deliveries:
            key = (delivery.sender, delivery.recipient, _normal(delivery.text))
            self._repeats[key] += 1
            if self._repeats[key] >= self.team.repeat_limit and not self._loop:
                self._loop = (
                    f"{delivery.sender} sent {delivery.recipient} the same message "
                    f"{self._repeats[key]} times (“{delivery.text.strip()[:60]}”)"
                )
            self.sent.append(delivery)
            if delivery.recipient == USER:
                self._last_progress = self.turns
            else:
                self.queue.append(delivery)
        return Posted(tuple(deliveries))

    def _unknown(self, sender: str, recipient: str) -> str:
        member = self.team.member(sender)
        allowed = ", ".join(member.talks_to) if member else "any member"
        return f'"{recipient}" is not in the team (you can message: {allowed or "nobody"})'

    def _not_linked(self, sender: str, recipient: str) -> str:
        member = self.team.member(sender)
        allowed = ", ".join(t for s, t in self.team.links() if s == sender)
        if member is not None and member.channels:
            channels = ", ".join(f"#{c}" for c in member.channels)
            return (
                f"{sender} does not talk to {recipient}; you can message {allowed or 'nobody'}, "
                f"or broadcast to {channels}"
            )
        return f"{sender} does not talk to {recipient}; you can message {allowed or 'nobody'}"

    # -- turns -----------------------------------------------------------------------------

    def start(self, text: str | None = None) -> None:
        """Queue the first message, from USER to the entry member."""
        text = self.team.init_message if text is None else text
        if text.strip():
            self._deliver(Delivery(USER, self.team.entry_member, text))

    def user_says(self, text: str, to: str = "") -> Posted:
        """The user speaks as USER, to one member (default: the entry member)."""
        return self.post(USER, to or self.team.entry_member, text)

    def next_turn(self) -> Delivery | None:
        """The next delivery to answer, counting it as a turn; None when nobody has any."""
        if not self.queue:
            return None
        self.turns += 1
        return self.queue.popleft()

    def check(self) -> Stop | None:
        """After a turn: a reason to stop, or None to go on."""
        if self._loop:
            return Stop("loop", f"Stopped by the loop guard: {self._loop}.")
        if self.turns - self._last_progress >= self.team.stall_turns:
            return Stop(
                "stalled",
                f"Stopped by the loop guard: {self.team.stall_turns} turns without a task "
                "assigned or resolved and nothing said to USER.",
            )
        if self.turns >= self.team.turn_budget and self.queue:
            return Stop(
                "budget",
                f"Stopped: the turn budget ({self.team.turn_budget}) is used up with "
                f"{len(self.queue)} message(s) unanswered.",
            )
        if not self.queue:
            open_tasks = [t.id for t in self.tasks.values() if t.open]
            note = f" (open tasks: {', '.join(open_tasks)})" if open_tasks else ""
            return Stop("finished", f"Finished: nobody has a message left to answer{note}.")
        return None

    def allow_more(self, turns: int) -> None:
        """The user asked to go on after a budget or guard stop: reset the guard and extend."""
        self._loop = ""
        self._repeats.clear()
        self._last_progress = self.turns
        self.team.turn_budget = max(self.team.turn_budget, self.turns + turns)
