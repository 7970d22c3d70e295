"""Validators for the public documents a node serves (status lists, the trust list): one strong
``ETag`` per representation, and ``If-None-Match`` judged as RFC 9110 section 13.1.2 says.

Written by hand: Starlette compares nothing for a route's own response, and the rule is three
lines. Section 13.1.2: ``If-None-Match`` uses the *weak* comparison (a ``W/`` tag matches the strong
one it came from: a proxy that re-compresses, as CDNs do, weakens the tags it forwards), and ``*``
matches any current representation."""

from __future__ import annotations

import hashlib


def strong_etag(body: bytes, coding: str | None = None) -> str:
    """A strong validator over the identity bytes; a content-coded copy is another representation,
    so another tag (section 8.8.3), named by its coding rather than its bytes, which depend on the
    compressor's build: every replica of a node gives the same tag for the same token."""
    tag = hashlib.sha256(body).hexdigest()[:32]
    return f'"{tag}"' if coding is None else f'"{tag}-{coding}"'


def unchanged(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weakly) or is ``*``: the answer is then 304."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
