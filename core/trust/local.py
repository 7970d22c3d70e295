"""The trust list a party on this node holds: its own verified copy (newest wins, rollback
refused: core.trust.cache), seeded from the operator's signed file when there is one. Shared
by the verifier (which must fail closed) and the holder's wallet (which shows "unknown
verifier" when it has no list), so both judge the same list the same way.

A file that does not verify — the operator's list tampered with, or the held copy — is the
node's fault, not a client's: it is logged (its error code only) and passed over, and the
last good list keeps serving while it is current.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from core.errors import AmanaError, TrustListExpired, TrustListRollback, TrustListUnavailable
from core.keys import PublicKey, read_jwk
from core.settings import Settings
from core.trust.cache import TrustListCache
from core.trust.document import VerifiedTrustList
from core.trust.model import TrustList

log = logging.getLogger(__name__)


def anchored_cache(settings: Settings, path: Path) -> TrustListCache:
    """A cache at ``path`` that accepts only lists the governance anchor signed; 503-style
    ``TrustListUnavailable`` when the node has no anchor yet."""
    try:
        anchor = read_jwk(settings.trust_anchor_file)
        return TrustListCache(path, [PublicKey.from_jwk(k) for k in anchor.get("keys", [])])
    except (OSError, ValueError, AmanaError) as exc:
        raise TrustListUnavailable("this node has no trust anchor: see amana trust init") from exc


def held_trust_list(cache: TrustListCache, operator_file: Path, now: int) -> TrustList:
    """The newest current list of ``cache`` and ``operator_file``; ``TrustListUnavailable`` if none.

    The operator's file is offered first: ``offer`` already weighs it against the held copy and
    returns the newer, so the held copy is read on its own only when the offer fails (no file, a
    file that does not verify, an older or equivocating list). Every wallet flow and every check
    reads the list: one signature verification each, not three."""
    held = None
    if operator_file.exists():
        held = _quietly(lambda: cache.offer(operator_file.read_text(encoding="ascii"), now),
                        "the operator's trust list file")
    if held is None:
        held = _quietly(lambda: cache.current(now), "the held trust list")
    if held is None:
        raise TrustListUnavailable("no valid trust list here: run amana verifier sync")
    return held.require_current()


class HeldTrustList:
    """``held_trust_list`` for one holder, remembered while the three files it reads keep their bytes.

    A desk reads the list two or three times per check, and each read verified the list's
    signature and parsed it again (issue 15: an eighth of a check). The answer is a function of
    the anchor file, the operator's file, the held copy and ``now``: the files are read at every
    call (a few small reads) and compared byte for byte, so a synced, re-signed or tampered
    list is judged afresh at once; ``now`` is judged at every call too (expiry, and an ``iat``
    ahead of the clock sends the call down the whole path)."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings, self.path = settings, path
        self._kept: tuple[tuple[bytes | None, ...], TrustList, int] | None = None

    def get(self, now: int) -> TrustList:
        seen = tuple(_bytes(p) for p in (self.settings.trust_anchor_file, self.settings.trust_list_file, self.path))
        if self._kept is not None and self._kept[0] == seen and self._kept[1].iat <= now + self._kept[2]:
            if now >= self._kept[1].next_update:
                raise TrustListExpired()
            return self._kept[1]
        cache = anchored_cache(self.settings, self.path)
        content = held_trust_list(cache, self.settings.trust_list_file, now)
        self._kept = (seen, content, cache.clock_skew_s)
        return content


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _quietly(read: Callable[[], VerifiedTrustList | None], what: str) -> VerifiedTrustList | None:
    """``read()``, or None if it fails; a rollback (a newer list was synced) is not worth a log line."""
    try:
        return read()
    except TrustListRollback:
        return None
    except (OSError, ValueError, AmanaError) as exc:
        log.warning("%s was not accepted: %s", what, getattr(exc, "code", type(exc).__name__))
        return None
