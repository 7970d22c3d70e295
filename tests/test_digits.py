"""core.digits: a PIN typed in any script's digits, with any spacing, reads as ASCII digits;
anything else is refused, never misread."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.digits import INVISIBLE, ascii_digits
from core.errors import NotDigits

# Every decimal digit Unicode knows, by value: ASCII, Arabic-Indic, Persian, Devanagari, fullwidth...
DIGITS = {v: [c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.decimal(c, None) == v] for v in range(10)}
SPACES = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()] + sorted(INVISIBLE)


def test_the_cases_people_type() -> None:
    assert ascii_digits("۹۶۶۲۶۴") == ascii_digits("٩٦٦٢٦٤") == ascii_digits("966 264") == "966264"
    assert ascii_digits("\u00a0۹۶۶\u2009۲۶۴\u202f") == "966264"  # no-break, thin, narrow no-break spaces
    assert ascii_digits("\u200f۹۶۶۲۶۴\u200e") == "966264"  # direction marks from a copied RTL text
    assert ascii_digits("９６６２６４") == "966264"  # fullwidth, from a CJK keyboard
    for refused in ("966-264", "96626x", "²", "½", "٫", "9.6", "Ⅸ"):
        with pytest.raises(NotDigits):
            ascii_digits(refused)


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 10**6), st.text(st.sampled_from(SPACES), max_size=3))))
def test_any_script_and_any_spacing_read_as_the_same_ascii_digits(typed: list[tuple[int, int, str]]) -> None:
    text = "".join(DIGITS[value][pick % len(DIGITS[value])] + gap for value, pick, gap in typed)
    assert ascii_digits(text) == "".join(str(value) for value, _, _ in typed)


@given(st.text())
def test_the_result_is_ascii_digits_and_stable_or_a_refusal(text: str) -> None:
    try:
        result = ascii_digits(text)
    except NotDigits as exc:
        assert exc.detail == "type digits only (spaces are fine)"  # never repeats what was typed
        assert any(not (c.isspace() or c in INVISIBLE or unicodedata.decimal(c, None) is not None) for c in text)
        return
    assert result == "" or (result.isascii() and result.isdigit())
    assert ascii_digits(result) == result
    assert len(result) == sum(unicodedata.decimal(c, None) is not None for c in text)


@given(st.text(st.characters(codec="ascii", categories=["Nd"])))
def test_ascii_digits_pass_unchanged(text: str) -> None:
    assert ascii_digits(text) == text
