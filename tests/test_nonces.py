"""issuer.nonces: minted c_nonces are bound to their organisation and expire by their content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from core.errors import InvalidInput
from issuer import nonces


def _digest(purpose: str, value: str) -> str:
    import hashlib
    import hmac

    return hmac.new(b"k" * 32, f"{purpose}\\x00{value}".encode(), hashlib.sha256).hexdigest()


def test_genuine_nonce_accepted_until_expiry() -> None:
    nonce = nonces.mint(_digest, "org-a", 1_000)
    assert nonces.expiry_if_genuine(_digest, "org-a", nonce, 1_000) == 1_000 + nonces.NONCE_TTL_S
    assert nonces.expiry_if_genuine(_digest, "org-a", nonce, 1_000 + nonces.NONCE_TTL_S) is None
    assert nonces.expiry_if_genuine(_digest, "org-b", nonce, 1_000) is None


def test_a_changed_expiry_breaks_the_tag() -> None:
    expiry, rest = nonces.mint(_digest, "org-a", 1_000).split(".", 1)
    assert nonces.expiry_if_genuine(_digest, "org-a", f"{int(expiry) + 100}.{rest}", 1_000) is None


@given(st.text(max_size=80))
def test_any_other_string_is_not_genuine(text: str) -> None:
    assert nonces.expiry_if_genuine(_digest, "org-a", text, 1_000) is None


@pytest.mark.parametrize("digits", ["²", "¹²³", "٣٣", "1²"])
def test_digits_python_reads_as_digits_but_int_may_not_are_a_plain_no(digits: str) -> None:
    """``"²".isdigit()`` is True and ``int("²")`` raises: a nonce, a DPoP nonce, a page cursor or
    a claim-set choice led with one was a 500 (helper-63 found the consent form's); now each is
    the same refusal as any other bad value."""
    from issuer import dpop, staff_api
    from wallet import pages_present

    assert nonces.expiry_if_genuine(_digest, "org-a", f"{digits}.x.y", 1_000) is None
    assert dpop.nonce_is_fresh(_digest, "scope", f"{digits}.x.y", 1_000) is False
    with pytest.raises(InvalidInput):
        staff_api.page_cursor(f"{digits}.last-id")
    assert pages_present._choice(FormData([("card:skill", "card-1"), ("set:skill", digits)])).claim_sets == {}
