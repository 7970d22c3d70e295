"""The registry of compact credential types and claim keys (specs/formats/offline-presentation.md §5).

A compact credential names its type by a one-byte code and each claim by a one-byte key,
and encodes some values by their type where that buys bytes: an ESCO URI as its 16-byte
UUID, a date as days since 1970-01-01 (negative before), an enum as its index. Decoding gives back exactly
the SD-JWT VC claim value. The tables are append-only: a code or an enum index, once
issued, keeps its meaning (tests/test_offline_types.py checks them against the types'
schemas, so a new enum value added at the end of a schema is caught).

Only top-level claims are disclosed, each as a whole (IdentityBasic's ``nationalities``
goes as one array): the per-element disclosure of the SD-JWT VC copy would cost one salt
and one digest per element, which a QR cannot afford.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import MalformedOfflineQR, UnknownCredentialType

Kind = Literal["text", "uint", "bool", "date", "enum", "esco", "text_list"]
_EPOCH = dt.date(1970, 1, 1)
_ESCO = re.compile(r"^http://data\.europa\.eu/esco/(skill|occupation)/([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$")
_ESCO_KINDS = ("skill", "occupation")
_MAX_TEXT = 300
_MAX_DAYS = 100_000  # 1696-03-17 to 2243-10-17


@dataclass(frozen=True, slots=True)
class ClaimCodec:
    key: int
    name: str
    kind: Kind
    enum: tuple[str, ...] = ()

    def encode(self, value: Any) -> Any:
        if self.kind == "date":
            days = (dt.date.fromisoformat(value) - _EPOCH).days
            if not -_MAX_DAYS <= days <= _MAX_DAYS:
                raise ValueError("the date is outside the compact range")
            return days
        if self.kind == "enum":
            return self.enum.index(value)
        if self.kind == "esco":
            return [_esco_encode(value["uri"]), value["label"]]
        return value

    def decode(self, raw: Any) -> Any:
        """The SD-JWT VC value; anything but the one encoding the kind allows is refused."""
        bad = MalformedOfflineQR(f"claim {self.name} has a value of the wrong form")
        if self.kind == "text":
            if type(raw) is not str or not 0 < len(raw) <= _MAX_TEXT:
                raise bad
            return raw
        if self.kind == "uint":
            if type(raw) is not int or not 0 <= raw <= 0xFFFF:
                raise bad
            return raw
        if self.kind == "bool":
            if type(raw) is not bool:
                raise bad
            return raw
        if self.kind == "date":
            if type(raw) is not int or not -_MAX_DAYS <= raw <= _MAX_DAYS:
                raise bad
            return (_EPOCH + dt.timedelta(days=raw)).isoformat()
        if self.kind == "enum":
            if type(raw) is not int or not 0 <= raw < len(self.enum):
                raise bad
            return self.enum[raw]
        if self.kind == "esco":
            if type(raw) is not list or len(raw) != 2 or type(raw[1]) is not str or not 0 < len(raw[1]) <= _MAX_TEXT:
                raise bad
            return {"uri": _esco_decode(raw[0], bad), "label": raw[1]}
        if type(raw) is not list or not 0 < len(raw) <= 10 or any(type(x) is not str or len(x) > 40 for x in raw):
            raise bad
        return list(raw)


@dataclass(frozen=True, slots=True)
class CompactType:
    code: int
    name: str
    vct: str
    claims: tuple[ClaimCodec, ...]

    def by_name(self, name: str) -> ClaimCodec:
        for claim in self.claims:
            if claim.name == name:
                return claim
        raise MalformedOfflineQR(f"{self.name} has no compact claim {name!r}")

    def by_key(self, key: object) -> ClaimCodec:
        for claim in self.claims:
            if type(key) is int and claim.key == key:
                return claim
        raise MalformedOfflineQR(f"{self.name} has no compact claim key {key!r}")


def _esco_encode(uri: str) -> bytes | str:
    match = _ESCO.match(uri)
    if match is None:
        return uri  # not canonical: carried as text, so it still decodes to exactly itself
    raw = uuid.UUID(match.group(2)).bytes
    return raw if match.group(1) == "skill" else b"\x01" + raw


def _esco_decode(raw: Any, bad: MalformedOfflineQR) -> str:
    if type(raw) is str and 0 < len(raw) <= _MAX_TEXT and _ESCO.match(raw) is None:
        return raw
    if type(raw) is bytes and len(raw) in (16, 17) and (len(raw) == 16 or raw[0] == 1):
        kind = _ESCO_KINDS[len(raw) - 16]
        return f"http://data.europa.eu/esco/{kind}/{uuid.UUID(bytes=raw[-16:])}"
    raise bad


def _c(key: int, name: str, kind: Kind, enum: tuple[str, ...] = ()) -> ClaimCodec:
    return ClaimCodec(key, name, kind, enum)


SKILL_CERTIFICATE = CompactType(1, "SkillCertificate", "urn:amana:credential:SkillCertificate:1", (
    _c(1, "given_name", "text"),
    _c(2, "family_name", "text"),
    _c(3, "skill", "esco"),
    _c(4, "eqf_level", "uint"),
    _c(5, "assessment_method", "enum", ("practical_test", "written_exam", "portfolio", "observation",
                                        "interview", "course_completion")),
    _c(6, "issuing_organisation", "text"),
    _c(7, "awarded_on", "date"),
))
REGISTRATION_STATUS = CompactType(2, "RegistrationStatus", "urn:amana:credential:RegistrationStatus:1", (
    _c(1, "status_category", "enum", ("asylum_seeker", "refugee", "subsidiary_protection", "temporary_protection",
                                      "residence_permit", "tolerated_stay")),
    _c(2, "registration_number", "text"),
    _c(3, "valid_until", "date"),
    _c(4, "municipality", "text"),
    _c(5, "right_to_work", "bool"),
    _c(6, "registered", "bool"),
))
IDENTITY_BASIC = CompactType(3, "IdentityBasic", "urn:amana:credential:IdentityBasic:1", (
    _c(1, "given_name", "text"),
    _c(2, "given_name_latin", "text"),
    _c(3, "family_name", "text"),
    _c(4, "family_name_latin", "text"),
    _c(5, "birthdate", "text"),
    _c(6, "nationalities", "text_list"),
    _c(7, "age_over_18", "bool"),
))
TYPES: tuple[CompactType, ...] = (SKILL_CERTIFICATE, REGISTRATION_STATUS, IDENTITY_BASIC)
TYPE_CODES: Mapping[str, int] = {t.vct: t.code for t in TYPES}


def by_code(code: object) -> CompactType:
    for ctype in TYPES:
        if type(code) is int and ctype.code == code:
            return ctype
    raise UnknownCredentialType("the compact credential's type code is not registered")


def by_vct(vct: str) -> CompactType:
    for ctype in TYPES:
        if vct in (ctype.vct, ctype.name):
            return ctype
    raise UnknownCredentialType(f"{vct!r} has no compact form")
