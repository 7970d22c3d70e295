"""Issue an SD-JWT (RFC 9901 sections 4.1 and 4.2).

Which claims are selectively disclosable is said by claim paths (see ``paths``): a path
to an object member makes that member disclosable, a path ending in an index or ``None``
makes array elements disclosable, and a path together with paths below it gives
recursive disclosures (section 4.2.6). This is the same vocabulary as the ``sd``
claim metadata of SD-JWT VC type metadata, so a credential type's rules apply directly.

Every salt is 128 bits from ``secrets`` and unique in the credential (section 9.3);
each ``_sd`` array is padded with decoy digests to a multiple of ``DECOY_BLOCK`` and
sorted, hiding the claim count and the original order (sections 4.2.4.1, 4.2.5).
Decoys are not put into arrays: an index in a claim path must mean the same element
to issuer and holder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core import _jose
from core.errors import ReservedClaimName
from core.keys import PrivateKey, PublicKey
from core.sdjwt import _disclosures as disc
from core.sdjwt import _format
from core.sdjwt.paths import ClaimPath, Selection, validate

DEFAULT_TYP = "example+sd-jwt"
DECOY_BLOCK = 4


def issue(
    claims: Mapping[str, Any],
    *,
    issuer_key: PrivateKey,
    disclosable: Iterable[ClaimPath] = (),
    holder_key: PublicKey | None = None,
    typ: str = DEFAULT_TYP,
    header: Mapping[str, Any] | None = None,
    sd_alg: str = disc.DEFAULT_SD_ALG,
    decoys: bool = True,
    serialization: _format.Serialization = "compact",
) -> str:
    """Sign ``claims`` as an SD-JWT and return it with all its Disclosures.

    ``holder_key`` becomes ``cnf.jwk`` (RFC 7800) for key binding.
    """
    builder = _Builder(Selection(validate(p) for p in disclosable), disc.hasher(sd_alg), decoys)
    payload = builder.build_object(dict(claims), ())
    if holder_key is not None:
        jwk = holder_key.to_jwk()
        payload["cnf"] = {"jwk": {k: v for k, v in jwk.items() if k not in ("kid", "alg")}}
    if builder.disclosures:
        payload[disc.SD_ALG_KEY] = sd_alg  # explicit, though sha-256 is the default
    jwt = _jose.sign_compact({**(header or {}), "typ": typ}, payload, issuer_key)
    extra: dict[str, Any] | None = {"header": {}} if serialization == "json" else None
    parts = _format.Parts(jwt, tuple(builder.disclosures), None, serialization, extra)
    return _format.serialize(parts)


class _Builder:
    def __init__(self, disclosable: Selection, hash_fn: Any, decoys: bool) -> None:
        self.disclosable = disclosable
        self.hash_fn = hash_fn
        self.decoys = decoys
        self.disclosures: list[str] = []
        self.salts: set[str] = set()

    def _disclose(self, content_tail: list[Any]) -> str:
        salt = disc.new_salt()
        while salt in self.salts:  # never repeated within a credential
            salt = disc.new_salt()
        self.salts.add(salt)
        encoded = disc.encode([salt, *content_tail])
        self.disclosures.append(encoded)
        return disc.digest(encoded, self.hash_fn)

    def build(self, value: Any, path: ClaimPath) -> Any:
        if isinstance(value, Mapping):
            return self.build_object(value, path)
        if isinstance(value, list | tuple):
            return self.build_array(value, path)
        return value

    def build_object(self, obj: Mapping[str, Any], path: ClaimPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in obj.items():
            if not isinstance(name, str):
                raise ReservedClaimName("claim names must be strings")
            if name in disc.RESERVED_NAMES or name == disc.SD_ALG_KEY:
                raise ReservedClaimName(f"{name!r} is reserved by SD-JWT")
            child = (*path, name)
            built = self.build(value, child)
            if child in self.disclosable:
                digests.append(self._disclose([name, built]))
            else:
                out[name] = built
        if digests:
            if self.decoys:
                pad = DECOY_BLOCK - len(digests) % DECOY_BLOCK
                digests.extend(disc.decoy_digest(self.hash_fn) for _ in range(pad))
            out[disc.SD_KEY] = sorted(digests)
        return out

    def build_array(self, arr: Iterable[Any], path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        for index, value in enumerate(arr):
            child = (*path, index)
            built = self.build(value, child)
            if child in self.disclosable:
                out.append({disc.ELLIPSIS_KEY: self._disclose([built])})
            else:
                out.append(built)
        return out

