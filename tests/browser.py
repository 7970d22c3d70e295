"""Browser-test helpers: Debian's chromium under Playwright, and QR codes read back from screenshots.

A test that checks that a page "has an <svg>" passed while every QR on every page was cropped.
These helpers test what a person gets: the page is photographed (a screenshot, the whole
page, as laid out for the screen or for print) and every QR code in the picture is decoded
with zxing-cpp, the same family of decoder phones use. A cropped, squashed or clipped code
decodes to nothing.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
WIDTHS: tuple[int, ...] = (360, 1280)  # a cheap phone, a desktop
SHOTS = Path(tempfile.gettempdir()) / "amana-shots"  # screenshots kept for a person to look at after a run


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser (``playwright.sync_api.Browser``), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def decode_qr_codes(png: bytes) -> list[str]:
    """The text of every QR code in a PNG picture (empty list: none could be read)."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def qr_texts(page: Any, name: str | None = None) -> list[str]:
    """Screenshot the whole page as it is laid out now and decode every QR code in it.

    ``name`` keeps the screenshot under ``SHOTS`` so a failing run can be looked at."""
    png = page.screenshot(full_page=True)
    if name:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"{name}.png").write_bytes(png)
    return decode_qr_codes(png)


Layout = tuple[int, Literal["screen", "print"]]
LAYOUTS: tuple[Layout, ...] = (*((width, "screen") for width in WIDTHS), (1280, "print"))


def no_media_emulation(page: Any) -> None:
    """Back to the browser's own media: an explicit ``screen`` would also make ``page.pdf()``
    print with screen rules (no page breaks, no ``no-print``)."""
    page.emulate_media(media="null")


def layouts(page: Any) -> Iterator[str]:
    """Lay ``page`` out at each of ``LAYOUTS`` in turn (yielding a label); no emulation at the end.

    Print layout is Chromium's print media emulation: the ``@media print`` rules at the
    width of the viewport, as the print preview applies them."""
    try:
        for width, media in LAYOUTS:
            page.set_viewport_size({"width": width, "height": 800})
            page.emulate_media(media=media)
            yield f"{width}-{media}"
    finally:
        no_media_emulation(page)


def issuer_node(data_dir: Path) -> Iterator[tuple[Any, str]]:
    """A node on loopback with one organisation, Open Doors (names in en and ar), and its staff key."""
    import json
    import os
    import subprocess
    import sys

    from core.settings import REPO_ROOT
    from tests.node import RunningNode

    env = {**os.environ, "AMANA_DATA_DIR": str(data_dir)}
    created = subprocess.run([sys.executable, "-m", "server.cli", "issuer", "create-org", "--slug", "open-doors",
                              "--name", "en=Open Doors", "--name", "ar=الأبواب المفتوحة", "--type",
                              "SkillCertificate"], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    with RunningNode(data_dir) as running:
        yield running, json.loads(created.stdout)["api_key"]
