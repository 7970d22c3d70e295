"""Helpers for the offline wallet tests: a compact SkillCertificate bound to a key made in the
browser (WebCrypto, non-extractable), kept in the page's IndexedDB exactly as "Keep this card
for offline use" keeps it (wallet.offline_keep.card_record), and a QR text verified by
core.offline.verify as a verifier would from its cache. No test here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from core import keys, offline
from tests.desk_world import SKILL_EXAMPLE
from tests.test_verifier_flow import TYPES
from wallet import labels, offline_keep

ISSUER = "https://node.amana.test/issuers/open-doors"
NAMES = {"en": "Open Doors", "ar": "الأبواب المفتوحة"}


@dataclass(frozen=True, slots=True)
class Disclosed:
    name: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Kept:
    issuer_key: keys.PrivateKey
    device_jwk: dict[str, str]
    cred: bytes
    disclosures: list[Disclosed]  # in the order the page lists them


@dataclass(frozen=True, slots=True)
class Shown:
    claim_names: list[str]
    claims: dict[str, Any]
    paper: bool
    nonce_bound: bool
    window: int


def keep_in_browser(page: Any, lang: str, card_id: str = "card-1", *, kept_before_27: bool = False) -> Kept:
    """A device key made in the page (never exported), a compact credential bound to it, both kept.
    ``kept_before_27``: the record as pages kept it until session 27 (each value one text, a code
    or a date as the credential says it; no ``until``), which browsers still hold."""
    jwk: dict[str, str] = page.evaluate("""async () => {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      window.testDeviceKey = pair.privateKey;
      const j = await crypto.subtle.exportKey("jwk", pair.publicKey);
      return { kty: j.kty, crv: j.crv, x: j.x, y: j.y };
    }""")
    issuer_key = keys.generate("ES256")
    now = int(time.time())
    vct = TYPES.by_name("SkillCertificate").vct
    cred, by_name = offline.issue_compact(SKILL_EXAMPLE, vct, issuer_key, keys.PublicKey.from_jwk(jwk),
                                          status=(1, 7), iat=now - 86400, exp=now + 30 * 86400)
    record = offline_keep.card_record(TYPES, card_id, cred, list(by_name.values()), NAMES)
    if kept_before_27:
        record.pop("until")
        record["disclosures"] = [{**d, "value": labels.value_text(SKILL_EXAMPLE[d["key"]])}
                                 for d in record["disclosures"]]
    page.evaluate("async (card) => amanaOffline.putCard({ ...card, key: window.testDeviceKey })", record)
    return Kept(issuer_key, jwk, cred, [Disclosed(d["key"], by_name[d["key"]]) for d in record["disclosures"]])


def verify_text(text: str, kept: Kept, *, expect_window: int, nonce: bytes | None = None) -> Shown:
    """What a verifier with the issuer's key in its cache makes of ``text`` (any refusal raises)."""
    verified = offline.verify(
        text, resolve_issuer_key=lambda kid: [offline.IssuerKey(kept.issuer_key.public_key(), ISSUER)],
        check_accredited=lambda issuer, vct, iat: None, status_of=lambda issuer, ref, idx: "valid",
        seen=lambda binding, until: False, nonce_expected=nonce, now=int(time.time()))
    presented = offline.decode(text)
    assert presented.w == expect_window
    assert verified.claims["cnf"]["jwk"] == {**kept.device_jwk, "kty": "EC"} or \
        verified.claims["cnf"]["jwk"]["x"] == kept.device_jwk["x"]
    return Shown(list(verified.disclosed), verified.claims, verified.paper, verified.nonce_bound, presented.w)
