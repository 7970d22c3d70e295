"""``make demo``: the Amana story so far, told step by step in one process.

An NGO and a city authority issue credentials to Layla; she shows two chosen facts to an
employer; a forged and a replayed presentation are refused. Each later issue adds its
chapter (trust list, issuer service over HTTP, wallet, verifier, consent ledger).
"""

from __future__ import annotations

import secrets
import time

from core import keys
from core.credtypes import TypeRegistry, load_registry
from core.errors import AmanaError
from core.sdjwt import KeyBindingPolicy, present
from core.sdjwt._disclosures import encode
from core.sdjwt.vc import issue_vc, verify_vc, verify_vc_issued
from core.sdjwt.verifier import IssuerKeys
from core.settings import get_settings

NGO = "https://ngo.amana.test"
CITY = "https://city.amana.test"
EMPLOYER = "https://employer.amana.test"


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

    _step(1, "Keys are made: one for the NGO, one for the city, one on Layla's phone.")
    ngo_key, city_key, layla_key = keys.generate("ES256"), keys.generate("EdDSA"), keys.generate("ES256")
    _say(f"NGO signs with ES256, the city with EdDSA. Layla's key id: {(layla_key.kid or '')[:12]}…")
    trusted = {NGO: [ngo_key.public_key()], CITY: [city_key.public_key()]}

    def issuer_keys(_header: dict[str, object], payload: dict[str, object]) -> list[keys.PublicKey]:
        return trusted.get(str(payload.get("iss")), [])

    _step(2, "The NGO gives Layla a skill certificate; the city gives her a registration status.")
    skill = issue_vc(skill_type, skill_type.example, issuer=NGO, issuer_key=ngo_key,
                     holder_key=layla_key.public_key(), now=now, valid_for_s=year)
    status = issue_vc(status_type, status_type.example, issuer=CITY, issuer_key=city_key,
                      holder_key=layla_key.public_key(), now=now, valid_for_s=year)
    for token in (skill, status):
        held = verify_vc_issued(token, issuer_keys=issuer_keys, now=now, types=types)
        name = held.credential_type.display_name("en") if held.credential_type else held.vct
        _say(f"Layla's wallet checked the {name}: {len(token.split('~')) - 2} claims, each hidden until she shows it.")

    _step(3, "An employer asks: may she work, and what is her skill? Layla shows only those two facts.")
    nonce = secrets.token_urlsafe(16)
    shown = [
        present(status, [("right_to_work",)], holder_key=layla_key, audience=EMPLOYER, nonce=nonce, now=now),
        present(skill, [("skill",)], holder_key=layla_key, audience=EMPLOYER, nonce=nonce, now=now),
    ]
    expect = KeyBindingPolicy(audience=EMPLOYER, nonce=nonce)
    for token in shown:
        result = verify_vc(token, issuer_keys=issuer_keys, now=now, key_binding=expect, types=types)
        assert result.credential_type is not None
        for name, value in result.disclosed_claims().items():
            label = result.credential_type.label((name,), "en")
            _say(f"verified: {label} = {_plain(value)}   (issuer {result.issuer})")
    _say("The employer did not see her name, registration number, municipality or status category.")

    _step(4, "Someone edits a presentation to claim EQF level 6 instead of 3.")
    forged_disclosure = encode([secrets.token_urlsafe(16), "eqf_level", 6])
    issuer_signed_jwt = skill.split("~")[0]
    _refused(f"{issuer_signed_jwt}~{forged_disclosure}~", issuer_keys, None, types)

    _step(5, "Someone replays Layla's presentation to the employer's next check (a new nonce).")
    _refused(shown[0], issuer_keys, KeyBindingPolicy(audience=EMPLOYER, nonce=secrets.token_urlsafe(16)), types)

    print("\nDone: two facts shown, nothing else revealed; the forgery and the replay were refused.")
    return 0


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "label" in value:
        return f"{value['label']} ({value.get('uri', '')})"
    return str(value)


def _refused(
    token: str, issuer_keys: IssuerKeys, expect: KeyBindingPolicy | None, types: TypeRegistry
) -> None:
    try:
        verify_vc(token, issuer_keys=issuer_keys, now=int(time.time()), key_binding=expect, types=types)
    except AmanaError as exc:
        _say(f"refused ({exc.code}): {exc.detail}")
        return
    raise SystemExit("the demo expected this to be refused, and it was not")
