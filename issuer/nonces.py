"""``c_nonce`` values (OpenID4VCI 1.0 section 7): minted without a database row, spent once.

A nonce is ``<expiry>.<random>.<tag>``, the tag a keyed digest (core.sealing) over the
organisation, the expiry and the random part. So:

- the nonce endpoint writes nothing: a client flooding it fills no table (issue 11: 30
  clients left 1,100 rows and starved real wallets of the database);
- a nonce is bound to the organisation that minted it: one organisation's nonce is refused
  at another's credential endpoint, though both live on one node;
- it expires by its own content, and is single-use through the store, which records each
  *spent* nonce until its expiry (a replayed key proof then fails, section 13.1).

Pure: the keyed digest is passed in, ``now`` is an argument.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

NONCE_TTL_S = 300
TAG_CHARS = 32  # 128 bits of the hex digest

Digest = Callable[[str, str], str]


def _tag(digest: Digest, org_id: str, expires_at: int, random_part: str) -> str:
    return digest("c-nonce", f"{org_id}:{expires_at}:{random_part}")[:TAG_CHARS]


def mint(digest: Digest, org_id: str, now: int) -> str:
    expires_at, random_part = now + NONCE_TTL_S, secrets.token_urlsafe(16)
    return f"{expires_at}.{random_part}.{_tag(digest, org_id, expires_at, random_part)}"


def expiry_if_genuine(digest: Digest, org_id: str, nonce: str, now: int) -> int | None:
    """The nonce's expiry if this node minted it for ``org_id`` and it has not expired; else None.
    (Whether it was already spent is the store's question.)"""
    parts = nonce.split(".")
    # All ASCII, as this node mints them: a lone surrogate (JSON can carry one) made the tag's
    # encoding raise, a 500 (helper-69)
    if len(parts) != 3 or not nonce.isascii() or not parts[0].isdigit() or len(parts[0]) > 12:
        return None
    expires_at, random_part, tag = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(tag.encode(), _tag(digest, org_id, expires_at, random_part).encode()):
        return None
    return expires_at if now < expires_at <= now + NONCE_TTL_S else None
