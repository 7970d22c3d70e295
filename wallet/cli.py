"""``amana wallet``: the holder's wallet for a shell — on the encrypted vault (wallet/vault.py).

The same store as the node (``$AMANA_DATA_DIR/amana.db``, or ``AMANA_DATABASE_URL``): one
row per wallet holding only ciphertext, salts and parameters. Every command that reads or
changes a wallet unlocks it with the passphrase from ``AMANA_WALLET_PASSPHRASE`` or a hidden
prompt — never an argument, which every user of the machine could read in the process list.
Output is JSON on stdout; errors are problem objects on stderr with exit 1.

A copy shown to one verifier is never shown to another (unlinkability: batch copies are there
for that); every presentation and every refusal is recorded inside the vault, names only.
Plain http is used only in the node's local mode (``Settings.local_mode``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from core._cli_common import fails_as_problem
from core.errors import InvalidInput
from core.sdjwt.paths import format_path
from core.settings import get_settings
from wallet import consent, consent_hook, copies, flows, holder, ledger, refresh
from wallet.history import HistoryRecord, iso

T = TypeVar("T")
wallet_app = typer.Typer(no_args_is_help=True, help="Holder: an encrypted wallet — receive, present, history, move.")
WalletOption = Annotated[str | None, typer.Option("--wallet", help="the wallet's id (default: the only one here)")]
PASSPHRASE_ENV, EXPORT_ENV, RECOVERY_ENV = "AMANA_WALLET_PASSPHRASE", "AMANA_WALLET_EXPORT_PASSPHRASE", \
    "AMANA_WALLET_RECOVERY_CODE"
NEW_ENV = "AMANA_WALLET_NEW_PASSPHRASE"


def secret(env: str, prompt: str, *, confirm: bool = False, hide: bool = True) -> str:
    value = os.environ.get(env)
    if value:
        return value
    try:
        answer: str = typer.prompt(prompt, hide_input=hide, confirmation_prompt=confirm, err=True)
    except typer.Abort:  # no terminal and nothing piped in
        raise InvalidInput(f"nothing to read the {prompt.lower()} from: set {env} or run in a terminal") from None
    return answer


def agrees(question: str) -> bool:
    """A yes/no asked on stderr, "no" unless told "y": click's confirm, even told stderr, writes a
    space to stdout, which then held " {…}", not the one JSON document a script reads. Nothing to
    read at all (no terminal, stdin closed) is no answer: nothing is done, not even a "no" sent."""
    typer.echo(f"{question} [y/N]: ", nl=False, err=True)
    line = sys.stdin.readline()
    if not line:
        typer.echo("", err=True)
        raise InvalidInput("no answer could be read (no terminal, nothing piped in): nothing was done; answer in "
                           "a terminal, or add --yes")
    return line.strip().lower() in ("y", "yes")


def ask_passphrase(*, confirm: bool = False) -> str:
    return secret(PASSPHRASE_ENV, "Wallet passphrase", confirm=confirm)


def on_wallets(work: Callable[[holder.WalletContext], Awaitable[T]]) -> T:
    async def run() -> T:
        ctx = await holder.WalletContext.open(get_settings())
        try:
            return await work(ctx)
        finally:
            await ctx.engine.dispose()

    return asyncio.run(run())


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


@wallet_app.command("create")
@fails_as_problem
def create(name: Annotated[str | None, typer.Option(help="a name for you to tell wallets apart (kept "
                                                        "encrypted)")] = None) -> None:
    """A new wallet; prints its id and the recovery code ONCE: write the code down, it is the only way
    back in without the passphrase."""
    passphrase = ask_passphrase(confirm=True)
    wallet_id, code = on_wallets(lambda ctx: holder.create(ctx, passphrase, name))
    print_json({"wallet_id": wallet_id, "recovery_code": code})


@wallet_app.command("receive")
@fails_as_problem
def receive(
    link: Annotated[str, typer.Argument(help="the openid-credential-offer:// link (the QR code's text)")],
    pin: Annotated[str, typer.Option(help="the PIN the issuer told you")],
    copies: Annotated[int, typer.Option(min=1, max=10, help="unlinkable copies to ask for (the issuer may give "
                                        "fewer)")] = 3,
    allow_unregistered: Annotated[bool, typer.Option(
        "--allow-unregistered", help="receive from an issuer the trust list does not accredit for this type")] = False,
    wallet: WalletOption = None,
) -> None:
    """Redeem an offer; each copy is checked, then kept with its key in the vault. Prints no claim value."""
    passphrase = ask_passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)  # before the offer is spent
        async with flows.http_client(ctx.settings) as http:
            offered = await flows.look_at_offer(ctx, http, link, "en")
            if not offered.registered:
                typer.echo(f"WARNING: {offered.offer.issuer} is not on the trust list for {offered.type_name}",
                           err=True)
            opened, kept = await flows.accept_offer(ctx, opened, http, offered, pin, copies=copies,
                                                    allow_unregistered=allow_unregistered)
        return {"received": len(kept), "type": offered.type_name, "issuer": offered.offer.issuer,
                "issuer_registered": offered.registered, "wallet": opened.wallet_id,
                "refreshable": kept[0].batch in opened.contents.refresh}

    print_json(on_wallets(work))


_TECHNICAL = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "sub", "_sd_alg"})


@wallet_app.command("list")
@fails_as_problem
def list_(wallet: WalletOption = None,
          show_claims: Annotated[bool, typer.Option("--show-claims", help="also print the claim values")] = False,
          offline: Annotated[bool, typer.Option("--offline", help="do not fetch fresh copies of cards running "
                                                "low")] = False,
          ) -> None:
    """The cards: type, issuer, validity, copies left and a warning when they run low — no claim value
    unless --show-claims. A card with one unused copy or none is topped up first when its issuer gave
    a refresh token (unless --offline)."""
    passphrase = ask_passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        outcomes: dict[str, refresh.Outcome] = {}
        if not offline and copies.low(opened.contents):
            async with flows.http_client(ctx.settings) as http:
                opened, done = await refresh.top_up(ctx, opened, http, copies.low(opened.contents))
            outcomes = {o.card_id: o for o in done}
        cards = []
        for batch in opened.contents.batches().values():
            first = batch[0]
            known = ctx.types.get(first.vct)
            card: dict[str, Any] = {"card": first.batch, "type": known.display_name("en") if known else first.vct,
                                    "vct": first.vct,
                    "issuer": first.issuer, "received": iso(first.received_at),
                    "valid_until": iso(first.valid_until) if first.valid_until else None}
            card |= copies.copies_left(first.batch, batch, first.batch in opened.contents.refresh).to_dict()
            if first.batch in outcomes:
                card["refreshed"] = outcomes[first.batch].to_dict()
            if show_claims:
                card["claims"] = {k: v for k, v in (first.claims or {}).items() if k not in _TECHNICAL}
            cards.append(card)
        return {"wallet": opened.wallet_id, "name": opened.contents.name, "cards": cards}

    print_json(on_wallets(work))


@wallet_app.command("refresh")
@fails_as_problem
def refresh_(card: Annotated[list[str] | None, typer.Option("--card", help="this card (repeat for more); "
                                                              "default: every card running low")] = None,
             wallet: WalletOption = None) -> None:
    """Fetch fresh copies from the issuer, for cards whose issuer gave a refresh token: new holder keys,
    each copy checked, so the next verifiers cannot link your visits."""
    passphrase = ask_passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        wanted = card or copies.low(opened.contents)
        unknown = [c for c in wanted if c not in opened.contents.refresh]
        if unknown:
            raise InvalidInput(f"card {unknown[0]!r} has no refresh token: ask its issuer for a new offer")
        async with flows.http_client(ctx.settings) as http:
            opened, done = await refresh.top_up(ctx, opened, http, wanted)
        return {"wallet": opened.wallet_id, "refreshed": [o.to_dict() for o in done]}

    print_json(on_wallets(work))


@wallet_app.command("present")
@fails_as_problem
def present(
    link: Annotated[str, typer.Argument(help="the openid4vp:// link (the desk's QR code's text)")],
    disclose: Annotated[list[str] | None, typer.Option(
        "--disclose", help="QUERY=CARD[:SET]: answer this query with that card (and claim set); repeat per query. "
        "Default: the first card that answers each query")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="agree without asking (scripts)")] = False,
    allow_unregistered: Annotated[bool, typer.Option(
        "--allow-unregistered", help="with --yes: answer a verifier that is not on the trust list, or that asks "
        "beyond its registration")] = False,
    lang: Annotated[str, typer.Option(help="the language of the consent screen")] = "en",
    wallet: WalletOption = None,
) -> None:
    """Answer a verifier's request with exactly the claims it asks for, after you agree; recorded in
    the history either way. A copy shown to one verifier is never shown to another. The consent
    screen (on stderr) says who asks, why, on what legal basis, and warns about an unregistered
    verifier or a request beyond its registration; "no" sends the protocol's access_denied."""
    passphrase = ask_passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        async with flows.http_client(ctx.settings) as http:
            asked = await flows.open_request(ctx, opened, http, link, lang)
            choice = _choice(disclose) if disclose else flows.default_choice(asked.screen)
            consent.choices_valid(asked.screen, choice)  # nothing fits: say so before asking
            for line in consent_hook.lines(asked.screen):
                typer.echo(line, err=True)
            for (query_id, card_id), said in copies.screen_notices(asked.screen).items():
                typer.echo(f"NOTE ({query_id}, card {card_id}): {copies.TEXT[said]}", err=True)
            if yes and asked.screen.needs_warning and not allow_unregistered:
                raise flows.ConsentWarningUnheeded("this verifier is unregistered or asks beyond its registration: "
                                                   "answer without --yes, or add --allow-unregistered")
            if not yes and not agrees("Show these, and nothing else?"):
                declined = await flows.decline(ctx, opened, http, asked)
                typer.echo("Nothing was shown. The verifier was told you said no.", err=True)
                if declined.redirect_uri:
                    typer.echo(f"The verifier asks you to continue at {declined.redirect_uri}", err=True)
                print_json({"declined": asked.request.client_id, "shown": {}, "continue_at": declined.redirect_uri})
                raise typer.Exit(1)
            answered = await flows.give(ctx, opened, http, asked, choice, heeded_warning=True)
        shown = {i.query_id: [format_path(p) for p in i.paths] for i in consent.choices_valid(asked.screen,
                                                                                              choice).items}
        # OpenID4VP §8.2: where the verifier asks the holder to continue (a browser's job: printed here)
        return {"answered": asked.request.client_id, "shown": shown, "continue_at": answered.redirect_uri}

    print_json(on_wallets(work))


def _choice(disclose: list[str]) -> consent.Choice:
    """``QUERY=CARD[:SET]`` options as the holder's choice."""
    cards: dict[str, str] = {}
    sets: dict[str, int] = {}
    for item in disclose:
        query, sep, rest = item.partition("=")
        card, _, index = rest.partition(":")
        if not (sep and query and card) or (index and not (index.isascii() and index.isdigit())):
            raise InvalidInput(f"--disclose takes QUERY=CARD[:SET], not {item!r}")
        cards[query] = card
        if index:
            sets[query] = int(index)
    return consent.Choice(cards, sets)


@wallet_app.command("history")
@fails_as_problem
def history(wallet: WalletOption = None,
            full: Annotated[bool, typer.Option("--full", help="with the consent ledger's receipts, proofs and "
                                               "checkpoints as kept (for an audit), not only where each stands")]
            = False) -> None:
    """Who saw what: every presentation and refusal, with claim names (never values), newest last."""
    passphrase = ask_passphrase()

    def said(record: HistoryRecord) -> dict[str, Any]:
        shown: dict[str, Any] = record.to_dict()
        if not full and record.receipt is not None:  # signed receipts and log proofs: kilobytes of base64
            kept = record.receipt
            shown["receipt"] = {"ledger": kept.get("ledger"), "record_id": kept.get("record_id"),
                                "state": ledger.state(kept), "withdrawable": ledger.withdrawable(kept)}
        return shown

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        return {"wallet": opened.wallet_id, "history": [said(h) for h in opened.contents.history]}

    print_json(on_wallets(work))
