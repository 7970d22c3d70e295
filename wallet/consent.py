"""The consent screen's content: what the wallet must know and show before the holder shares anything. Pure.

``consent_screen`` takes a request that passed ``wallet.vp_request.check_request`` and says:

- **who asks**: the verifier whose registered keys signed the request (for ``x509_san_dns``
  also its registered host), named in the holder's language from the trust list; otherwise
  ``unknown`` (or ``suspended``), which pages show in red. An unsigned request is never
  matched: anybody can claim a ``redirect_uri``.
- **why**: the registered purpose and legal basis (``wallet.dpv_labels``). OpenID4VP
  requests carry no purpose, so the wallet infers it from the registration: every purpose
  whose registration covers the whole request; if none does, the closest one (fewest
  uncovered attributes), and ``beyond_registration`` names what it does not cover. For an
  unknown verifier no registration covers anything: every requested attribute is beyond.
- **what**, per DCQL Credential Query (OpenID4VP 1.0 §6): the attributes with their labels
  from the type metadata, required or optional (with ``claim_sets``, an attribute in every
  set is required, §6.4.1), the ``claim_sets`` as choices (the one chosen until the holder
  picks another, and sent when they pick none, is the verifier's first that the card answers,
  unless a later one asks for part of it only: §6.4.1 asks a wallet to prefer the verifier's
  first option but names a verifier that did not order for least disclosure as a reason to
  deviate, and a set that is a part of the first discloses less for sure), and the held cards that can
  answer: matching ``vct``, the requested values present (§6.3), and a copy never shown to
  another verifier (a copy already shown to this same verifier is the fallback; cards with
  no such copy are listed in ``exhausted``, for the "copies run low" message).

``choices_valid`` turns the holder's choice into the exact claim paths to disclose, and
refuses a choice that does not answer the query (§6.4.2 credential sets included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core import dcql, i18n, pictograms
from core.credtypes import TypeRegistry
from core.errors import AmanaError, InvalidInput
from core.sdjwt.paths import ClaimPath, format_path
from core.trust.model import RegisteredVerifier, TrustList, name_in
from core.trust.policy import registered_verifier, verifier_may_request
from wallet import dpv_labels
from wallet.dpv_labels import Term
from wallet.vp_request import VerifiedRequest


class ConsentChoiceInvalid(InvalidInput):
    code = "consent_choice_invalid"
    title = "This choice does not answer what the verifier asked"


@dataclass(frozen=True, slots=True)
class HeldCopy:
    copy_id: str
    shown_to: str | None = None  # the client_id it was presented to; None: never shown


@dataclass(frozen=True, slots=True)
class HeldCard:
    """A credential in the wallet: its copies (one holder key each) and, if known, its claims."""

    card_id: str
    vct: str
    copies: tuple[HeldCopy, ...]
    claims: Mapping[str, Any] | None = None  # processed claims; None: not checked against values
    refreshable: bool = False  # the issuer gave a refresh token: fresh copies can be fetched


@dataclass(frozen=True, slots=True)
class WhoAsks:
    status: str  # "registered" | "unknown" | "suspended"
    name: str  # the registered name in the holder's language, or "Unknown verifier"
    verifier_id: str | None
    client_id: str
    answer_goes_to: str  # origin of the response_uri

    @property
    def unknown(self) -> bool:
        return self.status != "registered"


@dataclass(frozen=True, slots=True)
class Purpose:
    purpose: Term
    legal_basis: Term
    pictogram: str = "help-circle"  # core.pictograms: the purpose's sign beside its words


@dataclass(frozen=True, slots=True)
class Attribute:
    path: ClaimPath
    label: str
    required: bool
    claim_id: str | None = None
    values: tuple[Any, ...] | None = None  # the verifier asks only whether the value is one of these
    beyond_registration: bool = False
    pictogram: str = "point"  # core.pictograms: the one the credential type names for this claim


@dataclass(frozen=True, slots=True)
class ClaimSetChoice:
    index: int
    claim_ids: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CardOption:
    card_id: str
    copy_id: str  # the copy that would be sent
    fresh: bool  # never shown to anyone before
    fresh_copies: int
    name: str  # the credential type's name in the holder's language
    claim_sets: tuple[int, ...]  # the claim set indexes this card can answer ((0,) without claim_sets)
    refreshable: bool = False  # fresh copies can be fetched: a last copy links nothing once they are


@dataclass(frozen=True, slots=True)
class QueryScreen:
    query_id: str
    required: bool
    type_names: tuple[str, ...]
    attributes: tuple[Attribute, ...]
    claim_sets: tuple[ClaimSetChoice, ...]  # empty: every attribute is asked together
    cards: tuple[CardOption, ...]
    exhausted: tuple[str, ...] = ()  # cards that match but whose every copy another verifier has seen
    pictogram: str = "certificate"  # core.pictograms: the (first) requested type's sign

    @property
    def suggested_set(self) -> int | None:
        """The claim set chosen until the holder picks another (``default_claim_set``), for the first card."""
        return default_claim_set(self, self.cards[0].claim_sets) if self.claim_sets and self.cards else None


def default_claim_set(query: QueryScreen, answerable: Sequence[int]) -> int:
    """Of the claim sets a card can answer, the verifier's first, unless another asks for part of
    it and nothing else: then the smallest such part (ties: the verifier's order). Only a subset
    is sure to disclose less: ``["address"]`` is one claim, yet tells more than ``["locality",
    "country"]``, so sets that merely count fewer claims are left in the verifier's order."""
    first = answerable[0]
    if not query.claim_sets:  # no claim_sets: every card answers the one implicit set, (0,)
        return first
    claims = {choice.index: frozenset(choice.claim_ids) for choice in query.claim_sets}
    parts = [index for index in answerable if claims[index] < claims[first]]
    return min(parts, key=lambda index: (len(claims[index]), index)) if parts else first


@dataclass(frozen=True, slots=True)
class Beyond:
    vct: str
    path: ClaimPath
    label: str
    pictogram: str = "point"


@dataclass(frozen=True, slots=True)
class ConsentScreen:
    request: VerifiedRequest
    lang: str
    who: WhoAsks
    purposes: tuple[Purpose, ...]
    queries: tuple[QueryScreen, ...]
    beyond_registration: tuple[Beyond, ...]

    @property
    def answerable(self) -> bool:
        """Every required query has at least one card."""
        return all(q.cards for q in self.queries if q.required)

    @property
    def needs_warning(self) -> bool:
        return self.who.unknown or bool(self.beyond_registration)


@dataclass(frozen=True, slots=True)
class Choice:
    cards: Mapping[str, str]  # Credential Query id -> card id
    claim_sets: Mapping[str, int] = field(default_factory=dict)  # query id -> claim set index


@dataclass(frozen=True, slots=True)
class PlannedDisclosure:
    query_id: str
    card_id: str
    copy_id: str
    paths: tuple[ClaimPath, ...]


@dataclass(frozen=True, slots=True)
class DisclosurePlan:
    items: tuple[PlannedDisclosure, ...]

    def paths(self) -> dict[str, tuple[ClaimPath, ...]]:
        """For ``wallet.present.vp_token(..., paths=)``."""
        return {i.query_id: i.paths for i in self.items}

    def copies(self) -> dict[str, str]:
        return {i.query_id: i.copy_id for i in self.items}


def find_verifier(trust_list: TrustList | None, request: VerifiedRequest) -> RegisteredVerifier | None:
    """The one registered verifier whose keys include the request's signing key (None if none or several)."""
    if trust_list is None or request.signer is None:
        return None
    signer = request.signer.thumbprint()
    found = [v for v in trust_list.verifiers if signer in {k.thumbprint() for k in v.public_keys()}
             and (request.prefix != "x509_san_dns" or urlsplit(v.id).hostname == request.identifier.lower())]
    return found[0] if len(found) == 1 else None


def _label(types: TypeRegistry, vcts: Sequence[str], path: ClaimPath, lang: str) -> str:
    known = next((types[v] for v in vcts if v in types), None)
    return known.label(path, lang) if known else format_path(path)


def consent_screen(request: VerifiedRequest, trust_list: TrustList | None, held: Sequence[HeldCard],
                   types: TypeRegistry, lang: str) -> ConsentScreen:
    requested = dcql.requested_claims(request.query)
    parts = urlsplit(request.response_uri)
    verifier = find_verifier(trust_list, request)
    status = "unknown" if verifier is None else "registered"
    if verifier is not None and trust_list is not None:
        try:
            registered_verifier(trust_list, verifier.id, at=request.checked_at)
        except AmanaError:
            status = "suspended"
    # The catalogue's words, in all nine languages (a table here had five: Pashto read English).
    name = name_in(verifier.names, lang) if verifier is not None else i18n.t(lang, "wallet.unknown_verifier")
    who = WhoAsks(status, name, verifier.id if verifier else None, request.client_id,
                  f"{parts.scheme}://{parts.netloc}")
    purposes: tuple[Purpose, ...] = ()
    excess: frozenset[tuple[str, ClaimPath]] = frozenset(requested)
    if verifier is not None and trust_list is not None and status == "registered":
        judged = [(r, verifier_may_request(trust_list, verifier.id, r.purpose, requested, at=request.checked_at))
                  for r in verifier.registrations]
        covering = [r for r, e in judged if not e]
        if covering:
            chosen, excess = covering, frozenset()
        else:
            best = min(judged, key=lambda pair: len(pair[1]))
            chosen, excess = [best[0]], best[1]
        purposes = tuple(Purpose(dpv_labels.purpose(r.purpose, lang), dpv_labels.legal_basis(r.legal_basis, lang),
                                 pictograms.purpose_pictogram(r.purpose))
                         for r in chosen)
    beyond = tuple(Beyond(vct, path, _label(types, [vct], path, lang), pictograms.claim_pictogram(types.get(vct), path))
                   for vct, path in sorted(excess, key=lambda e: (e[0], format_path(e[1]))))
    queries = tuple(_query_screen(q, request, held, types, lang, excess) for q in request.query.credentials)
    return ConsentScreen(request, lang, who, purposes, queries, beyond)


def _query_required(query: dcql.DcqlQuery, query_id: str) -> bool:
    if query.credential_sets is None:
        return True
    return any(s.required and all(query_id in option for option in s.options) for s in query.credential_sets)


def _query_screen(cq: dcql.CredentialQuery, request: VerifiedRequest, held: Sequence[HeldCard],
                  types: TypeRegistry, lang: str, excess: frozenset[tuple[str, ClaimPath]]) -> QueryScreen:
    claims = cq.claims or ()
    sets = cq.claim_sets
    label = {c.path: _label(types, cq.vct_values, c.path, lang) for c in claims}
    attributes = tuple(
        Attribute(c.path, label[c.path], sets is None or all(c.id in s for s in sets), c.id, c.values,
                  any((vct, c.path) in excess for vct in cq.vct_values),
                  pictograms.claim_pictogram_of(types, cq.vct_values, c.path))
        for c in claims)
    by_id = {c.id: c for c in claims}
    choices = tuple(ClaimSetChoice(i, s, tuple(label[by_id[c].path] for c in s)) for i, s in enumerate(sets or ()))
    options, exhausted = [], []
    for card in held:
        if card.vct not in cq.vct_values:
            continue
        answerable = _answerable_sets(cq, card)
        if not answerable:
            continue
        fresh = [c for c in card.copies if c.shown_to is None]
        again = [c for c in card.copies if c.shown_to == request.client_id]
        if not (fresh or again):
            exhausted.append(card.card_id)
            continue
        copy = (fresh or again)[0]
        name = types[card.vct].display_name(lang) if card.vct in types else card.vct
        options.append(CardOption(card.card_id, copy.copy_id, bool(fresh), len(fresh), name, answerable,
                                  card.refreshable))
    names = tuple(types[v].display_name(lang) if v in types else v for v in cq.vct_values) or (cq.format,)
    first = next((types[v] for v in cq.vct_values if v in types), None)
    return QueryScreen(cq.id, _query_required(request.query, cq.id), names, attributes, choices, tuple(options),
                       tuple(exhausted), pictograms.type_pictogram(first))


def _answerable_sets(cq: dcql.CredentialQuery, card: HeldCard) -> tuple[int, ...]:
    claims = cq.claims or ()
    def ok(ids: Sequence[str | None]) -> bool:
        wanted = [c for c in claims if c.id in ids] if cq.claim_sets is not None else list(claims)
        return card.claims is None or all(dcql.claim_matches(c, card.claims) for c in wanted)
    if cq.claim_sets is None:
        return (0,) if ok(()) else ()
    return tuple(i for i, s in enumerate(cq.claim_sets) if ok(s))


def choices_valid(screen: ConsentScreen, choice: Choice) -> DisclosurePlan:
    """The holder's choice as exactly what to disclose; raises ``ConsentChoiceInvalid``."""
    query = screen.request.query
    unknown = set(choice.cards) - {q.query_id for q in screen.queries} | set(choice.claim_sets) - set(choice.cards)
    if unknown:
        raise ConsentChoiceInvalid(f"the request has no query {sorted(unknown)[0]!r} to answer")
    items = []
    for qs in screen.queries:
        if qs.query_id not in choice.cards:
            continue
        card = next((c for c in qs.cards if c.card_id == choice.cards[qs.query_id]), None)
        if card is None:
            raise ConsentChoiceInvalid(f"that card cannot answer {qs.query_id!r}")
        cq = query.by_id(qs.query_id)
        assert cq is not None
        index = choice.claim_sets.get(qs.query_id, default_claim_set(qs, card.claim_sets))
        if index not in card.claim_sets:
            raise ConsentChoiceInvalid(f"that card cannot answer this choice for {qs.query_id!r}")
        wanted = cq.claim_sets[index] if cq.claim_sets is not None else None
        paths = tuple(c.path for c in cq.claims or () if wanted is None or c.id in wanted)
        items.append(PlannedDisclosure(qs.query_id, card.card_id, card.copy_id, paths))
    chosen = {i.query_id for i in items}
    if query.credential_sets is None:
        missing = [q.id for q in query.credentials if q.id not in chosen]
        if missing:
            raise ConsentChoiceInvalid(f"the verifier needs an answer to {missing[0]!r}")
    else:
        for credential_set in query.credential_sets:
            if credential_set.required and not any(set(o) <= chosen for o in credential_set.options):
                raise ConsentChoiceInvalid("a required set of credentials is not answered")
    return DisclosurePlan(tuple(items))
