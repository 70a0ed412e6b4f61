"""The queue as a list of post cards: thumbnail, kind, caption, state and the next step.

Drag a card to reorder; the list emits the new order and the page stores it through the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from carrier_studio.core.instagram import PostState, QueuedPost

ICON = 64
ID_ROLE = Qt.ItemDataRole.UserRole
S = PostState

STATE_LABELS = {
    S.QUEUED: "Queued",
    S.UPLOADING: "Uploading",
    S.UPLOADED: "Uploaded",
    S.CONTAINER_CREATED: "Processing",
    S.READY: "Ready",
    S.PUBLISHING: "Publishing",
    S.PUBLISHED: "Published",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
}
STATE_COLORS = {
    S.PUBLISHED: "ok",
    S.FAILED: "error",
    S.CANCELLED: "idle",
}


def _at(when: datetime) -> str:
    local = when.astimezone()
    today = datetime.now().astimezone().date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


#: Said of a post waiting to publish while publishing is not set up (nothing will move it).
NOT_SET_UP = "publishing is not set up (Settings → Instagram)"


def next_step(post: QueuedPost, now: datetime, set_up: bool = True) -> str:
    """What happens to ``post`` next, in a few words a person understands. ``set_up`` is False
    while publishing is not set up: then a queued or ready post goes nowhere, and says so."""
    state = post.state
    if not set_up and state in (S.QUEUED, S.READY):
        if state is S.QUEUED and post.scheduled_at and post.scheduled_at > now:
            return f"due at {_at(post.scheduled_at)}, but {NOT_SET_UP}"
        return NOT_SET_UP
    if state is S.QUEUED:
        if post.waiting_reason == "quota" and post.next_attempt_at:
            return f"waits for the daily quota; checks again at {_at(post.next_attempt_at)}"
        if post.waiting_reason == "retry" and post.next_attempt_at:
            return f"tries again at {_at(post.next_attempt_at)}: {post.last_error}"
        if post.scheduled_at and post.scheduled_at > now:
            return f"uploads at {_at(post.scheduled_at)}"
        return "uploads next"
    if post.waiting_reason == "quota" and post.next_attempt_at:
        return f"waits for the daily quota; checks again at {_at(post.next_attempt_at)}"
    if post.waiting_reason == "retry" and post.next_attempt_at:
        return f"tries again at {_at(post.next_attempt_at)}: {post.last_error}"
    return {
        S.UPLOADING: "uploading the media to your FTP host",
        S.UPLOADED: "asks Instagram to create the post",
        S.CONTAINER_CREATED: "Instagram is processing the media",
        S.READY: "publishes next",
        S.PUBLISHING: "publishing now",
        S.PUBLISHED: f"on Instagram (media {post.media_id})" if post.media_id else "on Instagram",
        S.FAILED: f"stopped: {_first_part(post.last_error)} — fix it and Retry",
        S.CANCELLED: "cancelled — Retry queues it again",
    }[state]


def _first_part(error: str) -> str:
    """The error without Meta's own wording and codes (the timeline has them all)."""
    return error.split(" (Meta:")[0].split(" (code ")[0] or "an error"


def summary(post: QueuedPost) -> str:
    files = len(post.media)
    kind = post.kind.value.title() + (f" · {files} files" if files > 1 else "")
    caption = post.caption.strip().splitlines()[0] if post.caption.strip() else "(no caption)"
    if len(caption) > 60:
        caption = caption[:59] + "…"
    who = f" · as {post.character}" if post.character else ""
    return f"{kind}{who} — {caption}"


class PostList(QListWidget):
    #: The posts' ids in their new order after the user dragged one.
    reordered = Signal(list)

    def __init__(self, colors: Callable[[], dict[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._colors = colors
        self.setObjectName("instagramQueue")
        self.setIconSize(QSize(ICON, ICON))
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSpacing(2)
        self.setWordWrap(True)
        self._filling = False
        self._shown: list[int] = []
        #: False while publishing is not set up (the page's setup_problem says what is missing).
        self.set_up = True
        # Qt moves rows for a drag inside the list (rowsMoved); a drag that arrives as a copy
        # is inserted first and its source removed after (rowsRemoved). Either ends a reorder.
        self.model().rowsMoved.connect(self._on_model_rows_changed)
        self.model().rowsRemoved.connect(self._on_model_rows_changed)

    def post_ids(self) -> list[int]:
        return [self.item(row).data(ID_ROLE) for row in range(self.count())]

    def selected_id(self) -> int | None:
        item = self.currentItem()
        return item.data(ID_ROLE) if item is not None and item.isSelected() else None

    def select_id(self, post_id: int | None) -> None:
        for row in range(self.count()):
            if self.item(row).data(ID_ROLE) == post_id:
                self.setCurrentRow(row)
                return

    def show_posts(
        self, posts: Sequence[QueuedPost], icons: dict[str, QIcon], now: datetime
    ) -> None:
        """Fill the list; ``icons`` maps a thumbnail path to its decoded icon."""
        keep = self.selected_id()
        self._filling = True
        self.blockSignals(True)
        try:
            self.clear()
            for post in posts:
                item = QListWidgetItem(self._icon(post, icons), "")
                item.setData(ID_ROLE, post.id)
                self._fill(item, post, now)
                self.addItem(item)
        finally:
            self.blockSignals(False)
            self._filling = False
        self._shown = self.post_ids()
        if keep is not None:
            self.select_id(keep)
        self.itemSelectionChanged.emit()

    def update_post(self, post: QueuedPost, icons: dict[str, QIcon], now: datetime) -> None:
        """Redraw one post's row in place (no-op when it is not shown)."""
        for row in range(self.count()):
            item = self.item(row)
            if item.data(ID_ROLE) == post.id:
                item.setIcon(self._icon(post, icons))
                self._fill(item, post, now)
                return

    def _fill(self, item: QListWidgetItem, post: QueuedPost, now: datetime) -> None:
        step = next_step(post, now, self.set_up)
        item.setText(f"{summary(post)}\n{STATE_LABELS[post.state]} — {step}")
        color = STATE_COLORS.get(post.state)
        if post.waiting_reason in ("quota", "retry"):
            color = "warn"
        if color:
            item.setForeground(QColor(self._colors()[color]))
        item.setToolTip(post.last_error or post.caption[:400] or summary(post))

    @staticmethod
    def _icon(post: QueuedPost, icons: dict[str, QIcon]) -> QIcon:
        first = post.media[0] if post.media else None
        if first is not None and first.thumbnail and first.thumbnail in icons:
            return icons[first.thumbnail]
        return icons.get("video" if first and first.media_type == "video" else "image", QIcon())

    def _on_model_rows_changed(self, *_args: object) -> None:
        if self._filling:
            return
        order = self.post_ids()
        if order != self._shown and sorted(order) == sorted(self._shown):
            self._shown = order
            self.reordered.emit(order)
