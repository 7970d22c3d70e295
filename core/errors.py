"""One error hierarchy for all of Amana.

Every failure a caller may want to tell apart has its own leaf type, named after what
went wrong, with a stable ``code`` string that survives into problem+json (RFC 9457) and
the CLI. Callers branch on the type or the code, never on the message.

Messages (``detail``) may name claims and parts of a token; they never carry claim
values, keys, PINs or tokens, so an error can be logged or shown as is. ``detail`` is English,
for API clients and logs; where a person must mend what they typed (the console's forms and
class files), the error also carries ``problems``, each a ``Problem`` that a page words in its
reader's language.

    AmanaError
    ├── InvalidInput                  400  the input is not what the format allows
    │   ├── MalformedToken                 JWT / SD-JWT structure, base64url, JSON
    │   ├── MalformedDisclosure            a Disclosure is not [salt, name, value] / [salt, value]
    │   ├── DuplicateJSONKey               an object repeats a member name
    │   ├── LimitExceeded                  size, disclosure count or nesting depth cap
    │   ├── ReservedClaimName              `_sd` or `...` used as a claim name
    │   ├── InvalidKey                     a JWK that is not a usable key of its type
    │   ├── InvalidClaims                  claims that do not fit their credential type
    │   │   └── UnknownEscoSkill               an ESCO skill URI the classification does not have
    │   ├── UnknownClaimPath               a path that selects nothing in the credential
    │   ├── InvalidTrustList               a trust list (or draft) that breaks its format
    │   ├── MalformedOfflineQR             an offline QR (core/offline) that is not exactly its format
    │   └── NotDigits                      a PIN or code with something other than digits and spaces
    ├── NotFound / Forbidden          404 / 403
    ├── RateLimited                   429  an address past its share (core/ratelimit: with Retry-After)
    ├── TrustListUnavailable          503  nothing valid to publish
    ├── EscoUnavailable               503  the ESCO skills index was not built (make setup)
    ├── FetchError                    502  a document at an address others chose could not be had
    │   ├── FetchFailed                    unreachable, unresolvable, unparsable, too slow, not 200
    │   └── FetchRefused              400  that address may not be fetched (SSRF rules, caps)
    ├── OAuthError                    4xx  OAuth / OpenID4VC error codes (their own wire format)
    ├── VaultError                         the holder's encrypted vault (wallet/vault.py)
    │   ├── WrongPassphrase           403  the passphrase (or export passphrase) does not open it
    │   ├── WrongRecoveryCode         403  a well-formed recovery code that does not open it
    │   ├── InvalidRecoveryCode       400  not a recovery code (checksum, length): caught before any KDF
    │   ├── VaultTampered             422  the stored vault or an export file was changed or damaged
    │   ├── VaultBusy                 429  too many wrong unlocks: wait (per wallet)
    │   └── VaultConflict             409  another writer changed the vault first: nothing was lost, retry
    └── VerificationFailed            400  well-formed, but not to be believed
        ├── InvalidSignature
        ├── UnsupportedAlgorithm           `none`, HMAC, or an alg not tied to the key
        ├── UnknownIssuerKey
        ├── InvalidTokenType               `typ` is not the one expected
        ├── UnsupportedCriticalHeader
        ├── UnsupportedHashAlgorithm       `_sd_alg`
        ├── Expired / NotYetValid / IssuedInFuture
        ├── DuplicateDigest
        ├── DuplicateDisclosure
        ├── UnreferencedDisclosure
        ├── ClaimNameCollision
        ├── KeyBindingMissing / HolderKeyMissing / UnexpectedKeyBinding
        ├── AudienceMismatch / NonceMismatch / KeyBindingTooOld / SdHashMismatch
        ├── MissingClaim
        ├── ProtectedClaimDisclosed        SD-JWT VC: iss, nbf, exp, cnf, vct, status
        ├── UnknownCredentialType
        ├── ClaimsInvalidForType
        ├── TrustListRollback / TrustListConflict / TrustListExpired
        ├── IssuerNotAccredited / IssuerSuspended
        ├── CredentialRevoked / CredentialSuspended   from a (cached) status list
        ├── Replayed / WindowExpired / WindowTooLong  offline QR freshness (core/offline)
        └── VerifierNotRegistered / PurposeNotRegistered / RequestExceedsRegistration
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "urn:amana:problem:"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to mend, said without the value (which may be personal data): ``where`` is a
    claim path or a column's name (a schema's names, what the person typed as a header, never a
    cell), ``rule`` a short code a page words in its reader's language (``console.rule.<rule>``),
    ``bound`` the rule's own limit, codes or line, as text; ``said`` the same in English."""

    where: str
    rule: str
    bound: str = ""
    said: str = ""


class AmanaError(Exception):
    """Base of every error Amana raises on purpose."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request failed"
    status: ClassVar[int] = 400

    def __init__(self, detail: str | None = None, *, problems: tuple[Problem, ...] = ()) -> None:
        self.detail = detail or self.title
        self.problems = problems
        super().__init__(self.detail)

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem details object for this error."""
        return {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }


# --- the input is not what the format allows ---------------------------------------


class InvalidInput(AmanaError):
    code = "invalid_input"
    title = "The input is malformed"


class MalformedToken(InvalidInput):
    code = "malformed_token"
    title = "The token is malformed"


class MalformedDisclosure(InvalidInput):
    code = "malformed_disclosure"
    title = "A Disclosure is malformed"


class DuplicateJSONKey(InvalidInput):
    code = "duplicate_json_key"
    title = "A JSON object repeats a member name"


class LimitExceeded(InvalidInput):
    code = "limit_exceeded"
    title = "The input exceeds a size, count or depth limit"


class ReservedClaimName(InvalidInput):
    code = "reserved_claim_name"
    title = "A reserved name (_sd, ..., _sd_alg) is used as a claim name"


class InvalidKey(InvalidInput):
    code = "invalid_key"
    title = "The key is not usable"


class InvalidClaims(InvalidInput):
    code = "invalid_claims"
    title = "The claims do not fit the credential type"


class UnknownEscoSkill(InvalidClaims):
    code = "unknown_esco_skill"
    title = "Not a skill of the ESCO classification"


class UnknownClaimPath(InvalidInput):
    code = "unknown_claim_path"
    title = "The claim path selects nothing in this credential"


class InvalidTrustList(InvalidInput):
    code = "invalid_trust_list"
    title = "The trust list does not follow its format"


class MalformedOfflineQR(InvalidInput):
    code = "malformed_offline_qr"
    title = "The offline QR is not exactly its format"


class NotDigits(InvalidInput):
    code = "not_digits"
    title = "Only digits are allowed here"


# --- well-formed, but not to be believed -------------------------------------------


class VerificationFailed(AmanaError):
    code = "verification_failed"
    title = "The credential could not be verified"


class InvalidSignature(VerificationFailed):
    code = "invalid_signature"
    title = "The signature does not verify"


class UnsupportedAlgorithm(VerificationFailed):
    code = "unsupported_algorithm"
    title = "The signing algorithm is not allowed for this key"


class UnknownIssuerKey(VerificationFailed):
    code = "unknown_issuer_key"
    title = "No trusted key of the issuer matches"


class InvalidTokenType(VerificationFailed):
    code = "invalid_typ"
    title = "The token type (typ) is not the expected one"


class UnsupportedCriticalHeader(VerificationFailed):
    code = "unsupported_crit"
    title = "The token has critical header parameters that are not understood"


class UnsupportedHashAlgorithm(VerificationFailed):
    code = "unsupported_sd_alg"
    title = "The digest algorithm (_sd_alg) is not allowed"


class Expired(VerificationFailed):
    code = "expired"
    title = "The credential has expired"


class NotYetValid(VerificationFailed):
    code = "not_yet_valid"
    title = "The credential is not valid yet"


class IssuedInFuture(VerificationFailed):
    code = "issued_in_future"
    title = "The issuance time lies in the future"


class DuplicateDigest(VerificationFailed):
    code = "duplicate_digest"
    title = "A digest appears more than once"


class DuplicateDisclosure(VerificationFailed):
    code = "duplicate_disclosure"
    title = "A Disclosure is sent more than once"


class UnreferencedDisclosure(VerificationFailed):
    code = "unreferenced_disclosure"
    title = "A Disclosure is not referenced by any digest"


class ClaimNameCollision(VerificationFailed):
    code = "claim_name_collision"
    title = "A disclosed claim name already exists at its level"


class KeyBindingMissing(VerificationFailed):
    code = "key_binding_missing"
    title = "Key binding is required but no Key Binding JWT was presented"


class UnexpectedKeyBinding(VerificationFailed):
    code = "unexpected_key_binding"
    title = "A Key Binding JWT was presented where an issued SD-JWT was expected"


class HolderKeyMissing(VerificationFailed):
    code = "holder_key_missing"
    title = "The credential carries no usable holder key (cnf.jwk)"


class AudienceMismatch(VerificationFailed):
    code = "aud_mismatch"
    title = "The Key Binding JWT is meant for another audience"


class NonceMismatch(VerificationFailed):
    code = "nonce_mismatch"
    title = "The Key Binding JWT carries another nonce"


class KeyBindingTooOld(VerificationFailed):
    code = "kb_iat_out_of_window"
    title = "The Key Binding JWT was not created within the accepted time window"


class SdHashMismatch(VerificationFailed):
    code = "sd_hash_mismatch"
    title = "The Key Binding JWT does not cover this presentation"


class MissingClaim(VerificationFailed):
    code = "missing_claim"
    title = "A required claim is missing"


class ProtectedClaimDisclosed(VerificationFailed):
    code = "protected_claim_disclosed"
    title = "A claim that must be plaintext arrived through a Disclosure"


class UnknownCredentialType(VerificationFailed):
    code = "unknown_credential_type"
    title = "The credential type (vct) is not known"


class ClaimsInvalidForType(VerificationFailed):
    code = "claims_invalid_for_type"
    title = "The claims do not match the credential type"


class CredentialRevoked(VerificationFailed):
    code = "credential_revoked"
    title = "The credential is revoked"


class CredentialSuspended(VerificationFailed):
    code = "credential_suspended"
    title = "The credential is suspended"


class Replayed(VerificationFailed):
    code = "replayed"
    title = "This presentation was already shown inside its window"


class WindowExpired(KeyBindingTooOld):
    code = "window_expired"
    title = "The presentation's validity window is over (or not yet begun)"


class WindowTooLong(VerificationFailed):
    code = "window_too_long"
    title = "The presentation's validity window is longer than this verifier accepts"


# --- protocol errors with their own wire format ----------------------------------


class OAuthError(AmanaError):
    """An error whose protocol names it: OAuth 2.0 (RFC 6749 section 5.2, RFC 6750 section 3)
    and OpenID4VCI/VP. Rendered as ``{"error", "error_description"}``, never problem+json."""

    code = "oauth_error"
    title = "The protocol request was refused"

    def __init__(self, error: str, detail: str | None = None, *, status: int = 400, scheme: str = "Bearer",
                 headers: dict[str, str] | None = None, members: dict[str, int] | None = None) -> None:
        super().__init__(detail or error)
        self.error = error
        self.status = status  # type: ignore[misc]
        # A 401 challenges with ``scheme`` (RFC 6750 section 3: Bearer; RFC 9449 section 7.1: DPoP);
        # ``headers`` go with the answer (``DPoP-Nonce``, RFC 9449 sections 8 and 9).
        self.scheme = scheme
        self.headers = dict(headers or {})
        # Members beyond RFC 6749's, which a client that does not know them ignores (section 5.2
        # lists the error's; specs/token-errors.md those we add).
        self.members = dict(members or {})

    def body(self) -> dict[str, Any]:
        # RFC 6749 section 5.2: error_description is ASCII without '"' and '\\'.
        text = "".join(c for c in self.detail if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
        return {**self.members, "error": self.error, "error_description": text}


# --- trust: who may issue what, who may ask for what --------------------------------


class TrustListRollback(VerificationFailed):
    code = "trust_list_rollback"
    title = "The trust list is older than the one already held"


class TrustListConflict(VerificationFailed):
    code = "trust_list_conflict"
    title = "Two different trust lists carry the same sequence number"


class NotFound(AmanaError):
    code = "not_found"
    title = "No such resource"
    status = 404


class AlreadyExists(AmanaError):
    """Something made under a name that is taken (an organisation's slug): nothing was made."""

    code = "already_exists"
    title = "It exists already"
    status = 409


class SentAlready(AlreadyExists):
    """A console page sent a second time (a reload, a second click after the first arrived): its
    one-time value was spent with what the first made, so nothing new is made."""

    code = "sent_already"
    title = "This form was sent already: nothing new was made"


class NotAcceptable(AmanaError):
    code = "not_acceptable"
    title = "There is no form of this resource that the request accepts"
    status = 406


class NotSupported(AmanaError):
    code = "not_supported"
    title = "This server does not support what the request asks for"
    status = 501


class Forbidden(AmanaError):
    code = "forbidden"
    title = "Not allowed"
    status = 403


class RateLimited(AmanaError):
    """Answered by core/ratelimit's middleware before any route runs, never raised through one."""

    code = "rate_limited"
    title = "Too many requests"
    status = 429


class TrustListUnavailable(AmanaError):
    code = "trust_list_unavailable"
    title = "No valid trust list is published here yet"
    status = 503


class EscoUnavailable(AmanaError):
    """Refused rather than let any skill URI through unchecked."""

    code = "esco_unavailable"
    title = "The ESCO skills classification is not installed"
    status = 503


class TrustListExpired(VerificationFailed):
    code = "trust_list_expired"
    title = "The trust list is past its next-update time"


class IssuerNotAccredited(VerificationFailed):
    code = "issuer_not_accredited"
    title = "The issuer is not accredited for this credential type"


class IssuerSuspended(VerificationFailed):
    code = "issuer_suspended"
    title = "The issuer's accreditation is suspended"


class VerifierNotRegistered(VerificationFailed):
    code = "verifier_not_registered"
    title = "The verifier is not registered"


class PurposeNotRegistered(VerificationFailed):
    code = "purpose_not_registered"
    title = "The verifier is not registered for this purpose"


class RequestExceedsRegistration(VerificationFailed):
    code = "request_exceeds_registration"
    title = "The request asks for claims beyond the verifier's registration"


# --- fetching what others point at (core.fetch) -------------------------------------


class FetchError(AmanaError):
    """Every way a fetch can fail, as one type: the fetcher raises nothing else, so a caller
    that catches it (status "unknown", kept copy) is never surprised by a parser's or a
    resolver's own exception (issue 11: an unparsable or unresolvable URL gave HTTP 500)."""

    code = "fetch_error"
    title = "The document could not be fetched"
    status = 502


class FetchRefused(FetchError):
    code = "fetch_refused"
    title = "That address may not be fetched"
    status = 400


class FetchFailed(FetchError):
    code = "fetch_failed"
    title = "The document could not be fetched"


# --- the holder's vault ------------------------------------------------------------
# Messages name no secret: never the passphrase, the code, the key or any content.


class VaultError(AmanaError):
    code = "vault_error"
    title = "The wallet could not be opened"


class WrongPassphrase(VaultError):
    code = "wrong_passphrase"
    title = "The passphrase does not open this wallet"
    status = 403


class WrongRecoveryCode(VaultError):
    code = "wrong_recovery_code"
    title = "The recovery code does not open this wallet"
    status = 403


class InvalidRecoveryCode(VaultError):
    code = "invalid_recovery_code"
    title = "This is not a valid recovery code: check it for a typo"
    status = 400


class VaultTampered(VaultError):
    code = "vault_tampered"
    title = "The wallet's data was changed or damaged, so it is not opened"
    status = 422


class VaultBusy(VaultError):
    code = "vault_busy"
    title = "Too many wrong tries for this wallet: wait a little"
    status = 429


class VaultConflict(VaultError):
    code = "vault_conflict"
    title = "The wallet was changed elsewhere at the same time: nothing was lost, try again"
    status = 409


class WhichWallet(InvalidInput):
    """A shell command on a node that keeps several wallets (the web wallet's among them) was not told
    which: "The input is malformed" said nothing of what to type (helper-79)."""

    code = "which_wallet"
    title = "Several wallets are kept here: say which"


class WalletAlreadyHere(VaultError):
    """An import of a wallet this node already keeps: its holder opens it, nothing is replaced."""

    code = "wallet_already_here"
    title = "This wallet is here already: nothing was imported"
    status = 409
