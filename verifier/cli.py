"""``amana verifier``: set up a desk and run checks from a shell, on the same store as the server.

``request`` keeps the result key in ``$AMANA_DATA_DIR/verifier/pending/<id>.key`` (mode
0600) and ``result`` deletes it once the result has been shown: the result exists once.
Exit codes of ``result``: 0 verified, 1 refused (or an error), 3 still waiting.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from core import db, keys
from core._cli_common import fails_as_problem, operator_name
from core.errors import NotFound
from core.settings import get_settings
from verifier import checks, results, store
from verifier.context import VerifierContext
from verifier.requests import Prefix

T = TypeVar("T")
verifier_app = typer.Typer(no_args_is_help=True, help="Verifier: desks and checks.")


async def _context() -> VerifierContext:
    ctx = VerifierContext.create(get_settings())
    await db.upgrade(ctx.engine)
    return ctx


def _pending(check_id: str) -> Path:
    if not check_id.replace("-", "").replace("_", "").isalnum():
        raise NotFound("not a check id")
    return get_settings().data_dir / "verifier" / "pending" / f"{check_id}.key"


@verifier_app.command("init")
@fails_as_problem
def init(
    desk: Annotated[str, typer.Option(help="name of the desk (e.g. front desk)")] = "desk",
    jwks_out: Annotated[Path | None, typer.Option(help="also write the JWKS here (for trust register-verifier)")]
    = None,
) -> None:
    """Make the request-signing key (first run) and a desk key; print what to register in the trust list."""
    desk = operator_name(desk, "a desk's name")

    async def run() -> dict[str, Any]:
        ctx = await _context()
        async with ctx.transaction() as session:
            identity = await store.identity(session, ctx.node, ctx.settings.verifier_name, ctx.now())
            desk_key = await store.add_desk_key(session, ctx.node, desk, ctx.now())
        await ctx.engine.dispose()
        return {"verifier_id": ctx.settings.verifier_id, "desk_key": desk_key,
                "desk_id": store.desk_id(ctx.node, desk_key),
                "client_ids": {p.value: identity.client_id(p) for p in Prefix},
                "jwks": keys.jwks([identity.key.public_key(), identity.did_key.public_key()])}

    made = asyncio.run(run())
    if jwks_out is not None:
        jwks_out.write_text(json.dumps(made["jwks"], indent=2) + "\n")
    typer.echo(json.dumps(made))


@verifier_app.command("desks")
@fails_as_problem
def desks() -> None:
    """List the desk keys, one JSON object a line: id, name, made and revoked (Unix seconds; null while
    in force). The keys themselves are never kept: the id is what `revoke-desk` takes."""
    for desk in asyncio.run(_in_one_unit(lambda _ctx, session: store.desk_keys(session))):
        typer.echo(json.dumps(desk, ensure_ascii=False))


@verifier_app.command("revoke-desk")
@fails_as_problem
def revoke_desk(desk_id: Annotated[str, typer.Option("--id", help="the desk's id, as `desks` lists it")]) -> None:
    """Revoke a desk key now (a lost laptop, a desk closed): the desk API refuses it and every desk
    page signed in with it is signed out. The desk stays listed, with when it was revoked."""
    revoked = asyncio.run(_in_one_unit(lambda ctx, session: store.revoke_desk_key(session, desk_id, ctx.now())))
    typer.echo(json.dumps(revoked, ensure_ascii=False))
    if not revoked["keys_in_force"]:
        typer.echo("note: no desk key works now; `amana verifier init --desk NAME` makes one", err=True)


async def _in_one_unit(work: Callable[[VerifierContext, AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one transaction of the node's store; the engine closed whatever happens."""
    ctx = await _context()
    try:
        async with ctx.transaction() as session:
            return await work(ctx, session)
    finally:
        await ctx.engine.dispose()


@verifier_app.command("request")
@fails_as_problem
def request(
    query: Annotated[str, typer.Option(help="named query: right-to-work, skill-check, age-over-18, ...")],
    prefix: Annotated[Prefix, typer.Option(help="client identifier prefix")] = Prefix.X509_HASH,
    response_mode: Annotated[str | None, typer.Option(
        help="direct_post or direct_post.jwt (encrypted); default: the query's, else direct_post.jwt under "
             "x509_hash (HAIP) and direct_post under decentralized_identifier")] = None,
) -> None:
    """Create a check; prints its id, the openid4vp:// link and the path of its QR code (SVG)."""

    async def run() -> dict[str, Any]:
        ctx = await _context()
        created = await checks.create(ctx, query_name=query, custom=None, purpose=None, prefix=prefix,
                                      accept_unknown_status=False, response_mode=response_mode,
                                      desk=None)  # asked from the node's shell, by no desk
        await ctx.engine.dispose()
        return created

    created = asyncio.run(run())
    key_path = _pending(created["id"])
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(created.pop("result_key"))
    qr_path = key_path.with_suffix(".svg")
    qr_path.write_text(checks.qr_svg(created, standalone=True))
    typer.echo(json.dumps({**created, "qr": str(qr_path)}))


@verifier_app.command("result")
@fails_as_problem
def result(check_id: Annotated[str, typer.Argument(help="the id printed by `amana verifier request`")],
           close: Annotated[bool, typer.Option("--close", help="take what came while the check is open (a "
                                               "decline, an answer not bound to it) as the result now; the "
                                               "check then ends")] = False) -> None:
    """Print the result once (then it is gone). Exit 0 verified, 1 refused, 3 still waiting
    ("declined": true when something came that did not end the check: see --close)."""
    key_path = _pending(check_id)
    if not key_path.exists():
        raise NotFound("no pending check with this id here (or its result was already shown)")

    async def run() -> tuple[dict[str, Any] | None, bool]:
        ctx = await _context()
        try:
            key = key_path.read_text().strip()
            taken = await results.take_result(ctx, check_id, key, close=close)
            return taken, taken is None and await results.declined(ctx, check_id, key)
        finally:
            await ctx.engine.dispose()

    taken, declined = asyncio.run(run())
    if taken is None:
        typer.echo(json.dumps({"phase": "pending", "declined": declined}))
        raise typer.Exit(3)
    key_path.unlink(missing_ok=True)
    key_path.with_suffix(".svg").unlink(missing_ok=True)
    typer.echo(json.dumps(taken, ensure_ascii=False))
    raise typer.Exit(0 if taken["accepted"] else 1)


@verifier_app.command("sync")
@fails_as_problem
def sync(
    trust_list_url: Annotated[str | None, typer.Option(help="where the operator publishes the list (…/trust-list)")]
    = None,
) -> None:
    """Fetch the newest trust list and fresh copies of the status lists seen so far (a running server
    of this node sees them at once; an offline desk answers from them)."""

    async def run() -> dict[str, Any]:
        ctx = await _context()
        report = await checks.sync(ctx, trust_list_url)
        await ctx.engine.dispose()
        return report

    typer.echo(json.dumps(asyncio.run(run())))
