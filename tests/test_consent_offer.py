"""The consent offer a wallet sends beside its answer (``consent.pseudonym.disclosure_offer``), as
the verifier checks it before it records the disclosure under the holder's pseudonym. The offer is
the holder's own, self-signed: any member may hold any JSON, and each must be refused as a bad offer
(``HolderProofInvalid``), never another exception ("aud": [] was a TypeError, a set's ``in`` on an
unhashable value; a lone surrogate in "rid" failed at its hash: helper-78)."""

from __future__ import annotations

import pytest

from consent import pseudonym
from consent.pseudonym import HolderProofInvalid
from core import _jose
from tests.craft import signed_as_escapes

NONCE, NOW, VERIFIER = "nonce-0123456789", 1_800_000_000, "https://verifier.example"
AUDIENCES = frozenset({VERIFIER})
NOTICE = "a" * 64


def _offer(ledger_key: bytes, **changes: object) -> str:
    made = pseudonym.disclosure_offer(ledger_key, VERIFIER, "record-1", NOTICE, "ar", NONCE, NOW)
    if not changes:
        return made
    jws = _jose.parse_compact(made)
    return signed_as_escapes(jws.unverified_header, {**jws.unverified_payload(), **changes},
                             pseudonym.pairwise_key(ledger_key, VERIFIER))


def test_the_wallets_offer_checks_out() -> None:
    key = pseudonym.new_ledger_key()
    sub, rid, notice, lang, jwk = pseudonym.check_disclosure_offer(_offer(key), AUDIENCES, NONCE)
    assert (sub, rid, notice, lang) == (pseudonym.subject_id(key, VERIFIER), "record-1", NOTICE, "ar")
    assert set(jwk) == {"kty", "crv", "x"}


@pytest.mark.parametrize("changes", [
    {"aud": ["https://verifier.example"]}, {"aud": {"a": 1}}, {"aud": "https://other.example"}, {"aud": None},
    {"nonce": "another"}, {"nonce": ["nonce-0123456789"]},
    {"rid": "\ud800"}, {"rid": ""}, {"rid": "r" * 65}, {"rid": ["record-1"]},
    {"sub": "Amal Haddad"}, {"notice": "A" * 64}, {"lang": ["ar"]}, {"lang": "\udc00"},
])
def test_an_offer_for_another_request_or_of_another_shape_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(HolderProofInvalid):
        pseudonym.check_disclosure_offer(_offer(pseudonym.new_ledger_key(), **changes), AUDIENCES, NONCE)
