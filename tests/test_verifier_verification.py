"""The verification engine's verdict (verifier.verification.decide), pure: a credential whose status
fails the check's policy is discarded (OpenID4VP 1.0 section 8.6), the check stands on the others if
they still answer the query, and never on nothing, even when every credential set is optional."""

from __future__ import annotations

from core import dcql
from verifier.verification import CheckedCredential, Expectation, Status, decide

QUERY = dcql.parse({"credentials": [{"id": q, "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:x"]}}
                                    for q in ("a", "b")],
                    "credential_sets": [{"options": [["a"], ["b"]], "required": False}]})
EXPECT = Expectation("x509_hash:verifier", "nonce", QUERY)


def _checked(query_id: str) -> CheckedCredential:
    return CheckedCredential(query_id, "urn:x", "https://issuer.example", {}, {}, (), None)


def test_a_failing_status_is_discarded_and_the_others_stand() -> None:
    kept = decide([_checked("a"), _checked("b")], [Status.REVOKED, Status.VALID], EXPECT)
    assert kept.accepted and [c.query_id for c in kept.credentials] == ["b"] and kept.statuses == (Status.VALID,)


def test_nothing_left_is_never_accepted_even_when_every_set_is_optional() -> None:
    for status, reason in ((Status.REVOKED, "revoked"), (Status.SUSPENDED, "suspended"),
                           (Status.UNKNOWN, "status_unknown")):
        refused = decide([_checked("a")], [status], EXPECT)
        assert not refused.accepted and refused.reason == reason
        assert refused.statuses == (status,) and len(refused.credentials) == 1  # the desk is shown why


def test_an_unknown_status_stands_where_the_check_accepts_it() -> None:
    lenient = Expectation("x509_hash:verifier", "nonce", QUERY, accept_unknown_status=True)
    assert decide([_checked("a")], [Status.UNKNOWN], lenient).accepted
