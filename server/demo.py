"""``make demo``: the Amana story so far, told step by step in one process.

A governance operator accredits an NGO and a city authority and registers an employer;
the NGO and the city issue credentials to Layla; she shows two chosen facts to the
employer, who checks the issuers against the trust list; a forged and a replayed
presentation, and a certificate from an unaccredited "diploma mill", are refused. Each
later issue adds its chapter (issuer service over HTTP, wallet, verifier, offline QR, consent ledger).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from core import keys
from core.credtypes import TypeRegistry, load_registry
from core.errors import AmanaError
from core.sdjwt import KeyBindingPolicy, present
from core.sdjwt._disclosures import encode
from core.sdjwt.vc import issue_vc, verify_vc, verify_vc_issued
from core.sdjwt.verifier import IssuerKeys
from core.settings import get_settings
from core.trust import TrustList, check_issuer, verifier_may_request
from core.trust import verify as verify_trust_list
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, sign_draft

NGO = "https://ngo.amana.test"
CITY = "https://city.amana.test"
EMPLOYER = "https://employer.amana.test"
GOVERNANCE = "https://governance.amana.test"
DIPLOMA_MILL = "https://diploma-mill.example"
HR = "https://w3id.org/dpv#HumanResourceManagement"


def _step(n: int, text: str) -> None:
    print(f"\n{n}. {text}")


def _say(text: str) -> None:
    print(f"   {text}")


def run() -> int:
    settings = get_settings()
    types = load_registry(settings.specs_dir)
    skill_type, status_type = types.by_name("SkillCertificate"), types.by_name("RegistrationStatus")
    now = int(time.time())
    year = 365 * 86400

    _step(1, "Keys are made: for the trust operator, the NGO, the city, and on Layla's phone.")
    gov_key, ngo_key, city_key = keys.generate("ES256"), keys.generate("ES256"), keys.generate("EdDSA")
    layla_key, mill_key = keys.generate("ES256"), keys.generate("ES256")
    _say(f"NGO signs with ES256, the city with EdDSA. Layla's key id: {(layla_key.kid or '')[:12]}…")
    # What each issuer publishes at /.well-known/jwt-vc-issuer: anyone can publish keys,
    # a diploma mill included. Keys make a signature checkable, not believable.
    published = {NGO: [ngo_key.public_key()], CITY: [city_key.public_key()], DIPLOMA_MILL: [mill_key.public_key()]}

    def issuer_keys(_header: dict[str, object], payload: dict[str, object]) -> list[keys.PublicKey]:
        return published.get(str(payload.get("iss")), [])

    _step(2, "The trust operator accredits the NGO for skill certificates and the city for registration status,")
    _say("and registers the employer: for hiring (dpv:HumanResourceManagement) it may ask for the right")
    _say("to work and a skill, nothing else. The list is signed; the employer checks it against the operator's key.")
    token = _trust_list(gov_key, ngo_key, city_key, skill_type.vct, status_type.vct, now)
    trust_list = verify_trust_list(token, governance_keys=[gov_key.public_key()], now=now).require_current()
    _say(f"trust list #{trust_list.seq}: {len(trust_list.issuers)} issuers, {len(trust_list.verifiers)} verifier, "
         f"valid for {(trust_list.next_update - now) // 86400} days.")

    _step(3, "The NGO gives Layla a skill certificate; the city gives her a registration status.")
    skill = issue_vc(skill_type, skill_type.example, issuer=NGO, issuer_key=ngo_key,
                     holder_key=layla_key.public_key(), now=now, valid_for_s=year)
    status = issue_vc(status_type, status_type.example, issuer=CITY, issuer_key=city_key,
                      holder_key=layla_key.public_key(), now=now, valid_for_s=year)
    for token in (skill, status):
        held = verify_vc_issued(token, issuer_keys=issuer_keys, now=now, types=types)
        name = held.credential_type.display_name("en") if held.credential_type else held.vct
        _say(f"Layla's wallet checked the {name}: {len(token.split('~')) - 2} claims, each hidden until she shows it.")

    _step(4, "The employer asks: may she work, and what is her skill? The request is within its registration,")
    _say("so Layla's wallet lets her answer; she shows only those two facts.")
    asked = [(status_type.vct, ("right_to_work",)), (skill_type.vct, ("skill",))]
    assert not verifier_may_request(trust_list, EMPLOYER, HR, asked)
    nonce = secrets.token_urlsafe(16)
    shown = [
        present(status, [("right_to_work",)], holder_key=layla_key, audience=EMPLOYER, nonce=nonce, now=now),
        present(skill, [("skill",)], holder_key=layla_key, audience=EMPLOYER, nonce=nonce, now=now),
    ]
    expect = KeyBindingPolicy(audience=EMPLOYER, nonce=nonce)
    for token in shown:
        result = verify_vc(token, issuer_keys=issuer_keys, now=now, key_binding=expect, types=types)
        issuer = check_issuer(trust_list, iss=result.issuer, vct=result.vct, issued_at=result.issued_at, now=now)
        assert result.credential_type is not None
        for name, value in result.disclosed_claims().items():
            label = result.credential_type.label((name,), "en")
            _say(f"verified: {label} = {_plain(value)}   (accredited issuer: {issuer.names['en']})")
    _say("The employer did not see her name, registration number, municipality or status category.")

    _step(5, "Had the employer also asked for her registration number, the trust list says it may not:")
    excess = verifier_may_request(trust_list, EMPLOYER, HR, [*asked, (status_type.vct, ("registration_number",))])
    beyond = ", ".join(".".join(map(str, path)) for _vct, path in excess)
    _say(f"beyond its registration: {beyond} — her wallet would refuse.")

    _step(6, "Someone edits a presentation to claim EQF level 6 instead of 3.")
    forged_disclosure = encode([secrets.token_urlsafe(16), "eqf_level", 6])
    issuer_signed_jwt = skill.split("~")[0]
    _refused(f"{issuer_signed_jwt}~{forged_disclosure}~", issuer_keys, None, types, trust_list)

    _step(7, "Someone replays Layla's presentation to the employer's next check (a new nonce).")
    _refused(shown[0], issuer_keys, KeyBindingPolicy(audience=EMPLOYER, nonce=secrets.token_urlsafe(16)), types,
             trust_list)

    _step(8, "A diploma mill sells a skill certificate. Its signature is perfectly valid...")
    fake = issue_vc(skill_type, skill_type.example, issuer=DIPLOMA_MILL, issuer_key=mill_key,
                    holder_key=layla_key.public_key(), now=now, valid_for_s=year)
    _refused(fake, issuer_keys, None, types, trust_list)

    _step(9, "No network at a reception centre. The NGO also gave Layla a compact copy, bound to a key made")
    _say("on her phone. The desk shows a one-time code; her phone signs it into a QR with three facts.")
    _offline_chapter(ngo_key, skill_type.vct, skill_type.example, trust_list, now)

    from server.demo_node import run as networked  # the node, over real HTTP on loopback

    networked(10, types, _step, _say)

    print("\nDone: two facts shown, nothing else revealed; the forgery, the replay and the diploma mill were refused;")
    print("three facts checked from a QR with no network, and its photo refused;")
    print("a certificate went from a QR code and a PIN to Layla's phone over HTTP, its revocation reached")
    print("the employer, and her wallet holds the employer's signed receipt, proven in the consent log.")
    return 0


def _offline_chapter(ngo_key: keys.PrivateKey, vct: str, claims: Mapping[str, Any], trust_list: TrustList,
                     now: int) -> None:
    """The offline QR (specs/formats/offline-presentation.md), checked from the desk's cache alone."""
    from core import offline, qr

    phone_key = keys.generate("ES256")  # in the wallet, a WebCrypto key that never leaves the phone
    cred, disclosures = offline.issue_compact(claims, vct, ngo_key, phone_key.public_key(), status=(1, 4321),
                                              iat=now, exp=now + 365 * 86400)
    desk_nonce = secrets.token_bytes(8)
    shown = [disclosures[name] for name in ("given_name", "family_name", "skill")]
    text = offline.present(cred, shown, phone_key, now, 120, desk_nonce)
    _say(f"{len(text)} characters: QR version {qr.version(text)} at level M (the same three facts as an SD-JWT VC")
    _say("presentation need about version 36, which a cheap camera cannot read).")
    resolve, accredited = offline.trust_list_checks(trust_list, now=now)
    seen: set[bytes] = set()

    def once(binding: bytes, _until: int) -> bool:
        already = binding in seen
        seen.add(binding)
        return already

    def check(qr_text: str, nonce: bytes) -> offline.Verified:
        # The status comes from the list the desk synced before going offline ("valid" here).
        return offline.verify(qr_text, resolve_issuer_key=resolve, check_accredited=accredited,
                              status_of=lambda _iss, _list, _idx: "valid", seen=once, nonce_expected=nonce, now=now)

    verified = check(text, desk_nonce)
    _say(f"verified offline: {verified.claims['given_name']} {verified.claims['family_name']}, "
         f"{_plain(verified.claims['skill'])}; status {verified.status}; nothing fetched.")
    for what, nonce in (("A photo of that QR, shown again", desk_nonce), ("Her QR at another desk", b"\0" * 8)):
        try:
            check(text, nonce)
        except AmanaError as exc:
            _say(f"{what}: refused ({exc.code}).")


def _trust_list(gov: keys.PrivateKey, ngo: keys.PrivateKey, city: keys.PrivateKey, skill_vct: str, status_vct: str,
                now: int) -> str:
    """What `amana trust add-issuer / register-verifier / sign` do, as function calls."""
    draft = new_draft(GOVERNANCE)
    for issuer_id, key, vct, names in ((NGO, ngo, skill_vct, {"en": "Open Doors NGO", "ar": "منظمة الأبواب المفتوحة"}),
                                       (CITY, city, status_vct, {"en": "City of Amana", "fa": "شهر امانا"})):
        draft = put_issuer(draft, parse(AccreditedIssuer, {
            "id": issuer_id, "names": names, "jwks": keys.jwks([key.public_key()]), "vcts": [vct],
            "valid_from": now - 86400}))[0]
    registration = parse(PurposeRegistration, {
        "purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
        "credentials": [{"vct": status_vct, "claims": [["right_to_work"]]}, {"vct": skill_vct, "claims": [["skill"]]}]})
    verifier = parse(RegisteredVerifier, {
        "id": EMPLOYER, "names": {"en": "Harbour Logistics"}, "jwks": keys.jwks([keys.generate().public_key()]),
        "registrations": [registration.model_dump(mode="json")]})
    draft = put_verifier_purpose(draft, verifier, registration)[0]
    return sign_draft(draft, gov, now)[0]


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "label" in value:
        return f"{value['label']} ({value.get('uri', '')})"
    return str(value)


def _refused(
    token: str, issuer_keys: IssuerKeys, expect: KeyBindingPolicy | None, types: TypeRegistry, trust_list: TrustList
) -> None:
    now = int(time.time())
    try:
        if expect is None:
            result = verify_vc_issued(token, issuer_keys=issuer_keys, now=now, types=types)
        else:
            result = verify_vc(token, issuer_keys=issuer_keys, now=now, key_binding=expect, types=types)
        _say("...the signature checks out.")
        check_issuer(trust_list, iss=result.issuer, vct=result.vct, issued_at=result.issued_at, now=now)
    except AmanaError as exc:
        _say(f"refused: {PLAIN_REASONS.get(exc.code, exc.detail)} ({exc.code})")
        return
    raise SystemExit("the demo expected this to be refused, and it was not")


# Why each forgery above is refused, in the words of a person, not of the spec (the code follows).
PLAIN_REASONS = {
    "unreferenced_disclosure": "the changed fact is not one the issuer signed",
    "nonce_mismatch": "it answers an earlier check, not this one",
    "issuer_not_accredited": "the issuer is not on the trust list",
}
