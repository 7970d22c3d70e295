"""The ``--offline`` side of ``amana credential`` (issue 13): files, nonces and QR images around core.offline.

The compact credential file is JSON: ``{"format": "amana-offline+cose", "vct", "credential":
b64url, "disclosures": {claim: b64url}}`` — the wallet picks disclosures by claim name.

A verifier nonce on the command line is the ``AON1:`` text of its nonce QR, or 16 hex digits;
any other text stands for the first 8 bytes of its SHA-256, so that ``present --nonce N``
and ``verify --nonce N`` agree on any N. The envelope has no audience (a QR is shown to whoever
scans it): ``--aud`` is only echoed in the commands' output.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core import keys, qr
from core.encoding import b64url_decode, b64url_encode, json_loads_strict
from core.errors import InvalidInput, MalformedOfflineQR, UnknownClaimPath
from core.offline import (
    FORMAT,
    PREFIX,
    IssuerKey,
    OfflinePolicy,
    compact_kid,
    issue_compact,
    parse_nonce_qr,
    present,
    verify,
)
from core.offline.presentation import NONCE_PREFIX
from core.sdjwt.paths import ClaimPath

_HEX_NONCE = re.compile(r"^[0-9a-fA-F]{16}$")
MAX_IMAGE_BYTES = 8 * 1024 * 1024


def nonce_bytes(text: str) -> bytes:
    if text.startswith(NONCE_PREFIX):
        return parse_nonce_qr(text)
    if _HEX_NONCE.match(text):
        return bytes.fromhex(text)
    return hashlib.sha256(text.encode("utf-8")).digest()[:8]


def issue_file(claims: dict[str, Any], vct: str, issuer_key: keys.PrivateKey, holder: keys.PublicKey, *,
               now: int, valid_for_s: int, status: tuple[int | str, int]) -> str:
    iat = now // 86400 * 86400
    cred, disclosures = issue_compact(claims, vct, issuer_key, holder, status=status, iat=iat, exp=iat + valid_for_s)
    return json.dumps({"format": FORMAT, "vct": vct, "credential": b64url_encode(cred),
                       "disclosures": {k: b64url_encode(v) for k, v in disclosures.items()}}, indent=2)


def is_offline_file(text: str) -> bool:
    return text.lstrip().startswith("{") and f'"{FORMAT}"' in text


def present_qr(document: str, paths: Sequence[ClaimPath], holder_key: keys.PrivateKey, *, nonce: str | None,
               now: int, window_s: int, out: Path) -> dict[str, Any]:
    doc = json_loads_strict(document.encode("utf-8"), "compact credential file")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("disclosures"), dict):
        raise InvalidInput(f"not a {FORMAT} credential file")
    cred = b64url_decode(str(doc.get("credential", "")), "credential")
    chosen = []
    for path in paths:
        if len(path) != 1 or not isinstance(path[0], str):
            raise UnknownClaimPath("an offline copy discloses top-level claims only, each whole")
        if path[0] not in doc["disclosures"]:
            raise UnknownClaimPath(f"the credential has no claim {path[0]}")
        chosen.append(b64url_decode(str(doc["disclosures"][path[0]]), "disclosure"))
    text = present(cred, chosen, holder_key, now, window_s, None if nonce is None else nonce_bytes(nonce))
    if out.suffix.lower() == ".svg":
        out.write_text(qr.svg(text, standalone=True), encoding="utf-8")
    else:
        out.write_bytes(qr.png(text))
    return {"qr": str(out), "version": qr.version(text), "characters": len(text), "window_s": window_s}


def read_qr(path: Path) -> str:
    """The QR text in an image (PNG, JPEG: anything Pillow reads), or a text file holding ``AO1:…``."""
    raw = path.read_bytes()
    if len(raw) > MAX_IMAGE_BYTES:
        raise InvalidInput("the QR file is too large")
    if raw.startswith(PREFIX.encode()):
        return raw.decode("ascii", "replace").strip()
    import io

    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput("the QR file is not an image this tool reads") from exc
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    texts = [c.text for c in zxingcpp.read_barcodes(image, formats=qr_only)]
    found = [t for t in texts if t.startswith(PREFIX)]
    if not found:
        raise MalformedOfflineQR("no offline QR (AO1:) found in the image")
    return found[0]


def verify_qr(text: str, issuer_keys: Sequence[keys.PublicKey], *, iss: str, nonce: str | None,
              now: int, policy: OfflinePolicy) -> dict[str, Any]:
    """Verify against the given issuer keys; no trust list and no status list on the command
    line, so accreditation is not judged here and the status is reported unknown."""
    by_kid = {compact_kid(k): IssuerKey(k, iss) for k in issuer_keys}
    result = verify(text, resolve_issuer_key=lambda kid: [by_kid[kid]] if kid in by_kid else [],
                    check_accredited=lambda *_: None, status_of=lambda *_: "unknown", seen=lambda *_: False,
                    nonce_expected=None if nonce is None else nonce_bytes(nonce), now=now, policy=policy)
    out: dict[str, Any] = {"claims": result.claims, "status": result.status, "paper": result.paper,
                           "nonce_bound": result.nonce_bound, "valid_until": result.valid_until}
    if result.notice:
        out["notice"] = result.notice
    return out
