"""The offline QR (3 SkillCertificate claims with binding, version 16 at M) still decodes with
zxing-cpp from its PNG after what a cheap phone camera does to it (specs/formats/offline-presentation.md §11):
downscaling, blur, JPEG at quality 30, a slight rotation, and all of them at once."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image, ImageEnhance, ImageFilter

from core import qr
from core.offline import present
from tests.offline_kit import NONCE, NOW, THREE, World

SCALE = 8  # pixels per module in the PNG, as core.qr.png writes it


def _shrink(factor: float) -> Callable[[Image.Image], Image.Image]:
    def apply(img: Image.Image) -> Image.Image:
        small = (round(img.width / factor), round(img.height / factor))
        return img.resize(small, Image.Resampling.BOX)
    return apply


def _blur(radius: float) -> Callable[[Image.Image], Image.Image]:
    return lambda img: img.filter(ImageFilter.GaussianBlur(radius))


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def apply(img: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        img.convert("L").save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue()))
    return apply


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda img: img.convert("L").rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def _dim(img: Image.Image) -> Image.Image:
    return ImageEnhance.Contrast(img.convert("L")).enhance(0.5)  # a dim screen in daylight: half the contrast


def _all(img: Image.Image) -> Image.Image:
    for step in (_rotate(4), _blur(1.0), _dim, _shrink(SCALE / 3), _jpeg(30)):
        img = step(img)
    return img


DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "downscaled to 2 px per module": _shrink(SCALE / 2),
    "gaussian blur 1.5 px": _blur(1.5),
    "jpeg quality 30": _jpeg(30),
    "rotated 3 degrees": _rotate(3),
    "rotated 5 degrees": _rotate(5),
    "half contrast": _dim,
    "all at once (4 degrees, blur 1, half contrast, 3 px per module, jpeg 30)": _all,
}


@pytest.fixture(scope="module")
def qr_text() -> str:
    world = World()
    cred, d = world.issue()
    text = present(cred, [d[n] for n in THREE], world.holder, NOW, 120, NONCE)
    assert qr.version(text) == 16
    return text


def _read(img: Image.Image) -> list[str]:
    return [c.text for c in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))]


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_the_qr_decodes_after_a_cheap_camera(name: str, qr_text: str) -> None:
    image = Image.open(io.BytesIO(qr.png(qr_text, scale=SCALE))).convert("L")
    degraded = DEGRADATIONS[name](image)
    assert _read(degraded) == [qr_text]
    assert World().verify(_read(degraded)[0]).disclosed == THREE


def test_the_degradations_are_not_trivial(qr_text: str) -> None:
    """A harsher camera (blur 2 px, then 1.2 px per module) loses the code: these model a limit, not nothing."""
    image = Image.open(io.BytesIO(qr.png(qr_text, scale=SCALE))).convert("L")
    assert _read(_shrink(SCALE / 1.2)(_blur(2.0)(image))) == []
