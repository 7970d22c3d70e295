"""core.qr: codes that scale into any box, and that read back as the text they were made from."""

from __future__ import annotations

import re

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
