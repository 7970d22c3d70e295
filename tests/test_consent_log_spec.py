"""specs/formats/consent-log.md §3, written again from the page alone (hashlib and json, not
consent.records), against the leaves the ledger makes: a second implementation of the bytes a
holder's receipt is checked by. helper-84, checking the log as an outsider, could recompute the
leaves only by keeping the member order the receipt happened to arrive in; the page now says the
order, and this test holds the code to it whatever order the members come in."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consent import pseudonym, receipts, records
from consent.ledger import Logged
from consent.records import Disclosure, Notice, SpecialCategories
from core import _jose, keys
from core.encoding import b64url_decode
from core.trust.model import TrustList
from tests.consent.world import DPV, GOV, NOW, STATUS, verifier

# The page's table, in its order; and the nested objects' orders.
RECORD_ORDER = ("record_id", "subject_id", "holder_key", "controller", "purposes", "legal_basis", "art9_condition",
                "data_categories", "special_categories", "credential_types", "recipients", "retention_s",
                "jurisdiction", "notice", "created_at")
NESTED_ORDER = {"holder_key": ("kty", "crv", "x", "y"), "controller": ("id", "name"), "notice": ("sha256", "language")}
VERIFIER = "https://labour-office.example"
NAME = 'مكتب العمل "الأول" \\ Labour office'  # non-ASCII, a quote and a backslash: §3's escaping
KEY = keys.generate("ES256")


def _json(value: Any) -> bytes:
    """§3's "one exact text"."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def spec_commitment(record: dict[str, Any], event: dict[str, Any]) -> bytes:
    """§3, from a receipt's ``record`` object and ``event`` (kind, at, actor, salt), in any member order."""
    ordered = {name: ({k: record[name][k] for k in NESTED_ORDER[name] if k in record[name]}
                      if name in NESTED_ORDER else record[name]) for name in RECORD_ORDER}
    record_digest = hashlib.sha256(_json(ordered)).hexdigest()
    event_bytes = _json({"v": 1, "record": record_digest, "subject": record["subject_id"], "event": event["kind"],
                         "at": event["at"], "actor": event["actor"]})
    return hashlib.sha256(b64url_decode(event["salt"]) + event_bytes).digest()


def _trust() -> TrustList:
    return TrustList(iss=GOV, seq=1, iat=NOW - 10, next_update=NOW + 86400,
                     verifiers=[verifier(VERIFIER, NAME, KEY, "HumanResourceManagement", "Consent")])


def _receipt(kind: str = "given") -> dict[str, Any]:
    """A receipt as the verifier signs it (consent.receipts.sign), its payload read back."""
    ledger_key = bytes(range(32))
    disclosure = Disclosure(pseudonym.subject_id(ledger_key, VERIFIER),
                            pseudonym.pairwise_key(ledger_key, VERIFIER).public_key().to_jwk(), VERIFIER,
                            (DPV + "HumanResourceManagement",), {STATUS: ("right_to_work", "valid_until")},
                            Notice.of("ما عُرض على الشاشة", "ar"), retention_s=3600,
                            record_id=pseudonym.record_id(pseudonym.subject_id(ledger_key, VERIFIER), "part"))
    record = records.build(disclosure, _trust(), SpecialCategories({STATUS: {}}), NOW)
    event = records.new_event(record.record_id, kind, NOW + 5, "holder" if kind == "withdrawn" else "controller")
    logged = Logged(record, event, event.commitment(record), 41)
    token = receipts.sign(logged, [event], KEY, VERIFIER, NOW)
    return _jose.parse_compact(token, "receipt").unverified_payload()


def test_the_page_recomputes_the_leaf_the_ledger_made() -> None:
    for kind in ("given", "withdrawn"):
        payload = _receipt(kind)
        assert payload["record"]["controller"]["name"] == NAME
        assert spec_commitment(payload["record"], payload["event"]) == b64url_decode(payload["leaf"])


def test_the_record_digest_is_over_the_members_in_the_pages_order_not_sorted() -> None:
    payload = _receipt()
    record = payload["record"]
    by_sorted_keys = json.dumps(record, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    event_bytes = _json({"v": 1, "record": hashlib.sha256(by_sorted_keys).hexdigest(), "subject": record["subject_id"],
                         "event": "given", "at": payload["event"]["at"], "actor": payload["event"]["actor"]})
    sorted_leaf = hashlib.sha256(b64url_decode(payload["event"]["salt"]) + event_bytes).digest()
    assert sorted_leaf != b64url_decode(payload["leaf"])  # an implementation that sorts is wrong, and told so


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_members_arrive_in_changes_nothing(shuffle: Any) -> None:
    payload = _receipt()
    names = list(payload["record"])
    shuffle.shuffle(names)
    arrived = {name: payload["record"][name] for name in names}
    for nested in NESTED_ORDER:
        inner = list(arrived[nested])
        shuffle.shuffle(inner)
        arrived[nested] = {k: arrived[nested][k] for k in inner}
    assert spec_commitment(arrived, payload["event"]) == b64url_decode(payload["leaf"])
