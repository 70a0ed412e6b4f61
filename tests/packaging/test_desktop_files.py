"""The Linux desktop entry, AppStream metainfo, icons and spec agree with the app (fast, no tools).

`desktop-file-validate` and `appstreamcli validate --no-net` check the formats (see README,
"Building the app"); these tests check what those tools cannot know: that the names, ids, icon
files, screenshots and version match this project.
"""

from __future__ import annotations

import configparser
import re
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from carrier_studio import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.carrierstudio.CarrierStudio"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
HICOLOR = PACKAGING / "linux" / "icons" / "hicolor"


def desktop_entry() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign] # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def app_desktop_file_name() -> str:
    source = (ROOT / "carrier_studio" / "app" / "run.py").read_text(encoding="utf-8")
    match = re.search(r"""setDesktopFileName\(\s*["']([^"']+)["']\s*\)""", source)
    assert match, "carrier_studio/app/run.py no longer calls qapp.setDesktopFileName(...)"
    return match.group(1)


def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_desktop_entry_fields() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Carrier Studio"
    assert entry["Comment"]
    assert entry["Exec"].split()[0] == "carrier-studio"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";")
    assert {"Development", "Utility"} <= set(filter(None, categories.split(";")))


def test_startup_wm_class_matches_the_app() -> None:
    # Qt uses the desktop file name as the Wayland app id, and the executable's name is the
    # X11 WM_CLASS instance: both are "carrier-studio", so docks match windows to the launcher.
    assert desktop_entry()["StartupWMClass"] == app_desktop_file_name() == "carrier-studio"


def test_icons_exist_for_the_icon_name() -> None:
    svg = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
    png = HICOLOR / "256x256" / "apps" / f"{APP_ID}.png"
    assert svg.read_bytes() == (ROOT / "resources" / "icons" / "app.svg").read_bytes(), (
        "stale: run `uv run python packaging/render_icons.py`"
    )
    assert png_size(png) == (256, 256)
    data = png.read_bytes()
    assert data[25] == 6, "the PNG should be RGBA (a transparent background)"


def test_windows_and_macos_icons() -> None:
    ico = (PACKAGING / "icons" / "carrier-studio.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 1
    sides = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= sides
    assert (PACKAGING / "icons" / "carrier-studio.icns").read_bytes()[:4] == b"icns"


def test_metainfo_fields() -> None:
    root = metainfo()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert METAINFO.name == f"{APP_ID}.metainfo.xml"
    assert root.findtext("name") == desktop_entry()["Name"]
    summary = root.findtext("summary") or ""
    assert summary and len(summary) <= 80 and not summary.endswith(".")
    paragraphs = root.findall("description/p")
    assert len(paragraphs) >= 2 and all((p.text or "").strip() for p in paragraphs)
    assert root.findtext("metadata_license") == "MIT"
    assert root.findtext("project_license") == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    rating = root.find("content_rating")
    assert rating is not None and (rating.get("type") or "").startswith("oars-")


def test_metainfo_launchable_is_the_desktop_file() -> None:
    launchable = metainfo().find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert metainfo().findtext("provides/binary") == "carrier-studio"


def test_metainfo_release_is_this_version() -> None:
    releases = metainfo().findall("releases/release")
    assert releases, "no <release>"
    assert releases[0].get("version") == __version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date") or "")


def test_metainfo_screenshots_are_files_in_the_repository() -> None:
    images = [(image.text or "").strip() for image in metainfo().findall("screenshots/*/image")]
    assert images
    for url in images:
        assert url.startswith("https://"), url
        relative = url.split("/main/", 1)[1]
        assert relative.startswith("docs/screenshots/") and (ROOT / relative).is_file(), url
    defaults = metainfo().findall("screenshots/screenshot[@type='default']")
    assert len(defaults) == 1


def test_spec_lays_resources_out_like_the_wheel() -> None:
    """The spec's datas put the top-level folders where pyproject's force-include puts them."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    force_include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    spec = (PACKAGING / "carrier-studio.spec").read_text(encoding="utf-8")
    assert force_include
    for source, destination in force_include.items():
        folder = destination if (ROOT / source).is_dir() else destination.rsplit("/", 1)[0]
        assert f'(str(ROOT / "{source}"), "{folder}")' in spec, (source, destination)


@pytest.mark.parametrize(
    "command",
    [
        ["desktop-file-validate", str(DESKTOP)],
        ["appstreamcli", "validate", "--no-net", str(METAINFO)],
    ],
    ids=["desktop-file-validate", "appstreamcli"],
)
def test_freedesktop_validators_accept_the_files(command: list[str]) -> None:
    """The freedesktop tools, where installed (apt-get install desktop-file-utils appstream)."""
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # desktop-file-validate exits 0 on hints too; only errors and warnings count
    problems = [
        line for line in done.stdout.splitlines() if re.search(r": (error|warning): ", line)
    ]
    assert not problems, done.stdout


@pytest.mark.parametrize("name", ["entry.py", "build.sh", "carrier-studio.spec", "render_icons.py"])
def test_packaging_files_exist(name: str) -> None:
    assert (PACKAGING / name).is_file()
