"""core/offline verify: claims come back in SD-JWT VC shape, and every refusal of issue 13 has its own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import keys, qr
from core.errors import AmanaError
from core.offline import OfflinePolicy, present, trust_list_checks, verify
from core.trust.model import AccreditedIssuer, TrustList, parse
from tests.offline_kit import EXP, IAT, ISSUER_ID, NONCE, NOW, SKILL, THREE, World

SPECS = Path(__file__).resolve().parents[1] / "specs" / "credentials"


def _qr(world: World, cred: bytes, d: dict[str, bytes], names: tuple[str, ...] = THREE, *, t: int = NOW - 10,
        w: int = 120, nonce: bytes | None = NONCE) -> str:
    return present(cred, [d[n] for n in names], world.holder, t, w, nonce)


def _refused(code: str, call: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(AmanaError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.detail


@pytest.mark.parametrize("name", ["SkillCertificate", "RegistrationStatus", "IdentityBasic"])
def test_every_type_round_trips_to_its_sd_jwt_vc_values(name: str) -> None:
    world = World()
    claims = json.loads((SPECS / name / "example.json").read_text(encoding="utf-8"))
    cred, d = world.issue(claims, name)
    result = world.verify(_qr(world, cred, d, tuple(claims)))
    assert {k: result.claims[k] for k in claims} == claims
    assert result.claims["iss"] == ISSUER_ID and result.claims["iat"] == IAT and result.claims["exp"] == EXP
    assert result.claims["cnf"]["jwk"]["x"] == world.holder.public_key().to_jwk()["x"]
    assert result.status == "valid" and not result.paper and result.nonce_bound


def test_only_the_chosen_claims_are_disclosed() -> None:
    world = World()
    cred, d = world.issue()
    result = world.verify(_qr(world, cred, d, ("skill",)))
    assert result.disclosed == ("skill",) and "given_name" not in result.claims


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_three_skill_claims_with_binding_fit_version_16_at_m(alg: str) -> None:
    world = World(issuer=keys.generate(alg))  # type: ignore[arg-type]
    cred, d = world.issue()
    text = _qr(world, cred, d)
    assert qr.make(text).error == "M"
    assert qr.version(text) <= 16
    assert world.verify(text).claims["given_name"] == "Layla"


def test_a_wrong_nonce_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    _refused("nonce_mismatch", world.verify, _qr(world, cred, d), nonce=bytes(8))
    _refused("nonce_mismatch", world.verify, _qr(world, cred, d), nonce=None)


def test_no_nonce_is_refused_where_the_verifier_requires_one() -> None:
    world = World()
    cred, d = world.issue()
    text = _qr(world, cred, d, nonce=None)
    _refused("nonce_mismatch", world.verify, text, policy=OfflinePolicy(require_nonce=True))
    assert world.verify(text).nonce_bound is False


def test_an_expired_or_future_window_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    _refused("window_expired", world.verify, _qr(world, cred, d, t=NOW - 120 - 60))
    _refused("window_expired", world.verify, _qr(world, cred, d, t=NOW + 61))
    assert world.verify(_qr(world, cred, d, t=NOW - 120 - 59)).binding_time == NOW - 179


def test_a_window_longer_than_paper_allows_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    _refused("window_too_long", world.verify, _qr(world, cred, d, w=90 * 86400 + 1, nonce=None))
    _refused("window_too_long", world.verify, _qr(world, cred, d, w=121, nonce=None),
             policy=OfflinePolicy(max_paper_window_s=0))


def test_a_replay_inside_the_window_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    text = _qr(world, cred, d)
    world.verify(text)
    _refused("replayed", world.verify, text)


def test_a_paper_qr_says_so_and_is_shown_again_unless_the_policy_says_once() -> None:
    world = World()
    cred, d = world.issue()
    paper = _qr(world, cred, d, t=NOW - 30 * 86400, w=60 * 86400, nonce=None)
    first = world.verify(paper)
    assert first.paper and first.notice == "paper QR: anyone holding this paper can show it"
    assert world.verify(paper).paper
    once = World()
    once.verify(paper, policy=OfflinePolicy(replay_check_paper=True))
    _refused("replayed", once.verify, paper, policy=OfflinePolicy(replay_check_paper=True))


@pytest.mark.parametrize(("status", "code"), [("revoked", "credential_revoked"),
                                              ("suspended", "credential_suspended")])
def test_a_revoked_or_suspended_credential_is_refused(status: str, code: str) -> None:
    world = World(statuses={(7, 42): status})  # type: ignore[dict-item]
    cred, d = world.issue()
    _refused(code, world.verify, _qr(world, cred, d))


def test_a_status_that_cannot_be_known_offline_is_unknown_never_valid() -> None:
    world = World(statuses={(7, 42): "unknown"})
    cred, d = world.issue()
    assert world.verify(_qr(world, cred, d)).status == "unknown"


def _trust_list(key: keys.PrivateKey, vcts: list[str], **extra: Any) -> TrustList:
    issuer = parse(AccreditedIssuer, {"id": ISSUER_ID, "names": {"en": "NGO"}, "jwks": keys.jwks([key.public_key()]),
                                      "vcts": vcts, "valid_from": IAT - 86400, **extra})
    return TrustList(iss="https://gov.amana.test", seq=1, iat=NOW - 60, next_update=NOW + 86400, issuers=[issuer])


def _verify_with(trust: TrustList, text: str) -> Any:
    resolve, accredited = trust_list_checks(trust, now=NOW)
    return verify(text, resolve_issuer_key=resolve, check_accredited=accredited, status_of=lambda *a: "valid",
                  seen=lambda h, u: False, nonce_expected=NONCE, now=NOW)


def test_an_issuer_not_accredited_for_the_type_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    text = _qr(world, cred, d)
    assert _verify_with(_trust_list(world.issuer, [SKILL_VCT]), text).issuer == ISSUER_ID
    _refused("issuer_not_accredited", _verify_with, _trust_list(world.issuer, ["urn:amana:credential:IdentityBasic:1"]),
             text)
    _refused("issuer_suspended", _verify_with, _trust_list(world.issuer, [SKILL_VCT], suspended_from=NOW - 5), text)
    _refused("unknown_issuer_key", _verify_with, _trust_list(keys.generate("EdDSA"), [SKILL_VCT]), text)


SKILL_VCT = "urn:amana:credential:SkillCertificate:1"


def test_a_disclosure_that_was_not_issued_is_refused() -> None:
    world = World()
    cred, d = world.issue()
    _, other = World().issue({**SKILL, "given_name": "Someone"})  # same salts, another value: another digest
    forged = present(cred, [other["given_name"], d["skill"]], world.holder, NOW, 120, NONCE)
    _refused("unreferenced_disclosure", world.verify, forged)
    twice = present(cred, [d["skill"], d["skill"]], world.holder, NOW, 120, NONCE)
    _refused("duplicate_disclosure", world.verify, twice)


def test_signatures_by_other_keys_are_refused() -> None:
    world = World()
    cred, d = world.issue()
    thief = World(holder=keys.generate("ES256"))
    _refused("invalid_signature", world.verify, present(cred, [d["skill"]], thief.holder, NOW, 120, NONCE))
    impostor = World(issuer=keys.generate("EdDSA"))
    impostor_cred, impostor_d = impostor.issue()
    # the impostor's credential, under the real issuer's kid: the kid finds the key, the signature refuses
    raw = bytearray(impostor_cred)
    kid_at = raw.index(impostor.issuer_kid())
    raw[kid_at : kid_at + 4] = world.issuer_kid()
    _refused("invalid_signature", world.verify, _qr(world, bytes(raw), impostor_d))


def test_an_expired_or_future_credential_is_refused() -> None:
    world = World()
    cred, d = world.issue(iat=IAT - 400 * 86400, exp=NOW - 86400)
    _refused("expired", world.verify, _qr(world, cred, d))
    cred, d = world.issue(iat=NOW + 2 * 86400, exp=EXP)
    _refused("issued_in_future", world.verify, _qr(world, cred, d))


@pytest.mark.parametrize("text", ["", "AO1:", "AO1:00", "AO2:" + "0" * 30, "ao1:ABC", "AO1:" + "Z" * 5000,
                                  "AO1:" + "%%%", "HC1:NCFOXN%TS3DH"])
def test_garbage_is_malformed_or_over_the_limit(text: str) -> None:
    with pytest.raises(AmanaError) as caught:
        World().verify(text)
    assert caught.value.code in {"malformed_offline_qr", "limit_exceeded"}


def test_status_list_uris_follow_the_issuer() -> None:
    """A number names the issuer's own numbered list (what Amana's issuer writes); a list id
    (older copies) names a list under the issuer's node."""
    from core.offline import status_list_uri

    hex_id = "0123456789abcdef0123456789abcdef"
    uuid_ref = "01234567-89ab-cdef-0123-456789abcdef"
    assert status_list_uri(ISSUER_ID, uuid_ref) == f"https://issuer.amana.test/status/{hex_id}"
    assert status_list_uri(ISSUER_ID, 7) == f"{ISSUER_ID}/status/7"
    assert status_list_uri(ISSUER_ID + "/", 0) == f"{ISSUER_ID}/status/0"
    assert status_list_uri("https://other.test/", "a-list") == "https://other.test/status/a-list"
    world = World()
    cred, d = world.issue(status=(uuid_ref, 3))
    assert world.verify(_qr(world, cred, d)).status_list == (uuid_ref, 3)
