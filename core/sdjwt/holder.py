"""Present an SD-JWT: choose Disclosures by claim path, add a Key Binding JWT
(RFC 9901 sections 4.3 and 7.2).

A path selects a claim; presenting it sends its Disclosure, every Disclosure of the
claims above it (a nested claim cannot be shown without its parents, section 4.2.6),
and every Disclosure beneath it (showing ``address`` shows the whole address). Array
indices count the elements as issued, undisclosed ones included, as SD-JWT VC claim
paths do. A path that selects nothing is an error, not a silent omission: the holder
must know exactly what they show.

The holder checked the SD-JWT on receipt (``verifier.verify_issued``); here its
payload is only read to find digests, never trusted for anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from core import _jose
from core.encoding import b64url_encode
from core.errors import InvalidInput, UnexpectedKeyBinding, UnknownClaimPath
from core.keys import PrivateKey
from core.sdjwt import _disclosures as disc
from core.sdjwt import _format
from core.sdjwt.paths import ClaimPath, format_path, validate
from core.sdjwt.verifier import KB_TYP

MAX_BYTES = 1024 * 1024


def present(
    sd_jwt: str,
    disclose: Iterable[ClaimPath],
    *,
    holder_key: PrivateKey | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    now: int | None = None,
) -> str:
    """Build a presentation of the chosen claims; with ``holder_key``, an SD-JWT+KB."""
    parts = _format.parse(sd_jwt, max_bytes=MAX_BYTES)
    if parts.kb_jwt is not None:
        raise UnexpectedKeyBinding("present from the issued SD-JWT, not a presentation")
    unverified_payload = _jose.parse_compact(parts.jwt, "Issuer-signed JWT").unverified_payload()
    hash_fn = disc.hasher(unverified_payload.get(disc.SD_ALG_KEY, disc.DEFAULT_SD_ALG))
    digests = [disc.digest(e, hash_fn) for e in parts.disclosures]
    by_digest = {d: disc.decode(e) for d, e in zip(digests, parts.disclosures, strict=True)}

    chosen: set[str] = set()
    selector = _Selector(by_digest, chosen)
    for path in disclose:
        path = validate(path)
        if not selector.select(unverified_payload, path, 0):
            raise UnknownClaimPath(f"{format_path(path)} is not in this credential")
    # Keep the issued order of Disclosures: the order carries no information we add.
    selected = tuple(e for d, e in zip(digests, parts.disclosures, strict=True) if d in chosen)
    kb_jwt = None
    if holder_key is not None:
        if audience is None or nonce is None or now is None:
            raise InvalidInput("key binding needs audience, nonce and now")
        without_kb = _format.Parts(parts.jwt, selected, None, parts.serialization, parts.extra)
        sd_hash = b64url_encode(hash_fn(without_kb.sd_jwt_compact().encode("ascii")).digest())
        kb_payload = {"iat": now, "aud": audience, "nonce": nonce, "sd_hash": sd_hash}
        # The KB-JWT is checked against cnf.jwk; a kid would only add a linkable identifier.
        kb_jwt = _jose.sign_compact({"typ": KB_TYP}, kb_payload, replace(holder_key, kid=None))
    return _format.serialize(_format.Parts(parts.jwt, selected, kb_jwt, parts.serialization, parts.extra))


class _Selector:
    """Walks the issued payload along a path, collecting the digests it passes."""

    def __init__(self, by_digest: dict[str, disc.Disclosure], chosen: set[str]) -> None:
        self.by_digest = by_digest
        self.chosen = chosen

    def select(self, node: Any, path: ClaimPath, i: int) -> bool:
        """Select ``path[i:]`` below ``node``; True if anything was selected."""
        if i == len(path):
            self.select_all(node)
            return True
        element = path[i]
        if isinstance(element, str):
            if not isinstance(node, dict):
                return False
            if element in node and element not in (disc.SD_KEY, disc.SD_ALG_KEY):
                return self.select(node[element], path, i + 1)
            for digest in node.get(disc.SD_KEY, ()):
                d = self.by_digest.get(digest)
                if d is not None and d.name == element:
                    found = self.select(d.value, path, i + 1)
                    if found:
                        self.chosen.add(digest)
                    return found
            return False
        if not isinstance(node, list):
            return False
        if element is None:
            indices: Iterable[int] = range(len(node))
        else:
            indices = [element] if element < len(node) else []
        found_any = False
        for index in indices:
            item = node[index]
            digest = _array_digest(item)
            if digest is None:
                found_any |= self.select(item, path, i + 1)
                continue
            d = self.by_digest.get(digest)
            if d is not None and self.select(d.value, path, i + 1):
                self.chosen.add(digest)
                found_any = True
        return found_any

    def select_all(self, node: Any) -> None:
        """Everything beneath ``node``: the holder chose to show it whole."""
        if isinstance(node, dict):
            for digest in node.get(disc.SD_KEY, ()):
                d = self.by_digest.get(digest)
                if d is not None:
                    self.chosen.add(digest)
                    self.select_all(d.value)
            for name, value in node.items():
                if name != disc.SD_KEY:
                    self.select_all(value)
        elif isinstance(node, list):
            for item in node:
                digest = _array_digest(item)
                d = self.by_digest.get(digest) if digest else None
                if d is not None:
                    self.chosen.add(digest)  # type: ignore[arg-type]
                    self.select_all(d.value)
                elif digest is None:
                    self.select_all(item)


def _array_digest(item: Any) -> str | None:
    if isinstance(item, dict) and len(item) == 1 and isinstance(item.get(disc.ELLIPSIS_KEY), str):
        return str(item[disc.ELLIPSIS_KEY])
    return None
