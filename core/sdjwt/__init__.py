"""SD-JWT (RFC 9901) and SD-JWT VC: issue, present, verify — with every check applied.

The safe surface is this package: ``issue`` (issuer), ``present`` (holder), ``verify``
and ``verify_issued`` (verifier and holder), and the SD-JWT VC profile in ``vc``. Raw
JOSE, digests and serialization stay in private modules.
"""

from core.sdjwt.holder import present
from core.sdjwt.issuer import issue
from core.sdjwt.paths import ClaimPath, format_path, parse_many, parse_path
from core.sdjwt.verifier import (
    DEFAULT_POLICY,
    KeyBindingPolicy,
    Verified,
    VerifyPolicy,
    binds,
    key_binding_of,
    verify,
    verify_issued,
)

__all__ = [
    "DEFAULT_POLICY",
    "ClaimPath",
    "KeyBindingPolicy",
    "Verified",
    "VerifyPolicy",
    "binds",
    "format_path",
    "issue",
    "key_binding_of",
    "parse_many",
    "parse_path",
    "present",
    "verify",
    "verify_issued",
]
