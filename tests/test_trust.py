"""Trust list (issue 3): signing and verification, rollback, and the two policy questions."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import keys
from core.encoding import b64url_json
from core.errors import (
    AmanaError,
    InvalidSignature,
    InvalidTokenType,
    InvalidTrustList,
    IssuedInFuture,
    IssuerNotAccredited,
    IssuerSuspended,
    PurposeNotRegistered,
    RequestExceedsRegistration,
    TrustListConflict,
    TrustListExpired,
    TrustListRollback,
    UnknownIssuerKey,
    UnsupportedAlgorithm,
    VerifierNotRegistered,
)
from core.sdjwt.paths import ClaimPath
from core.sdjwt.vc import issue_vc, verify_vc_issued
from core.trust import (
    AccreditedIssuer,
    Refusal,
    SuspensionPolicy,
    TrustListCache,
    check_issuer,
    choose_newer,
    issuer_keys,
    issuer_may_issue,
    require_within_registration,
    verifier_may_request,
    verify,
)
from core.trust.model import PurposeRegistration, RegisteredVerifier, TrustList, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, set_issuer_suspension, sign_draft
from tests import craft
from tests.conftest import NOW

GOV, NGO, CITY, EMPLOYER = (f"https://{n}.amana.test" for n in ("gov", "ngo", "city", "employer"))
SKILL = "urn:amana:credential:SkillCertificate:1"
STATUS = "urn:amana:credential:RegistrationStatus:1"
HR = "https://w3id.org/dpv#HumanResourceManagement"
SUSPENDED_AT = NOW + 1000


@pytest.fixture(scope="module")
def gov() -> keys.PrivateKey:
    return keys.generate("ES256")


@pytest.fixture(scope="module")
def ngo_key() -> keys.PrivateKey:
    return keys.generate("ES256")


def _issuer(issuer_id: str, key: keys.PrivateKey, vcts: list[str], **extra: Any) -> AccreditedIssuer:
    doc = {"id": issuer_id, "names": {"en": "x", "ar": "س"}, "jwks": keys.jwks([key.public_key()]),
           "vcts": vcts, "valid_from": NOW - 86400, **extra}
    return parse(AccreditedIssuer, doc)


def _signed(gov: keys.PrivateKey, ngo_key: keys.PrivateKey, *, seq: int = 0, now: int = NOW) -> str:
    draft = new_draft(GOV).model_copy(update={"seq": seq})
    draft = put_issuer(draft, _issuer(NGO, ngo_key, [SKILL]))[0]
    draft = put_issuer(draft, _issuer(CITY, keys.generate("EdDSA"), [STATUS], suspended_from=SUSPENDED_AT))[0]
    registration = parse(PurposeRegistration, {
        "purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
        "credentials": [{"vct": STATUS, "claims": [["right_to_work"], ["valid_until"]]},
                        {"vct": SKILL, "claims": [["skill"], ["achievements", None, "title"]]}],
    })
    verifier = parse(RegisteredVerifier, {"id": EMPLOYER, "names": {"en": "Employer"},
                                          "jwks": keys.jwks([keys.generate().public_key()]),
                                          "registrations": [registration.model_dump(mode="json")]})
    draft = put_verifier_purpose(draft, verifier, registration)[0]
    return sign_draft(draft, gov, now)[0]


@pytest.fixture(scope="module")
def tl(gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> TrustList:
    return verify(_signed(gov, ngo_key), governance_keys=[gov.public_key()], now=NOW).content


# --- issuers ---------------------------------------------------------------------------


def test_accredited_issuer_allowed_for_its_type(tl: TrustList) -> None:
    decision = issuer_may_issue(tl, NGO, SKILL, NOW)
    assert decision and decision.issuer is not None and decision.issuer.id == NGO


def test_unlisted_issuer_refused(tl: TrustList) -> None:
    decision = issuer_may_issue(tl, "https://diploma-mill.test", SKILL, NOW)
    assert not decision and decision.refusal is Refusal.UNLISTED
    with pytest.raises(IssuerNotAccredited):
        decision.raise_if_refused()


def test_issuer_accredited_for_skills_cannot_issue_registration_status(tl: TrustList) -> None:
    decision = issuer_may_issue(tl, NGO, STATUS, NOW)
    assert decision.refusal is Refusal.TYPE_NOT_ACCREDITED


def test_issuer_id_is_compared_exactly(tl: TrustList) -> None:
    assert issuer_may_issue(tl, NGO + "/", SKILL, NOW).refusal is Refusal.UNLISTED


def test_accreditation_window(tl: TrustList, ngo_key: keys.PrivateKey) -> None:
    ended = tl.model_copy(update={"issuers": [_issuer(NGO, ngo_key, [SKILL], valid_until=NOW)]})
    assert issuer_may_issue(ended, NGO, SKILL, NOW - 86401).refusal is Refusal.NOT_YET_ACCREDITED
    assert issuer_may_issue(ended, NGO, SKILL, NOW - 1)
    assert issuer_may_issue(ended, NGO, SKILL, NOW).refusal is Refusal.ACCREDITATION_ENDED
    # An accreditation that ended is judged at the credential's iat: earlier credentials stay good.
    assert check_issuer(ended, iss=NGO, vct=SKILL, issued_at=NOW - 10, now=NOW + 10**6).id == NGO


def test_suspended_issuer_refused_from_its_suspension_time(tl: TrustList) -> None:
    assert issuer_may_issue(tl, CITY, STATUS, SUSPENDED_AT - 1)
    refused = issuer_may_issue(tl, CITY, STATUS, SUSPENDED_AT)
    assert refused.refusal is Refusal.SUSPENDED
    with pytest.raises(IssuerSuspended):
        refused.raise_if_refused()


def test_credentials_issued_before_a_suspension_follow_the_policy(tl: TrustList) -> None:
    before, after = SUSPENDED_AT - 100, SUSPENDED_AT + 100
    assert check_issuer(tl, iss=CITY, vct=STATUS, issued_at=before, now=before + 1).id == CITY
    with pytest.raises(IssuerSuspended):  # the default: every credential, from the suspension on
        check_issuer(tl, iss=CITY, vct=STATUS, issued_at=before, now=after)
    honoured = check_issuer(tl, iss=CITY, vct=STATUS, issued_at=before, now=after,
                            suspension=SuspensionPolicy.HONOUR_EARLIER)
    assert honoured.id == CITY
    with pytest.raises(IssuerSuspended):  # issued after the suspension: refused under either policy
        check_issuer(tl, iss=CITY, vct=STATUS, issued_at=after, now=after, suspension=SuspensionPolicy.HONOUR_EARLIER)


def test_issuer_keys_come_from_the_list(tl: TrustList, ngo_key: keys.PrivateKey, types: Any) -> None:
    ctype = types.by_name("SkillCertificate")
    holder = keys.generate()
    vc = issue_vc(ctype, ctype.example, issuer=NGO, issuer_key=ngo_key, holder_key=holder.public_key(),
                  now=NOW, valid_for_s=86400)
    held = verify_vc_issued(vc, issuer_keys=lambda _h, p: issuer_keys(tl, str(p.get("iss"))), now=NOW, types=types)
    assert held.issuer == NGO
    assert issuer_keys(tl, "https://diploma-mill.test") == []


def test_an_entry_s_keys_are_parsed_once_and_follow_its_jwks(tl: TrustList, ngo_key: keys.PrivateKey) -> None:
    """An entry's keys are parsed once (issue 15): the same key objects at every call, in a list
    the caller may extend without changing the next answer. A copy of the entry with other keys
    (the operator's tools copy entries) answers with its own keys, not the cached ones."""
    entry = tl.issuer(NGO)
    assert entry is not None
    first = entry.public_keys()
    first.append(keys.generate().public_key())
    second = entry.public_keys()
    assert len(second) == 1 and second[0] is first[0] and second[0].to_jwk() == ngo_key.public_key().to_jwk()
    other = keys.generate().public_key()
    rekeyed = entry.model_copy(update={"jwks": {"keys": [other.to_jwk()]}})
    assert [k.to_jwk() for k in rekeyed.public_keys()] == [other.to_jwk()]
    assert [k.to_jwk() for k in entry.public_keys()] == [ngo_key.public_key().to_jwk()]


# --- verifiers -------------------------------------------------------------------------


def _req(*pairs: tuple[str, ClaimPath]) -> list[tuple[str, ClaimPath]]:
    return list(pairs)


def test_verifier_within_registration_has_no_excess(tl: TrustList) -> None:
    asked = _req((STATUS, ("right_to_work",)), (SKILL, ("skill", "label")), (SKILL, ("achievements", 0, "title")))
    assert verifier_may_request(tl, EMPLOYER, HR, asked) == frozenset()
    require_within_registration(tl, EMPLOYER, HR, asked)


def test_verifier_asking_beyond_its_registration_gets_the_exact_excess(tl: TrustList) -> None:
    asked = _req(
        (STATUS, ("right_to_work",)),
        (STATUS, ("registration_number",)),  # not registered
        (SKILL, ("holder", "family_name")),  # not registered
        (SKILL, ("achievements", None)),  # the whole element, where only .title is registered
        ("urn:amana:credential:IdentityBasic:1", ("age_over_18",)),  # a type not registered at all
    )
    excess = verifier_may_request(tl, EMPLOYER, HR, asked)
    assert excess == frozenset(asked[1:])
    with pytest.raises(RequestExceedsRegistration) as err:
        require_within_registration(tl, EMPLOYER, HR, asked)
    assert "registration_number" in err.value.detail


def test_unknown_verifier_and_unregistered_purpose_refused(tl: TrustList) -> None:
    with pytest.raises(VerifierNotRegistered):
        verifier_may_request(tl, "https://snoop.test", HR, [])
    with pytest.raises(PurposeNotRegistered):
        verifier_may_request(tl, EMPLOYER, "https://w3id.org/dpv#Marketing", [(STATUS, ("right_to_work",))])


def test_suspended_verifier_refused(tl: TrustList) -> None:
    verifiers = [v.model_copy(update={"suspended_from": NOW}) for v in tl.verifiers]
    suspended = tl.model_copy(update={"verifiers": verifiers})
    assert verifier_may_request(suspended, EMPLOYER, HR, [], at=NOW - 1) == frozenset()
    with pytest.raises(VerifierNotRegistered):
        verifier_may_request(suspended, EMPLOYER, HR, [], at=NOW)


paths = st.lists(st.one_of(st.text(min_size=1, max_size=3), st.integers(0, 3), st.none()), min_size=1, max_size=4)


@given(registered=paths, extra=paths)
def test_a_registered_path_covers_itself_and_what_lies_beneath(registered: list[Any], extra: list[Any]) -> None:
    draft = {"vct": STATUS, "claims": [registered]}
    reg = parse(PurposeRegistration, {"purpose": HR, "legal_basis": HR, "credentials": [draft]})
    tl_one = TrustList(iss=GOV, seq=1, iat=NOW, next_update=NOW + 1, verifiers=[RegisteredVerifier(
        id=EMPLOYER, names={"en": "e"}, jwks=keys.jwks([keys.generate().public_key()]), registrations=[reg])])
    below = (*registered, *extra)
    assert verifier_may_request(tl_one, EMPLOYER, HR, [(STATUS, tuple(registered)), (STATUS, below)]) == frozenset()
    # ... but never its parent, and never another credential type.
    asked = [(SKILL, tuple(registered))] + ([(STATUS, tuple(registered[:-1]))] if len(registered) > 1 else [])
    assert verifier_may_request(tl_one, EMPLOYER, HR, asked) == frozenset(asked)


# --- the signed document ---------------------------------------------------------------


def test_list_signed_by_another_key_refused(gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> None:
    token = _signed(keys.generate("ES256", kid=gov.kid), ngo_key)
    with pytest.raises(InvalidSignature):
        verify(token, governance_keys=[gov.public_key()], now=NOW)
    with pytest.raises(UnknownIssuerKey):
        verify(_signed(keys.generate("ES256"), ngo_key), governance_keys=[gov.public_key()], now=NOW)


def test_tampered_list_refused(gov: keys.PrivateKey, ngo_key: keys.PrivateKey, tl: TrustList) -> None:
    header, _payload, signature = _signed(gov, ngo_key).split(".")
    widened = tl.model_dump(mode="json", exclude_none=True)
    widened["issuers"][0]["vcts"].append(STATUS)  # the NGO grants itself registration status
    with pytest.raises(InvalidSignature):
        verify(f"{header}.{b64url_json(widened)}.{signature}", governance_keys=[gov.public_key()], now=NOW)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_or_hmac_list_refused(gov: keys.PrivateKey, tl: TrustList, alg: str) -> None:
    header = b64url_json({"alg": alg, "typ": "amana-trustlist+jwt", "kid": gov.kid})
    with pytest.raises(UnsupportedAlgorithm):
        verify(f"{header}.{b64url_json(tl.model_dump(mode='json'))}.", governance_keys=[gov.public_key()], now=NOW)


def test_wrong_typ_refused(gov: keys.PrivateKey, tl: TrustList) -> None:
    from core import _jose

    token = _jose.sign_compact({"typ": "JWT"}, tl.model_dump(mode="json"), gov)
    with pytest.raises(InvalidTokenType):
        verify(token, governance_keys=[gov.public_key()], now=NOW)


def test_expired_list_is_reported_not_hidden(gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> None:
    token = _signed(gov, ngo_key)
    fresh = verify(token, governance_keys=[gov.public_key()], now=NOW + 7 * 86400 - 1)
    assert not fresh.expired and fresh.require_current().seq == 1
    stale = verify(token, governance_keys=[gov.public_key()], now=NOW + 7 * 86400)
    assert stale.expired and stale.content.seq == 1  # still readable, for callers that accept it
    with pytest.raises(TrustListExpired):
        stale.require_current()


def test_list_from_the_future_refused(gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> None:
    with pytest.raises(IssuedInFuture):
        verify(_signed(gov, ngo_key, now=NOW + 3600), governance_keys=[gov.public_key()], now=NOW)


def test_newer_replaces_older_and_rollback_is_refused(gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> None:
    anchor = [gov.public_key()]
    one = verify(_signed(gov, ngo_key, seq=0), governance_keys=anchor, now=NOW)
    two = verify(_signed(gov, ngo_key, seq=1), governance_keys=anchor, now=NOW)
    assert choose_newer(None, one) is one
    assert choose_newer(one, two) is two
    with pytest.raises(TrustListRollback):
        choose_newer(two, one)
    assert choose_newer(two, verify(two.token, governance_keys=anchor, now=NOW)) is two  # same list again: kept
    with pytest.raises(TrustListConflict):  # same seq, other content: the operator equivocated
        choose_newer(two, verify(_signed(gov, keys.generate(), seq=1), governance_keys=anchor, now=NOW))


def test_cache_persists_and_refuses_rollback(tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> None:
    cache = TrustListCache(tmp / "trust" / "list.jwt", [gov.public_key()])
    assert cache.current(NOW) is None
    old, new = _signed(gov, ngo_key, seq=4), _signed(gov, ngo_key, seq=5)
    assert cache.offer(old, NOW).content.seq == 5
    assert cache.offer(new, NOW).content.seq == 6
    written = (tmp / "trust" / "list.jwt").stat()
    assert cache.offer(new, NOW).content.seq == 6  # the same list again: the file is left as it is
    assert (tmp / "trust" / "list.jwt").stat().st_ino == written.st_ino
    with pytest.raises(TrustListRollback):
        cache.offer(old, NOW)
    reopened = TrustListCache(tmp / "trust" / "list.jwt", [gov.public_key()])
    current = reopened.current(NOW + 8 * 86400)
    assert current is not None and current.content.seq == 6 and current.expired
    (tmp / "trust" / "list.jwt").write_text(old)  # someone swaps the file for an older list...
    assert reopened.current(NOW) is not None  # ...it still verifies, and so a newer one is accepted
    with pytest.raises(InvalidSignature):
        TrustListCache(tmp / "trust" / "list.jwt", [keys.generate(kid=gov.kid).public_key()]).current(NOW)


def test_held_list_is_the_newest_of_both_and_verified_once(tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """What a wallet flow and a verifier check read each time: the newer of the held copy and the
    operator's file, older or broken files passed over; and when both hold the same list (the
    usual case) its signature is checked once, not three times (bench.wallet found 3)."""
    from core.trust import cache as cache_module
    from core.trust.local import held_trust_list

    held_file, operator_file = tmp / "held" / "list.jwt", tmp / "operator.jwt"
    cache = TrustListCache(held_file, [gov.public_key()])
    old, new = _signed(gov, ngo_key, seq=4), _signed(gov, ngo_key, seq=5)
    operator_file.write_text(new)
    assert held_trust_list(cache, operator_file, NOW).seq == 6 and held_file.read_text().strip() == new.strip()
    calls: list[str] = []

    def counted(token: str, **kwargs: Any) -> Any:
        calls.append(token)
        return verify(token, **kwargs)

    monkeypatch.setattr(cache_module, "verify", counted)
    assert held_trust_list(cache, operator_file, NOW).seq == 6
    assert len(calls) == 1, f"{len(calls)} signature checks of one unchanged list"
    operator_file.write_text(old)  # the operator's file rolled back: the held newer list stands
    assert held_trust_list(cache, operator_file, NOW).seq == 6
    operator_file.write_text(craft.spoiled(new))  # a broken file: passed over
    assert held_trust_list(cache, operator_file, NOW).seq == 6
    held_file.write_text(craft.spoiled(old))  # a damaged held copy is replaced by the operator's good one
    operator_file.write_text(new)
    assert held_trust_list(cache, operator_file, NOW).seq == 6 and held_file.read_text().strip() == new.strip()


def test_a_remembered_list_is_verified_again_only_when_a_file_changes(
        tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """HeldTrustList (a desk reads the list two or three times per check, issue 15): while the anchor,
    the operator's file and the held copy keep their bytes, no signature is checked again; a newly
    signed list, a tampered file or the clock passing ``next_update`` is seen at the next read."""
    import json

    from core.settings import Settings
    from core.trust import cache as cache_module
    from core.trust.local import HeldTrustList

    settings = Settings(data_dir=tmp / "node")
    settings.trust_anchor_file.parent.mkdir(parents=True, exist_ok=True)
    settings.trust_anchor_file.write_text(json.dumps(keys.jwks([gov.public_key()])))
    settings.trust_list_file.write_text(_signed(gov, ngo_key, seq=4))
    calls: list[str] = []

    def counted(token: str, **kwargs: Any) -> Any:
        calls.append(token)
        return verify(token, **kwargs)

    monkeypatch.setattr(cache_module, "verify", counted)
    held = HeldTrustList(settings, tmp / "node" / "held.jwt")
    first = held.get(NOW)
    assert first.seq == 5 and held.get(NOW).seq == 5  # the second read sees the held copy just written
    before = len(calls)
    assert all(held.get(NOW + n).seq == 5 for n in range(10)) and len(calls) == before
    settings.trust_list_file.write_text(_signed(gov, ngo_key, seq=5))
    assert held.get(NOW).seq == 6 and len(calls) > before
    settings.trust_list_file.write_text(craft.spoiled(_signed(gov, ngo_key, seq=7)))  # broken: the held copy stands
    assert held.get(NOW).seq == 6
    with pytest.raises(TrustListExpired):
        held.get(first.next_update)
    settings.trust_anchor_file.write_text(json.dumps(keys.jwks([keys.generate().public_key()])))
    with pytest.raises(AmanaError):  # another anchor: neither list verifies any more
        held.get(NOW)


def _held_setup(tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey) -> tuple[Any, Any]:
    import json

    from core.settings import Settings
    from core.trust.local import HeldTrustList

    settings = Settings(data_dir=tmp / "node")
    settings.trust_anchor_file.parent.mkdir(parents=True, exist_ok=True)
    settings.trust_anchor_file.write_text(json.dumps(keys.jwks([gov.public_key()])))
    settings.trust_list_file.write_text(_signed(gov, ngo_key, seq=4))
    return settings, HeldTrustList(settings, tmp / "node" / "held.jwt")


class _FileClock:
    """``core.trust.local``'s clocks, set by the test: the wall clock its racy rule reads against file
    ctimes (10 s ahead of the real one by default: every file just written counts as still) and the
    monotonic clock of its re-reads (standing still unless moved)."""

    def __init__(self) -> None:
        import time

        self.wall_ns, self.mono = time.time_ns() + 10 * 10**9, 1000.0

    def time_ns(self) -> int:
        return self.wall_ns

    def monotonic(self) -> float:
        return self.mono


def _settled_holder(tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, _FileClock, list[Path]]:
    """A holder whose files all count as still, past its first calls (the held copy written, then
    seen), with every byte read from then on listed."""
    from core.trust import local

    settings, held = _held_setup(tmp, gov, ngo_key)
    clock = _FileClock()
    monkeypatch.setattr(local, "time", clock)
    assert all(held.get(NOW).seq == 5 for _ in range(3))
    reads: list[Path] = []
    bytes_of = local._bytes

    def read(path: Path) -> bytes | None:
        reads.append(path)
        return bytes_of(path)

    monkeypatch.setattr(local, "_bytes", read)
    return settings, held, clock, reads


def test_files_still_long_enough_are_known_by_their_stat_and_not_read(
        tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every file's ctime is RACY_NS behind the call, a call reads no file (a stat each) until
    REREAD_S has passed; a file written afterwards has a new stamp and is read at once."""
    settings, held, clock, reads = _settled_holder(tmp, gov, ngo_key, monkeypatch)
    assert all(held.get(NOW + n).seq == 5 for n in range(5)) and reads == []
    clock.mono += held.REREAD_S * 0.6
    assert held.get(NOW).seq == 5 and reads == []
    clock.mono += held.REREAD_S * 0.6  # REREAD_S since the last read, not since the last call
    assert held.get(NOW).seq == 5 and len(reads) == 3 and held.get(NOW).seq == 5 and len(reads) == 3
    settings.trust_list_file.write_text(_signed(gov, ngo_key, seq=41))
    assert held.get(NOW).seq == 42 and len(reads) > 3


def test_a_same_size_rewrite_in_place_with_its_mtime_put_back_is_seen(
        tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cp -p``, ``rsync --inplace``, ``touch -d``: the same inode, size and mtime; the ctime tells."""
    import os

    settings, held, _clock, _reads = _settled_holder(tmp, gov, ngo_key, monkeypatch)
    listed = settings.trust_list_file
    before, token = os.stat(listed), _signed(gov, ngo_key, seq=5)
    with open(listed, "r+", encoding="ascii") as out:
        out.write(token)
    os.utime(listed, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(listed)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert held.get(NOW).seq == 6


def test_a_list_written_while_the_last_was_verified_is_seen_at_the_next_call(
        tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """What is kept with a stamp is what was read after it: a list replaced during the verification
    (the stamps taken before it) is not hidden behind the stamps of after it."""
    from core.trust import cache as cache_module

    settings, held, _clock, _reads = _settled_holder(tmp, gov, ngo_key, monkeypatch)
    anchor = settings.trust_anchor_file
    anchor.write_bytes(anchor.read_bytes() + b"\n")  # other bytes, the same keys: the whole path again
    newer, verify_first = _signed(gov, ngo_key, seq=41), cache_module.verify

    def verify_then_replace(token: str, **kwargs: Any) -> Any:
        verified = verify_first(token, **kwargs)
        if settings.trust_list_file.read_text(encoding="ascii") != newer:
            settings.trust_list_file.write_text(newer)
        return verified

    monkeypatch.setattr(cache_module, "verify", verify_then_replace)
    held.get(NOW)
    monkeypatch.setattr(cache_module, "verify", verify_first)
    assert held.get(NOW).seq == 42 and held.get(NOW).seq == 42


def test_a_stat_taken_within_racy_ns_of_a_change_vouches_for_nothing(
        tmp: Path, gov: keys.PrivateKey, ngo_key: keys.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """The racy case made certain: the operator's file keeps one stat whatever is written (a same-size
    rewrite within one tick of the file clock; a write through a memory map), the other two files
    are still. While that ctime is recent the bytes are compared and the new list is seen; with the
    same stat RACY_NS old it is trusted, until REREAD_S has passed."""
    from core.trust import local

    real_stamp = local._stamp
    for age_ns, seen in ((0, 6), (local.HeldTrustList.RACY_NS, 5)):
        settings, held, clock, _reads = _settled_holder(tmp / str(age_ns), gov, ngo_key, monkeypatch)
        stamp = real_stamp(settings.trust_list_file)
        assert stamp is not None
        frozen = (*stamp[:-1], clock.wall_ns - age_ns)  # its ctime: age_ns before the clock (the others: 10 s)
        listed = settings.trust_list_file
        monkeypatch.setattr(local, "_stamp",
                            lambda p, listed=listed, frozen=frozen: frozen if p == listed else real_stamp(p))
        assert held.get(NOW).seq == 5 and held.get(NOW).seq == 5
        settings.trust_list_file.write_text(_signed(gov, ngo_key, seq=5))
        assert held.get(NOW).seq == seen
        clock.mono += held.REREAD_S
        assert held.get(NOW).seq == 6
        monkeypatch.setattr(local, "_stamp", real_stamp)


# --- the content model -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"id": "http://ngo.example"}, "id"),
        ({"id": "https://ngo.example/#frag"}, "id"),
        ({"names": {}}, "names"),
        ({"names": {"english": "x"}}, "names"),
        ({"vcts": []}, "vcts"),
        ({"vcts": [SKILL, SKILL]}, "vcts"),
        ({"valid_from": "1800000000"}, "valid_from"),  # strict: no coercion from strings
        ({"valid_until": NOW - 86400}, "valid_until"),
        ({"jwks": {"keys": []}}, "jwks"),
    ],
)
def test_malformed_issuer_entries_refused(ngo_key: keys.PrivateKey, change: dict[str, Any], member: str) -> None:
    doc = _issuer(NGO, ngo_key, [SKILL]).model_dump(mode="json", exclude_none=True) | change
    with pytest.raises(InvalidTrustList) as err:
        parse(AccreditedIssuer, doc)
    assert member in err.value.detail or "document" in err.value.detail


def test_private_key_in_a_listed_jwks_refused(ngo_key: keys.PrivateKey) -> None:
    doc = _issuer(NGO, ngo_key, [SKILL]).model_dump(mode="json") | {"jwks": {"keys": [ngo_key.to_jwk()]}}
    with pytest.raises(InvalidTrustList) as err:
        parse(AccreditedIssuer, doc)
    assert ngo_key.to_jwk()["d"] not in err.value.detail


def test_purposes_must_be_dpv_terms_and_paths_valid() -> None:
    for bad in ({"purpose": "marketing"}, {"legal_basis": "https://example.com/consent"},
                {"credentials": [{"vct": STATUS, "claims": [[-1]]}]},
                {"credentials": [{"vct": STATUS, "claims": [[True]]}]}):
        with pytest.raises(InvalidTrustList):
            parse(PurposeRegistration, {"purpose": HR, "legal_basis": HR,
                                        "credentials": [{"vct": STATUS, "claims": [["a"]]}], **bad})


def test_duplicate_ids_refused(ngo_key: keys.PrivateKey) -> None:
    one = _issuer(NGO, ngo_key, [SKILL]).model_dump(mode="json")
    with pytest.raises(InvalidTrustList):
        parse(TrustList, {"iss": GOV, "seq": 1, "iat": NOW, "next_update": NOW + 1, "issuers": [one, one]})


def test_operator_edits(ngo_key: keys.PrivateKey) -> None:
    draft, replaced = put_issuer(new_draft(GOV), _issuer(NGO, ngo_key, [SKILL]))
    assert not replaced
    draft, replaced = put_issuer(draft, _issuer(NGO, ngo_key, [SKILL, STATUS]))
    assert replaced and draft.issuers[0].vcts == [SKILL, STATUS] and len(draft.issuers) == 1
    draft = set_issuer_suspension(draft, NGO, NOW)
    assert draft.issuers[0].suspended_from == NOW
    assert set_issuer_suspension(draft, NGO, None).issuers[0].suspended_from is None
    with pytest.raises(AmanaError):
        set_issuer_suspension(draft, "https://nobody.test", NOW)
    _token, signed = sign_draft(draft, keys.generate(), NOW)
    assert signed.seq == 1 and sign_draft(signed, keys.generate(), NOW)[1].seq == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@given(doc=st.dictionaries(st.sampled_from(["iss", "seq", "iat", "next_update", "issuers", "verifiers", "x"]),
                           json_values, max_size=7))
def test_any_malformed_document_is_an_invalid_trust_list(doc: dict[str, Any]) -> None:
    with contextlib.suppress(InvalidTrustList):  # anything else escaping is the failure
        parse(TrustList, doc)
