"""The consent screen (wallet.consent) as plain lines for a terminal: what ``amana wallet present``
prints on stderr before it asks. The pages render the same model as HTML (wallet/pages.py).
"""

from __future__ import annotations

from core.sdjwt.paths import format_path
from wallet import consent


def lines(screen: consent.ConsentScreen) -> list[str]:
    who = screen.who
    out = [f"Who asks: {who.name} ({who.verifier_id or who.client_id})", f"The answer goes to: {who.answer_goes_to}"]
    out += [f"Why: {p.purpose.label}" for p in screen.purposes] or ["Why: not registered"]
    if screen.purposes:
        out.append(f"Legal basis: {screen.purposes[0].legal_basis.label}")
    for query in screen.queries:
        what = f"Asks for ({query.query_id}, {' / '.join(query.type_names)})"
        if query.claim_sets:  # DCQL claim_sets: the holder picks one (--disclose QUERY=CARD:SET)
            out.append(f"{what}, one of:")
            sent, first = query.suggested_set, query.cards[0].claim_sets[0] if query.cards else None
            said = "  <- sent unless you choose another" + (": part of the first, fewer facts" if sent != first else "")
            out += [f"  set {choice.index}: {', '.join(choice.labels)}" + (said if choice.index == sent else "")
                    for choice in query.claim_sets]
        else:
            out.append(f"{what}: " + ", ".join(format_path(a.path) + ("" if a.required else " (optional)")
                                               for a in query.attributes))
        if not query.cards:
            out.append("  You hold no card that answers this" +
                       (" (every copy was shown to another verifier)" if query.exhausted else ""))
        for card in query.cards:
            if card.fresh_copies <= 1 and not card.refreshable:
                out.append(f"  {card.name}: the last unused copy — after it, verifiers could link your visits")
    if screen.who.unknown:
        out.append("WARNING: this verifier is not registered on the trust list")
    if screen.beyond_registration:
        out.append("WARNING: this goes beyond what it is registered to ask: " +
                   "; ".join(f"{b.vct}: {b.label}" for b in screen.beyond_registration))
    return out
