"""verifier.resolve.read: what a signed status list says at an index, its verification remembered
per token, uri and key (issue 15) without ever lending one list's verdict to another question."""

from __future__ import annotations

from typing import Any

import pytest

from core import keys
from core.statuslist import INVALID, StatusList, sign_token, verify_token
from tests import craft
from tests.conftest import NOW
from verifier import resolve
from verifier.verification import Status

URI = "https://ngo.amana.test/status/1"


@pytest.fixture
def token() -> tuple[str, keys.PrivateKey]:
    statuses = StatusList.empty(16)
    statuses.set(3, INVALID)
    key = keys.generate(kid="k1")
    return sign_token(statuses, uri=URI, key=key, now=NOW, ttl=300, exp=NOW + 600), key


def test_a_remembered_list_answers_only_the_question_it_was_verified_for(
        token: tuple[str, keys.PrivateKey], monkeypatch: pytest.MonkeyPatch) -> None:
    text, key = token
    calls: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["uri"])
        return verify_token(*args, **kwargs)

    monkeypatch.setattr(resolve, "verify_token", counted)
    first = resolve.read(text, (URI, 3), [key.public_key()], NOW, NOW)
    assert first is not None and first.status is Status.REVOKED
    again = resolve.read(text, (URI, 2), [key.public_key()], NOW + 10, NOW)
    assert again is not None and again.status is Status.VALID and len(calls) == 1  # verified once
    # another key with the same kid and alg (PublicKey compares only those): not the key that signed
    impostor = keys.generate(kid="k1").public_key()
    assert resolve.read(text, (URI, 3), [impostor], NOW, NOW) is None
    assert resolve.read(text, ("https://ngo.amana.test/status/2", 3), [key.public_key()], NOW, NOW) is None
    assert resolve.read(craft.spoiled(text), (URI, 3), [key.public_key()], NOW, NOW) is None
    # expiry is judged at every read, with verify_token's own allowance for clock skew
    assert resolve.read(text, (URI, 3), [key.public_key()], NOW + 600 + 59, NOW) is not None
    assert resolve.read(text, (URI, 3), [key.public_key()], NOW + 600 + 60, NOW) is None
