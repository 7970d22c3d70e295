"""What ``amana wallet present`` tells the holder before they agree, and the history record of
their answer: the consent screen model (wallet/consent.py) over the wallet's own copies and
the trust list this node holds (core.trust.local), flattened for a terminal and for history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.credtypes import TypeRegistry
from core.sdjwt.paths import format_path
from core.trust import TrustList
from wallet import consent
from wallet import present as presenting
from wallet.content import Copy
from wallet.history import Controller, HistoryRecord


@dataclass(frozen=True, slots=True)
class ConsentView:
    """What the holder is told before agreeing: who asks, why, on what basis, which claim names,
    and which of them go beyond what the trust list lets this verifier ask."""

    controller: Controller
    verifier: str  # the registered name in the holder's language, or "Unknown verifier"
    purposes: tuple[str, ...]  # DPV purpose IRIs
    purpose_words: tuple[str, ...]  # the same in plain words
    legal_basis: str | None  # DPV legal-basis IRI
    legal_basis_words: str | None
    asked: dict[str, list[str]]  # Credential Query id → claim paths
    beyond: tuple[str, ...]  # "vct: label" of each attribute beyond the registration
    unknown: bool  # not on the trust list (or suspended there)
    needs_warning: bool  # unknown verifier, or beyond its registration: --allow-unregistered

    def lines(self) -> list[str]:
        """The screen as plain lines for a terminal."""
        out = [f"Who asks: {self.verifier} ({self.controller.id})"]
        out += [f"Why: {words}" for words in self.purpose_words] or ["Why: not registered"]
        if self.legal_basis_words:
            out.append(f"Legal basis: {self.legal_basis_words}")
        out += [f"Asks for ({query}): {', '.join(paths)}" for query, paths in self.asked.items()]
        if self.needs_warning:
            out.append("WARNING: " + ("this verifier is not registered on the trust list" if self.unknown else
                                      "this goes beyond what it is registered to ask: " + "; ".join(self.beyond)))
        return out


def _held(copies: Sequence[Copy]) -> list[consent.HeldCard]:
    return [consent.HeldCard(c.copy_id, c.vct, (consent.HeldCopy(c.copy_id, c.shown_to),)) for c in copies]


def consent_screen(request: presenting.VerifierRequest, trust_list: TrustList | None, copies: Sequence[Copy],
                   types: TypeRegistry, lang: str = "en") -> ConsentView:
    """The consent screen for ``request`` (no trust list: an unknown verifier, with every attribute
    named as going beyond a registration it does not have)."""
    screen = consent.consent_screen(request, trust_list, _held(copies), types, lang)
    asked = {q.id: [".".join(map(str, c.path)) for c in q.claims or ()] for q in request.query.credentials}
    first = screen.purposes[0] if screen.purposes else None
    return ConsentView(
        controller=Controller(screen.who.verifier_id or request.client_id,
                              None if screen.who.unknown else screen.who.name),
        verifier=screen.who.name, purposes=tuple(p.purpose.iri for p in screen.purposes),
        purpose_words=tuple(p.purpose.label for p in screen.purposes),
        legal_basis=first.legal_basis.iri if first else None,
        legal_basis_words=first.legal_basis.label if first else None, asked=asked,
        beyond=tuple(f"{b.vct}: {b.label or format_path(b.path)}" for b in screen.beyond_registration),
        unknown=screen.who.unknown, needs_warning=screen.needs_warning)


def record(view: ConsentView, event: str, copies: list[Copy], now: int) -> HistoryRecord:
    names = sorted({name for paths in view.asked.values() for name in paths})
    return HistoryRecord.new("given" if event == "given" else "declined", view.controller, now,
                             purposes=view.purposes, legal_basis=view.legal_basis, data_categories=tuple(names),
                             credential_types=tuple(sorted({c.vct for c in copies})),
                             copy_ids=tuple(c.copy_id for c in copies))
