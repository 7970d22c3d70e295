"""Token Status List: the draft's own vectors, bounds, the zip-bomb cap, and the signed token."""

from __future__ import annotations

import json
import re
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import keys
from core.encoding import b64url_encode
from core.errors import (
    Expired,
    InvalidInput,
    InvalidSignature,
    InvalidTokenType,
    LimitExceeded,
    MalformedToken,
    NotYetValid,
)
from core.statuslist import INVALID, SUSPENDED, VALID, StatusList, sign_token, verify_token
from tests.conftest import NOW
from tests.conftest import VECTORS as ALL_VECTORS

VECTORS = ALL_VECTORS / "status-list"
DRAFT = (VECTORS / "draft-test-vectors.md").read_text()  # the draft's test-vector appendix


def _encoded(name: str) -> dict[str, object]:
    text = (VECTORS / name).read_text()
    return json.loads(re.sub(r"\s+", "", text[text.index("{"):]))


@pytest.mark.parametrize(("name", "byte_array"), [
    ("status_list_encoding_json.md", [0xB9, 0xA3]),
    ("status_list_encoding2_json.md", [0xC9, 0x44, 0xF9]),
])
def test_short_vectors_round_trip(name: str, byte_array: list[int]) -> None:
    expected = _encoded(name)
    decoded = StatusList.decode(expected)
    assert bytes(decoded.data) == bytes(byte_array)
    assert StatusList(decoded.bits, bytearray(byte_array)).encode() == expected


def _draft_statuses(bits: int) -> dict[int, int]:
    """The status[i] = 0b... lines of the draft's test-vector section for ``bits``."""
    section = DRAFT[DRAFT.index(f"## {bits}-bit Status List"):]
    section = section[: section.index("JSON encoding")]
    return {int(i): int(v, 2) for i, v in re.findall(r"status\[(\d+)\]\s*=\s*0b([01]+)", section)}


@pytest.mark.parametrize(("bits", "name"), [
    (1, "status_list_encoding1_long_json.md"),
    (2, "status_list_encoding2_long_json.md"),
    (4, "status_list_encoding4_json.md"),
    (8, "status_list_encoding8_json.md"),
])
def test_draft_vectors_of_two_to_the_twenty_entries(bits: int, name: str) -> None:
    statuses = _draft_statuses(bits)
    assert len(statuses) >= 10
    ours = StatusList.empty(2**20, bits)
    for idx, value in statuses.items():
        ours.set(idx, value)
    expected = _encoded(name)
    assert ours.encode() == expected  # byte-exact: DEFLATE in ZLIB at level 9, base64url
    theirs = StatusList.decode(expected)
    assert len(theirs) == 2**20
    assert {i: theirs.get(i) for i in statuses} == statuses
    assert theirs.get(1) == VALID or 1 in statuses


def test_set_and_get_keep_neighbours() -> None:
    sl = StatusList.empty(16, 2)
    sl.set(5, SUSPENDED)
    sl.set(6, INVALID)
    sl.set(5, VALID)
    assert [sl.get(i) for i in range(8)] == [0, 0, 0, 0, 0, 0, 1, 0]


@given(bits=st.sampled_from([1, 2, 4, 8]), data=st.data())
def test_random_lists_round_trip(bits: int, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 512))
    values = data.draw(st.lists(st.integers(0, 2**bits - 1), min_size=size, max_size=size))
    sl = StatusList.empty(size, bits)
    for i, v in enumerate(values):
        sl.set(i, v)
    back = StatusList.decode(json.loads(json.dumps(sl.encode())))
    assert [back.get(i) for i in range(size)] == values


def test_bounds_and_values_refused() -> None:
    sl = StatusList.empty(8, 1)
    for bad in (-1, 8):
        with pytest.raises(InvalidInput):
            sl.get(bad)
    with pytest.raises(InvalidInput):
        sl.set(0, 2)  # does not fit in one bit
    with pytest.raises(InvalidInput):
        StatusList(3, bytearray(1))


@pytest.mark.parametrize("obj", [
    {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}, {"bits": True, "lst": "eNrbuRgAAhcBXQ"}, {"bits": 1},
    {"bits": 1, "lst": b64url_encode(b"not zlib")},
    {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x00" * 100)[:-3])},  # truncated
    {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x00") + b"junk")},
    [1, 2],
])
def test_malformed_lists_refused(obj: object) -> None:
    with pytest.raises(MalformedToken):
        StatusList.decode(obj)


def test_decompression_bomb_refused() -> None:
    bomb = {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x00" * (64 * 1024 * 1024), 9))}
    assert len(bomb["lst"]) < 100_000  # 64 MiB in under 100 kB
    with pytest.raises(LimitExceeded):
        StatusList.decode(bomb, max_bytes=1024 * 1024)


URI = "https://issuer.amana.test/status/1"


def test_token_round_trip_and_rules() -> None:
    key = keys.generate("ES256")
    sl = StatusList.empty(1024)
    sl.set(7, INVALID)
    token = sign_token(sl, uri=URI, key=key, now=NOW, ttl=300, exp=NOW + 3600)
    got = verify_token(token, keys=[key.public_key()], uri=URI, now=NOW)
    assert got.status_list.get(7) == INVALID and got.ttl == 300 and got.iat == NOW
    with pytest.raises(MalformedToken):
        verify_token(token, keys=[key.public_key()], uri=URI + "x", now=NOW)  # sub must match uri
    with pytest.raises(Expired):
        verify_token(token, keys=[key.public_key()], uri=URI, now=NOW + 3600 + 60)
    with pytest.raises(InvalidSignature):
        verify_token(token, keys=[keys.generate("ES256", kid=key.kid).public_key()], uri=URI, now=NOW)


def test_token_typ_is_checked() -> None:
    from core import _jose

    key = keys.generate("ES256")
    token = _jose.sign_compact({"typ": "JWT"}, {"sub": URI, "iat": NOW, "status_list": StatusList.empty(8).encode()},
                               key)
    with pytest.raises(InvalidTokenType):
        verify_token(token, keys=[key.public_key()], uri=URI, now=NOW)


def _signed(key: keys.PrivateKey, **times: object) -> str:
    from core import _jose

    sl = StatusList.empty(8)
    sl.set(3, INVALID)
    return _jose.sign_compact({"typ": "statuslist+jwt"}, {"sub": URI, **times, "status_list": sl.encode()}, key)


def test_token_times_are_numeric_dates_fractions_too() -> None:
    """RFC 7519 section 2: a NumericDate is any JSON number. Another issuer's fractional ``iat``
    and ``exp`` are a valid token (every credential's status read "unknown" when only integers
    were taken); a boolean or a string is not a time."""
    key = keys.generate("ES256")
    got = verify_token(_signed(key, iat=NOW + 0.5, exp=NOW + 3600.25, nbf=NOW - 0.5), keys=[key.public_key()],
                       uri=URI, now=NOW)
    assert got.status_list.get(3) == INVALID and got.iat == NOW + 0.5 and got.exp == NOW + 3600.25
    for bad in ({"iat": True}, {"iat": str(NOW)}, {"iat": NOW, "exp": False}, {"iat": NOW, "nbf": "0"}, {}):
        with pytest.raises(MalformedToken):
            verify_token(_signed(key, **bad), keys=[key.public_key()], uri=URI, now=NOW)


def test_token_not_valid_before_its_nbf() -> None:
    """Token Status List section 5.1 rule 3 and RFC 7519 section 4.1.5: a token whose ``nbf`` is still
    ahead, beyond the clock skew, is refused; within the skew, or once reached, it is read."""
    key = keys.generate("ES256")
    ahead = _signed(key, iat=NOW, nbf=NOW + 30 * 86400)
    with pytest.raises(NotYetValid):
        verify_token(ahead, keys=[key.public_key()], uri=URI, now=NOW)
    assert verify_token(ahead, keys=[key.public_key()], uri=URI, now=NOW + 30 * 86400).status_list.get(3) == INVALID
    near = _signed(key, iat=NOW, nbf=NOW + 30)
    assert verify_token(near, keys=[key.public_key()], uri=URI, now=NOW, clock_skew_s=60).status_list.get(3) == INVALID
    with pytest.raises(NotYetValid):
        verify_token(near, keys=[key.public_key()], uri=URI, now=NOW, clock_skew_s=10)


def test_a_token_signed_under_rfc_9864s_name_for_ed25519_is_read() -> None:
    key = keys.generate("EdDSA")
    token = _jose_signed(key, {"alg": "Ed25519", "typ": "statuslist+jwt"})
    assert verify_token(token, keys=[key.public_key()], uri=URI, now=NOW).status_list.get(3) == INVALID


def _jose_signed(key: keys.PrivateKey, header: dict[str, str]) -> str:
    from core import _jose

    sl = StatusList.empty(8)
    sl.set(3, INVALID)
    return _jose.sign_compact(header, {"sub": URI, "iat": NOW, "status_list": sl.encode()}, key)


@pytest.mark.parametrize("member", ['"exp": 1e400', '"nbf": -1e400', '"ttl": 1e400', '"iat": 1e400'])
def test_an_infinite_time_is_no_numeric_date(member: str) -> None:
    """JSON's 1e400 would be infinity to a parser: "never expires" is no NumericDate, and an infinite
    ttl must not reach int() (an OverflowError, a 500 at the verifier). Refused by the strict JSON
    parser itself (core.encoding), for every token."""
    import json as stdjson

    key = keys.generate("ES256")
    claims = {"sub": URI, "status_list": StatusList.empty(8).encode()} | ({} if member.startswith('"iat"') else
                                                                          {"iat": NOW})
    payload = stdjson.dumps(claims)[:-1] + ", " + member + "}"  # written as text: no encoder writes 1e400
    signing_input = b64url_encode(b'{"alg":"ES256","typ":"statuslist+jwt"}') + "." + b64url_encode(payload.encode())
    token = signing_input + "." + b64url_encode(key.sign(signing_input.encode()))
    with pytest.raises(MalformedToken):
        verify_token(token, keys=[key.public_key()], uri=URI, now=NOW)


@given(st.text(max_size=200))
def test_an_accept_header_of_any_text_is_judged_never_raises(accept: str) -> None:
    from core.statuslist import accepts_token

    assert accepts_token(accept) in (True, False)


@given(st.lists(st.sampled_from(["text/html", "application/statuslist+cwt", "image/png", "application/json"]),
                max_size=4),
       st.sampled_from(["application/statuslist+jwt", "APPLICATION/*", "*/*"]), st.sampled_from(["", ";q=0.1", ";q=0"]))
def test_an_accept_header_takes_the_token_exactly_when_a_range_matching_it_weighs_above_zero(
        others: list[str], matching: str, weight: str) -> None:
    from core.statuslist import accepts_token

    assert accepts_token(", ".join(others)) is (not others)  # an empty header accepts anything
    assert accepts_token(", ".join([*others, matching + weight])) is (weight != ";q=0")


@given(st.text(max_size=200))
def test_an_accept_encoding_header_of_any_text_is_judged_never_raises(header: str) -> None:
    from core.statuslist import accepts_gzip

    assert accepts_gzip(header) in (True, False)


@given(st.lists(st.sampled_from(["br", "deflate;q=0.5", "zstd", "identity;q=0"]), max_size=3),
       st.sampled_from(["gzip", "GZIP", "x-gzip", "*"]), st.sampled_from(["", ";q=0.5", ";q=0", ";q=zero"]))
def test_gzip_is_taken_exactly_when_named_or_starred_with_a_weight_above_zero(
        others: list[str], coding: str, weight: str) -> None:
    """RFC 9110 section 12.5.3: no header and an empty one ask for no coding; ``gzip;q=0`` refuses
    gzip even beside ``*``; an unreadable weight accepts nothing."""
    from core.statuslist import accepts_gzip

    assert accepts_gzip(None) is False and accepts_gzip("") is False
    assert accepts_gzip(", ".join(others)) is False
    taken = weight in ("", ";q=0.5")
    assert accepts_gzip(", ".join([*others, coding + weight])) is taken
    if coding != "*":
        assert accepts_gzip(", ".join([coding + weight, "*;q=0.1"])) is taken  # named beats the wildcard


@pytest.mark.parametrize(("header", "gzipped"), [
    ("identity;q=1, gzip;q=0.1", False),  # the coding of the highest weight is preferred
    ("gzip;q=0.5, *", False),  # identity, through *, weighs 1
    ("gzip, identity;q=0.5", True),
    ("gzip;q=0.5, identity;q=0.5", True),  # a tie goes to the smaller body
    ("*", True),
    ("identity", False),
])
def test_gzip_is_not_chosen_over_an_identity_the_client_prefers(header: str, gzipped: bool) -> None:
    from core.statuslist import accepts_gzip

    assert accepts_gzip(header) is gzipped


@given(st.text(max_size=100))
def test_if_none_match_of_any_text_is_judged_never_raises(header: str) -> None:
    from core.http_cache import strong_etag, unchanged

    assert unchanged(header, strong_etag(b"token")) in (True, False)


def test_if_none_match_compares_weakly_and_star_matches_anything() -> None:
    """RFC 9110 section 13.1.2: ``If-None-Match`` uses the weak comparison; ``*`` is any current representation."""
    from core.http_cache import strong_etag, unchanged

    etag = strong_etag(b"token")
    for matching in (etag, f"W/{etag}", "*", f'"other", {etag}', f' W/"x" ,W/{etag} '):
        assert unchanged(matching, etag), matching
    for other in (None, "", '"other"', etag[:-2] + '"', f"W/{strong_etag(b'token', 'gzip')}", etag.strip('"')):
        assert not unchanged(other, etag), other
    assert strong_etag(b"token", "gzip") != etag and strong_etag(b"token") == etag
