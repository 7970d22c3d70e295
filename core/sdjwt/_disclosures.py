"""Disclosures, salts and digests (RFC 9901 sections 4.2.1-4.2.6).

Private to ``core.sdjwt``. A digest is taken over the ASCII of the Disclosure string
exactly as received (section 4.2.3): we never re-encode a Disclosure before hashing it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any, NamedTuple

from core.encoding import b64url_decode, b64url_encode, json_dumps_compact, json_loads_strict
from core.errors import DuplicateDisclosure, MalformedDisclosure, UnsupportedHashAlgorithm

SD_KEY = "_sd"
ELLIPSIS_KEY = "..."
SD_ALG_KEY = "_sd_alg"
RESERVED_NAMES = frozenset({SD_KEY, ELLIPSIS_KEY})

# Hash Name Strings from the IANA Named Information registry that are fit for purpose
# (section 9.4 warns against the truncated ones such as sha-256-32).
HASH_ALGS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}
DEFAULT_SD_ALG = "sha-256"
SALT_BYTES = 16  # 128 bits, the RECOMMENDED minimum of section 9.3


def hasher(sd_alg: object) -> Callable[[bytes], Any]:
    fn = HASH_ALGS.get(sd_alg) if isinstance(sd_alg, str) else None
    if fn is None:
        raise UnsupportedHashAlgorithm(f"_sd_alg must be one of {sorted(HASH_ALGS)}")
    return fn


def digest(disclosure: str, hash_fn: Callable[[bytes], Any]) -> str:
    return b64url_encode(hash_fn(disclosure.encode("ascii")).digest())


def index(disclosures: tuple[str, ...], hash_fn: Callable[[bytes], Any]) -> dict[str, str]:
    """Each Disclosure by its digest; one sent twice is refused (section 7.1 step 3.2.1).

    Equal digests mean equal Disclosures, so a dict shorter than the tuple is a repeat.
    """
    by_digest = {digest(d, hash_fn): d for d in disclosures}
    if len(by_digest) != len(disclosures):
        raise DuplicateDisclosure()
    return by_digest


def new_salt() -> str:
    return b64url_encode(secrets.token_bytes(SALT_BYTES))


def decoy_digest(hash_fn: Callable[[bytes], Any]) -> str:
    """Section 4.2.5: a digest over fresh random bytes, indistinguishable from a real one."""
    return b64url_encode(hash_fn(secrets.token_bytes(SALT_BYTES)).digest())


def encode(content: list[Any]) -> str:
    return b64url_encode(json_dumps_compact(content).encode("utf-8"))


class Disclosure(NamedTuple):
    """A decoded Disclosure. ``name`` is None for an array element.

    A NamedTuple rather than a frozen dataclass: just as immutable, and verify builds
    one per Disclosure on its hot path, where a frozen dataclass costs twice as much.
    """

    encoded: str
    salt: str
    name: str | None
    value: Any

    @property
    def is_property(self) -> bool:
        return self.name is not None


def decode(encoded: str) -> Disclosure:
    """Decode one Disclosure, checking only its own shape (section 7.1 step 3)."""
    name, value, salt = decode_content(encoded)
    return Disclosure(encoded, salt, name, value)


def decode_content(encoded: str) -> tuple[str | None, Any, str]:
    """``decode`` as a plain tuple (name, value, salt): the verifier's walk decodes every
    disclosed claim and reads two fields, where building the NamedTuple cost more than that."""
    try:
        content = json_loads_strict(b64url_decode(encoded, "Disclosure"), "Disclosure")
    except MalformedDisclosure:
        raise
    except Exception as exc:  # MalformedToken / DuplicateJSONKey from the decoder
        raise MalformedDisclosure(f"Disclosure is not base64url JSON: {exc}") from exc
    if type(content) is not list:
        raise MalformedDisclosure("a Disclosure must be a JSON array of 2 or 3 elements")
    if len(content) == 3:
        salt, name, value = content
        if type(name) is not str:
            raise MalformedDisclosure("a Disclosure's claim name must be a string")
    elif len(content) == 2:
        salt, value = content
        name = None
    else:
        raise MalformedDisclosure("a Disclosure must be a JSON array of 2 or 3 elements")
    if type(salt) is not str:
        raise MalformedDisclosure("a Disclosure's salt must be a string")
    return name, value, salt
