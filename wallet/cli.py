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
import hashlib
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer

from core import keys
from core._cli_common import ExistingFile, fails_as_problem
from core.encoding import b64url_decode
from core.errors import AmanaError, InvalidInput
from core.fetch import FetchFailed, FetchRefused
from core.settings import get_settings
from core.trust import TrustList
from core.trust.local import anchored_cache, held_trust_list
from wallet import export, holder
from wallet import present as presenting
from wallet.consent_hook import consent_screen, record
from wallet.content import Contents, Copy, choose
from wallet.history import iso
from wallet.receive import Received
from wallet.receive import receive as receiving
from wallet.vault import parse_recovery_code

T = TypeVar("T")
wallet_app = typer.Typer(no_args_is_help=True, help="Holder: an encrypted wallet — receive, present, history, move.")
WalletOption = Annotated[str | None, typer.Option("--wallet", help="the wallet's id (default: the only one here)")]
PASSPHRASE_ENV, EXPORT_ENV, RECOVERY_ENV = "AMANA_WALLET_PASSPHRASE", "AMANA_WALLET_EXPORT_PASSPHRASE", \
    "AMANA_WALLET_RECOVERY_CODE"
NEW_ENV = "AMANA_WALLET_NEW_PASSPHRASE"


def _secret(env: str, prompt: str, *, confirm: bool = False, hide: bool = True) -> str:
    value = os.environ.get(env)
    if value:
        return value
    try:
        answer: str = typer.prompt(prompt, hide_input=hide, confirmation_prompt=confirm, err=True)
    except typer.Abort:  # no terminal and nothing piped in
        raise InvalidInput(f"nothing to read the {prompt.lower()} from: set {env} or run in a terminal") from None
    return answer


def _passphrase(*, confirm: bool = False) -> str:
    return _secret(PASSPHRASE_ENV, "Wallet passphrase", confirm=confirm)


def _run(work: Callable[[holder.WalletContext], Awaitable[T]]) -> T:
    async def run() -> T:
        ctx = await holder.WalletContext.open(get_settings())
        try:
            return await work(ctx)
        finally:
            await ctx.engine.dispose()

    return asyncio.run(run())


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


class ConsentWarningUnheeded(InvalidInput):
    code = "consent_warning_unheeded"
    title = "This request needs your explicit agreement"


def _trust_list(ctx: holder.WalletContext) -> TrustList | None:
    """The trust list this node holds (the wallet's own verified copy, seeded from the operator's
    file); None when there is none: every verifier then shows as unknown."""
    try:
        cache = anchored_cache(ctx.settings, ctx.settings.data_dir / "wallet-trust" / "trust-list.jwt")
        return held_trust_list(cache, ctx.settings.trust_list_file, ctx.now())
    except AmanaError:
        return None


def _client() -> httpx.AsyncClient:
    local = get_settings().local_mode

    async def https_only(request: httpx.Request) -> None:
        if request.url.scheme != "https" and not local:
            raise FetchRefused("the wallet uses plain http only in local mode (a node on http://127.0.0.1)")

    return httpx.AsyncClient(timeout=10, event_hooks={"request": [https_only]})


async def _talk(work: Awaitable[T]) -> T:
    try:
        return await work
    except httpx.HTTPError as exc:
        raise FetchFailed(f"the other side could not be reached ({type(exc).__name__})") from None


@wallet_app.command("create")
@fails_as_problem
def create(name: Annotated[str | None, typer.Option(help="a name for you to tell wallets apart (kept "
                                                        "encrypted)")] = None) -> None:
    """A new wallet; prints its id and the recovery code ONCE: write the code down, it is the only way
    back in without the passphrase."""
    passphrase = _passphrase(confirm=True)
    wallet_id, code = _run(lambda ctx: holder.create(ctx, passphrase, name))
    _print({"wallet_id": wallet_id, "recovery_code": code})


@wallet_app.command("receive")
@fails_as_problem
def receive(
    link: Annotated[str, typer.Argument(help="the openid-credential-offer:// link (the QR code's text)")],
    pin: Annotated[str, typer.Option(help="the PIN the issuer told you")],
    copies: Annotated[int, typer.Option(min=1, max=10, help="unlinkable copies to ask for (the issuer may give "
                                        "fewer)")] = 3,
    wallet: WalletOption = None,
) -> None:
    """Redeem an offer; each copy is checked, then kept with its key in the vault. Prints no claim value."""
    passphrase = _passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)  # before the offer is spent
        async with _client() as http:
            received: list[Received] = await _talk(receiving(http, link, pin.strip(), copies=copies, types=ctx.types))
        batch, now = secrets.token_urlsafe(8), ctx.now()  # copies of one batch share one fate at the issuer

        def keep(contents: Contents) -> None:
            contents.copies.extend(Copy.new(r.credential, r.holder_key.to_jwk(), r.verified.vct, r.verified.issuer,
                                            batch, now, r.verified.verified.claims.get("exp")) for r in received)

        await holder.update(ctx, opened, keep)
        first = received[0].verified
        name = first.credential_type.display_name("en") if first.credential_type else first.vct
        return {"received": len(received), "type": name, "issuer": first.issuer, "wallet": opened.wallet_id}

    _print(_run(work))


def _claims(credential: str) -> dict[str, Any]:
    """The disclosable claims a held credential carries (top-level names), for ``--show-claims``."""
    shown: dict[str, Any] = {}
    for disclosure in credential.split("~")[1:-1]:
        item = json.loads(b64url_decode(disclosure))
        if len(item) == 3:
            shown[item[1]] = item[2]
    return shown


@wallet_app.command("list")
@fails_as_problem
def list_(wallet: WalletOption = None,
          show_claims: Annotated[bool, typer.Option("--show-claims", help="also print the claim values")] = False,
          ) -> None:
    """The cards: type, issuer, validity, copies left — no claim value unless --show-claims."""
    passphrase = _passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        cards = []
        for batch in opened.contents.batches().values():
            first = batch[0]
            known = ctx.types.get(first.vct)
            card: dict[str, Any] = {"type": known.display_name("en") if known else first.vct, "vct": first.vct,
                    "issuer": first.issuer, "received": iso(first.received_at),
                    "valid_until": iso(first.valid_until) if first.valid_until else None,
                    "copies": len(batch), "copies_left": sum(c.shown_to is None for c in batch)}
            if show_claims:
                card["claims"] = _claims(first.credential)
            cards.append(card)
        return {"wallet": opened.wallet_id, "name": opened.contents.name, "cards": cards}

    _print(_run(work))


@wallet_app.command("present")
@fails_as_problem
def present(
    link: Annotated[str, typer.Argument(help="the openid4vp:// link (the desk's QR code's text)")],
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
    passphrase = _passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        async with _client() as http:
            request = await _talk(presenting.fetch_request(http, link, trust_list=_trust_list(ctx)))
        choose(opened.contents.copies, request.query, request.client_id)  # nothing fits: say so before asking
        view = consent_screen(request, _trust_list(ctx), opened.contents.copies, ctx.types, lang)
        for line in view.lines():
            typer.echo(line, err=True)
        if yes and view.needs_warning and not allow_unregistered:
            raise ConsentWarningUnheeded("this verifier is unregistered or asks beyond its registration: "
                                         "answer without --yes, or add --allow-unregistered")
        if not yes and not typer.confirm("Show these, and nothing else?", err=True):
            await holder.update(ctx, opened, lambda c: c.history.append(record(view, "declined", [], ctx.now())))
            async with _client() as http:
                await _talk(presenting.decline(http, request))
            raise typer.Exit(1)
        now = ctx.now()

        def give(contents: Contents) -> dict[str, Copy]:
            """Chosen on the freshest content and marked before anything is sent: a crash after this
            leaves the copy tied to this verifier, never free for another."""
            chosen = choose(contents.copies, request.query, request.client_id)
            for copy in chosen.values():
                copy.shown_to, copy.shown_at = request.client_id, now
            contents.history.append(record(view, "given", list(chosen.values()), now))
            return chosen

        opened, chosen = await holder.update(ctx, opened, give)
        pairs = {q: (c.credential, keys.PrivateKey.from_jwk(c.holder_key)) for q, c in chosen.items()}
        vp = presenting.vp_token(request, pairs, int(time.time()))
        async with _client() as http:
            response = await _talk(presenting.answer(http, request, vp))
        if response.status_code != 200:
            raise FetchFailed(f"the verifier did not take the answer ({response.status_code})")
        return {"answered": request.client_id, "shown": view.asked}

    _print(_run(work))


@wallet_app.command("history")
@fails_as_problem
def history(wallet: WalletOption = None) -> None:
    """Who saw what: every presentation and refusal, with claim names (never values), newest last."""
    passphrase = _passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        return {"wallet": opened.wallet_id, "history": [h.to_dict() for h in opened.contents.history]}

    _print(_run(work))


@wallet_app.command("export")
@fails_as_problem
def export_(file: Annotated[Path, typer.Argument(dir_okay=False, help="the file to write (encrypted)")],
            wallet: WalletOption = None) -> None:
    """The whole wallet in one file encrypted under an export passphrase (AMANA_WALLET_EXPORT_PASSPHRASE
    or a prompt), for `amana wallet import` on another node."""
    passphrase = _passphrase()
    export_passphrase = _secret(EXPORT_ENV, "Export passphrase (for this file only)", confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        data = export.dump(opened.wallet_id, opened.contents.to_bytes(), export_passphrase, ctx.now())
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing file
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return {"exported": opened.wallet_id, "file": str(file), "sha256": hashlib.sha256(data).hexdigest()}

    _print(_run(work))


@wallet_app.command("import")
@fails_as_problem
def import_(file: ExistingFile) -> None:
    """A wallet from an export file, under your passphrase; prints its new recovery code ONCE.
    A file that was changed, or a wrong export passphrase, is refused and changes nothing."""
    data = file.read_bytes()
    export.header(data)  # not an export file at all: say so before asking for anything
    export_passphrase = _secret(EXPORT_ENV, "Export passphrase")
    passphrase = _passphrase(confirm=True)
    wallet_id, code = _run(lambda ctx: holder.import_wallet(ctx, data, export_passphrase, passphrase))
    _print({"wallet_id": wallet_id, "recovery_code": code})


@wallet_app.command("recover")
@fails_as_problem
def recover(wallet: WalletOption = None) -> None:
    """A new passphrase (AMANA_WALLET_PASSPHRASE or a prompt) from the recovery code
    (AMANA_WALLET_RECOVERY_CODE or a prompt). The recovery code stays the same."""
    code = _secret(RECOVERY_ENV, "Recovery code", hide=False)
    parse_recovery_code(code)  # a typo is caught here, before any prompt or KDF
    passphrase = _passphrase(confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.recover(ctx, await holder.resolve(ctx, wallet), code, passphrase)
        return {"wallet_id": opened.wallet_id, "passphrase_changed": True}

    _print(_run(work))


@wallet_app.command("passphrase")
@fails_as_problem
def passphrase(wallet: WalletOption = None) -> None:
    """A new passphrase (AMANA_WALLET_NEW_PASSPHRASE or a prompt) after unlocking with the current one;
    only the vault key is re-wrapped, the recovery code stays the same."""
    current = _passphrase()
    new = _secret(NEW_ENV, "New wallet passphrase", confirm=True)

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), current)
        await holder.change_passphrase(ctx, opened, new)
        return {"wallet_id": opened.wallet_id, "passphrase_changed": True}

    _print(_run(work))


@wallet_app.command("destroy")
@fails_as_problem
def destroy(exported: Annotated[Path, typer.Option("--exported", exists=True, dir_okay=False,
                                                   help="the export file of this wallet, made before")],
            yes: Annotated[bool, typer.Option("--yes", help="do not ask (scripts)")] = False,
            wallet: WalletOption = None) -> None:
    """Delete this wallet from this node after it was exported; prints a receipt saying so."""
    data = exported.read_bytes()
    made = export.header(data)
    passphrase = _passphrase()

    async def work(ctx: holder.WalletContext) -> dict[str, Any]:
        opened = await holder.unlock(ctx, await holder.resolve(ctx, wallet), passphrase)
        if made["wallet_id"] != opened.wallet_id:
            raise InvalidInput("that export file is of another wallet: nothing was deleted")
        if not yes and not typer.confirm("Delete this wallet from this node for good?", err=True):
            raise typer.Exit(1)
        await holder.destroy(ctx, opened)
        return {"receipt": "wallet destroyed", "wallet_id": opened.wallet_id, "destroyed_at": iso(ctx.now()),
                "node": ctx.settings.public_base_url, "export_sha256": hashlib.sha256(data).hexdigest(),
                "exported_at": iso(made["exported_at"])}

    _print(_run(work))
