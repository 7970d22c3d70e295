"""core.qr: codes that scale into any box, and that read back as the text they were made from."""

from __future__ import annotations

import re

import pytest

from core import qr
from tests.browser import decode_qr_codes

LINK = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fnode.amana.test%2Fissuers%2Fa%2Foffers%2Fx"


def test_a_page_svg_has_a_viewbox_and_no_fixed_size() -> None:
    """A fixed width/height without a viewBox shows only the top-left corner in a smaller box."""
    opening = re.match(r"<svg [^>]*>", qr.svg(LINK))
    assert opening
    assert re.search(r'viewBox="0 0 (\d+) \1"', opening.group(0))
    assert " width=" not in opening.group(0) and " height=" not in opening.group(0)


def test_a_standalone_svg_states_its_size_and_still_scales() -> None:
    opening = re.match(r"<svg [^>]*>", qr.svg(LINK, scale=5, standalone=True))
    assert opening
    side = (qr.version(LINK) * 4 + 17 + 2 * qr.BORDER) * 5
    assert f'width="{side}" height="{side}"' in opening.group(0) and "viewBox=" in opening.group(0)


def test_the_png_reads_back() -> None:
    assert decode_qr_codes(qr.png(LINK)) == [LINK]


def test_a_link_measured_then_drawn_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating a check asks the version, then draws the SVG: one encoding, not two (issue 15)."""
    import segno

    calls: list[str] = []
    real = segno.make_qr

    def counted(text: str, **options: object) -> segno.QRCode:
        calls.append(text)
        return real(text, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(segno, "make_qr", counted)
    link = "https://node.example/verifier/open?client_id=x509_hash%3Aonce&request_uri=https%3A%2F%2Fx%2Fr%2F" + "a" * 40
    assert qr.version(link, 11) <= 11
    assert qr.svg(link, max_version=11).startswith("<svg")
    assert calls == [link]
