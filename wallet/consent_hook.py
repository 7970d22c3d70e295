"""The consent hook: what ``amana wallet present`` tells the holder before they agree, and the
history record of their answer. ``wallet/consent.py`` (the consent screen model: the registered
name from the trust list, the purpose in plain words, the legal basis, claims beyond the
registration) replaces :func:`consent_screen` here; the record keeps its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet import present as presenting
from wallet.content import Copy
from wallet.history import Controller, HistoryRecord


@dataclass(frozen=True, slots=True)
class ConsentView:
    """What the holder is told before agreeing: who asks, why, on what basis, which claim names."""

    controller: Controller
    purposes: tuple[str, ...]
    legal_basis: str | None
    asked: dict[str, list[str]]  # Credential Query id → claim paths


def consent_screen(request: presenting.VerifierRequest) -> ConsentView:
    """CONSENT HOOK (issue 12 item 5): ``wallet/consent.py``'s model (the registered name from the
    trust list, the purpose in plain words, the legal basis, claims beyond the registration) plugs
    in here. Until then: the client id as the request proves it, no name ("unknown verifier"),
    and exactly the claims the request names."""
    asked = {q.id: [".".join(map(str, c.path)) for c in q.claims or ()] for q in request.query.credentials}
    return ConsentView(Controller(request.client_id, None), (), None, asked)


def record(view: ConsentView, event: str, copies: list[Copy], now: int) -> HistoryRecord:
    names = sorted({name for paths in view.asked.values() for name in paths})
    return HistoryRecord.new("given" if event == "given" else "declined", view.controller, now,
                             purposes=view.purposes, legal_basis=view.legal_basis, data_categories=tuple(names),
                             credential_types=tuple(sorted({c.vct for c in copies})),
                             copy_ids=tuple(c.copy_id for c in copies))
