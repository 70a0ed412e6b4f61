"""Render the app icon (resources/icons/app.svg) for desktops and installers.

    uv run python packaging/render_icons.py           # writes the files below
    uv run python packaging/render_icons.py --check   # exits 1 when one is missing or stale

Writes, named by the app id as freedesktop icon themes expect:
- packaging/linux/icons/hicolor/scalable/apps/io.github.carrierstudio.CarrierStudio.svg (a copy)
- packaging/linux/icons/hicolor/256x256/apps/io.github.carrierstudio.CarrierStudio.png
and, for the macOS and Windows builds (the spec uses them when they exist):
- packaging/icons/carrier-studio.icns (256x256) and packaging/icons/carrier-studio.ico (16 to 256
  pixels, PNG-compressed entries as Windows Vista and later read them)
The outputs are committed; run this again after changing app.svg.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.carrierstudio.CarrierStudio"
SOURCE = ROOT / "resources" / "icons" / "app.svg"
HICOLOR = ROOT / "packaging" / "linux" / "icons" / "hicolor"
SVG_OUT = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
PNG_OUT = HICOLOR / "256x256" / "apps" / f"{APP_ID}.png"
ICONS = ROOT / "packaging" / "icons"
SIZE = 256
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: bytes, size: int) -> QImage:
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {SOURCE} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def encode(image: QImage, fmt: str) -> bytes | None:
    """The image in `fmt` (png, ico, icns), or None when this Qt cannot write that format."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, fmt)
    buffer.close()
    return bytes(data.data()) if ok and data.size() else None


def ico(pngs: list[tuple[int, bytes]]) -> bytes:
    """A Windows .ico holding one PNG per size (Qt's own writer stores one uncompressed BMP)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, png in pngs:
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + entries + images


def outputs() -> dict[Path, bytes]:
    svg = SOURCE.read_bytes()
    image = render(svg, SIZE)
    files: dict[Path, bytes] = {SVG_OUT: svg}
    png = encode(image, "png")
    if png is None:
        raise SystemExit("render_icons: Qt could not write a PNG")
    files[PNG_OUT] = png
    icns = encode(image, "icns")
    if icns is None:
        print("render_icons: this Qt cannot write .icns; skipped", file=sys.stderr)
    else:
        files[ICONS / "carrier-studio.icns"] = icns
    sizes = [(size, encode(render(svg, size), "png") or b"") for size in ICO_SIZES]
    files[ICONS / "carrier-studio.ico"] = ico(sizes)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed files")
    args = parser.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication([])
    stale = []
    for path, data in outputs().items():
        current = path.read_bytes() if path.exists() else None
        if current == data:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path in stale:
        verb = "stale" if args.check else "wrote"
        print(f"render_icons: {verb} {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
