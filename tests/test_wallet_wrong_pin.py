"""A wrong PIN, as the holder hears it (specs/formats/token-errors.md): our issuer says how many
tries an offer still takes (``tx_code_tries_left`` beside OpenID4VCI 1.0's ``invalid_grant``), the
next version says ``invalid_tx_code``, and the wallet tells "type it again, N tries left" from "the
offer no longer works" from "maybe the PIN, maybe the offer", which is all a plain ``invalid_grant``
says. End to end against a node on loopback, and the reading of any answer (hypothesis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import i18n
from core.credtypes import TypeRegistry
from core.errors import AmanaError
from issuer.offers import MAX_PIN_FAILURES
from tests.node import RunningNode
from tests.test_verifier_flow import STATUS_EXAMPLE, World
from wallet import page_kit, receive, wrong_pin
from wallet.credential_request import IssuanceFailed
from wallet.wrong_pin import PinLength, PinTriesUsedUp, WrongPin

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("wrong-pin")
    with RunningNode(data_dir) as node:
        yield World(node, data_dir)


def _offer(world: World) -> dict[str, Any]:
    made = httpx.post(f"{world.base}/api/issuer/offers", json={"type": "RegistrationStatus", "claims": STATUS_EXAMPLE},
                      headers={"Authorization": f"Bearer {world.city['api_key']}"})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _receive(link: str, pin: str, types: TypeRegistry) -> BaseException | None:
    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            await receive.receive(http, link, pin, copies=1, types=types)
    try:
        asyncio.run(go())
    except AmanaError as exc:  # an issuance that failed, or a PIN refused before anything was sent
        return exc
    return None


def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10**6:06d}"


def test_each_wrong_pin_says_the_tries_left_and_the_last_says_the_offer_is_locked(world: World,
                                                                                   types: TypeRegistry) -> None:
    offer = _offer(world)
    for n in range(MAX_PIN_FAILURES - 1, 0, -1):
        refused = _receive(offer["link"], _wrong(offer["pin"]), types)
        assert isinstance(refused, WrongPin) and refused.tries_left == n and refused.code == "wrong_pin"
        assert "invalid_grant" in refused.detail  # the protocol's own word is still named
        assert page_kit.error_text(refused, "en") == i18n.t("en", "wallet.err.wrong_pin_tries_left", n=n)
        assert f"{n}" in page_kit.error_text(refused, "ar")  # every language shows the count
    last = _receive(offer["link"], _wrong(offer["pin"]), types)
    assert isinstance(last, PinTriesUsedUp) and last.code == "pin_tries_used_up"
    assert page_kit.error_text(last, "en") == i18n.t("en", "wallet.err.pin_tries_used_up")
    # now locked: even the right PIN is refused, as a used or ended offer is: no count, no "wrong PIN"
    after = _receive(offer["link"], offer["pin"], types)
    assert type(after) is IssuanceFailed and after.code == "issuance_failed"
    assert page_kit.error_text(after, "en") == i18n.t("en", "wallet.err.issuance_failed")


def test_the_right_pin_after_a_wrong_one_still_receives(world: World, types: TypeRegistry) -> None:
    offer = _offer(world)
    assert isinstance(_receive(offer["link"], _wrong(offer["pin"]), types), WrongPin)
    assert _receive(offer["link"], offer["pin"], types) is None


def test_a_pin_of_another_length_is_not_sent_and_costs_no_try(world: World, types: TypeRegistry) -> None:
    """The offer says the PIN's length (section 4.1.1): a digit missing or one too many is said at once,
    and the issuer never sees it (the next wrong PIN still has all but one of its tries)."""
    offer = _offer(world)
    for typed in (offer["pin"][:-1], offer["pin"] + "1", "٠" * 5):
        refused = _receive(offer["link"], typed, types)
        assert isinstance(refused, PinLength) and refused.length == len(offer["pin"]) and refused.code == "pin_length"
        assert page_kit.error_text(refused, "en") == i18n.t("en", "wallet.err.pin_length", n=len(offer["pin"]))
    after = _receive(offer["link"], _wrong(offer["pin"]), types)
    assert isinstance(after, WrongPin) and after.tries_left == MAX_PIN_FAILURES - 1


@pytest.mark.parametrize(("body", "kind", "left"), [
    ({"error": "invalid_grant", "tx_code_tries_left": 2}, WrongPin, 2),
    ({"error": "invalid_grant", "tx_code_tries_left": 0}, PinTriesUsedUp, None),
    ({"error": "invalid_tx_code"}, WrongPin, None),  # OpenID4VCI's next version
    ({"error": "invalid_tx_code", "tx_code_tries_left": 3}, WrongPin, None),  # our member rides on invalid_grant only
    ({"error": "invalid_grant"}, IssuanceFailed, None),  # 1.0: PIN, or a used or ended offer: we cannot tell
    ({"error": "invalid_grant", "tx_code_tries_left": True}, IssuanceFailed, None),  # not a count
    ({"error": "invalid_grant", "tx_code_tries_left": -1}, IssuanceFailed, None),
    ({"error": "invalid_grant", "tx_code_tries_left": "2"}, IssuanceFailed, None),
    ({"error": "invalid_grant", "tx_code_tries_left": 2.0}, IssuanceFailed, None),
    ({"error": "invalid_grant", "tx_code_tries_left": 100}, WrongPin, 100),
    ({"error": "invalid_grant", "tx_code_tries_left": 101}, IssuanceFailed, None),  # no count an issuer means
    ({"error": "invalid_grant", "tx_code_tries_left": 10**4300}, IssuanceFailed, None),
    ({"error": "invalid_request"}, IssuanceFailed, None),
])
def test_a_token_refusal_is_read_for_what_the_holder_can_do(body: dict[str, Any], kind: type, left: int | None) -> None:
    refused = wrong_pin.refusal("token", body, 400)
    assert type(refused) is kind and refused.detail.startswith(f"token: {body['error']}")
    assert getattr(refused, "tries_left", None) == left


def test_only_the_token_step_reads_a_wrong_pin() -> None:
    """A credential or nonce endpoint that says the same is not about the PIN the holder typed."""
    refused = wrong_pin.refusal("credential", {"error": "invalid_grant", "tx_code_tries_left": 2}, 400)
    assert type(refused) is IssuanceFailed and refused.detail == "credential: invalid_grant"


@given(error=st.one_of(st.sampled_from(["invalid_grant", "invalid_tx_code"]), JSON), left=JSON,
       step=st.sampled_from(["token", "credential"]), status=st.integers(400, 599))
def test_any_refusal_is_an_issuance_failure_and_a_count_only_when_it_is_one(error: Any, left: Any, step: str,
                                                                            status: int) -> None:
    refused = wrong_pin.refusal(step, {"error": error, "tx_code_tries_left": left}, status)
    assert isinstance(refused, IssuanceFailed) and refused.detail.startswith(f"{step}: ")
    counted = step == "token" and error == "invalid_grant" and type(left) is int and 0 <= left <= 100
    said_wrong = step == "token" and error == "invalid_tx_code"
    assert isinstance(refused, (WrongPin, PinTriesUsedUp)) == (counted or said_wrong)
    if isinstance(refused, WrongPin) and refused.tries_left is not None:
        assert refused.tries_left == left and left > 0
        page_kit.error_text(refused, "ar")  # any count renders


@pytest.mark.parametrize(("tx_code", "typed", "sent"), [
    ({"length": 6}, "12 34 56", "123456"),
    ({"length": 6}, "١٢٣٤٥٦", "123456"),
    ({}, "1234", "1234"),  # no length named: any
    ({"length": True}, "1234", "1234"),  # not a length
    ({"length": 0}, "1234", "1234"),
    ({"length": 65}, "1234", "1234"),
    ({"length": "6"}, "1234", "1234"),
])
def test_the_length_is_checked_only_when_the_offer_names_one(tx_code: dict[str, Any], typed: str, sent: str) -> None:
    from core.digits import ascii_digits

    assert wrong_pin.check_length(ascii_digits(typed), tx_code) == sent


def test_no_pin_typed_is_said_as_such_and_not_sent() -> None:
    """helper-89: an empty field was told "the PIN has 6 digits"; an offer with no PIN takes none."""
    for tx_code in ({"length": 6}, {}):
        with pytest.raises(wrong_pin.PinMissing) as refused:
            wrong_pin.check_length("", tx_code)
        assert page_kit.error_text(refused.value, "ti") == i18n.t("ti", "wallet.err.pin_missing")
    assert wrong_pin.check_length("", None) == ""


@given(length=st.integers(1, 64), typed=st.text(alphabet="0123456789", max_size=70))
def test_a_named_length_lets_through_exactly_that_many_digits(length: int, typed: str) -> None:
    try:
        assert wrong_pin.check_length(typed, {"length": length}) == typed and len(typed) == length
    except PinLength as refused:
        assert len(typed) != length and refused.length == length
