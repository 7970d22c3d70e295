"""Housekeeping done when due, not on every request (issue 15).

A request that also forgets expired rows pays a statement (on PostgreSQL a round trip) for rows
that only need to go within seconds; ``Every`` says when it is that request's turn."""

from __future__ import annotations

# Expired rows (kept answers, spent nonces, ended checks) outlive their time by at most this while
# requests come in; on a quiet node they go at the next one.
FORGET_EVERY_S = 10


class Every:
    """True at most once per ``seconds`` of the node's clock (per process; the clock passed in).

    A clock set back (a test, an NTP step) makes it due at once rather than never."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._last: int | None = None

    def __call__(self, now: int) -> bool:
        if self._last is not None and 0 <= now - self._last < self.seconds:
            return False
        self._last = now
        return True
