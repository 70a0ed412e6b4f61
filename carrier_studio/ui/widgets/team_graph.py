"""A team as a graph: members as nodes, who talks to whom as arrows, lit as messages pass.

Plain QGraphicsView drawing, no layout engine: members sit on a circle with USER first at the
top. An edge lights up (accent colour, thicker) for a moment when a message crosses it; a
broadcast lights every edge from the sender to the channel's members (dashed edges show
channel links that are not ``talksTo``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

NODE_RADIUS = 34.0
LAYOUT_RADIUS = 150.0
#: How long an edge stays lit after a message crossed it.
LIT_MS = 1400


class _Edge:
    def __init__(self, scene: QGraphicsScene, start: QPointF, end: QPointF, dashed: bool) -> None:
        # Offset sideways so A→B and B→A are two visible arrows, not one line drawn twice.
        dx, dy = end.x() - start.x(), end.y() - start.y()
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        nx, ny = -uy * 6, ux * 6
        a = QPointF(start.x() + ux * NODE_RADIUS + nx, start.y() + uy * NODE_RADIUS + ny)
        b = QPointF(end.x() - ux * NODE_RADIUS + nx, end.y() - uy * NODE_RADIUS + ny)
        self.line = QGraphicsLineItem(a.x(), a.y(), b.x(), b.y())
        self.head = QGraphicsPolygonItem(
            QPolygonF(
                [
                    b,
                    QPointF(b.x() - ux * 11 - uy * 5, b.y() - uy * 11 + ux * 5),
                    QPointF(b.x() - ux * 11 + uy * 5, b.y() - uy * 11 - ux * 5),
                ]
            )
        )
        self.dashed = dashed
        for item in (self.line, self.head):
            item.setZValue(-1)
            scene.addItem(item)
        self.lit = 0  # flashes still showing (overlapping messages keep it lit)

    def paint(self, color: str, width: float) -> None:
        pen = QPen(QColor(color), width)
        if self.dashed and width < 2:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.line.setPen(pen)
        self.head.setPen(QPen(QColor(color), 1))
        self.head.setBrush(QBrush(QColor(color)))


class TeamGraph(QGraphicsView):
    def __init__(self, colors: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamGraph")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setScene(QGraphicsScene(self))
        # 200 px tall at least: with an import report above it, 280 did not fit a 1024x700
        # window, and the legend under it was drawn over the nodes.
        self.setMinimumSize(320, 200)
        self._colors = colors
        self._nodes: dict[str, tuple[QGraphicsEllipseItem, QGraphicsSimpleTextItem]] = {}
        self._edges: dict[tuple[str, str], _Edge] = {}
        self._active = ""
        #: How many messages crossed each edge in this view (tests and tooltips read it).
        self.counts: dict[tuple[str, str], int] = {}

    # -- reads (for tests and the page) ----------------------------------------------------

    def nodes(self) -> list[str]:
        return list(self._nodes)

    def edges(self) -> list[tuple[str, str]]:
        return list(self._edges)

    def lit_edges(self) -> set[tuple[str, str]]:
        return {key for key, edge in self._edges.items() if edge.lit}

    # -- drawing ---------------------------------------------------------------------------

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors
        self._repaint()

    def set_team(
        self,
        names: list[str],
        links: list[tuple[str, str]],
        channels: dict[str, list[str]],
        entry: str = "",
    ) -> None:
        """Draw a team: ``links`` are (sender, recipient) pairs, USER's included; ``entry`` is
        the member USER speaks to first."""
        scene = self.scene()
        scene.clear()
        self._nodes, self._edges, self.counts, self._active = {}, {}, {}, ""
        everyone = ["USER", *names]
        places: dict[str, QPointF] = {}
        for i, name in enumerate(everyone):
            angle = -math.pi / 2 + 2 * math.pi * i / len(everyone)
            places[name] = QPointF(LAYOUT_RADIUS * math.cos(angle), LAYOUT_RADIUS * math.sin(angle))
        talk = set(links) | ({("USER", entry or names[0])} if names else set())
        pairs = list(dict.fromkeys(talk))
        for members in channels.values():
            pairs += [(a, b) for a in members for b in members if a != b and (a, b) not in talk]
        for a, b in dict.fromkeys(pairs):
            if a in places and b in places:
                self._edges[(a, b)] = _Edge(scene, places[a], places[b], (a, b) not in talk)
        member_channels = {
            n: [c for c, members in channels.items() if n in members] for n in everyone
        }
        for name, at in places.items():
            r = NODE_RADIUS
            node = QGraphicsEllipseItem(QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r))
            node.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
            tip = f"{name}" + (
                f" — channels: {', '.join('#' + c for c in member_channels[name])}"
                if member_channels[name]
                else ""
            )
            node.setToolTip(tip)
            label = QGraphicsSimpleTextItem(name if len(name) <= 10 else name[:9] + "…")
            font = QFont()
            font.setBold(name == "USER")
            label.setFont(font)
            box = label.boundingRect()
            label.setPos(at.x() - box.width() / 2, at.y() - box.height() / 2)
            scene.addItem(node)
            scene.addItem(label)
            self._nodes[name] = (node, label)
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))
        self._repaint()
        self._fit()

    def set_active(self, name: str) -> None:
        """Mark the member whose turn it is ("" for nobody)."""
        self._active = name
        self._repaint()

    def flash(self, sender: str, recipients: list[str] | tuple[str, ...]) -> None:
        """Light the edges a message just crossed."""
        for recipient in recipients:
            edge = self._edges.get((sender, recipient))
            if edge is None:
                continue
            self.counts[(sender, recipient)] = self.counts.get((sender, recipient), 0) + 1
            edge.line.setToolTip(f"{sender} → {recipient}: {self.counts[(sender, recipient)]}")
            edge.lit += 1
            QTimer.singleShot(LIT_MS, self, lambda e=edge: self._unlight(e))
        self._repaint()

    def _unlight(self, edge: _Edge) -> None:
        edge.lit = max(0, edge.lit - 1)
        self._repaint()

    def _repaint(self) -> None:
        c = self._colors
        for edge in self._edges.values():
            edge.paint(c["accent"] if edge.lit else c["idle"], 3.0 if edge.lit else 1.4)
        for name, (node, label) in self._nodes.items():
            active = name == self._active
            node.setBrush(QBrush(QColor(c["accent_soft"] if active else c["surface"])))
            node.setPen(
                QPen(QColor(c["accent"] if active else c["border"]), 2.5 if active else 1.5)
            )
            label.setBrush(QBrush(QColor(c["text"])))
        self.setBackgroundBrush(QBrush(QColor(c["surface_alt"])))

    def _fit(self) -> None:
        if self.scene().items():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            if self.transform().m11() > 1.0:
                # Shrink a big team to fit, never blow a small one (or USER alone) up.
                self.resetTransform()
                self.centerOn(self.scene().sceneRect().center())

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().resizeEvent(event)
        self._fit()
