"""The wallet's end of the consent ledger (issue 14): what goes with a presentation, and the receipts.

- :func:`notice`: the SHA-256 of exactly what the consent screen showed (who asks, where the
  answer goes, why, on what legal basis, what is asked, every warning), in the holder's
  language, as canonical JSON; the ledger records the hash and the language tag only.
- :func:`offer`: the ``amana_consent`` parameter posted beside the presentation: the holder's
  pairwise pseudonym and key (consent/pseudonym.py, from the ledger key in the vault), the
  record id they will ask for, and the notice — bound to the request's nonce.
- :func:`fetch`: the record's receipts from the ledger (``<verifier origin>/consent``),
  authenticated by a proof with the pairwise key — no account; :func:`check` verifies them
  (verifier signature by a key the trust list registers, leaf, inclusion) and
  :func:`countersign` adds the holder's signature to the "given" receipt.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from consent import pseudonym, receipts
from consent.context import log_seam
from consent.records import Notice
from core.encoding import json_object_or_none
from core.errors import AmanaError
from core.keys import PublicKey
from core.sdjwt.paths import format_path
from core.trust import TrustList
from wallet import consent, ledger_view


def notice(screen: consent.ConsentScreen) -> Notice:
    who = screen.who
    shown = {"lang": screen.lang, "who": [who.status, who.name, who.verifier_id or who.client_id, who.answer_goes_to],
             "why": [[p.purpose.label, p.legal_basis.label, p.legal_basis.article] for p in screen.purposes],
             "asks": [[q.query_id, list(q.type_names), [[format_path(a.path), a.label, a.required]
                                                        for a in q.attributes],
                       [list(c.labels) for c in q.claim_sets]] for q in screen.queries],
             "beyond": [[b.vct, b.label] for b in screen.beyond_registration]}
    # The record names the language as BCP 47 does (fa-AF), not by the catalogue's code (fa_AF).
    return Notice.of(json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                     screen.lang.replace("_", "-"))


@dataclass(frozen=True, slots=True)
class Offer:
    verifier_id: str
    record_id: str
    ledger: str
    token: str

    def pointer(self) -> dict[str, Any]:
        """What the history keeps until the receipts arrive: where and what to ask for."""
        return {"ledger": self.ledger, "verifier_id": self.verifier_id, "record_id": self.record_id,
                "receipts": None, "holder_signature": None}


def ledger_url(response_uri: str) -> str:
    parts = urlsplit(response_uri)
    return f"{parts.scheme}://{parts.netloc}/consent"


def offer(ledger_key: bytes, screen: consent.ConsentScreen, now: int) -> Offer:
    request = screen.request
    verifier_id = screen.who.verifier_id or screen.who.client_id
    shown = notice(screen)
    wallet_part = str(uuid.uuid4())
    token = pseudonym.disclosure_offer(ledger_key, verifier_id, wallet_part, shown.sha256, shown.language,
                                       request.nonce, now)
    record_id = pseudonym.record_id(pseudonym.subject_id(ledger_key, verifier_id), wallet_part)
    return Offer(verifier_id, record_id, ledger_url(request.response_uri), token)


async def fetch(http: httpx.AsyncClient, ledger_key: bytes, pointer: dict[str, Any], now: int) -> dict[str, Any] | None:
    """The record and its receipts, or None when the ledger has none (yet, or any more)."""
    record_id, verifier_id = pointer["record_id"], pointer["verifier_id"]
    proof = pseudonym.holder_proof(ledger_key, verifier_id, f"read:{record_id}", now)
    response = await http.get(f"{pointer['ledger']}/records/{record_id}/receipts",
                              headers={"Authorization": f"ConsentProof {proof}"})
    # The ledger stands at the verifier's origin: its answer is read as a stranger's (None if no object).
    return json_object_or_none(response.content) if response.status_code == 200 else None


def countersign(ledger_key: bytes, pointer: dict[str, Any], now: int) -> str | None:
    given = next((r for r in pointer.get("receipts") or [] if r.get("event") == "given" and r.get("receipt")), None)
    if given is None:
        return None
    return receipts.countersign(given["receipt"], pseudonym.pairwise_key(ledger_key, pointer["verifier_id"]), now)


def log_origin(ledger: str) -> str:
    """The checkpoint origin of the ledger at ``ledger`` (consent.log.origin: ``<host>/consent``)."""
    parts = urlsplit(ledger)
    return f"{parts.netloc}{parts.path.rstrip('/')}"


def own_key(ledger_key: bytes, pointer: dict[str, Any]) -> PublicKey:
    """The holder's pairwise key towards the verifier this pointer names: the key its records name."""
    return pseudonym.pairwise_key(ledger_key, pointer["verifier_id"]).public_key()


def check(pointer: dict[str, Any], trust: TrustList | None, holder_key: PublicKey | None = None) -> bool:
    """Every receipt signed by a key the trust list registers for this verifier, for the record
    the pointer names (and made with ``holder_key``, when given), each leaf the
    commitment of its event, each included under a checkpoint signed for this ledger's origin
    by the log key the verifier's receipt names, and the holder's counter-signature (when
    there is one) over the "given" receipt."""
    seam, bundle = log_seam(), pointer.get("receipts")
    registered = trust.verifier(pointer["verifier_id"]) if trust is not None else None
    if seam is None or not bundle or registered is None or pointer.get(ledger_view.INCONSISTENT):
        return False  # (the last: a later tree of its ledger did not extend the one its receipts are under)
    verifier_keys = [PublicKey.from_jwk(k) for k in registered.jwks["keys"]]
    try:
        receipts.verify_bundle(bundle, pointer.get("holder_signature"), verifier_keys, seam.verify_inclusion,
                               log_origin(pointer["ledger"]), record_id=pointer["record_id"], holder_key=holder_key)
    except (AmanaError, KeyError, TypeError, ValueError):
        return False
    return True


async def withdraw(http: httpx.AsyncClient, ledger_key: bytes, pointer: dict[str, Any], now: int) -> None:
    """Withdraw consent for one record: one request, with a proof by the pairwise key."""
    record_id, verifier_id = pointer["record_id"], pointer["verifier_id"]
    proof = pseudonym.holder_proof(ledger_key, verifier_id, f"withdraw:{record_id}", now)
    response = await http.post(f"{pointer['ledger']}/records/{record_id}/withdraw",
                               headers={"Authorization": f"ConsentProof {proof}"})
    if response.status_code != 200:
        raise WithdrawalRefused(f"the ledger did not take the withdrawal ({response.status_code})")


class WithdrawalRefused(AmanaError):
    code = "withdrawal_refused"
    title = "The withdrawal was not recorded"
    status = 502


def state(pointer: dict[str, Any] | None) -> str | None:
    """Where a disclosure stands, from its receipts: given, withdrawn (waiting for the verifier),
    confirmed (the verifier confirmed deletion), silent (no answer by the deadline); None:
    no receipt yet."""
    if not pointer or not pointer.get("receipts"):
        return None
    # A record whose ledger forked keeps its evidence; what came after it still says where it stands.
    kinds = {r.get("event") for r in [*pointer["receipts"], *(pointer.get(ledger_view.AFTER_FORK) or [])]}
    for kind, shown in (("deletion_confirmed", "confirmed"), ("deletion_unconfirmed", "silent"),
                        ("withdrawn", "withdrawn")):
        if kind in kinds:
            return shown
    return "given"


def withdrawable(pointer: dict[str, Any] | None) -> bool:
    """Only a disclosure made with consent (GDPR Art. 6(1)(a)) can be withdrawn, and once."""
    if state(pointer) != "given" or pointer is None:
        return False
    purposes = (pointer.get("record") or {}).get("purposes") or [{}]
    return str(purposes[0].get("legal_basis_article", "")).endswith("(a)")


def under_law_or_contract(pointer: dict[str, Any] | None) -> bool:
    """A disclosure made because of a contract or a legal obligation (GDPR Art. 6(1)(b), (c)):
    nothing to withdraw. Under (e) and (f) the holder may object (Art. 21), so those are not it."""
    if pointer is None:
        return False
    purposes = (pointer.get("record") or {}).get("purposes") or [{}]
    return str(purposes[0].get("legal_basis_article", "")).endswith(("(b)", "(c)"))


async def erase(http: httpx.AsyncClient, ledger_key: bytes, pointer: dict[str, Any], now: int) -> int:
    """Erase every record the ledger holds of this holder towards this verifier (crypto-shredding)."""
    proof = pseudonym.holder_proof(ledger_key, pointer["verifier_id"], "erase", now)
    response = await http.post(f"{pointer['ledger']}/erase", headers={"Authorization": f"ConsentProof {proof}"})
    if response.status_code == 404:
        return 0
    if response.status_code != 200:
        raise WithdrawalRefused(f"the ledger did not take the erasure ({response.status_code})")
    erased = (json_object_or_none(response.content) or {}).get("erased")
    if type(erased) is not int or erased < 0:
        raise WithdrawalRefused("the ledger's answer to the erasure is not one it could give")
    return erased
