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
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    """``held_trust_list`` for one holder, remembered while the three files it reads stay as they were.

    A desk reads the list two or three times per check, and each read verified the list's
    signature and parsed it again (issue 15: an eighth of a check). The answer is a function of
    the anchor file, the operator's file, the held copy and ``now``, so a synced, re-signed or
    tampered list is judged afresh at the next call; ``now`` is judged at every call too (expiry,
    and an ``iat`` ahead of the clock sends the call down the whole path).

    Whether a file is as it was is told by its ``stat`` when that can be trusted, else by its
    bytes. Reading the three files at every call was 3 % of a check (issue 15); a ``stat`` is a
    tenth of a read. A file's inode, size, mtime and ctime identify its content on a local
    filesystem: a write, a rename, ``cp -p``, ``touch -d`` or ``os.utime`` all set the ctime to the
    kernel's clock, which no user sets back. Except within one tick of that clock: a same-size
    rewrite in the tick of a ``stat`` keeps every field. So, as git does for its index ("racy git"),
    a ``stat`` taken less than ``RACY_NS`` after the file's ctime vouches for nothing and the bytes
    are compared; once a file has been still that long, any later write gives it a ctime later
    than the remembered one. The file clock is the wall clock (``time.time_ns``), not the ``now`` a
    caller passes: that one is the domain's time, which tests set where they like.

    What a ``stat`` cannot see is bounded by ``REREAD_S``: the bytes are compared at least that
    often whatever the stamps say. That covers a write through a shared memory map (Linux sets the
    ctime only when a clean page is first written), a network filesystem's attribute cache (NFS
    answers a ``stat`` from it for up to a minute; an ``open`` asks the server), and a clock stepped
    back on a filesystem that keeps whole seconds. What is stored with a stamp is what was read
    after it, and the list verified after that, so a write between them shows at the next call."""

    RACY_NS = 2_000_000_000
    REREAD_S = 1.0

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings, self.path = settings, path
        # As the settings name them now (a node's settings do not change while it runs): building
        # the paths again at every call cost as much as the three stats.
        self._files = (settings.trust_anchor_file, settings.trust_list_file, path)
        self._kept: _Kept | None = None

    def get(self, now: int) -> TrustList:
        files = self._files
        looked, ticks = time.time_ns(), time.monotonic()  # before the stats: a ctime far behind it is behind them
        stamps = tuple(_stamp(p) for p in files)
        kept = self._kept
        if kept is not None and kept.stamps == stamps and kept.settled and ticks - kept.read_at < self.REREAD_S:
            seen, read_at = kept.seen, kept.read_at
        else:
            seen, read_at = tuple(_bytes(p) for p in files), ticks
        settled = all(s is None or looked - s[-1] >= self.RACY_NS for s in stamps)
        if kept is not None and kept.seen == seen and kept.content.iat <= now + kept.skew_s:
            if (stamps, settled, read_at) != (kept.stamps, kept.settled, kept.read_at):
                self._kept = _Kept(stamps, settled, seen, read_at, kept.content, kept.skew_s)
            if now >= kept.content.next_update:
                raise TrustListExpired()
            return kept.content
        cache = anchored_cache(self.settings, self.path)
        content = held_trust_list(cache, files[1], now)  # the very file stamped above
        self._kept = _Kept(stamps, settled, seen, read_at, content, cache.clock_skew_s)  # as read before: a
        # file written since (the held copy, just now) differs from them, and is judged at the next call
        return content


@dataclass(frozen=True, slots=True)
class _Kept:
    stamps: tuple[tuple[int, ...] | None, ...]
    settled: bool  # every stamp taken RACY_NS or more after its file's ctime: the stamps alone can be trusted
    seen: tuple[bytes | None, ...]
    read_at: float  # time.monotonic() when ``seen`` was read
    content: TrustList
    skew_s: int


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)  # ctime last: the racy test reads it


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
