"""Offline presentation by QR (issue 13; specs/formats/offline-presentation.md).

Pure core, no I/O: the issuer signs a compact credential (``issue_compact``) beside its
SD-JWT VC; the holder shows chosen disclosures with a key binding as a QR (``present``,
the reference of what the browser wallet does); the verifier decodes (``decode``) and
decides from its cache (``verify``).
"""

from core.offline import base45
from core.offline.credential import (
    COSE_ALG,
    MAX_ISSUED_CHARS,
    CompactCredential,
    StatusRef,
    compact_kid,
    compress_p256,
    digest,
    issue_compact,
    pack_issued,
    parse_credential,
    parse_disclosure,
    parse_issued,
    status_list_uri,
)
from core.offline.presentation import (
    NONCE_PREFIX,
    PREFIX,
    Presentation,
    decode,
    kb_input,
    nonce_qr,
    parse_nonce_qr,
    present,
)
from core.offline.types import TYPE_CODES, TYPES, by_code, by_vct
from core.offline.verify import (
    DEFAULT_POLICY,
    PAPER_NOTICE,
    IssuerKey,
    OfflinePolicy,
    Status,
    Verified,
    trust_list_checks,
    verify,
)

FORMAT = "amana-offline+cose"  # the OpenID4VCI credential configuration's ``format``

__all__ = [
    "COSE_ALG",
    "DEFAULT_POLICY",
    "FORMAT",
    "MAX_ISSUED_CHARS",
    "NONCE_PREFIX",
    "PAPER_NOTICE",
    "PREFIX",
    "TYPES",
    "TYPE_CODES",
    "CompactCredential",
    "IssuerKey",
    "OfflinePolicy",
    "Presentation",
    "Status",
    "StatusRef",
    "Verified",
    "base45",
    "by_code",
    "by_vct",
    "compact_kid",
    "compress_p256",
    "decode",
    "digest",
    "issue_compact",
    "kb_input",
    "nonce_qr",
    "pack_issued",
    "parse_credential",
    "parse_disclosure",
    "parse_issued",
    "parse_nonce_qr",
    "present",
    "status_list_uri",
    "trust_list_checks",
    "verify",
]
