"""Consent records after ISO/IEC TS 27560, in W3C DPV terms — pure: no I/O, no SQL, ``now`` passed in.

One :class:`Record` per disclosure to one verifier: the record id; the holder's pairwise
pseudonym (consent/pseudonym.py) and pairwise public key; the controller (the verifier's
id and its name *as the trust list registers it*); the purposes and the legal basis the
trust list registers for that verifier (a purpose it is not registered for is refused);
GDPR Art. 6(1)(a)–(f) as the basis, plus an Art. 9(2) condition whenever a claim listed in
specs/formats/special-categories.json is disclosed (refused without one); the data
categories, which are claim *names*, never values; recipients, retention, jurisdiction; the
notice (SHA-256 of exactly what the holder was shown, and its language).

A record's life is a list of :class:`Event` (given, withdrawn, expired, erased, and the
verifier's answer to a withdrawal: deletion confirmed, or its silence past the deadline),
each with time and actor. Each event becomes one leaf of the tamper-evident log
(consent/log.py) as a *salted commitment*: ``SHA-256(salt || canonical event bytes)``. The
canonical bytes bind the event to a digest of the whole record, so a proof for the leaf is
a proof for the record; the salt (32 random bytes, kept only beside the record) is what
makes the leaf unlinkable once it is deleted (crypto-shredding: consent/store/records.py).

Disclosures under a legal obligation or another non-consent basis are recorded the same
way: consent is one basis of six. Only a consent record can be *withdrawn*.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from consent import holder_shapes as shapes
from core.encoding import json_dumps_compact, json_loads_strict
from core.errors import AmanaError, InvalidInput, NotFound, VerificationFailed
from core.keys import PublicKey
from core.trust import TrustList

DPV = "https://w3id.org/dpv#"
GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
SALT_BYTES = 32

# GDPR Art. 6(1) point for each DPV legal basis a trust list may register (core and gdpr extension).
ART6: Mapping[str, str] = {
    DPV + "Consent": "a", DPV + "Contract": "b", DPV + "LegalObligation": "c", DPV + "VitalInterest": "d",
    DPV + "PublicInterest": "e", DPV + "OfficialAuthorityOfController": "e", DPV + "LegitimateInterest": "f",
    **{f"{GDPR}A6-1-{p}": p for p in "abcdef"},
}
ART9_CONDITIONS: frozenset[str] = frozenset(f"{GDPR}A9-2-{p}" for p in "abcdefghij")

EventKind = Literal["given", "withdrawn", "expired", "erased", "deletion_confirmed", "deletion_unconfirmed"]
EVENT_KINDS: frozenset[str] = frozenset(EventKind.__args__)  # type: ignore[attr-defined]
Actor = Literal["holder", "controller", "ledger"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.([A-Za-z_][A-Za-z0-9_]{0,63}|\*|[0-9]{1,4})){0,7}$")
_KEY_MEMBERS = ("kty", "crv", "x", "y")  # a public key's own members; a kid or alg is the sender's text


def public_key_only(jwk: Mapping[str, Any]) -> dict[str, str]:
    """A holder's public JWK with its key members alone ({} for none); RecordRefused if it is no key."""
    if not jwk:
        return {}
    try:
        key = PublicKey.from_jwk(dict(jwk)).to_jwk()
    except AmanaError as exc:
        raise RecordRefused("the holder key is not a public key") from exc
    return {name: key[name] for name in _KEY_MEMBERS if name in key}


def belongs_to(record: Record, subject_id: str, key: PublicKey) -> bool:
    """The record is this holder's: filed under their pseudonym *and* made with their key. The
    pseudonym alone is not enough: it travels in every proof, and a wallet may file a record of
    its own under someone else's."""
    return record.subject_id == subject_id and made_with(record, key)


def made_with(record: Record, key: PublicKey) -> bool:
    """The record names ``key`` as the holder's (by thumbprint: a kid kept by older records does
    not matter); a record made with no holder key answers to nobody."""
    if not record.holder_key:
        return False
    try:
        return PublicKey.from_jwk(dict(record.holder_key)).thumbprint() == key.thumbprint()
    except AmanaError:
        return False


class RecordRefused(InvalidInput):
    code = "consent_record_refused"
    title = "This disclosure cannot be recorded"


class RecordExists(RecordRefused):
    """This very disclosure is recorded already: a record of its id (which the holder's offer makes,
    consent.pseudonym) is stored with the same content, all but its time. An earlier try of the same
    answer made it (one whose answer then failed), or the same answer sent twice at once. A stored
    record of that id with other content, or erased, is a plain ``RecordRefused``."""

    code = "consent_record_exists"
    title = "This disclosure is recorded already"


class Article9ConditionMissing(RecordRefused):
    code = "art9_condition_missing"
    title = "Special-category data needs a GDPR Art. 9(2) condition"


class NotWithdrawable(RecordRefused):
    code = "not_withdrawable"
    title = "Only a disclosure made with consent can be withdrawn"


class RecordNotFound(NotFound):
    code = "consent_record_not_found"
    title = "No such consent record"


class CommitmentMismatch(VerificationFailed):
    code = "commitment_mismatch"
    title = "The event does not match its commitment"


@dataclass(frozen=True, slots=True)
class Notice:
    """What the holder was shown: the SHA-256 (hex) of its exact bytes and its language tag."""

    sha256: str
    language: str

    @classmethod
    def of(cls, shown: bytes | str, language: str) -> Notice:
        data = shown.encode("utf-8") if isinstance(shown, str) else shown
        return cls(hashlib.sha256(data).hexdigest(), language)


@dataclass(frozen=True, slots=True)
class Controller:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What the verifier hands the ledger when a check succeeds (names only, never values)."""

    subject_id: str
    holder_key: Mapping[str, str]  # the holder's pairwise public JWK
    verifier_id: str
    purposes: tuple[str, ...]
    claims: Mapping[str, tuple[str, ...]]  # vct -> disclosed claim names
    notice: Notice
    recipients: tuple[str, ...] = ()
    retention_s: int = 0  # how long the verifier may keep what it learnt; 0: not at all
    jurisdiction: str = "EU"
    art9_condition: str | None = None
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str
    subject_id: str
    holder_key: Mapping[str, str]
    controller: Controller
    purposes: tuple[str, ...]
    legal_basis: str
    art9_condition: str | None
    data_categories: tuple[str, ...]
    special_categories: tuple[str, ...]
    credential_types: tuple[str, ...]
    recipients: tuple[str, ...]
    retention_s: int
    jurisdiction: str
    notice: Notice
    created_at: int

    @property
    def article6(self) -> str:
        return f"GDPR Art. 6(1)({ART6[self.legal_basis]})"

    @property
    def consent_based(self) -> bool:
        return ART6[self.legal_basis] == "a"

    def content(self) -> dict[str, Any]:
        """Everything but the events, as JSON: what a commitment binds and an export shows."""
        return {"record_id": self.record_id, "subject_id": self.subject_id, "holder_key": dict(self.holder_key),
                "controller": {"id": self.controller.id, "name": self.controller.name},
                "purposes": list(self.purposes), "legal_basis": self.legal_basis,
                "art9_condition": self.art9_condition, "data_categories": list(self.data_categories),
                "special_categories": list(self.special_categories),
                "credential_types": list(self.credential_types), "recipients": list(self.recipients),
                "retention_s": self.retention_s, "jurisdiction": self.jurisdiction,
                "notice": {"sha256": self.notice.sha256, "language": self.notice.language},
                "created_at": self.created_at}

    def digest(self) -> bytes:
        return hashlib.sha256(json_dumps_compact(self.content()).encode("utf-8")).digest()

    @classmethod
    def from_content(cls, data: Mapping[str, Any]) -> Record:
        try:
            return cls(str(data["record_id"]), str(data["subject_id"]), dict(data["holder_key"]),
                       Controller(data["controller"]["id"], data["controller"]["name"]), tuple(data["purposes"]),
                       data["legal_basis"], data["art9_condition"], tuple(data["data_categories"]),
                       tuple(data["special_categories"]), tuple(data["credential_types"]), tuple(data["recipients"]),
                       int(data["retention_s"]), data["jurisdiction"],
                       Notice(data["notice"]["sha256"], data["notice"]["language"]), int(data["created_at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"a consent record is malformed ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class Event:
    record_id: str
    kind: EventKind
    at: int
    actor: Actor
    salt: bytes = field(repr=False, default=b"")

    def canonical(self, record: Record) -> bytes:
        """The bytes the commitment covers: the event, bound to the record's digest and subject."""
        return json_dumps_compact({"v": 1, "record": record.digest().hex(), "subject": record.subject_id,
                                   "event": self.kind, "at": self.at, "actor": self.actor}).encode("utf-8")

    def commitment(self, record: Record) -> bytes:
        """The 32-byte leaf input for the log: ``SHA-256(salt || canonical bytes)``."""
        if len(self.salt) != SALT_BYTES:
            raise InvalidInput("an event's salt is 32 bytes")
        return hashlib.sha256(self.salt + self.canonical(record)).digest()


def new_event(record_id: str, kind: EventKind, now: int, actor: Actor) -> Event:
    return Event(record_id, kind, now, actor, secrets.token_bytes(SALT_BYTES))


def check_commitment(record: Record, event: Event, leaf: bytes) -> None:
    if event.commitment(record) != leaf:
        raise CommitmentMismatch()


@dataclass(frozen=True, slots=True)
class SpecialCategories:
    """specs/formats/special-categories.json: vct -> {claim name: DPV special-category term}."""

    types: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, specs_dir: Path) -> SpecialCategories:
        data = json_loads_strict((specs_dir / "formats" / "special-categories.json").read_bytes(),
                                 "special-categories.json")
        return cls({vct: dict(claims) for vct, claims in data["types"].items()})

    def of(self, vct: str, names: Sequence[str]) -> list[str]:
        listed = self.types.get(vct)
        if listed is None:  # fail closed: somebody must decide before a new type is recorded
            raise RecordRefused(f"{vct} is not in specs/formats/special-categories.json")
        return sorted({listed[n.split(".")[0]] for n in names if n.split(".")[0] in listed} |
                      {listed[n] for n in names if n in listed})


def build(disclosure: Disclosure, trust: TrustList, special: SpecialCategories, now: int) -> Record:
    """The record for a disclosure, after the checks the law and the trust list ask for."""
    verifier = trust.verifier(disclosure.verifier_id)
    if verifier is None:
        raise RecordRefused("the verifier is not on the trust list: no controller to record")
    registrations = [verifier.registration(p) for p in disclosure.purposes]
    if not disclosure.purposes or any(r is None for r in registrations):
        raise RecordRefused("a purpose is not registered for this verifier")
    bases = {r.legal_basis for r in registrations if r is not None}
    if len(bases) != 1:
        raise RecordRefused("one record has one legal basis: record each basis's purposes apart")
    basis = bases.pop()
    if basis not in ART6:
        raise RecordRefused("the registered legal basis is not one of GDPR Art. 6(1)(a)-(f)")
    names: set[str] = set()
    special_terms: set[str] = set()
    for vct, claim_names in disclosure.claims.items():
        bad = [n for n in claim_names if not isinstance(n, str) or not _NAME.match(n)]
        if bad:
            raise RecordRefused("a data category must be a claim name (letters, digits, _ and dots)")
        names.update(claim_names)
        special_terms.update(special.of(vct, claim_names))
    if not names:
        raise RecordRefused("nothing was disclosed")
    condition = disclosure.art9_condition
    if condition is not None and condition not in ART9_CONDITIONS:
        raise RecordRefused("the Art. 9 condition is not one of GDPR Art. 9(2)(a)-(j)")
    if special_terms and condition is None:
        raise Article9ConditionMissing("special-category data was disclosed with no GDPR Art. 9(2) condition")
    if not 0 <= disclosure.retention_s <= 10 * 365 * 86400:
        raise RecordRefused("retention out of range")
    if not shapes.is_notice(disclosure.notice.sha256, disclosure.notice.language):
        raise RecordRefused("the notice is the SHA-256 (hex) of what the holder was shown, and its language tag")
    if not shapes.is_pseudonym(disclosure.subject_id):
        raise RecordRefused("the subject id is a pseudonym: 43 base64url characters")
    holder_key = public_key_only(disclosure.holder_key)
    name = verifier.names.get("en") or next(iter(verifier.names.values()))
    return Record(disclosure.record_id or str(uuid.uuid4()), disclosure.subject_id, holder_key,
                  Controller(verifier.id, name), tuple(disclosure.purposes), basis, condition,
                  tuple(sorted(names)), tuple(sorted(special_terms)), tuple(sorted(disclosure.claims)),
                  tuple(disclosure.recipients) or (verifier.id,), disclosure.retention_s, disclosure.jurisdiction,
                  disclosure.notice, now)


def next_event(record: Record, events: Sequence[Event], kind: EventKind, now: int, actor: Actor) -> Event:
    """The next event of a record's life, if its history allows it."""
    done = {e.kind for e in events}
    if "erased" in done:
        raise RecordNotFound()
    if kind == "withdrawn":
        if not record.consent_based:
            raise NotWithdrawable(f"this disclosure was made under {record.article6}, not consent")
        if done & {"withdrawn", "expired"}:
            raise RecordRefused("already withdrawn or expired")
    if kind in ("deletion_confirmed", "deletion_unconfirmed") and ("withdrawn" not in done or
                                                                   done & {"deletion_confirmed",
                                                                           "deletion_unconfirmed"}):
        raise RecordRefused("no withdrawal is waiting for an answer")
    if kind == "expired" and done & {"withdrawn", "expired"}:
        raise RecordRefused("already ended")
    return new_event(record.record_id, kind, now, actor)


def expired(record: Record, now: int) -> bool:
    """Past its retention: the verifier had to forget what it learnt by now."""
    return now >= record.created_at + record.retention_s


__all__ = [
    "ART6",
    "ART9_CONDITIONS",
    "Article9ConditionMissing",
    "Controller",
    "Disclosure",
    "Event",
    "Notice",
    "Record",
    "RecordNotFound",
    "RecordRefused",
    "SpecialCategories",
    "build",
    "check_commitment",
    "expired",
    "new_event",
    "next_event",
]
