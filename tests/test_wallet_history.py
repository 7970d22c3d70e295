"""History records (issue 12, item 6): ISO/IEC TS 27560 field names, names only, round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput, VaultTampered
from wallet.content import Contents, Copy
from wallet.history import Controller, HistoryRecord

names = st.lists(st.text(min_size=1, max_size=12), max_size=4).map(tuple)


@given(event=st.sampled_from(["given", "declined"]), cid=st.text(min_size=1), name=st.none() | st.text(),
       purposes=names, categories=names, copies=names, now=st.integers(0, 2**33))
def test_a_record_round_trips(event: Any, cid: str, name: str | None, purposes: tuple[str, ...],
                              categories: tuple[str, ...], copies: tuple[str, ...], now: int) -> None:
    record = HistoryRecord.new(event, Controller(cid, name), now, purposes=purposes, legal_basis="dpv:Consent",
                               data_categories=categories, copy_ids=copies)
    assert HistoryRecord.from_dict(record.to_dict()) == record
    assert record.timestamp.endswith("Z")


def test_the_fields_are_the_consent_record_names() -> None:
    record = HistoryRecord.new("given", Controller("x509_hash:abc", "Front desk"), 0,
                               purposes=("dpv:HumanResourceManagement",), data_categories=("skill",))
    assert set(record.to_dict()) == {"record_id", "timestamp", "event", "controller", "purposes", "legal_basis",
                                     "data_categories", "credential_types", "copy_ids", "receipt"}


@pytest.mark.parametrize("change", [
    {"data_categories": [{"skill": "operate forklift"}]},  # a value smuggled in as a category
    {"data_categories": "skill"}, {"event": "maybe"}, {"controller": None}, {"receipt": "yes"},
])
def test_a_record_that_is_not_names_is_refused(change: dict[str, Any]) -> None:
    good = HistoryRecord.new("declined", Controller("c"), 0).to_dict()
    with pytest.raises(InvalidInput):
        HistoryRecord.from_dict(good | change)


def test_contents_round_trip_and_refuse_another_shape() -> None:
    contents = Contents("Amal", [Copy.new("ey.cred~", {"kty": "EC"}, "urn:x", "https://i", "b1", 5, None)],
                        [HistoryRecord.new("declined", Controller("c"), 0)])
    assert Contents.from_bytes(contents.to_bytes()) == contents
    for broken in (b"[]", b'{"version": 2}', b"not json", b'{"version":1,"name":null,"copies":[{"x":1}],"history":[]}'):
        with pytest.raises(VaultTampered):
            Contents.from_bytes(broken)


def test_a_moment_is_a_local_day_and_a_utc_minute_and_any_stamp_is_shown() -> None:
    """The history page's time of an entry (wallet.pages_history): an imported wallet's stamp
    that is not ISO 8601 is shown as it is (it raised, a 500), an offset is turned into UTC; the
    instant and the days a time zone can reach go with it, for the page's script."""
    from wallet.pages_history import _when

    assert _when("2026-12-05T06:41:12Z", "en") == {
        "day": "December 5, 2026", "time": "06:41", "at": "2026-12-05T06:41:12Z",
        "days": {"2026-12-04": "December 4, 2026", "2026-12-05": "December 5, 2026", "2026-12-06": "December 6, 2026"}}
    late = _when("2026-12-05T23:41:00-05:00", "en")
    assert (late["day"], late["time"], late["at"]) == ("December 6, 2026", "04:41", "2026-12-06T04:41:00Z")
    fa = _when("2026-12-05T06:41:12Z", "fa")
    assert fa["time"] == "۰۶:۴۱" and fa["days"]["2026-12-06"].startswith("۱۵ آذر ۱۴۰۵")  # Solar Hijri first
    assert _when("not a time", "ar") == {"day": "not a time", "time": ""}
    # helper-88: a day alone or a time in no zone is no instant (not moved); the calendars' ends are shown as written
    assert _when("2024-03-10", "en") == {"day": "March 10, 2024", "time": ""}
    assert _when("2024-03-10T06:30", "en") == {"day": "March 10, 2024", "time": "06:30"}
    for edge in ("0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "0001-01-01T00:00:00+01:00"):
        shown = _when(edge, "fa")
        assert "at" not in shown or shown["at"][:10] in shown["days"], edge


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=40), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                 st.dates().map(lambda d: d.isoformat())), st.sampled_from(["en", "fa", "ar", "ti"]))
def test_any_stamp_an_imported_wallet_carries_is_shown_and_an_instant_can_be_moved(stamp: str, lang: str) -> None:
    """Whatever an imported wallet's record says, "who saw what" shows it (no 500); what the page's
    script may move is an instant in UTC whose day, as the reader reads it, the server wrote."""
    from wallet.pages_history import _when

    shown = _when(stamp, lang)
    assert shown["day"] or not stamp.strip()
    if "at" in shown:
        assert shown["at"].endswith("Z") and shown["at"][:10] in shown["days"]


@pytest.mark.parametrize(("point", "said"), [("a", False), ("b", True), ("c", True), ("d", False), ("e", False),
                                             ("f", False)])
def test_only_a_contract_or_a_law_is_said_to_leave_nothing_to_take_back(point: str, said: bool) -> None:
    """Under Art. 6(1)(a) the holder withdraws; under (e) and (f) they may object (Art. 21): the
    history's "cannot be taken back" is for (b) and (c) alone (helper-85)."""
    from wallet import ledger

    pointer = {"record": {"purposes": [{"legal_basis_article": f"GDPR Art. 6(1)({point})"}]}}
    assert ledger.under_law_or_contract(pointer) is said
    assert ledger.under_law_or_contract(None) is False
