"""SVG icons from the resources folder, tinted to the theme (``currentColor`` is replaced)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from carrier_studio import assets


@cache
def _svg(name: str) -> str:
    return assets.resource("icons", f"{name}.svg").read_text("utf-8")


def icon(name: str, color: str = "#63636E", size: int = 24) -> QIcon:
    """An icon drawn from ``resources/icons/<name>.svg`` in ``color``, sharp at 1x and 2x."""
    renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", color).encode()))
    result = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(QSize(size * scale, size * scale))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size * scale, size * scale))
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        result.addPixmap(pixmap)
    return result
