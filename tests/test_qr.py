"""core.qr: codes that scale into any box, that read back as the text they were made from, at the
smallest version ISO/IEC 18004's capacity table allows, with nothing in them a phone could trip on."""

from __future__ import annotations

import io
import itertools
import re
import string

import pytest
import zxingcpp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from core import qr, qr_masks
from tests.browser import decode_qr_codes

LINK = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fnode.amana.test%2Fissuers%2Fa%2Foffers%2Fx"
# What the desk's check shows (verifier/checks.py): about 170 characters, version 9 or 10 at M.
REQUEST = ("https://node.amana.test/verifier/open?client_id=x509_hash%3AuJ3MsLR0Jyq3ARvTtNXbAYYbr2wB0bQwJ4u2fBx4o"
           "Ew&request_uri=https%3A%2F%2Fnode.amana.test%2Fverifier%2Frequests%2F")

# ISO/IEC 18004 table 7: data codewords of versions 1..40 at levels L and M.
DATA_CODEWORDS = {
    "L": [19, 34, 55, 80, 108, 136, 156, 194, 232, 274, 324, 370, 428, 461, 523, 589, 647, 721, 795, 861, 932, 1006,
          1094, 1174, 1276, 1370, 1468, 1531, 1631, 1735, 1843, 1955, 2071, 2191, 2306, 2434, 2566, 2702, 2812, 2956],
    "M": [16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669, 714, 782,
          860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992, 2102, 2216, 2334],
}
ALPHANUMERIC = string.digits + string.ascii_uppercase + " $%*+-./:"
BYTE_ONLY = string.ascii_lowercase + "=?&_~!#"  # no character numeric or alphanumeric mode could take


def _bits(mode: str, n: int, version: int) -> int:
    """Mode indicator, character count and data bits of ``n`` characters in one segment (ISO/IEC 18004 7.4)."""
    band = 0 if version <= 9 else 1 if version <= 26 else 2
    if mode == "numeric":
        return 4 + (10, 12, 14)[band] + 10 * (n // 3) + (0, 4, 7)[n % 3]
    if mode == "alphanumeric":
        return 4 + (9, 11, 13)[band] + 11 * (n // 2) + 6 * (n % 2)
    return 4 + (8, 16, 16)[band] + 8 * n


def _smallest(mode: str, n: int, error: str) -> int:
    return next(v for v in range(1, 41) if _bits(mode, n, v) <= 8 * DATA_CODEWORDS[error][v - 1])


def _read(image: bytes, text_mode: zxingcpp.TextMode = zxingcpp.TextMode.HRI) -> list[zxingcpp.Barcode]:
    only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(image)), formats=only, text_mode=text_mode)


def _drawn(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The side of the ``viewBox`` and the dark modules the SVG's path draws, (x, y) with the quiet zone."""
    side = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path stroke="#000" d="([^"]*)"', svg).group(1)  # type: ignore[union-attr]
    dark, x, y = set(), 0.0, 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(int(x) + i, int(y - 0.5)) for i in range(int(a))}
            x += int(a)
    return side, dark


def test_a_page_svg_has_a_viewbox_and_no_fixed_size() -> None:
    """A fixed width/height without a viewBox shows only the top-left corner in a smaller box."""
    drawing = qr.svg(LINK)
    opening = re.match(r"<svg [^>]*>", drawing)
    assert opening
    assert re.search(r'viewBox="0 0 (\d+) \1"', opening.group(0))
    assert " width=" not in opening.group(0) and " height=" not in opening.group(0)
    assert 'shape-rendering="crispEdges"' in opening.group(0) and "<title>QR code</title>" in drawing
    assert "style" not in drawing and "<script" not in drawing  # the pages' CSP allows neither


def test_a_standalone_svg_states_its_size_and_still_scales() -> None:
    drawing = qr.svg(LINK, scale=5, standalone=True)
    opening = re.match(r"<svg [^>]*>", drawing)
    assert opening
    side = (qr.version(LINK) * 4 + 17 + 2 * qr.BORDER) * 5
    assert f'width="{side}" height="{side}"' in opening.group(0) and "viewBox=" in opening.group(0)
    assert 'xmlns="http://www.w3.org/2000/svg"' in opening.group(0)
    assert '<path fill="#fff"' in drawing  # its own white: no stylesheet behind a file on its own


@pytest.mark.parametrize("text", [LINK, REQUEST + "a" * 22, "AO1:" + ALPHANUMERIC * 3])
def test_the_svg_draws_the_very_code_with_a_four_module_quiet_zone(text: str) -> None:
    code = qr.make(text)
    side, dark = _drawn(qr.svg(text))
    assert side == code.size + 2 * qr.BORDER == 17 + 4 * code.version + 8
    expected = {(x + qr.BORDER, y + qr.BORDER) for y in range(code.size) for x in range(code.size)
                if code.modules[y * code.size + x] == 0}
    assert dark == expected
    assert min(x for x, _ in dark) == min(y for _, y in dark) == qr.BORDER  # the finder pattern's corner
    assert max(x for x, _ in dark) == max(y for _, y in dark) == side - 1 - qr.BORDER


def test_the_png_has_a_four_module_quiet_zone_and_reads_back() -> None:
    scale = 3
    image = Image.open(io.BytesIO(qr.png(LINK, scale=scale))).convert("L")
    side = qr.make(LINK).size + 2 * qr.BORDER
    assert image.size == (side * scale, side * scale)
    left, top, right, bottom = Image.eval(image, lambda v: 255 - v).getbbox()  # type: ignore[misc]
    assert (left, top) == (qr.BORDER * scale, qr.BORDER * scale)
    assert (right, bottom) == ((side - qr.BORDER) * scale, (side - qr.BORDER) * scale)
    assert {colour for _, colour in image.getcolors() or []} == {0, 255}  # nearest neighbour: no grey edge
    assert decode_qr_codes(qr.png(LINK)) == [LINK]


# ECI designators (ISO/IEC 18004 and AIM ECI) zxing-cpp may write for non-ASCII text, and their codecs.
_ECI = {3: "latin-1", **{n: f"iso8859-{n - 2}" for n in range(4, 14)}, **{n: f"iso8859-{n - 2}" for n in range(15, 19)},
        20: "shift_jis", 21: "cp1250", 22: "cp1251", 23: "cp1252", 24: "cp1256", 25: "utf-16-be", 26: "utf-8",
        28: "big5", 29: "gb18030", 30: "euc-kr"}


def _text(read: zxingcpp.Barcode, meant: str) -> str:
    """What a scanner following ISO/IEC 18004 gets: no ECI, ISO 8859-1; else the one ECI's character set.

    Without an ECI, text that ISO 8859-1 cannot hold can only be in Kanji mode, whose characters
    are Shift JIS by definition (§7.4.6; zint chose it for '褂', Hypothesis found): read so."""
    raw = bytes.fromhex(read.text)  # TextMode.HexECI: the symbology identifier, the ECI if any, the bytes
    if raw.startswith(b"]Q1"):
        return raw[3:].decode("latin-1" if meant.encode("latin-1", errors="replace").decode("latin-1") == meant
                              else "shift_jis")
    eci = re.fullmatch(rb"]Q2\\(\d{6})(.*)", raw, re.DOTALL)
    assert eci and b"\\" not in eci.group(2).replace(b"\\\\", b""), raw  # one ECI, at the start
    return eci.group(2).replace(b"\\\\", b"\\").decode(_ECI[int(eci.group(1))])


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(string.printable, min_size=1, max_size=213),  # bytes at version 10, level M
                 st.text(ALPHANUMERIC, min_size=1, max_size=1200),  # an offline presentation: base45, up to version 23
                 st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60)))
@example("褂")
def test_any_text_reads_back_exactly(text: str) -> None:
    """ASCII (every link and offline payload) byte for byte with no ECI; other text in the character
    set its ECI names (or ISO 8859-1 without one, which some phones guess wrong: none of ours)."""
    read = _read(qr.png(text, scale=2), zxingcpp.TextMode.HexECI)
    assert len(read) == 1 and _text(read[0], text) == text
    if text.isascii():
        assert bytes.fromhex(read[0].text) == b"]Q1" + text.encode("ascii")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["numeric", "alphanumeric", "byte"]).flatmap(
    lambda mode: st.tuples(st.just(mode), st.text({"numeric": string.digits, "alphanumeric": ALPHANUMERIC,
                                                   "byte": BYTE_ONLY}[mode], min_size=1, max_size=1300))))
@example(("alphanumeric", "7613347+6RT Q9W$6%U83"))
def test_the_version_is_the_smallest_the_capacity_table_allows(case: tuple[str, str]) -> None:
    """Digits alone, or characters only byte mode takes: one mode for the whole text is the best
    there is, and the version is the first whose data codewords at M hold it. Alphanumeric text may
    do better by its runs of digits in numeric segments (ISO/IEC 18004 §7.4: segments may mix
    modes; Hypothesis found '7613347+6RT Q9W$6%U83' in version 1, not 2): no larger than one
    alphanumeric segment, no smaller than all numeric. The symbol is 17 + 4 x version modules a side."""
    mode, text = case
    if _bits(mode, len(text), 40) > 8 * DATA_CODEWORDS["M"][-1]:
        return
    code = qr.make(text)
    assert code.error == "M"
    if mode == "alphanumeric":
        assert _smallest("numeric", len(text), "M") <= code.version <= _smallest(mode, len(text), "M")
    else:
        assert code.version == _smallest(mode, len(text), "M")
    assert code.size == 17 + 4 * code.version and len(code.modules) == code.size ** 2


def test_a_mixed_link_is_no_larger_than_byte_mode() -> None:
    assert qr.version(REQUEST) <= _smallest("byte", len(REQUEST), "M")


@pytest.mark.parametrize("version", [1, 2, 9, 10, 11, 26, 27, 40])  # each band of the count's width, both sides
def test_byte_capacity_is_the_standards(version: int) -> None:
    """What ``qr.fits`` learns from zxing-cpp is ISO/IEC 18004 table 7's byte capacity at level L."""
    most = max(n for n in range(3000) if _bits("byte", n, version) <= 8 * DATA_CODEWORDS["L"][version - 1])
    assert qr.byte_capacity(version) == most


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14).flatmap(lambda version: st.tuples(st.just(version), st.one_of(
    st.text(string.printable, min_size=max(1, qr.byte_capacity(version) - 30), max_size=qr.byte_capacity(version) + 30),
    st.text(ALPHANUMERIC + string.ascii_lowercase, min_size=1, max_size=qr.byte_capacity(version) + 60),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=qr.byte_capacity(version))))))
@example((10, "a" * 271))
@example((10, "a" * 272))
@example((10, "é" * 200))
def test_fits_says_what_the_code_does(case: tuple[int, str]) -> None:
    """Told without encoding (ASCII within one byte segment's capacity) or by encoding, ``fits`` is
    always what the code made: a link it passes is one the desk can show within its version."""
    version, text = case
    assert qr.fits(text, version) == (qr.make(text, version).version <= version)


def test_level_l_only_when_it_keeps_the_code_within_max_version() -> None:
    over = "a" * 250  # byte mode: version 11 at M (216 codewords at 10), version 10 at L (274)
    assert qr.make(over).error == "M" and qr.version(over) == 11
    assert qr.make(over, 11).error == "M" and qr.version(over, 11) == 11
    assert qr.make(over, 10).error == "L" and qr.version(over, 10) == 10
    assert [r.text for r in _read(qr.png(over))] == [over]  # png is level M: max_version is the page's promise
    assert qr.make("a" * 20, 10).error == "M"
    too_long = "a" * 400  # not within 10 even at L: the caller refuses it (verifier/checks.py)
    assert qr.version(too_long, 10) > 10 and qr.make(too_long, 10).error == "L"


@pytest.mark.parametrize("text", [LINK, REQUEST + "x" * 20, "AO1:" + ALPHANUMERIC * 20, "AN1:6BFOXN*TS0BI$ZD"])
def test_no_eci_header_nor_anything_else_a_scanner_trips_on(text: str) -> None:
    """Links and offline payloads (base45, ASCII) are written as they are, no ECI segment: ``]Q1``
    (zxing-cpp's HexECI text shows the ECI, which its symbology_identifier does not)."""
    read = _read(qr.png(text), zxingcpp.TextMode.HexECI)
    assert len(read) == 1
    assert bytes.fromhex(read[0].text) == b"]Q1" + text.encode("ascii")


def test_a_link_measured_then_drawn_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating a check asks the version, then draws the SVG: one encoding, not two, and under one
    mask, not eight, once its version has been seen (issue 15)."""
    calls: list[tuple[str, object]] = []
    real = zxingcpp.create_barcode

    def counted(content: str, *args: object, **options: object) -> zxingcpp.Barcode:
        calls.append((content, options.get("data_mask")))
        return real(content, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(zxingcpp, "create_barcode", counted)
    seen, link = REQUEST + "a" * 40, REQUEST + "b" * 40
    assert qr.version(seen, 11) == qr.version(link, 11) <= 11
    assert qr.svg(link, max_version=11).startswith("<svg")
    assert calls[-1] == (link, 0) and len(calls) in (2, 9)  # 9: this size was new, its mask changes learnt


# zxing-cpp encodes on its own (by its embedded libzint), mask chosen by its own penalty count: what
# core.qr_masks must match.
def _zxing_own(text: str, error: str) -> bytes:
    return bytes(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=error)  # type: ignore[call-overload]
                 .to_image(add_quiet_zones=False))


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.text(string.printable, min_size=1, max_size=400),
                 st.text(ALPHANUMERIC, min_size=1, max_size=2000),
                 st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60)),
       st.sampled_from("ML"))
@example(REQUEST + "x" * 22, "M")
def test_the_mask_is_the_one_zxing_cpp_chooses_itself(text: str, error: str) -> None:
    """core.qr_masks picks the mask from zxing-cpp's symbol under mask 0 and each size's learnt
    changes: the symbol is zxing-cpp's own, byte for byte, whatever the text, version and level."""
    assert qr._encoded(text, error).modules == _zxing_own(text, error)


def _penalty_module_by_module(size: int, modules: bytes) -> int:
    """ISO/IEC 18004:2015 §7.8.3.1's four rules, one module at a time: a run of 5 + i modules of one
    colour scores 3 + i; each 2 x 2 block of one colour 3; each 1:1:3:1:1 pattern with four light
    modules (or the edge) before or after it 40, once; 10 for each full 5 % of dark modules away from half."""
    rows = [[modules[y * size + x] == 0 for x in range(size)] for y in range(size)]
    lines = rows + [list(column) for column in zip(*rows, strict=True)]
    score = 0
    for line in lines:
        for _, run in itertools.groupby(line):
            length = len(list(run))
            score += 3 + length - 5 if length >= 5 else 0
        for x in range(size - 6):
            if line[x:x + 7] == [True, False, True, True, True, False, True] and (
                    not any(line[max(0, x - 4):x]) or not any(line[x + 7:x + 11])):
                score += 40
    score += 3 * sum(rows[y][x] == rows[y][x + 1] == rows[y + 1][x] == rows[y + 1][x + 1]
                     for y in range(size - 1) for x in range(size - 1))
    dark = sum(map(sum, rows))
    return score + abs(2 * dark - size * size) * 10 // (size * size) * 10


def _dark_in_column_0(size: int, rows: set[int]) -> bytes:
    return bytes(0 if y in rows and x == 0 else 255 for y in range(size) for x in range(size))


# Down the first column, ending on the last row: dark, then 1:1:3:1:1, then dark. Its four light modules
# "before" lie past the bottom edge and must read as light (core.qr_masks raises the matrix for that).
_FINDER_LIKE_AT_THE_BOTTOM = (21, _dark_in_column_0(21, {12, 13, 15, 16, 17, 19, 20}))


@settings(max_examples=80, deadline=None)
@given(st.integers(21, 45).flatmap(lambda size: st.tuples(
    st.just(size), st.lists(st.sampled_from([0, 255]), min_size=size * size, max_size=size * size).map(bytes))))
@example((21, b"\x00" * 441))
@example((21, b"\xff" * 441))
@example(_FINDER_LIKE_AT_THE_BOTTOM)
def test_each_penalty_rule_counts_as_module_by_module(case: tuple[int, bytes]) -> None:
    """The bit-parallel count equals the plain one on any matrix (random ones hold finder-like
    patterns, runs and blocks of both colours; real symbols below)."""
    size, modules = case
    assert qr_masks.penalty(qr_masks.bits(size, modules), size) == _penalty_module_by_module(size, modules)


@pytest.mark.parametrize("mask", range(8))
def test_the_penalty_of_a_real_symbol_under_each_mask(mask: int) -> None:
    size, modules = qr._under_mask(REQUEST + "y" * 22, "M", mask)
    assert qr_masks.penalty(qr_masks.bits(size, modules), size) == _penalty_module_by_module(size, modules)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 61).flatmap(lambda size: st.tuples(
    st.just(size), st.binary(min_size=size * size, max_size=size * size), st.integers(0, 12))))
def test_the_matrix_as_bits_is_its_rows_joined_by_light_gaps(case: tuple[int, bytes, int]) -> None:
    """``bits`` spreads the rows of one parse apart: the int of the rows' digits joined by ``gap`` zeros."""
    size, raw, gap = case
    modules = bytes(0 if b < 128 else 255 for b in raw)
    rows = [modules[i:i + size].translate(bytes.maketrans(b"\x00\xff", b"10")) for i in range(0, size * size, size)]
    assert qr_masks.bits(size, modules, gap) == int((b"0" * gap).join(rows), 2)
