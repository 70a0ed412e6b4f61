"""A scatter of memories on two axes (see core/memory/projection.py), coloured by kind.

Click a point to open that memory; drag a rectangle to select a region (its memories are then
selected in the table). Points keep their size on screen whatever the zoom, and the scene is
fitted to the view when it resizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.memory.model import KINDS, MemoryRecord

#: One colour per kind, readable on both the light and the dark theme.
KIND_COLORS = {
    "message": "#4C8BF5",
    "fact": "#2BB673",
    "summary": "#F5A623",
    "post": "#D65DB1",
    "note": "#8E8EA0",
}
#: The scene is this many units across; the projection is scaled into it.
SCENE_SIZE = 1000.0
POINT_RADIUS = 4.0
IdKey = 0


class _Point(QGraphicsEllipseItem):
    def __init__(self, record: MemoryRecord, x: float, y: float) -> None:
        r = POINT_RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r)
        self.record = record
        self.setPos(x, y)
        self.setData(IdKey, record.id)
        color = QColor(KIND_COLORS.get(record.kind, "#888888"))
        self.setBrush(QBrush(color))
        self.setPen(QPen(color.darker(130), 0.8))
        self.setToolTip(f"{record.kind}: {record.content[:200]}")
        # The same size on screen at any zoom; selectable so the rubber band can pick it.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt override
        if self.isSelected():
            painter.setPen(QPen(QColor("#FFFFFF"), 2.2))
            painter.drawEllipse(self.rect().adjusted(-2, -2, 2, 2))
            painter.setPen(QPen(QColor("#1C1C24"), 1.2))
            painter.drawEllipse(self.rect().adjusted(-3.5, -3.5, 3.5, 3.5))
        painter.setPen(self.pen())
        painter.setBrush(self.brush())
        painter.drawEllipse(self.rect())


class MapView(QGraphicsView):
    #: A click on a point: that memory's id.
    point_clicked = Signal(str)
    #: A rubber band ended: the ids inside it (possibly none).
    region_selected = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryMapView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self._banding = False
        self._pressed_on: str | None = None
        self.rubberBandChanged.connect(self._on_rubber_band_changed)

    def _on_rubber_band_changed(self, rect: QRect, _from: QPointF, _to: QPointF) -> None:
        if not rect.isNull():
            self._banding = True

    def point_at(self, pos) -> _Point | None:  # noqa: ANN001 - QPoint in view coordinates
        for item in self.items(pos):
            if isinstance(item, _Point):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._banding = False
        point = self.point_at(event.position().toPoint())
        self._pressed_on = point.record.id if point is not None else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._banding:
            self._banding = False
            self.region_selected.emit(self.selected_ids())
        elif self._pressed_on is not None:
            self.point_clicked.emit(self._pressed_on)
        self._pressed_on = None

    def selected_ids(self) -> list[str]:
        return [item.data(IdKey) for item in self.scene().selectedItems()]

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        margin = SCENE_SIZE * 0.04
        self.fitInView(
            QRectF(-margin, -margin, SCENE_SIZE + 2 * margin, SCENE_SIZE + 2 * margin),
            Qt.AspectRatioMode.KeepAspectRatio,
        )


class MemoryMap(QWidget):
    """The map with its legend and a line that says what it shows."""

    point_clicked = Signal(str)
    region_selected = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.caption = QLabel()
        self.caption.setObjectName("memoryMapCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.view = MapView()
        self.view.setMinimumHeight(180)
        layout.addWidget(self.view, 1)
        self.legend = QLabel(
            "  ".join(f"<span style='color:{KIND_COLORS[kind]}'>●</span> {kind}" for kind in KINDS)
        )
        self.legend.setObjectName("memoryMapLegend")
        layout.addWidget(self.legend)
        self.view.point_clicked.connect(self.point_clicked)
        self.view.region_selected.connect(self.region_selected)
        self._points: dict[str, _Point] = {}
        self.show_message("Choose a character to see a map of its memories.")

    @property
    def scene(self) -> QGraphicsScene:
        return self.view.scene()

    def show_message(self, text: str) -> None:
        self.scene.clear()
        self._points = {}
        self.caption.setText(text)

    def show_points(
        self, records: Sequence[MemoryRecord], points: np.ndarray, caption: str
    ) -> None:
        """Draw ``records`` at ``points`` ((n, 2), any scale): scaled to fill the scene."""
        self.scene.clear()
        self._points = {}
        self.caption.setText(caption)
        if not len(records):
            return
        coords = np.asarray(points, dtype=np.float64)
        low, high = coords.min(axis=0), coords.max(axis=0)
        span = float(max(high[0] - low[0], high[1] - low[1]))
        scale = SCENE_SIZE / span if span > 0 else 0.0
        centre = (low + high) / 2
        offset = SCENE_SIZE / 2
        for record, (x, y) in zip(records, coords, strict=True):
            # Screen y grows downwards; the second axis grows upwards on the map.
            item = _Point(
                record, offset + (x - centre[0]) * scale, offset - (y - centre[1]) * scale
            )
            self.scene.addItem(item)
            self._points[record.id] = item
        self.scene.setSceneRect(QRectF(0, 0, SCENE_SIZE, SCENE_SIZE))
        self.view.fit()

    def ids(self) -> list[str]:
        return list(self._points)

    def point_position(self, memory_id: str):  # noqa: ANN201 - a QPoint in view coordinates
        """Where a memory's point is drawn on the view (tests click there)."""
        return self.view.mapFromScene(self._points[memory_id].pos())

    def mark(self, ids: Sequence[str]) -> None:
        """Show these memories as selected (what the table has selected)."""
        wanted = set(ids)
        self.scene.blockSignals(True)
        try:
            for memory_id, item in self._points.items():
                item.setSelected(memory_id in wanted)
        finally:
            self.scene.blockSignals(False)

    def remove(self, ids: Sequence[str]) -> None:
        for memory_id in ids:
            item = self._points.pop(memory_id, None)
            if item is not None:
                self.scene.removeItem(item)
