"""``amana wallet``: the smallest holder for a shell — receive a credential, answer a check.

Until the wallet service lands (its own issue), this is how a person on a terminal, the
README's first-credential walk-through and its test play the holder. It is built on the
same two modules the service will use (``wallet.receive`` for OpenID4VCI, ``wallet.present``
for OpenID4VP); it adds only a file to keep what was received.

What it keeps: ``$AMANA_DATA_DIR/wallet/held.json`` (or ``--wallet FILE``), mode 0600 in a
0700 directory, holding each credential with its holder key. It is not encrypted: the
wallet service's vault (Argon2id under the holder's passphrase) is where credentials of
real people belong. A copy shown to one verifier is never shown to another (unlinkability:
batch copies are there for that); when none is left, the holder asks the issuer again.
Plain http is used only in the node's local mode (``Settings.local_mode``).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer

from core import dcql, keys
from core._cli_common import fails_as_problem
from core.credtypes import load_registry
from core.errors import InvalidInput
from core.fetch import FetchFailed, FetchRefused
from core.settings import get_settings
from wallet import present as presenting
from wallet.receive import Received
from wallet.receive import receive as receiving

T = TypeVar("T")
wallet_app = typer.Typer(no_args_is_help=True, help="Holder: receive a credential, answer a check (shell wallet).")
WalletOption = Annotated[Path | None, typer.Option("--wallet", help="file of held credentials "
                                                   "(default: $AMANA_DATA_DIR/wallet/held.json)")]


def _path(wallet: Path | None) -> Path:
    return wallet or get_settings().data_dir / "wallet" / "held.json"


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    held: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return held


def _save(path: Path, held: list[dict[str, Any]]) -> None:
    """Write beside, then rename: a crash leaves the old file or the new one, readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a stale file of another mode keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(held, f, ensure_ascii=False, indent=1)
    os.replace(temporary, path)


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


def choose(held: list[dict[str, Any]], query: dcql.DcqlQuery, client_id: str) -> dict[str, int]:
    """For each Credential Query, a held copy of the right type that no *other* verifier has seen.

    Copies of a batch are unlinkable only if each verifier sees its own; showing the same
    copy to one verifier again reveals nothing new.
    """
    chosen: dict[str, int] = {}
    for wanted in query.credentials:
        fits = [i for i, c in enumerate(held) if c["vct"] in wanted.vct_values and c["shown_to"] in
                (None, client_id) and i not in chosen.values()]
        if not fits:
            raise InvalidInput(f"no credential in the wallet answers {wanted.id!r} (or every copy was shown to "
                               "another verifier already: ask the issuer for a new one)")
        chosen[wanted.id] = min(fits, key=lambda i: held[i]["shown_to"] is None)  # this verifier's copy first
    return chosen


@wallet_app.command("receive")
@fails_as_problem
def receive(
    link: Annotated[str, typer.Argument(help="the openid-credential-offer:// link (the QR code's text)")],
    pin: Annotated[str, typer.Option(help="the PIN the issuer told you")],
    copies: Annotated[int, typer.Option(min=1, max=10, help="unlinkable copies to ask for (the issuer may give "
                                        "fewer)")] = 3,
    wallet: WalletOption = None,
) -> None:
    """Redeem an offer; the credential is checked, then kept with its key. Prints what arrived, not its values."""
    types = load_registry(get_settings().specs_dir)

    async def run() -> list[Received]:
        async with _client() as http:
            return await _talk(receiving(http, link, pin.strip(), copies=copies, types=types))

    received = asyncio.run(run())
    path = _path(wallet)
    batch = secrets.token_urlsafe(8)  # copies of one batch share one fate at the issuer: remember which go together
    held = _load(path) + [{"credential": r.credential, "holder_key": r.holder_key.to_jwk(), "vct": r.verified.vct,
                           "issuer": r.verified.issuer, "batch": batch, "shown_to": None} for r in received]
    _save(path, held)
    first = received[0].verified
    name = first.credential_type.display_name("en") if first.credential_type else first.vct
    typer.echo(json.dumps({"received": len(received), "type": name, "issuer": first.issuer, "wallet": str(path)},
                          ensure_ascii=False))


@wallet_app.command("present")
@fails_as_problem
def present(
    link: Annotated[str, typer.Argument(help="the openid4vp:// link (the desk's QR code's text)")],
    yes: Annotated[bool, typer.Option("--yes", help="agree without asking (scripts)")] = False,
    wallet: WalletOption = None,
) -> None:
    """Answer a verifier's request with exactly the claims it asks for, after you agree."""
    path = _path(wallet)
    held = _load(path)

    async def fetch() -> presenting.VerifierRequest:
        async with _client() as http:
            return await _talk(presenting.fetch_request(http, link))

    request = asyncio.run(fetch())
    chosen = choose(held, request.query, request.client_id)
    asked = {query.id: [".".join(map(str, c.path)) for c in query.claims or ()] for query in request.query.credentials}
    typer.echo(f"{request.client_id} asks for: {json.dumps(asked, ensure_ascii=False)}", err=True)
    if not yes and not typer.confirm("Show these, and nothing else?", err=True):
        raise typer.Exit(1)
    pairs = {q: (held[i]["credential"], keys.PrivateKey.from_jwk(held[i]["holder_key"])) for q, i in chosen.items()}
    vp = presenting.vp_token(request, pairs, int(time.time()))

    async def send() -> httpx.Response:
        async with _client() as http:
            return await _talk(presenting.answer(http, request, vp))

    response = asyncio.run(send())
    if response.status_code != 200:
        raise FetchFailed(f"the verifier did not take the answer ({response.status_code})")
    for i in chosen.values():
        held[i]["shown_to"] = request.client_id
    _save(path, held)
    typer.echo(json.dumps({"answered": request.client_id, "shown": asked}, ensure_ascii=False))
