"""issuer.nonces: minted c_nonces are bound to their organisation and expire by their content."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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
