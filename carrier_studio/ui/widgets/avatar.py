"""Character avatars at list size: decoded small, off the event loop, shared by every page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QComboBox

#: The side of a list icon; avatars are decoded at this size, never at full size.
AVATAR_SIZE = 28


def load_avatar(path: Path, size: int = AVATAR_SIZE) -> QImage | None:
    """A small QImage of an avatar (worker thread: QImage may be made there, QPixmap not).

    The reader decodes straight to icon size, so a large picture costs no more than a small one,
    and Qt's allocation limit refuses a picture too large to decode at all.
    """
    reader = QImageReader(str(path))
    found = reader.size()
    if found.isValid() and found.width() > 0 and found.height() > 0:
        reader.setScaledSize(found.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else image


async def avatar_icons(avatars: dict[str, Path | None]) -> dict[str, QIcon]:
    """Icons for ``{key: avatar file}``, decoded on a worker thread; keys without a file, or
    with one that cannot be read, are left out."""
    images = await asyncio.to_thread(
        lambda: {k: load_avatar(p) for k, p in avatars.items() if p is not None}
    )
    return {key: QIcon(QPixmap.fromImage(image)) for key, image in images.items() if image}


async def show_avatars(combo: QComboBox, avatars: dict[str, Path | None]) -> None:
    """Put each character's avatar beside its name in a character box (names without one keep
    no icon, so the names still line up)."""
    icons = await avatar_icons(avatars)
    combo.setIconSize(QSize(AVATAR_SIZE, AVATAR_SIZE) if icons else QSize(16, 16))
    for index in range(combo.count()):
        combo.setItemIcon(index, icons.get(combo.itemText(index), QIcon()))
