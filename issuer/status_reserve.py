"""Status indices taken from the database ahead of need, handed out without it. Pure.

Each credential needs a random free index in one of its organisation's status lists
(issuer.revocation). Taking it from the list row means locking the organisation (so two
issuances cannot take the same index, or open two lists), reading and writing the list's
16 KB allocation bitmap, and holding that lock until the credential's transaction commits.
On PostgreSQL every credential request of an organisation queued on that lock for three
round trips more than its own work, while the lock was held across the signing and four
more statements (issue 15: with 16 wallets at once the worker sat 40 % idle, waiting).

So a credential request that finds too few indices here takes ``SPARE`` more than it needs
from the list, in its own transaction as before, and once that transaction has committed the
spare ones are kept here, per organisation and list, for the next requests of this process.
A request that leaves fewer than ``LOW_WATER`` here takes a spare from the list once its own
transaction has committed, in one of its own (issuer.minting.refill_ahead): the reserve is
refilled before it runs dry, so requests that arrive meanwhile still find indices here. Refilled
only when empty, every request that came during the refill found none, allocated its own and
queued on the organisation's lock behind the refill's commit: ``bench.load`` (2 workers, 50
wallets) counted 418 allocations for 5,700 credentials, each waiting 38 ms for that lock on
average (pg_stat_statements, session 20). A spare index is never given twice: it is taken off
here before use, and only a committed allocation is ever kept (one rolled back leaves nothing
here, and its indices free in the list). One request per organisation takes a spare at a time
(``Refill``); others that find too few meanwhile take only their own, so a burst does not leave
a spare per request.

What this costs: an index kept here when the process stops stays allocated in the list with
no credential on it, at most ``SPARE`` on top of fewer than ``LOW_WATER`` and what one batch
left over, per organisation, per process stop. Its status stays VALID, and nobody holds a
credential pointing at it: one more entry of the crowd the list keeps to hide in
(issuer.revocation), out of 65 536.

The indices of one list are random and taken in no particular order, so a credential's
index still says nothing about when it was issued (Token Status List, section 12.6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SPARE = 64  # taken beside a request's own indices when too few are kept: one lock per ~64 credentials
LOW_WATER = SPARE // 2  # fewer kept than this: the next request refills the reserve ahead of need


@dataclass(frozen=True, slots=True)
class Allocated:
    """Status indices taken in one list of the organisation (``number``: its place among them)."""

    list_id: str
    number: int
    indices: list[int]

    def split(self, count: int) -> tuple[Allocated, Allocated]:
        """The first ``count`` indices, and the rest (in the same list)."""
        return (Allocated(self.list_id, self.number, self.indices[:count]),
                Allocated(self.list_id, self.number, self.indices[count:]))


@dataclass
class StatusReserve:
    """Committed, unused indices per organisation, each batch within one list."""

    kept: dict[str, list[Allocated]] = field(default_factory=dict)
    refilling: set[str] = field(default_factory=set)  # organisations a request is taking a spare for

    def refill(self) -> Refill:
        """For one credential request: ``with reserve.refill() as refill:`` around its transaction."""
        return Refill(self)

    def take(self, org_id: str, count: int) -> Allocated | None:
        """``count`` indices of one list, taken off the reserve; None when no list has that many."""
        batches = self.kept.get(org_id, [])
        for i, batch in enumerate(batches):
            if len(batch.indices) >= count:
                taken, rest = batch.split(count)
                if rest.indices:
                    batches[i] = rest
                else:
                    del batches[i]
                return taken
        return None

    def keep(self, org_id: str, spare: Allocated) -> None:
        """Indices whose allocation has committed, for later requests; joined to those kept of
        the same list, so what a request of many leaves behind is not kept apart forever."""
        if not spare.indices:
            return
        batches = self.kept.setdefault(org_id, [])
        for i, batch in enumerate(batches):
            if batch.list_id == spare.list_id:
                batches[i] = Allocated(batch.list_id, batch.number, batch.indices + spare.indices)
                return
        batches.append(spare)

    def count(self, org_id: str) -> int:
        return sum(len(batch.indices) for batch in self.kept.get(org_id, []))

    def running_low(self, org_id: str) -> bool:
        """Fewer than ``LOW_WATER`` kept: time to refill, while what is left serves the others."""
        return self.count(org_id) < LOW_WATER


@dataclass
class Refill:
    """One request's claim to take the spare: ``spare_wanted`` asks for it, ``committed`` keeps what
    was taken once the transaction has committed, and leaving the ``with`` block gives the claim
    up whatever happened (a rolled-back spare is simply never kept)."""

    reserve: StatusReserve
    org_id: str | None = None
    spare: Allocated | None = None

    def spare_wanted(self, org_id: str) -> int:
        """How many to take beyond the request's own: ``SPARE``, or none while another
        request of this process is taking one for the organisation."""
        if org_id in self.reserve.refilling:
            return 0
        self.reserve.refilling.add(org_id)
        self.org_id = org_id
        return SPARE

    def taken(self, spare: Allocated) -> None:
        self.spare = spare

    def committed(self) -> None:
        if self.org_id is not None and self.spare is not None:
            self.reserve.keep(self.org_id, self.spare)
        self.spare = None

    def __enter__(self) -> Refill:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.org_id is not None:
            self.reserve.refilling.discard(self.org_id)
        self.org_id = self.spare = None
