"""The two serializations of SD-JWT and SD-JWT+KB (RFC 9901 sections 4 and 8).

Compact: ``<JWT>~<D1>~...~<Dn>~[<KB-JWT>]``. JSON: a JWS in Flattened or General JSON
Serialization (RFC 7515 section 7.2) whose (first) unprotected header carries
``disclosures`` and ``kb_jwt``. Either way parsing yields the same ``Parts``; the
``sd_hash`` input is always the compact form (section 8.1).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from core.encoding import json_dumps_compact, json_loads_strict
from core.errors import LimitExceeded, MalformedToken

Serialization = Literal["compact", "json"]


class Parts(NamedTuple):
    """An SD-JWT or SD-JWT+KB split into its parts, nothing verified yet.

    Immutable; a NamedTuple because every verify builds one (hot path).
    """

    jwt: str  # the Issuer-signed JWT in compact form
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    serialization: Serialization
    # JSON serialization only: the unprotected header members other than ours, and any
    # further signatures of a General serialization, kept so a presentation can re-emit them.
    extra: dict[str, Any] | None = None

    def sd_jwt_compact(self) -> str:
        """``<JWT>~<D1>~...~<Dn>~``: the SD-JWT without KB, the ``sd_hash`` input."""
        return "~".join((self.jwt, *self.disclosures, ""))


def parse(text: str, *, max_bytes: int) -> Parts:
    if len(text) > max_bytes:
        raise LimitExceeded(f"the token is larger than {max_bytes} bytes")
    stripped = text.strip()
    if stripped.startswith("{"):
        return _parse_json(stripped)
    return _parse_compact(stripped)


def _parse_compact(text: str) -> Parts:
    # Every part is base64url: one O(1) check here (CPython records whether a str is
    # ASCII) spares each later step from meeting a character it cannot encode.
    if not text.isascii():
        raise MalformedToken("an SD-JWT holds only base64url parts and '~' and '.' separators")
    pieces = text.split("~")
    if len(pieces) < 2:
        raise MalformedToken("an SD-JWT must contain at least one '~'")
    disclosures = tuple(pieces[1:-1])
    if "" in disclosures:
        raise MalformedToken("an SD-JWT must not contain an empty Disclosure")
    return Parts(pieces[0], disclosures, pieces[-1] or None, "compact")


def _parse_json(text: str) -> Parts:
    obj = json_loads_strict(text, "JSON-serialized SD-JWT")
    if not isinstance(obj, dict):
        raise MalformedToken("a JSON-serialized SD-JWT must be an object")
    sig_obj: dict[str, Any]
    extra: dict[str, Any]
    if "signatures" in obj:
        signatures = obj["signatures"]
        if not isinstance(signatures, list) or not signatures or "signature" in obj:
            raise MalformedToken("General JSON Serialization needs a non-empty signatures array")
        first, rest = signatures[0], signatures[1:]
        if not isinstance(first, dict) or not all(isinstance(s, dict) for s in rest):
            raise MalformedToken("each signature entry must be an object")
        for other in rest:
            # Section 8.3: disclosures and kb_jwt only in the first unprotected header.
            if {"disclosures", "kb_jwt"} & set(other.get("header") or {}):
                raise MalformedToken("disclosures and kb_jwt belong in the first header only")
        sig_obj, extra = first, {"signatures": rest}
    else:
        sig_obj, extra = obj, {}
    payload = obj.get("payload")
    protected = sig_obj.get("protected")
    signature = sig_obj.get("signature")
    if not all(isinstance(v, str) for v in (payload, protected, signature)):
        raise MalformedToken("payload, protected and signature must be strings")
    header = sig_obj.get("header", {})
    if not isinstance(header, dict):
        raise MalformedToken("the unprotected header must be an object")
    legacy = {k: obj[k] for k in ("disclosures", "kb_jwt") if k in obj and "signatures" not in obj}
    if legacy:
        # Drafts before RFC 9901 (and sd-jwt-python <= 0.10) put these members at the top
        # level. They are unprotected either way, so we read them, but never both places.
        if {"disclosures", "kb_jwt"} & set(header):
            raise MalformedToken("disclosures and kb_jwt appear both in and beside the header")
        header = {**header, **legacy}
    disclosures = header.get("disclosures", [])
    if not isinstance(disclosures, list) or not all(isinstance(d, str) and d for d in disclosures):
        raise MalformedToken("disclosures must be an array of non-empty strings")
    kb_jwt = header.get("kb_jwt")
    if kb_jwt is not None and not isinstance(kb_jwt, str):
        raise MalformedToken("kb_jwt must be a string")
    if not all(part.isascii() for part in (payload, protected, signature, kb_jwt or "", *disclosures)):
        raise MalformedToken("the JWS parts, Disclosures and kb_jwt are base64url text")
    extra["header"] = {k: v for k, v in header.items() if k not in ("disclosures", "kb_jwt")}
    return Parts(
        jwt=f"{protected}.{payload}.{signature}",
        disclosures=tuple(disclosures),
        kb_jwt=kb_jwt,
        serialization="json",
        extra=extra,
    )


def serialize(parts: Parts) -> str:
    if parts.serialization == "compact":
        return parts.sd_jwt_compact() + (parts.kb_jwt or "")
    protected, payload, signature = parts.jwt.split(".")
    extra = parts.extra or {}
    header: dict[str, Any] = {**extra.get("header", {}), "disclosures": list(parts.disclosures)}
    if parts.kb_jwt:
        header["kb_jwt"] = parts.kb_jwt
    first = {"protected": protected, "header": header, "signature": signature}
    if extra.get("signatures"):
        return json_dumps_compact({"payload": payload, "signatures": [first, *extra["signatures"]]})
    return json_dumps_compact({"payload": payload, **first})
