"""The offline QR decoder: every one-byte change refused, Base45 a strict bijection, typed errors only."""

from __future__ import annotations

import contextlib
import json

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import AmanaError, MalformedOfflineQR
from core.offline import base45, decode, nonce_qr, parse_nonce_qr
from tests.offline_kit import VECTOR_DIR, World, one_byte_changes

VECTOR = json.loads((VECTOR_DIR / "vector.json").read_text(encoding="utf-8"))
PAYLOAD = base45.decode(VECTOR["qr"][4:])


def test_every_one_byte_change_of_the_payload_is_refused() -> None:
    world = World()
    tried = 0
    for changed in one_byte_changes(PAYLOAD):
        with pytest.raises(AmanaError):
            world.verify("AO1:" + base45.encode(changed), now=VECTOR["now"])
        tried += 1
    assert tried > 9 * len(PAYLOAD)
    assert world.verify(VECTOR["qr"], now=VECTOR["now"]).claims == VECTOR["verified_claims"]  # and the original passes


def test_every_one_character_change_of_the_qr_text_is_refused() -> None:
    world, text = World(), VECTOR["qr"]
    for i in range(len(text)):
        for c in {"0", "Z", ":", " "} - {text[i]}:
            with pytest.raises(AmanaError):
                world.verify(text[:i] + c + text[i + 1 :], now=VECTOR["now"])


def test_non_deterministic_cbor_of_the_same_presentation_is_refused() -> None:
    item = cbor2.loads(PAYLOAD)
    # the same value with an over-long length for the outer array: 0x98 0x03 instead of 0x83
    longer = b"\x98\x03" + PAYLOAD[1:]
    assert cbor2.loads(longer) == item
    with pytest.raises(MalformedOfflineQR):
        decode("AO1:" + base45.encode(longer))


@given(st.binary(max_size=600))
def test_base45_round_trips(data: bytes) -> None:
    text = base45.encode(data)
    assert base45.decode(text) == data
    assert set(text) <= set(base45.ALPHABET)


@given(st.text(alphabet=base45.ALPHABET, max_size=60))
def test_base45_accepts_one_text_per_byte_string(text: str) -> None:
    try:
        data = base45.decode(text)
    except MalformedOfflineQR:
        return
    assert base45.encode(data) == text


@pytest.mark.parametrize("text", ["A", "ABCD", "GGW", "GGWGGW", "a1", "0\n", "::"])
def test_base45_refuses_what_rfc_9285_calls_invalid(text: str) -> None:
    with pytest.raises(MalformedOfflineQR):
        base45.decode(text)


def test_base45_matches_the_rfc_9285_examples() -> None:
    assert base45.encode(b"AB") == "BB8"
    assert base45.encode(b"Hello!!") == "%69 VD92EX0"
    assert base45.encode(b"base-45") == "UJCLQE7W581"
    assert base45.decode("QED8WEX0") == b"ietf!"


@settings(max_examples=300)
@given(st.binary(max_size=700))
def test_any_payload_gives_a_presentation_or_a_typed_error(data: bytes) -> None:
    with contextlib.suppress(AmanaError):
        decode("AO1:" + base45.encode(data))


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_gives_a_typed_error(text: str) -> None:
    with pytest.raises(AmanaError):
        World().verify(text)


_cbor_items = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.binary(max_size=70) | st.text(max_size=20)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.integers(-30, 30) | st.text(max_size=3), inner,
                                                              max_size=5),
    max_leaves=20)


@settings(max_examples=300)
@given(st.lists(_cbor_items, min_size=3, max_size=3))
def test_any_cbor_structure_gives_a_presentation_or_a_typed_error(item: list[object]) -> None:
    with contextlib.suppress(AmanaError):
        decode("AO1:" + base45.encode(cbor2.dumps(item, canonical=True)))


@settings(max_examples=200)
@given(st.integers(0, len(PAYLOAD) - 1), st.binary(min_size=1, max_size=8))
def test_spliced_payloads_are_refused(at: int, junk: bytes) -> None:
    changed = PAYLOAD[:at] + junk + PAYLOAD[at + len(junk):]
    if changed == PAYLOAD:
        return
    with pytest.raises(AmanaError):
        World().verify("AO1:" + base45.encode(changed), now=VECTOR["now"])


def test_the_nonce_qr_round_trips_and_is_strict() -> None:
    nonce = bytes.fromhex(VECTOR["nonce"])
    text = nonce_qr(nonce)
    assert text.startswith("AON1:") and parse_nonce_qr(text) == nonce
    for bad in ("AON1:", "AO1:" + text[5:], text + "0", nonce_qr(bytes(8))[:-1]):
        with pytest.raises(MalformedOfflineQR):
            parse_nonce_qr(bad)


def _shared_value_bomb(levels: int, fan_out: int) -> bytes:
    """Each level an array of ``fan_out`` references to the level below (RFC 8746's shared values,
    tags 28 and 29): a few hundred bytes that name ``fan_out ** levels`` items."""
    data = b"\xd8\x1c\x81\x01"
    for level in range(1, levels):
        data = b"\xd8\x1c" + bytes([0x80 + fan_out]) + data + (b"\xd8\x1d" + bytes([levels - level])) * (fan_out - 1)
    return data


@pytest.mark.parametrize(("levels", "fan_out", "refusal"), [
    (3, 3, "not deterministically encoded"),  # few enough items to walk: refused as not the plain encoding
    (8, 20, "more items than its bytes"),  # 20^8: without the budget, no end in a test's lifetime
])
def test_shared_values_are_refused_before_they_are_walked(levels: int, fan_out: int, refusal: str) -> None:
    """640 characters of QR named 20^8 items; walking them froze the desk's node (helper-62). A
    tree of items cannot hold more items than bytes, so the walk stops after as many."""
    bomb = _shared_value_bomb(levels, fan_out)
    shared = cbor2.loads(bomb)
    assert shared[0] is shared[-1]  # one object, named many times
    with pytest.raises(MalformedOfflineQR, match=refusal):
        decode("AO1:" + base45.encode(bomb))
