"""The trust list's content: accredited issuers and registered verifiers (specs/formats/trust-list.md).

Pure data with validation. Pydantic models in strict mode: a trust list is a signed
document that thousands of verifiers act on, so nothing is coerced (``"1"`` is not a
number, ``true`` is not 1) and every rule that can be checked on the document alone is
checked here: HTTPS identifiers, language-tagged names, public keys only, DPV IRIs,
claim paths, unique ids, times in order. Unknown members are ignored, so a newer
operator tool can add fields without breaking older verifiers.

Validation errors become ``InvalidTrustList`` naming the member and the rule, never the
value (``_invalid``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.encoding import json_dumps_compact
from core.errors import AmanaError, InvalidTrustList
from core.keys import PublicKey
from core.sdjwt.paths import ClaimPath, validate

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# W3C Data Privacy Vocabulary: the core namespace and its extensions (legal/eu/gdpr, ...).
DPV_NAMESPACE = "https://w3id.org/dpv"


def _entity_id(value: str) -> str:
    """An HTTPS URL compared as a string (SD-JWT VC ``iss``). Plain HTTP only on loopback,
    for a developer's machine: such an entry cannot name anything reachable from outside."""
    parts = urlsplit(value)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise ValueError("must be an https:// URL")
    if parts.fragment or parts.username or parts.password or parts.query:
        raise ValueError("must not carry a query, fragment or user info")
    return value


def _names(value: dict[str, str]) -> dict[str, str]:
    if not value:
        raise ValueError("needs a name in at least one language")
    for tag, name in value.items():
        if not _LANGUAGE_TAG.fullmatch(tag):
            raise ValueError("keys must be BCP 47 language tags such as en, ar, fa-IR")
        if not name.strip():
            raise ValueError("names must not be blank")
    return value


def _jwks(value: dict[str, Any]) -> dict[str, Any]:
    entries = value.get("keys")
    if not isinstance(entries, list) or not entries:
        raise ValueError("must be a JWK Set with at least one key")
    for jwk in entries:
        try:
            PublicKey.from_jwk(jwk)  # refuses private members and unusable keys
        except AmanaError as exc:
            raise ValueError(f"holds an unusable key: {exc.detail}") from exc
    return value


def _dpv_term(value: str) -> str:
    if not value.startswith(DPV_NAMESPACE) or urlsplit(value).scheme != "https":
        raise ValueError(f"must be a W3C DPV term IRI under {DPV_NAMESPACE}")
    return value


def _claim_path(value: list[Any]) -> list[Any]:
    try:
        validate(value)  # kept as a list (strict mode takes JSON arrays as lists); see as_path
    except AmanaError as exc:  # a validator must raise ValueError for pydantic to report it
        raise ValueError(exc.detail) from None
    return value


def as_path(value: list[Any]) -> ClaimPath:
    return tuple(value)


def name_in(names: Mapping[str, str], lang: str) -> str:
    """A registered name (keyed by BCP 47 tag) for the page language ``lang`` (a catalogue code:
    ``fa_AF`` reads ``fa-AF``, then ``fa``), else English, else the first one it has: the words
    a holder's wallet and a desk's pages both show for one party."""
    tag = lang.replace("_", "-")
    return names.get(tag) or names.get(tag.split("-")[0]) or names.get("en") or next(iter(names.values()))


EntityId = Annotated[str, AfterValidator(_entity_id)]
Names = Annotated[dict[str, str], AfterValidator(_names)]
Jwks = Annotated[dict[str, Any], AfterValidator(_jwks)]
DpvTerm = Annotated[str, AfterValidator(_dpv_term)]
NumericDate = Annotated[int, Field(ge=0)]
Path = Annotated[list[str | int | None], AfterValidator(_claim_path)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class _Keyed:
    """An entry's ``jwks`` as keys, parsed once per distinct key set: a desk reads its issuers' keys
    at every check, a wallet its verifier's at every request (issue 15). Cached by the keys' own
    JSON text, not on the entry: ``model_copy(update={"jwks": ...})`` copies an entry's attributes,
    a cached one included, and would hand out the old keys."""

    if TYPE_CHECKING:  # each model's own field (a field here would be the models' first, and untyped)
        jwks: dict[str, Any]

    def public_keys(self) -> list[PublicKey]:
        return list(_parsed_keys(json_dumps_compact(self.jwks)))


@lru_cache(maxsize=256)
def _parsed_keys(jwks_text: str) -> tuple[PublicKey, ...]:
    return tuple(PublicKey.from_jwk(jwk) for jwk in json.loads(jwks_text)["keys"])


def _unique(ids: Sequence[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} must be unique")


class AccreditedIssuer(_Keyed, _Strict):
    """An organisation the governance operator accredited for some credential types."""

    id: EntityId
    names: Names
    jwks: Jwks
    vcts: Annotated[list[str], Field(min_length=1)]
    valid_from: NumericDate
    valid_until: NumericDate | None = None
    suspended_from: NumericDate | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> AccreditedIssuer:
        _unique(self.vcts, "vcts")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must come after valid_from")
        return self


class RegisteredCredential(_Strict):
    """Within one purpose: which claims of which credential type may be requested."""

    vct: str
    claims: Annotated[list[Path], Field(min_length=1)]

    def paths(self) -> list[ClaimPath]:
        return [as_path(c) for c in self.claims]


class PurposeRegistration(_Strict):
    purpose: DpvTerm
    legal_basis: DpvTerm
    credentials: Annotated[list[RegisteredCredential], Field(min_length=1)]


class RegisteredVerifier(_Keyed, _Strict):
    """A relying party: who it is, the keys it signs requests with, what it may ask and why."""

    id: EntityId
    names: Names
    jwks: Jwks
    registrations: Annotated[list[PurposeRegistration], Field(min_length=1)]
    suspended_from: NumericDate | None = None

    @model_validator(mode="after")
    def _one_registration_per_purpose(self) -> RegisteredVerifier:
        _unique([r.purpose for r in self.registrations], "purposes")
        return self

    def registration(self, purpose: str) -> PurposeRegistration | None:
        return next((r for r in self.registrations if r.purpose == purpose), None)


class Entries(_Strict):
    """What the operator edits: the governance operator's id and the two registers."""

    iss: EntityId
    issuers: list[AccreditedIssuer] = []
    verifiers: list[RegisteredVerifier] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Entries:
        _unique([i.id for i in self.issuers], "issuer ids")
        _unique([v.id for v in self.verifiers], "verifier ids")
        return self

    def issuer(self, issuer_id: str) -> AccreditedIssuer | None:
        return next((i for i in self.issuers if i.id == issuer_id), None)

    def verifier(self, verifier_id: str) -> RegisteredVerifier | None:
        return next((v for v in self.verifiers if v.id == verifier_id), None)


class TrustList(Entries):
    """The signed payload: the registers plus sequence number and validity window."""

    seq: Annotated[int, Field(ge=1)]
    iat: NumericDate
    next_update: NumericDate

    @model_validator(mode="after")
    def _window(self) -> TrustList:
        if self.next_update <= self.iat:
            raise ValueError("next_update must come after iat")
        return self


class Draft(Entries):
    """The operator's working copy: unsigned, remembers the last sequence number signed."""

    seq: Annotated[int, Field(ge=0)] = 0
    validity_s: Annotated[int, Field(ge=3600, le=90 * 86400)] = 7 * 86400


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    """Validate ``data`` as ``model``; errors name members and rules, never values."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidTrustList:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "document"
        problems.append(f"{where}: {error['msg']}")
    return InvalidTrustList("; ".join(problems[:5]))
