"""The Memory page's map: a scatter of memories on two axes (see core/memory/projection.py),
coloured by kind, and the pane that keeps it drawn for the page's filter.

Click a point to open that memory; drag a rectangle to select a region (its memories are then
selected in the table). Points keep their size on screen whatever the zoom, and the scene is
fitted to the view when it resizes. `MapPane` redraws the newest memories of the chosen
character a moment after the filters or the memories change (the projection runs off the loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPolygonF, QResizeEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.memory.model import KINDS, MemoryRecord
from carrier_studio.core.memory.projection import project_2d

if TYPE_CHECKING:
    from carrier_studio.ui.pages.memory.page import MemoryPage

#: Memories the map draws (the newest of the filter).
MAP_LIMIT = 3000
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


class _Scatter(QGraphicsItem):
    """Every point in one item, drawn with one ``drawPoints`` per kind.

    Thousands of separate items would cost thousands of Python → Qt calls per redraw (and
    PySide6 6.12 on CPython 3.11 loses a reference to None on each void call); one item keeps a
    redraw to a handful of calls, and hit-testing is a numpy distance over the coordinates.
    """

    def __init__(self, records: Sequence[MemoryRecord], coords: np.ndarray) -> None:
        super().__init__()
        self.records = list(records)
        self.coords = coords  # (n, 2) in scene units
        self.selected = np.zeros(len(self.records), dtype=bool)
        self._by_kind: list[tuple[QPen, QPolygonF]] = []
        for kind in dict.fromkeys(r.kind for r in self.records):
            rows = [n for n, r in enumerate(self.records) if r.kind == kind]
            self._by_kind.append((_dot_pen(KIND_COLORS.get(kind, "#888888"), 2 * POINT_RADIUS),
                                  _polygon(coords[rows])))  # fmt: skip
        self._halo = _dot_pen("#1C1C24", 2 * POINT_RADIUS + 6)
        self._ring = _dot_pen("#FFFFFF", 2 * POINT_RADIUS + 3)
        self._selected_polygon = QPolygonF()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        margin = SCENE_SIZE * 0.05
        return QRectF(-margin, -margin, SCENE_SIZE + 2 * margin, SCENE_SIZE + 2 * margin)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt override
        if self.selected.any():
            painter.setPen(self._halo)
            painter.drawPoints(self._selected_polygon)
            painter.setPen(self._ring)
            painter.drawPoints(self._selected_polygon)
        for pen, polygon in self._by_kind:
            painter.setPen(pen)
            painter.drawPoints(polygon)

    def set_selected(self, mask: np.ndarray) -> None:
        self.selected = mask
        self._selected_polygon = _polygon(self.coords[mask])
        self.update()

    def nearest(self, point: QPointF, within: float) -> int:
        """The row of the point nearest ``point`` (scene units), or -1 if none is ``within``."""
        if not len(self.records):
            return -1
        d = np.hypot(self.coords[:, 0] - point.x(), self.coords[:, 1] - point.y())
        row = int(np.argmin(d))
        return row if d[row] <= within else -1

    def inside(self, rect: QRectF) -> np.ndarray:
        x, y = self.coords[:, 0], self.coords[:, 1]
        return (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top()) & (y <= rect.bottom())


def _dot_pen(color: str, width: float) -> QPen:
    pen = QPen(QColor(color), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setCosmetic(True)  # the same size on screen at any zoom
    return pen


def _polygon(coords: np.ndarray) -> QPolygonF:
    return QPolygonF([QPointF(float(x), float(y)) for x, y in coords])


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
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scatter: _Scatter | None = None
        self._band: QRectF | None = None
        self._pressed_at: QPointF | None = None
        self.rubberBandChanged.connect(self._on_rubber_band_changed)

    def set_scatter(self, scatter: _Scatter | None) -> None:
        self.scene().clear()
        self.scatter = scatter
        if scatter is not None:
            self.scene().addItem(scatter)

    def _on_rubber_band_changed(self, rect: QRect, _from: QPointF, _to: QPointF) -> None:
        # The viewport rectangle is current; the scene points lag one mouse move behind.
        if not rect.isNull():
            self._band = self.mapToScene(rect).boundingRect()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._band = None
        self._pressed_at = self.mapToScene(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton or self.scatter is None:
            return
        scatter = self.scatter
        if self._band is not None:
            mask = scatter.inside(self._band)
            scatter.set_selected(mask)
            self.region_selected.emit([scatter.records[n].id for n in np.flatnonzero(mask)])
        elif self._pressed_at is not None:
            # Within a point's radius (plus a little) on screen, in scene units.
            tolerance = (POINT_RADIUS + 3) / max(self.transform().m11(), 1e-9)
            row = scatter.nearest(self._pressed_at, tolerance)
            if row >= 0:
                self.point_clicked.emit(scatter.records[row].id)
        self._band = None
        self._pressed_at = None

    def selected_ids(self) -> list[str]:
        if self.scatter is None:
            return []
        return [self.scatter.records[n].id for n in np.flatnonzero(self.scatter.selected)]

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
        self._rows: dict[str, int] = {}
        self.show_message("Choose a character to see a map of its memories.")

    @property
    def scene(self) -> QGraphicsScene:
        return self.view.scene()

    def show_message(self, text: str) -> None:
        self.view.set_scatter(None)
        self._rows = {}
        self.caption.setText(text)

    def show_points(
        self, records: Sequence[MemoryRecord], points: np.ndarray, caption: str
    ) -> None:
        """Draw ``records`` at ``points`` ((n, 2), any scale): scaled to fill the scene."""
        self.caption.setText(caption)
        if not len(records):
            self.view.set_scatter(None)
            self._rows = {}
            return
        coords = np.asarray(points, dtype=np.float64)
        low, high = coords.min(axis=0), coords.max(axis=0)
        span = float(max(high[0] - low[0], high[1] - low[1]))
        scale = SCENE_SIZE / span if span > 0 else 0.0
        centre = (low + high) / 2
        scene = np.empty_like(coords)
        scene[:, 0] = SCENE_SIZE / 2 + (coords[:, 0] - centre[0]) * scale
        # Screen y grows downwards; the second axis grows upwards on the map.
        scene[:, 1] = SCENE_SIZE / 2 - (coords[:, 1] - centre[1]) * scale
        self.view.set_scatter(_Scatter(records, scene))
        self._rows = {r.id: n for n, r in enumerate(records)}
        self.scene.setSceneRect(QRectF(0, 0, SCENE_SIZE, SCENE_SIZE))
        self.view.fit()

    def ids(self) -> list[str]:
        return list(self._rows)

    def point_position(self, memory_id: str) -> QPoint:
        """Where a memory's point is drawn on the view (tests click there)."""
        scatter = self.view.scatter
        assert scatter is not None
        x, y = scatter.coords[self._rows[memory_id]]
        return self.view.mapFromScene(QPointF(float(x), float(y)))

    def mark(self, ids: Sequence[str]) -> None:
        """Show these memories as selected (what the table has selected)."""
        scatter = self.view.scatter
        if scatter is None:
            return
        mask = np.zeros(len(scatter.records), dtype=bool)
        rows = [self._rows[i] for i in ids if i in self._rows]
        mask[rows] = True
        scatter.set_selected(mask)

    def remove(self, ids: Sequence[str]) -> None:
        """Take deleted memories off the map."""
        scatter = self.view.scatter
        gone = {i for i in ids if i in self._rows}
        if scatter is None or not gone:
            return
        keep = [n for n, r in enumerate(scatter.records) if r.id not in gone]
        records = [scatter.records[n] for n in keep]
        fresh = _Scatter(records, scatter.coords[keep])
        fresh.set_selected(scatter.selected[keep])
        self.view.set_scatter(fresh)
        self._rows = {r.id: n for n, r in enumerate(records)}


class MapPane(QObject):
    """The page's map, redrawn a moment after what it shows changed (`redraw_soon`)."""

    def __init__(self, page: MemoryPage) -> None:
        super().__init__(page)
        self.page = page
        self.map = MemoryMap()
        #: The memories the map shows now.
        self.records: list[MemoryRecord] = []
        self._dirty = True
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._load_soon)

    def redraw_soon(self) -> None:
        """The filters or the memories changed: draw again shortly (changes come in bursts)."""
        self._dirty = True
        self._timer.start()

    def _load_soon(self) -> None:
        if self._dirty and self.page.service is not None:
            self.page.tasks.start("Drawing the memory map", self._load())

    async def _load(self) -> None:
        while self._dirty:
            self._dirty = False
            f = self.page.browser.current_filter()
            if f.character is None:
                self.records = []
                self.map.show_message("Choose a character to see a map of its memories.")
                continue
            self.map.caption.setText(f"Drawing {f.character}'s memories…")
            stored = await self.page.memory.vectors(f, MAP_LIMIT)
            if self._dirty:
                continue  # the filters changed meanwhile: draw for the new ones
            vectors = [s.vector for s in stored]
            # A few thousand × 384 SVD is tens of milliseconds of CPU: not on the loop.
            projection = await asyncio.to_thread(project_2d, _stack(vectors))
            if self._dirty:
                continue
            records = [s.record for s in stored]
            self.records = records
            more = " (the newest)" if len(records) >= MAP_LIMIT else ""
            spread = sum(projection.explained) * 100
            self.map.show_points(
                records,
                projection.points,
                f"{len(records):,} memories of {f.character}{more} · the two axes hold "
                f"{spread:.0f}% of the variance · drag to select a region",
            )
            self.map.mark(self.page.browser.selected_ids())


def _stack(vectors: list) -> np.ndarray:
    return np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
