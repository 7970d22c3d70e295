"""Local forms: the Solar Hijri calendar, dates in the reader's locale, digits in the reader's script."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import digits, local_forms
from core.errors import NotDigits

# Dates everyone in Iran knows, and the leap years' last days (Esfand 30).
KNOWN = [
    (date(1979, 2, 11), (1357, 11, 22)),  # 22 Bahman 1357
    (date(2000, 1, 1), (1378, 10, 11)),
    (date(1989, 6, 4), (1368, 3, 14)),    # 14 Khordad 1368
    (date(2021, 3, 20), (1399, 12, 30)),  # 1399 is leap
    (date(2021, 3, 21), (1400, 1, 1)),
    (date(2025, 3, 20), (1403, 12, 30)),  # 1403 is leap
    (date(2025, 3, 21), (1404, 1, 1)),
    (date(2026, 3, 20), (1404, 12, 29)),  # 1404 is not
    (date(2026, 3, 21), (1405, 1, 1)),
    (date(2026, 12, 2), (1405, 9, 11)),
]


@pytest.mark.parametrize(("day", "expected"), KNOWN)
def test_known_solar_hijri_dates(day: date, expected: tuple[int, int, int]) -> None:
    assert local_forms.solar_hijri(day) == expected


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2400, 12, 30)))
def test_the_next_day_is_the_next_solar_hijri_day(day: date) -> None:
    """Days follow each other: the first six months have 31 days, the next five 30, Esfand 29 or 30."""
    y, m, d = local_forms.solar_hijri(day)
    ny, nm, nd = local_forms.solar_hijri(day + timedelta(days=1))
    length = 31 if m <= 6 else 30 if m <= 11 else None
    if (ny, nm, nd) == (y, m, d + 1):
        assert length is None or d + 1 <= length
    elif nd == 1 and nm == m + 1 and ny == y:
        assert d == length
    else:
        assert (ny, nm, nd) == (y + 1, 1, 1) and m == 12 and d in (29, 30)


def test_a_year_is_365_or_366_days_and_leap_years_end_on_esfand_30() -> None:
    for year in range(1300, 1500):
        start = next(date(year + 621, 3, d) for d in range(19, 23) if local_forms.solar_hijri(date(year + 621, 3, d))
                     == (year, 1, 1))
        last = local_forms.solar_hijri(start - timedelta(days=1))
        assert last[0] == year - 1 and last[1] == 12 and last[2] in (29, 30)


def test_persian_and_dari_readers_see_solar_hijri_beside_gregorian_in_their_digits() -> None:
    day = date(2026, 6, 4)
    assert local_forms.local_date(day, "fa") == "۱۴ خرداد ۱۴۰۵ (۴ ژوئن ۲۰۲۶)"
    assert local_forms.local_date(day, "fa_AF").startswith("۱۴ جوزا ۱۴۰۵ (")  # Afghan month names
    assert local_forms.local_date(day, "ps") == "۴ جون ۲۰۲۶"  # Pashto: no Solar Hijri here, Persian digits
    assert local_forms.local_date(day, "ar") == "4 يونيو 2026"  # CLDR's default for ar is Latin digits
    assert local_forms.local_date(day, "fr") == "4 juin 2026"
    assert local_forms.local_date(day, "uk") == "4 червня 2026\u202fр."
    assert local_forms.local_date(day, "qps") == "June 4, 2026"


def test_digits_follow_cldr_and_read_back_from_any_script() -> None:
    assert [local_forms.digits_of(lang) for lang in ("fa", "fa_AF", "ps", "ar", "en", "ti", "so")] == \
        ["۰۱۲۳۴۵۶۷۸۹"] * 3 + ["0123456789"] * 4
    for lang in ("fa", "fa_AF", "ps", "ar", "uk", "ti", "so", "fr"):
        shown = local_forms.local_number(9662640, lang)
        assert digits.ascii_digits(shown) == "9662640"  # a PIN shown or typed in any script reads the same


@given(st.text(alphabet="0123456789", min_size=1, max_size=12), st.sampled_from(["fa", "fa_AF", "ps", "ar", "en"]),
       st.sampled_from(["", " ", "\u200f", "\u200e", "\u00a0", "\u2009"]))
def test_pins_in_any_digit_script_with_marks_and_spaces_read_back(pin: str, lang: str, sep: str) -> None:
    shown = sep.join(local_forms.local_digits(pin, lang))
    assert digits.ascii_digits(shown) == pin
    arabic = shown.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"))
    assert digits.ascii_digits(arabic) == pin


@pytest.mark.parametrize("typed", ["١٢٣-٤", "12a", "۱۲³", "١٢٣٤٥x"])
def test_anything_but_digits_is_refused_in_every_script(typed: str) -> None:
    with pytest.raises(NotDigits):
        digits.ascii_digits(typed)


def test_names_and_numbers_are_isolated_and_numbers_come_in_the_readers_digits() -> None:
    from core import i18n

    html = i18n.t_isolated("fa", "offer_page.what", org="Open <Doors>", type="Skill")
    assert str(html).startswith("<bdi>Open &lt;Doors&gt;</bdi> ") and "<bdi>Skill</bdi>" in html
    assert i18n.t("fa", "console.rows_ok", count=3).startswith("۳ ")
    assert i18n.t("ps", "console.rows_ok", count=12).startswith("۱۲ ")  # Pashto digits, whichever text stands in
    assert i18n.t("ar", "console.rows_ok", count=3).startswith("3 ")
    assert i18n.t("en", "console.batch_of", total=10) == "Copies: 10"
