"""Copies run low (issue 12 item 7): how many unused copies each card has, when the wallet fetches
fresh ones, and what the holder is told when it cannot. Pure: no I/O, ``now`` passed in.

Why it matters: each copy of a batch goes to one verifier only (wallet.content.choose), so that
two verifiers comparing notes find no shared signature, salt, holder key or status index. Once
every copy was shown, the wallet can answer only a verifier that saw a copy before — with that
same copy, which lets that verifier link the two visits — or nobody. So:

- a card whose issuer gave a refresh token (wallet.refresh) can be topped up once one unused
  copy or none is left (``LOW``), when the holder asks: the card's page, ``amana wallet
  list``/``refresh``. Never right after a presentation: that call would tell the issuer when
  its credential was shown;
- a card without one gets a warning *before* its last unused copy is used (``Notice.LAST_COPY``),
  and says so when none is left (``Notice.NONE_LEFT``) or when the copy offered was seen by this
  verifier before (``Notice.SEEN_BEFORE``): the holder can ask the issuer for a new offer.

Notices are codes with an English sentence; pages translate the code (their own locale files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wallet.consent import CardOption, ConsentScreen
from wallet.content import Contents, Copy, Refresh

LOW = 1  # at most this many unused copies left: fetch fresh ones
PENDING_S = 120  # a refresh under way for longer than this was interrupted: another may start
# Claims that differ between copies of one credential by design; everything else must match.
PER_COPY = frozenset({"cnf", "status", "iat", "nbf", "exp"})


class Notice(StrEnum):
    LAST_COPY = "last_copy"
    NONE_LEFT = "none_left"
    SEEN_BEFORE = "seen_before"


TEXT = {
    Notice.LAST_COPY: "This is the last unused copy of this card. After it, a verifier could link your next "
                      "visit to an earlier one: ask the issuer for new copies.",
    Notice.NONE_LEFT: "No unused copy of this card is left: the next verifier could link this to an earlier "
                      "visit. Ask the issuer for new copies.",
    Notice.SEEN_BEFORE: "This verifier has seen this copy before and can link this visit to the earlier one.",
}


def unused(batch: Iterable[Copy]) -> int:
    return sum(c.shown_to is None for c in batch)


def low(contents: Contents) -> list[str]:
    """Cards with a refresh token and at most ``LOW`` unused copies: to top up."""
    return [b for b, copies in contents.batches().items() if b in contents.refresh and unused(copies) <= LOW]


@dataclass(frozen=True, slots=True)
class CopiesLeft:
    card_id: str
    copies: int
    copies_left: int
    refreshable: bool
    warning: Notice | None

    def to_dict(self) -> dict[str, Any]:
        return {"copies": self.copies, "copies_left": self.copies_left, "refreshable": self.refreshable,
                "warning": None if self.warning is None else {"code": self.warning.value,
                                                              "message": TEXT[self.warning]}}


def copies_left(card_id: str, batch: Sequence[Copy], can_refresh: bool) -> CopiesLeft:
    """A card's count, and its warning: none while fresh copies can be fetched and one is left."""
    left = unused(batch)
    warning = Notice.NONE_LEFT if left == 0 else Notice.LAST_COPY if left == 1 and not can_refresh else None
    return CopiesLeft(card_id, len(batch), left, can_refresh, warning)


def notice(option: CardOption) -> Notice | None:
    """What the consent screen says beside a card it offers: the copy to be sent is the last unused
    one (and nothing will replace it), or it was seen by this verifier before."""
    if not option.fresh:
        return Notice.SEEN_BEFORE
    if option.fresh_copies <= 1 and not option.refreshable:
        return Notice.LAST_COPY
    return None


def screen_notices(screen: ConsentScreen) -> dict[tuple[str, str], Notice]:
    """Per (query id, card id) of a consent screen: the notice to show, if any; a card listed as
    exhausted (every copy seen by another verifier) gets ``NONE_LEFT``."""
    found: dict[tuple[str, str], Notice] = {}
    for query in screen.queries:
        for option in query.cards:
            said = notice(option)
            if said is not None:
                found[(query.query_id, option.card_id)] = said
        for card_id in query.exhausted:
            found[(query.query_id, card_id)] = Notice.NONE_LEFT
    return found


# --- the vault changes a refresh makes (applied through wallet.holder.update) -----------


class NotNow(Exception):
    """This card cannot be refreshed now: no token any more, or a refresh is under way."""


def claim(contents: Contents, card_id: str, now: int) -> Refresh:
    """Mark the card's refresh as under way and return its grant; ``NotNow`` if another is."""
    grant = contents.refresh.get(card_id)
    if grant is None or (grant.pending_since is not None and now - grant.pending_since < PENDING_S):
        raise NotNow(card_id)
    grant.pending_since = now
    return Refresh(**grant.to_dict())


def rotated(contents: Contents, card_id: str, old_token: str, new_token: str | None) -> None:
    """The issuer answered: keep its next token (None: it refused, the grant is dead)."""
    grant = contents.refresh.get(card_id)
    if grant is None or grant.token != old_token:
        return
    if new_token is None:
        del contents.refresh[card_id]
    else:
        grant.token, grant.pending_since = new_token, None


def released(contents: Contents, card_id: str) -> None:
    """The issuer could not be reached: the token was not spent, another try may come."""
    grant = contents.refresh.get(card_id)
    if grant is not None:
        grant.pending_since = None


def same_credential(held: Sequence[Copy], vct: str, issuer: str, claims: Mapping[str, Any]) -> bool:
    """A fresh copy is one more copy of the card: the same type, issuer and claims (but for what
    differs per copy by design, ``PER_COPY``)."""
    if not held:
        return False
    first = held[0]

    def core(values: Mapping[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (values or {}).items() if k not in PER_COPY}

    return first.vct == vct and first.issuer == issuer and (first.claims is None or core(first.claims) == core(claims))
