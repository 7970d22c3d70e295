"""What the wallet's Credential Request says (OpenID4VCI 1.0 section 8.2), beyond its proofs: which
Credential Dataset it asks for, and in which algorithm its key proofs are signed. Pure: decided from
the token response and the issuer's metadata, before anything is sent (wallet.receive sends it)."""

from __future__ import annotations

from typing import Any

from core import keys
from core.errors import AmanaError


class IssuanceFailed(AmanaError):
    """Every failed issuance, as the holder is told (wallet.receive raises it too, by this name)."""

    code = "issuance_failed"
    title = "The issuer did not hand over the credential"


def identifier(token: dict[str, Any], configuration_id: str) -> str | None:
    """What the Credential Request names (section 8.2). A token response whose ``authorization_details``
    (section 6.2) grant the configuration lists its Credential Datasets in ``credential_identifiers``,
    and "the Wallet MUST use these identifiers" (the first: this wallet takes one credential of an
    offer, in as many copies as it asks for); without them, None: the request names the configuration."""
    details = token.get("authorization_details")
    for entry in details if isinstance(details, list) else ():
        if (isinstance(entry, dict) and entry.get("type") == "openid_credential"
                and entry.get("credential_configuration_id") == configuration_id):
            identifiers = entry.get("credential_identifiers")
            if not (isinstance(identifiers, list) and identifiers
                    and all(isinstance(i, str) and i for i in identifiers)):
                raise IssuanceFailed("token: authorization_details without credential_identifiers")
            return str(identifiers[0])
    return None


# A key proof's JWS alg (JOSE and RFC 9864 names) and the kind of key this wallet makes for it.
_PROOF_KEYS: dict[str, keys.Alg] = {"ES256": "ES256", "EdDSA": "EdDSA", "Ed25519": "EdDSA"}


def proof_alg(meta: dict[str, Any], configuration_id: str, preferred: keys.Alg) -> tuple[keys.Alg, str]:
    """The holder keys' kind and the proofs' ``alg``. Appendix F.1: "If Credential Issuer metadata is
    provided, the ``alg`` JWT header of the key proof ... MUST match one of the values listed in the
    ``proof_signing_alg_values_supported``" of the configuration: the wallet's preference when the
    issuer lists it (or lists nothing), else the first listed that this wallet can make."""
    configs = meta.get("credential_configurations_supported")
    config = configs.get(configuration_id) if isinstance(configs, dict) else None
    proof_types = config.get("proof_types_supported") if isinstance(config, dict) else None
    jwt = proof_types.get("jwt") if isinstance(proof_types, dict) else None
    listed = jwt.get("proof_signing_alg_values_supported") if isinstance(jwt, dict) else None
    if not isinstance(listed, list):
        return preferred, preferred
    if preferred in listed:
        return preferred, preferred
    usable = [name for name in listed if isinstance(name, str) and name in _PROOF_KEYS]
    if not usable:
        raise IssuanceFailed("the issuer takes key proofs only in algorithms this wallet has no keys for")
    return _PROOF_KEYS[usable[0]], usable[0]
