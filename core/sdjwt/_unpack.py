"""Steps 3.2-3.5 of RFC 9901 section 7.1: put disclosed values where their digests are.

Private to ``core.sdjwt``; ``verifier`` calls it once the Issuer-signed JWT's signature
holds. Owns the rules about where digests and Disclosures may appear: ``_sd`` an array
of unique string digests, ``...`` only as an array element digest, ``_sd_alg`` only at
the top level, no disclosed name that already exists at its level, three-element
Disclosures in objects and two-element ones in arrays, undisclosed array elements
removed, nesting capped. It records the path of every value that came from a Disclosure.
"""

from __future__ import annotations

from typing import Any

from core.errors import (
    ClaimNameCollision,
    DuplicateDigest,
    LimitExceeded,
    MalformedDisclosure,
    MalformedToken,
    ReservedClaimName,
)
from core.sdjwt import _disclosures as disc
from core.sdjwt.paths import ClaimPath


class Unpacker:
    """Steps 3.2-3.5 of section 7.1: replace digests by disclosed values, recursively.

    Works in place on the freshly parsed payload (nothing else holds it), so objects
    without digests cost a few lookups and no copy. Digests are unique across the whole
    payload (step 3.2.1), so counting the ones that hit a Disclosure tells, at the end,
    whether every Disclosure was referenced: ``used``, one path in ``disclosed`` for each.
    """

    __slots__ = ("by_digest", "disclosed", "max_depth", "seen")

    def __init__(self, by_digest: dict[str, str], max_depth: int) -> None:
        self.by_digest = by_digest
        self.max_depth = max_depth
        self.seen: set[str] = set()
        self.disclosed: list[ClaimPath] = []

    @property
    def used(self) -> int:
        """How many Disclosures the payload referenced (each used once: digests are unique)."""
        return len(self.disclosed)

    def _see(self, digests: list[Any]) -> None:
        """Every digest a string, none seen before anywhere in the payload (C calls, no Python loop)."""
        try:
            "".join(digests)  # TypeError unless every element is a str: a quarter of the cost of a type set
        except TypeError:
            raise MalformedToken("a digest must be a string") from None
        before = len(self.seen)
        self.seen.update(digests)
        if len(self.seen) != before + len(digests):
            raise DuplicateDigest()

    def unpack(self, value: Any, path: ClaimPath, depth: int) -> Any:
        kind = type(value)
        if kind is dict:
            return self.unpack_object(value, path, depth + 1)
        if kind is list:
            return self.unpack_array(value, path, depth + 1)
        return value

    def unpack_object(self, obj: dict[str, Any], path: ClaimPath, depth: int) -> dict[str, Any]:
        if depth > self.max_depth:
            raise LimitExceeded(f"claims nested deeper than {self.max_depth}")
        if disc.ELLIPSIS_KEY in obj:
            raise ReservedClaimName("'...' is only allowed as an array element digest")
        if depth and disc.SD_ALG_KEY in obj:
            raise MalformedToken("_sd_alg is only allowed at the top level")
        digests = obj.pop(disc.SD_KEY, None)
        for name, value in obj.items():
            kind = type(value)
            # Replacing values (never adding keys) while iterating is safe for a dict.
            # Paths are built only for containers: scalars never carry digests.
            if kind is dict:
                self.unpack_object(value, (*path, name), depth + 1)
            elif kind is list:
                obj[name] = self.unpack_array(value, (*path, name), depth + 1)
        if digests is None:
            return obj
        if type(digests) is not list:
            raise MalformedToken("_sd must be an array of digests")
        self._see(digests)
        by_digest = self.by_digest
        for digest in digests:
            # Inline, not a method per digest: most digests are decoys or undisclosed claims.
            encoded = by_digest.get(digest)
            if encoded is None:
                continue
            claim, value, _ = disc.decode_content(encoded)
            if claim is None:
                raise MalformedDisclosure("a Disclosure in _sd must have three elements")
            if claim in disc.RESERVED_NAMES or claim == disc.SD_ALG_KEY:
                raise ReservedClaimName(f"a Disclosure uses the reserved name {claim!r}")
            if claim in obj:
                raise ClaimNameCollision(f"claim {claim!r} is disclosed where it already exists")
            child = (*path, claim)
            kind = type(value)
            obj[claim] = self.unpack(value, child, depth) if kind is dict or kind is list else value
            self.disclosed.append(child)
        return obj

    def unpack_array(self, arr: list[Any], path: ClaimPath, depth: int) -> list[Any]:
        if depth > self.max_depth:
            raise LimitExceeded(f"claims nested deeper than {self.max_depth}")
        out: list[Any] = []
        for element in arr:
            kind = type(element)
            if kind is dict and disc.ELLIPSIS_KEY in element:
                if len(element) != 1:
                    raise ReservedClaimName("an array element digest object has exactly one key")
                digest = element[disc.ELLIPSIS_KEY]
                self._see([digest])
                encoded = self.by_digest.get(digest)
                if encoded is None:
                    continue  # step 3.4: undisclosed array elements are removed
                name, value, _ = disc.decode_content(encoded)
                if name is not None:
                    raise MalformedDisclosure("an array element Disclosure must have two elements")
                child = (*path, len(out))
                out.append(self.unpack(value, child, depth))
                self.disclosed.append(child)
            elif kind is dict or kind is list:
                out.append(self.unpack(element, (*path, len(out)), depth))
            else:
                out.append(element)
        return out
