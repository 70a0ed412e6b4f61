"""A page whose feature has not landed yet says so, and what it will do."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from carrier_studio.ui.widgets.page import Page


class PlannedPage(Page):
    def __init__(
        self,
        title: str,
        subtitle: str,
        issue: int,
        plans: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, subtitle, parent)
        self.issue = issue
        card = QFrame()
        card.setObjectName("plannedCard")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 16, 20, 18)
        notice = QLabel(f"<b>Not built yet.</b> This page arrives with issue #{issue}.")
        notice.setObjectName("plannedNotice")
        layout.addWidget(notice)
        items = "".join(f"<li style='margin-bottom:4px'>{plan}</li>" for plan in plans)
        listing = QLabel(f"What it will do:<ul style='margin-left:-18px'>{items}</ul>")
        listing.setWordWrap(True)
        listing.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(listing)
        self.body.addWidget(card)
        self.body.addStretch(1)
