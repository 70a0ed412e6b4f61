"""The publishing quota: ``quota_usage`` of ``quota_total`` as Meta last reported it.

The total is whatever the live ``content_publishing_limit`` reading said (it has been 25, then
50); until a reading exists the gauge says "unknown" rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from carrier_studio.core.instagram import Quota


class QuotaGauge(QWidget):
    refresh_requested = Signal()

    def __init__(self, colors: Callable[[], dict[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._colors = colors
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Daily quota"))
        self.bar = QProgressBar()
        self.bar.setObjectName("instagramQuotaBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(140)
        self.bar.setFixedHeight(10)
        layout.addWidget(self.bar)
        self.label = QLabel()
        self.label.setObjectName("instagramQuota")
        layout.addWidget(self.label)
        layout.addStretch(1)
        self.refresh = QPushButton("Refresh")
        self.refresh.setObjectName("instagramQuotaRefresh")
        self.refresh.setToolTip("Read content_publishing_limit from Instagram now")
        self.refresh.clicked.connect(self.refresh_requested)
        layout.addWidget(self.refresh)
        self.show_quota(None)

    def show_quota(self, quota: Quota | None, note: str = "") -> None:
        if quota is None:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.label.setText(note or "unknown — not read from Instagram yet")
            self.label.setToolTip("Read when the worker publishes, or with Refresh")
            return
        self.bar.setRange(0, max(1, quota.total))
        self.bar.setValue(min(quota.usage, quota.total))
        hours = quota.duration_s / 3600
        window = "24 h" if hours == 24 else f"{hours:g} h"
        text = f"{quota.usage} of {quota.total} posts in the last {window}"
        if quota.exhausted:
            text += " — limit reached, posts wait"
        color = self._colors()["error" if quota.exhausted else "text"]
        self.label.setText(text)
        self.label.setStyleSheet(f"color: {color};")
        local = quota.read_at.astimezone()
        tip = f"Read from Instagram at {local:%H:%M:%S}"
        self.label.setToolTip(f"{tip}\n{note}" if note else tip)
