"""Consent receipts: the holder's proof of each disclosure (and of each later event).

A receipt is three things, each checkable alone:

1. ``receipt``: a compact JWS (``typ`` ``amana-consent-receipt+jwt``) signed by the verifier
   with its key registered in the trust list, over the ISO/IEC TS 27560 record, the event,
   its salt and the leaf (the salted commitment), the leaf's index in the log, and the log's
   C2SP verifier key (``log``): the verifier vouches for its ledger's log key, so a wallet
   checks every checkpoint against a key the trust list reaches, not one the ledger hands out;
2. ``holder_signature``: a JWS by the holder's pairwise key (consent/pseudonym.py) over the
   SHA-256 of (1): the holder's counter-signature, saying "this is what I agreed to";
3. ``proof``: the leaf's RFC 9162 inclusion proof and the log's signed checkpoint.

:func:`verify` recomputes the leaf from record, event and salt, checks both signatures and
the inclusion proof against the checkpoint's root. Exports: :func:`to_kantara` (Kantara
Consent Receipt v1.1 JSON) and the 27560 record the receipt carries. The formats, for a
checker that is not this code: specs/formats/consent-log.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from consent import iso27560, records
from consent.checkpoint import Verifier, verify_checkpoint
from consent.ledger import Logged, Proven
from consent.records import Event, Record
from core import _jose
from core.encoding import b64url_decode, b64url_encode, numeric_date
from core.errors import AmanaError, VerificationFailed
from core.keys import PrivateKey, PublicKey

RECEIPT_TYP = "amana-consent-receipt+jwt"
DELETION_TYP = "amana-consent-deletion+jwt"  # the verifier's "deleted" (consent.notify), kept with its event
CLOCK_SKEW_S = 60  # between the verifier's clock and the ledger's (consent.notify)
COUNTER_TYP = "amana-consent-countersign+jwt"
ALGS = frozenset({"ES256", "EdDSA"})


class ReceiptInvalid(VerificationFailed):
    code = "receipt_invalid"
    title = "The consent receipt does not verify"


def sign(logged: Logged, events: Sequence[Event], verifier_key: PrivateKey, verifier_id: str, now: int) -> str:
    """The verifier's JWS over the record as it stands and the event this receipt is for."""
    event = logged.event
    payload = {"iss": verifier_id, "iat": now, "record": logged.record.content(),
               "event": {"kind": event.kind, "at": event.at, "actor": event.actor,
                         "salt": b64url_encode(event.salt)},
               "leaf": b64url_encode(logged.leaf), "leaf_index": logged.index,
               **({"log": logged.log_key} if logged.log_key else {}),
               "history": [{"kind": e.kind, "at": e.at, "actor": e.actor} for e in events]}
    return _jose.sign_compact({"typ": RECEIPT_TYP}, payload, verifier_key)


def countersign(receipt_jws: str, holder_key: PrivateKey, now: int) -> str:
    digest = b64url_encode(hashlib.sha256(receipt_jws.encode("ascii")).digest())
    return _jose.sign_compact({"typ": COUNTER_TYP}, {"receipt_sha256": digest, "iat": now}, holder_key)


def with_proof(receipt_jws: str | None, holder_signature: str | None, proven: Proven) -> dict[str, Any]:
    checkpoint = proven.checkpoint
    return {"receipt": receipt_jws, "holder_signature": holder_signature,
            "proof": {"leaf_index": proven.logged.index, "tree_size": checkpoint.size,
                      "root": b64url_encode(checkpoint.root), "checkpoint": checkpoint.note,
                      "inclusion": [b64url_encode(h) for h in proven.proof]}}


@dataclass(frozen=True, slots=True)
class Checked:
    record: Record
    event: Event
    leaf: bytes
    payload: dict[str, Any]
    log_key: Verifier | None = None


def _verified(token: str, typ: str, keys: Sequence[PublicKey], what: str) -> dict[str, Any]:
    jws = _jose.parse_compact(token, what)
    if jws.unverified_header.get("typ") != typ:
        raise ReceiptInvalid(f"{what}: wrong typ")
    alg = _jose.check_header(jws.unverified_header, ALGS, what)
    _jose.verify_with_any(jws, keys, alg, what)
    return jws.unverified_payload()


def _checkpoint(proof: dict[str, Any], log_key: Verifier | None, origin: str | None) -> tuple[int, bytes]:
    """(size, root) the proof is against: from the checkpoint signed by ``log_key`` for
    ``origin`` when given (and the proof's own figures must agree), else the proof's figures."""
    size, root = int(proof["tree_size"]), b64url_decode(proof["root"])
    if origin is None:
        return size, root
    if log_key is None:
        raise ReceiptInvalid("the receipt names no log key")
    signed = verify_checkpoint(proof["checkpoint"], log_key, origin)
    if (signed.size, signed.root) != (size, root):
        raise ReceiptInvalid("the proof is not against the signed checkpoint")
    return size, root


def verify(receipt: dict[str, Any], verifier_keys: Sequence[PublicKey],
           verify_inclusion: Callable[[bytes, int, int, list[bytes], bytes], None],
           log_origin: str | None = None) -> Checked:
    """Check a receipt whole: verifier signature, holder counter-signature (if present), the
    leaf recomputed from its parts, and its inclusion under the checkpoint's root. With
    ``log_origin`` (``<host>/consent`` of the ledger asked), the checkpoint must be signed for
    that origin by the log key the verifier's signed receipt names."""
    try:
        payload = _verified(receipt["receipt"], RECEIPT_TYP, verifier_keys, "consent receipt")
        record = Record.from_content(payload["record"])
        ev = payload["event"]
        event = Event(record.record_id, ev["kind"], int(ev["at"]), ev["actor"], b64url_decode(ev["salt"]))
        leaf = b64url_decode(payload["leaf"])
        if event.commitment(record) != leaf or event.kind not in records.EVENT_KINDS:
            raise ReceiptInvalid("the leaf is not the commitment of this record's event")
        if receipt.get("holder_signature"):
            holder = PublicKey.from_jwk(record.holder_key)
            counter = _verified(receipt["holder_signature"], COUNTER_TYP, [holder], "holder counter-signature")
            if counter.get("receipt_sha256") != b64url_encode(hashlib.sha256(receipt["receipt"].encode()).digest()):
                raise ReceiptInvalid("the holder counter-signed another receipt")
        log_key = Verifier.from_vkey(payload["log"]) if isinstance(payload.get("log"), str) else None
        proof = receipt["proof"]
        size, root = _checkpoint(proof, log_key, log_origin)
        if int(proof["leaf_index"]) != int(payload["leaf_index"]):
            raise ReceiptInvalid("the proof is for another leaf")
        verify_inclusion(leaf, int(proof["leaf_index"]), size, [b64url_decode(h) for h in proof["inclusion"]], root)
    except ReceiptInvalid:
        raise
    except (KeyError, TypeError, ValueError, AmanaError) as exc:
        raise ReceiptInvalid(f"the receipt is malformed or altered ({type(exc).__name__})") from None
    return Checked(record, event, leaf, payload, log_key)


def verify_bundle(items: Sequence[dict[str, Any]], holder_signature: str | None, verifier_keys: Sequence[PublicKey],
                  verify_inclusion: Callable[[bytes, int, int, list[bytes], bytes], None],
                  log_origin: str | None = None, *, record_id: str,
                  holder_key: PublicKey | None = None) -> list[Event]:
    """A record's receipts as the ledger serves them (consent.app): the "given" one checked whole
    (signatures, leaf, inclusion, and the signed checkpoint with ``log_origin``); each later
    event (a withdrawal, the verifier's answer) by its leaf, recomputed from the signed record
    and the event's salt, and its inclusion under a checkpoint signed by the same log key.

    The signed record must be the one asked for: ``record_id``, and, when given, made with
    ``holder_key``. Another holder's receipts verify just as well, and a ledger could serve them."""
    given = next((i for i in items if i.get("event") == "given"), None)
    if given is None:
        raise ReceiptInvalid("no receipt for the disclosure itself")
    checked = verify({**given, "holder_signature": holder_signature}, verifier_keys, verify_inclusion, log_origin)
    record, events = checked.record, []
    if record.record_id != record_id:
        raise ReceiptInvalid("the receipts are another record's")
    if holder_key is not None and not records.made_with(record, holder_key):
        raise ReceiptInvalid("the receipts are another holder's")
    try:
        for item in items:
            event = _event(record.record_id, item)
            proof = item["proof"]
            if item is given and event != checked.event:
                raise ReceiptInvalid("the receipt's event differs from what the controller signed")
            if item is not given:
                if event.kind == "deletion_confirmed":
                    withdrawn = [int(i["at"]) for i in items if i.get("event") == "withdrawn"]
                    _deletion_confirmed(item.get("receipt"), record, verifier_keys, max(withdrawn, default=None))
                size, root = _checkpoint(proof, checked.log_key, log_origin)
                verify_inclusion(event.commitment(record), int(proof["leaf_index"]), size,
                                 [b64url_decode(h) for h in proof["inclusion"]], root)
            events.append(event)
    except ReceiptInvalid:
        raise
    except (KeyError, TypeError, ValueError, AmanaError) as exc:
        raise ReceiptInvalid(f"an event's proof does not hold ({type(exc).__name__})") from None
    return events


def _deletion_confirmed(token: object, record: Record, verifier_keys: Sequence[PublicKey],
                        withdrawn_at: int | None) -> None:
    """The verifier's signed "deleted" for this record, by a key the trust list registers for it,
    made after the withdrawal it answers (consent.notify.confirm's rules). Required: without it the
    event is the ledger's word alone, which any ledger could write (helper-85)."""
    if not isinstance(token, str):
        raise ReceiptInvalid("the verifier's signed confirmation of the deletion is missing")
    claims = _verified(token, DELETION_TYP, verifier_keys, "deletion confirmation")
    if claims.get("record_id") != record.record_id or claims.get("iss") != record.controller.id:
        raise ReceiptInvalid("the deletion confirmation is for another record")
    iat = claims.get("iat")  # a NumericDate, fractions allowed (RFC 7519 §2), as consent.notify reads it
    if withdrawn_at is None or not numeric_date(iat) or iat < withdrawn_at - CLOCK_SKEW_S:
        raise ReceiptInvalid("the deletion confirmation was not made after the withdrawal")


def _event(record_id: str, item: dict[str, Any]) -> Event:
    """An event as a receipt bundle's item names it (its kind, time, actor and salt)."""
    return Event(record_id, item["event"], int(item["at"]), item["actor"], b64url_decode(item["salt"]))


def holders_record(items: Sequence[dict[str, Any]], record_id: str, subject_id: str,
                   holder_key: PublicKey) -> dict[str, Any] | None:
    """The ISO/IEC TS 27560 record a wallet keeps beside a record's receipts, made from the record
    the "given" receipt carries and the bundle's events; None when the bundle is not this holder's
    record (another record's, or filed under another pseudonym or key).

    Ownership, not authenticity: the signatures and the log are checked with the trust list where
    the wallet marks a record verified (``verify_bundle``), and a wallet whose trust list lacks the
    verifier still keeps its receipts, to withdraw. Ownership is what a wallet must know before it
    counter-signs (or it signs for someone else's disclosure), and the record is made here rather
    than taken as the ledger sends it (whose copy could say anything: that no withdrawal is possible)."""
    try:
        given = next(i for i in items if i.get("event") == "given")
        payload = _jose.parse_compact(given["receipt"], "consent receipt").unverified_payload()
        record = Record.from_content(payload["record"])
        events = [_event(record.record_id, item) for item in items]
        if record.record_id != record_id or not records.belongs_to(record, subject_id, holder_key):
            return None
        return iso27560.to_27560(record, events)
    except (StopIteration, AttributeError, KeyError, TypeError, ValueError, AmanaError):
        return None


def to_kantara(record: Record, events: Sequence[Event], language: str | None = None) -> dict[str, Any]:
    """Kantara Initiative Consent Receipt Specification v1.1 JSON."""
    given = next((e.at for e in events if e.kind == "given"), record.created_at)
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": record.jurisdiction,
        "consentTimestamp": given,
        "collectionMethod": "OpenID4VP presentation from the holder's wallet, after its consent screen",
        "consentReceiptID": record.record_id,
        "publicKey": record.holder_key.get("x", ""),
        "language": language or record.notice.language,
        "piiPrincipalId": record.subject_id,
        "piiControllers": [{"piiController": record.controller.name, "contact": record.controller.id,
                            "address": record.controller.id, "email": "", "phone": "",
                            "piiControllerUrl": record.controller.id}],
        "policyUrl": record.controller.id,
        "services": [{"service": ", ".join(record.credential_types), "purposes": [
            {"purpose": p, "purposeCategory": [p.rsplit("#", 1)[-1]],
             "consentType": "EXPLICIT" if record.consent_based else record.legal_basis.rsplit("#", 1)[-1],
             "piiCategory": list(record.data_categories), "primaryPurpose": i == 0,
             "termination": iso27560.iso(record.created_at + record.retention_s),
             "thirdPartyDisclosure": list(record.recipients) != [record.controller.id],
             "thirdPartyName": ", ".join(r for r in record.recipients if r != record.controller.id)}
            for i, p in enumerate(record.purposes)]}],
        "sensitive": bool(record.special_categories),
        "spiCat": list(record.special_categories),
    }
