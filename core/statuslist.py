"""IETF Token Status List: the compressed byte array, its JSON form and the ``statuslist+jwt`` token.

Written by hand because it is small and no maintained Python library follows the current
draft (../shared/reference/token-status-list.md); every rule below is checked against the
draft's own test vectors (../shared/testdata/status-list/).

- Section 4.1: ``bits`` is 1, 2, 4 or 8; index ``i`` occupies bits ``(i*bits) % 8`` upward
  of byte ``i*bits // 8`` (least significant first); the array is DEFLATE in ZLIB format
  at the highest compression level, then base64url.
- Section 5.1: the token's ``typ`` is ``statuslist+jwt``; ``sub`` equals the Referenced
  Token's ``status.status_list.uri``; ``iat`` required, ``exp`` and ``ttl`` recommended.
- Section 8.2: served gzip-coded to a client that negotiates it (``accepts_gzip``).
- Section 8.3: an index out of bounds makes no statement: refused. Section 11.1: a
  decompressed size cap, so a small "zip bomb" cannot exhaust the reader's memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import _jose
from core.encoding import b64url_decode, b64url_encode, numeric_date
from core.errors import Expired, InvalidInput, InvalidTokenType, LimitExceeded, MalformedToken, NotYetValid
from core.keys import PrivateKey, PublicKey

TYP = "statuslist+jwt"
MEDIA_TYPE = "application/" + TYP
VALID, INVALID, SUSPENDED = 0x00, 0x01, 0x02  # section 7.1
ALLOWED_BITS = (1, 2, 4, 8)
DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # decompressed: 32 million 1-bit entries


class StatusList:
    """A status list held uncompressed; ``encode`` compresses it for a token."""

    __slots__ = ("bits", "data")

    def __init__(self, bits: int, data: bytearray) -> None:
        if bits not in ALLOWED_BITS:
            raise InvalidInput("status list bits must be 1, 2, 4 or 8")
        self.bits = bits
        self.data = data

    @classmethod
    def empty(cls, size: int, bits: int = 2) -> StatusList:
        """``size`` entries, all VALID."""
        return cls(bits, bytearray((size * bits + 7) // 8))

    def __len__(self) -> int:
        return len(self.data) * 8 // self.bits

    def _place(self, idx: int) -> tuple[int, int, int]:
        if not 0 <= idx < len(self):
            raise InvalidInput("status index out of bounds")
        bit = idx * self.bits
        return bit // 8, bit % 8, (1 << self.bits) - 1

    def get(self, idx: int) -> int:
        byte, shift, mask = self._place(idx)
        return (self.data[byte] >> shift) & mask

    def set(self, idx: int, value: int) -> None:
        byte, shift, mask = self._place(idx)
        if not 0 <= value <= mask:
            raise InvalidInput(f"status value does not fit in {self.bits} bits")
        self.data[byte] = (self.data[byte] & ~(mask << shift) & 0xFF) | (value << shift)

    def encode(self) -> dict[str, Any]:
        """The JSON StatusList of section 4.2."""
        return {"bits": self.bits, "lst": b64url_encode(zlib.compress(bytes(self.data), 9))}

    @classmethod
    def decode(cls, obj: object, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
        if not isinstance(obj, dict):
            raise MalformedToken("status_list must be an object")
        bits, lst = obj.get("bits"), obj.get("lst")
        if type(bits) is not int or bits not in ALLOWED_BITS or not isinstance(lst, str):
            raise MalformedToken("status_list needs bits (1, 2, 4 or 8) and lst")
        return cls(bits, bytearray(_inflate(b64url_decode(lst, "status list"), max_bytes)))


def _inflate(compressed: bytes, max_bytes: int) -> bytes:
    """ZLIB-inflate at most ``max_bytes``; a larger or truncated stream is refused."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedToken("status list is not ZLIB/DEFLATE data") from exc
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise LimitExceeded(f"status list inflates beyond {max_bytes} bytes")
    if not inflater.eof or inflater.unused_data:
        raise MalformedToken("status list is truncated or followed by other data")
    return data


@dataclass(frozen=True, slots=True)
class StatusListToken:
    status_list: StatusList
    uri: str
    iat: int | float
    exp: int | float | None
    ttl: int | None


def sign_token(
    status_list: StatusList, *, uri: str, key: PrivateKey, now: int, ttl: int, exp: int | None = None
) -> str:
    payload: dict[str, Any] = {"sub": uri, "iat": now, "ttl": ttl, "status_list": status_list.encode()}
    if exp is not None:
        payload["exp"] = exp
    return _jose.sign_compact({"typ": TYP}, payload, key)


def verify_token(
    token: str,
    *,
    keys: Sequence[PublicKey],
    uri: str,
    now: int,
    clock_skew_s: int = 60,
    max_bytes: int = DEFAULT_MAX_BYTES,
    algorithms: frozenset[str] = frozenset({"ES256", "EdDSA", "Ed25519"}),  # RFC 9864's name too
) -> StatusListToken:
    """Section 8.3 steps 3-5: signature, ``typ``, ``sub`` == ``uri``, ``exp``, then inflate."""
    jws = _jose.parse_compact(token.strip(), "status list token")
    alg = _jose.check_header(jws.unverified_header, algorithms, "status list token")
    if jws.unverified_header.get("typ") != TYP:
        raise InvalidTokenType(f"status list token typ must be {TYP!r}")
    _jose.verify_with_any(jws, keys, alg, "status list token")
    payload = jws.unverified_payload()  # verified
    if payload.get("sub") != uri:
        raise MalformedToken("status list token sub differs from the credential's status uri")
    iat, exp, nbf, ttl = payload.get("iat"), payload.get("exp"), payload.get("nbf"), payload.get("ttl")
    # Section 5.1 rule 3: a token not valid "in all other respects" per RFC 7519 is refused. Its
    # times are NumericDates (section 2: any JSON number, fractions too; never a boolean), and a
    # token whose ``nbf`` is still ahead (4.1.5) says nothing yet.
    if not numeric_date(iat) or any(v is not None and not numeric_date(v) for v in (exp, nbf)):
        raise MalformedToken("status list token needs iat (and exp and nbf, if present) as NumericDates")
    if ttl is not None and (not numeric_date(ttl) or ttl <= 0):
        raise MalformedToken("status list token ttl must be a positive number")
    if exp is not None and now >= exp + clock_skew_s:
        raise Expired("status list token expired")
    if nbf is not None and now + clock_skew_s < nbf:
        raise NotYetValid("status list token is not valid yet (nbf)")
    status_list = StatusList.decode(payload.get("status_list"), max_bytes=max_bytes)
    return StatusListToken(status_list, uri, iat, exp, None if ttl is None else int(ttl))


def reference(uri: str, idx: int) -> dict[str, Any]:
    """The ``status`` claim of a Referenced Token (section 6.2)."""
    return {"status_list": {"idx": idx, "uri": uri}}


def _weighted(header: str) -> list[tuple[str, float]]:
    """The members of an ``Accept`` or ``Accept-Encoding`` list (RFC 9110 section 12.4.2), each
    lower-cased with its weight: 1 when none is given, 0 when it cannot be read (an unreadable
    weight accepts nothing)."""
    members = []
    for item in header.split(","):
        name, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        members.append((name.lower(), weight))
    return members


def accepts_token(accept: str | None) -> bool:
    """Whether an ``Accept`` header (RFC 9110 section 12.5.1) takes a ``statuslist+jwt``: none at
    all, or a media range that matches it (the type, ``application/*``, ``*/*``) with a weight
    above 0. Section 8.1 names the two types a client may negotiate; a client asking only for
    the CWT form (or for a page) is told 406 rather than given a JWT it cannot read."""
    if accept is None or not accept.strip():
        return True
    return any(weight > 0 and media in (MEDIA_TYPE, "application/*", "*/*") for media, weight in _weighted(accept))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether to answer an ``Accept-Encoding`` header (RFC 9110 section 12.5.3) in ``gzip``: named
    (or as ``x-gzip``, its alias, section 8.4.1.3) with a weight above 0, or ``*`` so when gzip is
    not named at all; and weighing no less than ``identity`` (named, or through ``*``): the coding
    of the highest weight is preferred. No header, or an empty one, gets the token as it is: section 8.2
    asks for content coding "using the content negotiation" of RFC 9110, and a client that said
    nothing is not assumed to inflate (our own fetcher asks for ``identity``, core.fetch)."""
    if accept_encoding is None:
        return False
    weights = dict(reversed(_weighted(accept_encoding)))  # the first mention of a coding counts
    named = next((weights[coding] for coding in ("gzip", "x-gzip") if coding in weights), None)
    weight = weights.get("*", 0.0) if named is None else named
    return weight > 0 and weight >= weights.get("identity", weights.get("*", 0.0))
