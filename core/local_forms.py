"""Dates and numbers as the reader writes them: their locale's words (Babel, CLDR), their digits,
and the Solar Hijri calendar beside the Gregorian one for Persian and Dari readers. Pure.

Digits follow CLDR's default numbering system for the locale (through Babel): Persian, Dari and
Pashto write ``۱۴۰۵`` (``arabext``); CLDR's default for Arabic is Latin digits, so ``ar`` keeps
them. Babel knows no Persian calendar, so ``solar_hijri`` computes it: the algorithm of
K. M. Borkowski, "The Persian calendar for 3000 years", Earth, Moon and Planets 74 (1996),
as jalaali-js (MIT) implements it — a table of the years where the 33-year leap cycle breaks,
valid for Solar Hijri years -61 to 3177, which agrees with the astronomical (Tehran noon)
calendar over every year a person alive today will see. Iran and Afghanistan share the calendar
and its years; Afghanistan names the months after the zodiac (حمل، ثور …).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from core import i18n_pseudo

DIGITS = {"latn": "0123456789", "arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}
SOLAR_HIJRI_READERS = frozenset({"fa", "fa_AF"})
MONTHS_IRAN = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن",
               "اسفند")
MONTHS_AFGHANISTAN = ("حمل", "ثور", "جوزا", "سرطان", "اسد", "سنبله", "میزان", "عقرب", "قوس", "جدی", "دلو", "حوت")
_BREAKS = (-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456,
           3178)


def _div(a: int, b: int) -> int:
    """Integer division truncated towards zero, as the published algorithm uses it."""
    return int(a / b)


def _mod(a: int, b: int) -> int:
    return a - _div(a, b) * b


def _year_shape(jy: int) -> tuple[int, int]:
    """For Solar Hijri year ``jy``: years since the last leap year (0 = leap) and the day of March
    (Gregorian year jy + 621) on which it begins."""
    if not _BREAKS[0] <= jy < _BREAKS[-1]:
        raise ValueError(f"Solar Hijri year {jy} is outside {_BREAKS[0]}..{_BREAKS[-1] - 1}")
    gy = jy + 621
    leap_j = -14
    jp = _BREAKS[0]
    jump = 0
    for jm in _BREAKS[1:]:
        jump = jm - jp
        if jy < jm:
            break
        leap_j += _div(jump, 33) * 8 + _div(_mod(jump, 33), 4)
        jp = jm
    n = jy - jp
    leap_j += _div(n, 33) * 8 + _div(_mod(n, 33) + 3, 4)
    if _mod(jump, 33) == 4 and jump - n == 4:
        leap_j += 1
    leap_g = _div(gy, 4) - _div((_div(gy, 100) + 1) * 3, 4) - 150
    march = 20 + leap_j - leap_g
    if jump - n < 6:
        n = n - jump + _div(jump + 4, 33) * 33
    leap = _mod(_mod(n + 1, 33) - 1, 4)
    return (4 if leap == -1 else leap), march


def solar_hijri(day: date) -> tuple[int, int, int]:
    """The Solar Hijri (year, month, day) of a Gregorian date: 2026-03-21 is (1405, 1, 1)."""
    jy = day.year - 621
    leap, march = _year_shape(jy)
    k = day.toordinal() - date(day.year, 3, march).toordinal()
    if k >= 0:
        if k <= 185:
            return jy, 1 + k // 31, k % 31 + 1
        k -= 186
    else:
        jy -= 1
        k += 179
        if leap == 1:  # the year before was leap: its last month has 30 days
            k += 1
    return jy, 7 + k // 30, k % 30 + 1


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse("en" if lang == i18n_pseudo.CODE else lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def digits_of(lang: str) -> str:
    """The ten digits the reader's locale writes by default (CLDR)."""
    return DIGITS.get(_locale(lang).default_numbering_system, DIGITS["latn"])


def local_digits(text: str, lang: str) -> str:
    """ASCII digits in ``text`` as the reader writes them (nothing else changes)."""
    return text.translate(str.maketrans(DIGITS["latn"], digits_of(lang)))


def local_number(value: int, lang: str) -> str:
    return local_digits(str(value), lang)


def solar_hijri_text(day: date, lang: str) -> str:
    year, month, dom = solar_hijri(day)
    months = MONTHS_AFGHANISTAN if lang == "fa_AF" else MONTHS_IRAN
    return local_digits(f"{dom} {months[month - 1]} {year}", lang)


def local_day(epoch: int, lang: str) -> str:
    """The UTC day of a Unix time, as the reader reads it (``local_date``)."""
    return local_date(datetime.fromtimestamp(epoch, UTC).date(), lang)


def local_date(day: date, lang: str) -> str:
    """A day as the reader reads it: ``4 June 2026``, ``۱۴ خرداد ۱۴۰۵ (۴ ژوئن ۲۰۲۶)``."""
    gregorian = local_digits(format_date(day, format="long", locale=_locale(lang)), lang)
    if lang in SOLAR_HIJRI_READERS:
        return f"{solar_hijri_text(day, lang)} ({gregorian})"
    return gregorian
