"""``amana issuer``: bootstrap an organisation and make offers from a shell, on the same store
as the running server (same ``AMANA_DATA_DIR`` / ``DATABASE_URL``). For scripts, tests and
staff without a browser. Secrets (the API key, the PIN) are printed once, to stdout only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from core import db, esco, qr
from core._cli_common import fails_as_problem, operator_name, option_file
from core.encoding import json_loads_strict
from core.errors import AlreadyExists, InvalidInput, NotFound
from core.settings import get_settings
from issuer import metadata, offer_admin, store
from issuer.context import IssuerContext
from issuer.revocation import STATUS_NAMES, Action
from issuer.staff_api import OfferCreate, change_status, create_offer
from issuer.tables import Organisation, Staff

issuer_app = typer.Typer(no_args_is_help=True, help="Issuer: organisations and credential offers.")


async def _context() -> IssuerContext:
    ctx = IssuerContext.create(get_settings())
    await db.upgrade(ctx.engine)
    return ctx


def _names(pairs: list[str]) -> dict[str, str]:
    names = dict(p.split("=", 1) for p in pairs if "=" in p)
    if len(names) != len(pairs) or not names:
        raise InvalidInput("--name takes LANG=name, e.g. en=Open Doors")
    return names


@issuer_app.command("create-org")
@fails_as_problem
def create_org(
    slug: Annotated[str, typer.Option(help="short name in the issuer URL, e.g. open-doors")],
    name: Annotated[list[str], typer.Option(help="LANG=name, repeatable")],
    type_: Annotated[list[str], typer.Option("--type", help="credential type it issues, repeatable")],
    staff: Annotated[str, typer.Option(help="name of the first staff member")] = "admin",
    keep_claims_days: Annotated[int | None, typer.Option(help="keep issued claims this long (default: no)")] = None,
    jwks_out: Annotated[Path | None, typer.Option(help="write the public JWKS here (for trust add-issuer)")] = None,
) -> None:
    """Create an organisation with a signing key; prints its issuer URL and a staff API key once."""
    if not slug.replace("-", "").isalnum() or not slug.islower() or len(slug) > 64:
        raise InvalidInput("the slug is lowercase letters, digits and dashes")
    first = operator_name(staff, "a staff member's name")

    async def run() -> dict[str, Any]:
        ctx = await _context()
        vcts = [ctx.types.by_name(t).vct for t in type_]
        now = ctx.now()
        async with ctx.transaction() as session:
            if await store.org_by_slug(session, slug) is not None:  # else the unique slug's IntegrityError
                raise AlreadyExists(f"an organisation {slug!r} exists already: nothing was made")
            org, api_key = await store.create_org(session, ctx.node, slug=slug, names=_names(name), vcts=vcts,
                                                  keep_claims_days=keep_claims_days, staff_name=first, now=now)
            jwks = await store.published_keys(session, org.id, now)
            [made] = await store.staff_of(session, org.id)
        await ctx.engine.dispose()
        if jwks_out is not None:
            jwks_out.write_text(json.dumps({"keys": jwks}, indent=2) + "\n")
        url = metadata.issuer_url(ctx.settings.public_base_url, slug)
        return {"org_id": org.id, "issuer": url, "vcts": vcts, "api_key": api_key, "staff_id": made["id"]}

    typer.echo(json.dumps(asyncio.run(run())))


@issuer_app.command("offer")
@fails_as_problem
def offer(
    org: Annotated[str, typer.Option(help="the organisation's slug")],
    type_: Annotated[str, typer.Option("--type", help="credential type")],
    claims: Annotated[Path, option_file("JSON file with the holder's claims")],
    batch: Annotated[int, typer.Option(min=1, max=10, help="credentials the holder may fetch (unlinkable copies)")] = 1,
    language: Annotated[str, typer.Option(help="the holder's language")] = "en",
    reference: Annotated[str | None, typer.Option(help="your reference: a name or case number (kept sealed)")] = None,
    qr_file: Annotated[Path | None, typer.Option("--qr", help="also draw the offer's QR code into this file "
                                                 "(.svg or .png), to print or show; the PIN goes separately")] = None,
) -> None:
    """Create an offer; prints JSON with the openid-credential-offer:// link and its PIN."""
    request = OfferCreate(type=type_, claims=json_loads_strict(claims.read_bytes(), "claims file"),
                          batch_size=batch, language=language, reference=reference)
    if qr_file is not None and (qr_file.suffix.lower() not in (".svg", ".png") or not qr_file.parent.is_dir()
                                or qr_file.is_dir()):
        raise InvalidInput("--qr names a .svg or a .png file, in a folder that exists")

    async def run() -> dict[str, Any]:
        ctx = await _context()
        async with ctx.transaction() as session:
            organisation = await store.org_by_slug(session, org)
        if organisation is None:
            raise NotFound(f"no organisation {org!r}")
        operator = Staff(id="cli", org_id=organisation.id, name="amana issuer offer")
        created = await create_offer(ctx, operator, organisation, request)
        await ctx.engine.dispose()
        return created.model_dump()

    made = asyncio.run(run())
    if qr_file is not None:  # what the API serves at qr_svg / qr_png, which asks for a staff key
        try:
            if qr_file.suffix.lower() == ".png":
                qr_file.write_bytes(qr.png(made["qr_link"]))
            else:
                qr_file.write_text(qr.svg(made["qr_link"], standalone=True))
            made["qr"] = str(qr_file)
        except OSError as exc:  # the offer stands, and its PIN is shown once: printed all the same
            typer.echo(f"note: the QR code could not be written ({exc.strerror}); the offer's qr_link is its text",
                       err=True)
    typer.echo(json.dumps(made))


@issuer_app.command("skills")
@fails_as_problem
def skills(words: Annotated[str, typer.Argument(help="words of the skill, in English (ESCO's labels are)")]) -> None:
    """ESCO skills matching some words, best first: one JSON line each, with the uri a claims file's
    ``skill.uri`` wants (what the console's skill field searches)."""
    if not words.strip():
        raise InvalidInput("say some words of the skill, e.g. forklift")
    found = esco.classification().search(words)
    for skill in found:
        typer.echo(json.dumps({"uri": skill.uri, "label": skill.label}))
    if not found:
        typer.echo("note: no ESCO skill matches these words; try fewer, or others (ESCO's labels are English)",
                   err=True)


@issuer_app.command("rotate-key")
@fails_as_problem
def rotate_key(org: Annotated[str, typer.Option(help="the organisation's slug")]) -> None:
    """Make a new signing key; the old one stays in the JWKS until its last credential expires."""

    async def run() -> dict[str, Any]:
        ctx = await _context()
        now = ctx.now()
        async with ctx.transaction() as session:
            organisation = await store.org_by_slug(session, org)
            if organisation is None:
                raise NotFound(f"no organisation {org!r}")
            publish_until = now + ctx.settings.credential_validity_days * 86400
            kid = await store.rotate_key(session, ctx.node, organisation.id, now, publish_until)
        await ctx.engine.dispose()
        return {"kid": kid, "previous_key_published_until": publish_until}

    typer.echo(json.dumps(asyncio.run(run())))


def _as_staff(org: str, fn: Callable[[IssuerContext, Staff, Organisation], Awaitable[Any]]) -> Any:
    """Run ``fn`` for organisation ``org`` as a shell operator (same rules as its staff)."""

    async def run() -> Any:
        ctx = await _context()
        try:
            async with ctx.transaction() as session:
                organisation = await store.org_by_slug(session, org)
            if organisation is None:
                raise NotFound(f"no organisation {org!r}")
            return await fn(ctx, Staff(id="cli", org_id=organisation.id, name="amana issuer"), organisation)
        finally:
            await ctx.engine.dispose()

    return asyncio.run(run())


OrgOption = Annotated[str, typer.Option(help="the organisation's slug")]


@issuer_app.command("credentials")
@fails_as_problem
def credentials(
    org: OrgOption,
    reference: Annotated[str | None, typer.Option(help="only the credentials of offers with this reference")] = None,
) -> None:
    """Every credential of the organisation (newest first), with its offer's reference: one JSON line each."""

    async def listing(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> list[dict[str, Any]]:
        out, after = [], None
        async with ctx.transaction() as session:
            offer_ids = None if reference is None else [
                o.id for o in await store.offers_by_reference(session, ctx.node, organisation.id, reference)]
            while True:
                rows = await store.credentials_page(session, organisation.id, after=after, offer_ids=offer_ids)
                out += [{"id": r.id, "offer_id": r.offer_id, "vct": r.vct, "status": STATUS_NAMES[r.status],
                         "reference": store.offer_reference(ctx.node, r.offer_id or "", sealed),
                         "issued_at": r.issued_at, "expires_at": r.expires_at} for r, sealed in rows]
                if not rows:
                    return out
                after = (rows[-1][0].issued_at, rows[-1][0].id)

    for row in _as_staff(org, listing):
        typer.echo(json.dumps(row, ensure_ascii=False))


def _status_command(action: Action) -> Callable[..., None]:
    def command(org: OrgOption, credential: Annotated[str, typer.Option("--id", help="the credential's id")]) -> None:
        async def change(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> dict[str, Any]:
            return (await change_status(ctx, organisation, credential, action)).model_dump()

        typer.echo(json.dumps(_as_staff(org, change)))

    command.__doc__ = f"{action.value.capitalize()} a credential and every copy of its batch (the status list changes)."
    return fails_as_problem(command)


for _action in Action:
    issuer_app.command(_action.value)(_status_command(_action))


@issuer_app.command("offers")
@fails_as_problem
def offers(
    org: OrgOption,
    reference: Annotated[str | None, typer.Option(help="only the offers with this reference")] = None,
) -> None:
    """Every offer not yet collected, newest first: one JSON line each."""

    async def listing(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> list[offer_admin.OpenOffer]:
        out, after = [], None
        while True:
            page, after = await offer_admin.open_offers(ctx, organisation, after=after, limit=500, reference=reference)
            out += page
            if after is None:
                return out

    for row in _as_staff(org, listing):
        typer.echo(json.dumps(row.model_dump(mode="json"), ensure_ascii=False))


@issuer_app.command("cancel-offer")
@fails_as_problem
def cancel_offer(org: OrgOption, offer_id: Annotated[str, typer.Option("--id", help="the offer's id")]) -> None:
    """Cancel an offer not yet collected: its QR and PIN stop working at once."""
    _as_staff(org, lambda ctx, _s, organisation: offer_admin.cancel(ctx, organisation, offer_id))
    typer.echo(json.dumps({"offer_id": offer_id, "state": "cancelled"}))


@issuer_app.command("reoffer")
@fails_as_problem
def reoffer(org: OrgOption, offer_id: Annotated[str, typer.Option("--id", help="the offer's id")]) -> None:
    """Replace an offer not yet collected (lost sheet, locked PIN) with a new link and PIN."""
    created = _as_staff(org, lambda ctx, staff, organisation: offer_admin.reoffer(ctx, staff, organisation, offer_id))
    typer.echo(json.dumps(created.model_dump(mode="json"), ensure_ascii=False))


# --- the staff's keys: a key is shown once; a revoked one stops at once and stays listed ---------


@issuer_app.command("add-staff")
@fails_as_problem
def add_staff(org: OrgOption, name: Annotated[str, typer.Option(help="the staff member's name")]) -> None:
    """Give a colleague a key of their own (console and staff API); prints their id and key once."""
    kept = operator_name(name, "a staff member's name")

    async def add(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> dict[str, str]:
        async with ctx.transaction() as session:
            staff_id, api_key = await store.add_staff(session, ctx.node, organisation.id, kept, ctx.now())
        return {"id": staff_id, "name": kept, "api_key": api_key}

    typer.echo(json.dumps(_as_staff(org, add), ensure_ascii=False))


@issuer_app.command("staff")
@fails_as_problem
def staff(org: OrgOption) -> None:
    """Everyone who ever had a key of the organisation, oldest first: one JSON line each, with when it
    was made and revoked (Unix seconds; revoked_at null while in force). Keys are never shown again."""

    async def listing(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> list[dict[str, Any]]:
        async with ctx.transaction() as session:
            return await store.staff_of(session, organisation.id)

    for row in _as_staff(org, listing):
        typer.echo(json.dumps(row, ensure_ascii=False))


@issuer_app.command("revoke-staff")
@fails_as_problem
def revoke_staff(org: OrgOption, staff_id: Annotated[str, typer.Option("--id", help="their id, as `staff` lists it")]
                 ) -> None:
    """Revoke a staff member's key now (a colleague who left, a lost laptop): the staff API refuses
    it and their console sessions end. Their offers and credentials stay as they are."""

    async def revoke(ctx: IssuerContext, _staff: Staff, organisation: Organisation) -> dict[str, Any]:
        async with ctx.transaction() as session:
            return await store.revoke_staff(session, organisation.id, staff_id, ctx.now())

    revoked = _as_staff(org, revoke)
    typer.echo(json.dumps(revoked, ensure_ascii=False))
    if not revoked["keys_in_force"]:
        typer.echo(f"note: no key of {org!r} works now; `amana issuer add-staff --org {org}` makes one", err=True)
