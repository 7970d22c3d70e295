"""Keeping the newest trust list: rollback refused, equivocation refused, kept on disk.

A verifier at a desk without network, or a wallet on a shared phone, works from the last
list it accepted. Two rules keep an attacker who controls the network (or the disk) from
turning back the clock on a suspension:

- a list replaces the held one only with a higher ``seq`` (an older one, replayed, is
  refused with ``TrustListRollback``);
- the same ``seq`` with different content means the operator signed two lists under one
  number; that is refused with ``TrustListConflict`` and should alarm someone. The same
  list fetched again is simply kept.

``TrustListCache`` holds the accepted JWT in a file (written atomically, so a crash never
leaves half a list) and re-verifies it when loaded: the file is a cache, not an authority.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from core.errors import AmanaError, TrustListConflict, TrustListRollback
from core.keys import PublicKey
from core.trust.document import VerifiedTrustList, verify


def choose_newer(held: VerifiedTrustList | None, candidate: VerifiedTrustList) -> VerifiedTrustList:
    """The list to keep after seeing ``candidate``; raises on rollback or equivocation."""
    if held is None or candidate.content.seq > held.content.seq:
        return candidate
    if candidate.content.seq < held.content.seq:
        raise TrustListRollback(f"sequence {candidate.content.seq} is older than {held.content.seq}")
    if candidate.content != held.content:
        raise TrustListConflict(f"sequence {candidate.content.seq} was signed with two different contents")
    return held


class TrustListCache:
    """The newest verified trust list, persisted in one file."""

    def __init__(self, path: Path, governance_keys: Sequence[PublicKey], *, clock_skew_s: int = 60) -> None:
        self.path = path
        self.governance_keys = list(governance_keys)
        self.clock_skew_s = clock_skew_s

    def current(self, now: int) -> VerifiedTrustList | None:
        """The held list re-verified at ``now`` (its ``expired`` flag is fresh), or None."""
        if not self.path.exists():
            return None
        return self._verify(self.path.read_text(encoding="ascii"), now)

    def offer(self, token: str, now: int) -> VerifiedTrustList:
        """Verify ``token`` and keep it if it is newer; returns the list now held. A held file
        that no longer verifies (damaged, tampered with) is replaced by a good candidate."""
        candidate = self._verify(token, now)
        try:
            held = self._held(candidate, now)
        except (AmanaError, OSError, ValueError):
            held = None
        kept = choose_newer(held, candidate)
        if kept is candidate and held is not candidate:  # not when the file holds these very bytes already
            self._write(candidate.token)
        return kept

    def _held(self, candidate: VerifiedTrustList, now: int) -> VerifiedTrustList | None:
        """The held list; when its file holds the very bytes just verified (the usual case: the
        same list offered again), that verification stands and is not repeated."""
        if not self.path.exists():
            return None
        text = self.path.read_text(encoding="ascii")
        return candidate if text.strip() == candidate.token else self._verify(text, now)

    def _verify(self, token: str, now: int) -> VerifiedTrustList:
        return verify(token, governance_keys=self.governance_keys, now=now, clock_skew_s=self.clock_skew_s)

    def _write(self, token: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(token + "\n", encoding="ascii")
        os.replace(tmp, self.path)
