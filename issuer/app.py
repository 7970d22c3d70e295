"""The issuer service: ``uvicorn issuer.app:app`` alone, or inside ``amana serve``.

``build_app`` makes a stand-alone app; ``attach`` adds the issuer's routes and start-up to
another app (the one-process node). At start-up the schema is migrated (Alembic) and the
context built; nothing touches the disk or the database at import time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from core import db, front_door, service, web_pages
from core.settings import Settings, get_settings
from issuer import (
    api,
    console_class_file,
    console_offers,
    discovery,
    offer_admin,
    offer_page,
    pages,
    staff_api,
    status_api,
    store,
)
from issuer.context import IssuerContext


async def start(app: FastAPI, settings: Settings) -> IssuerContext:
    ctx = IssuerContext.create(settings)
    app.state.issuer = ctx  # first: a start that fails below is stopped (core.service), its engine disposed
    await db.upgrade(ctx.engine)
    async with ctx.transaction() as session:
        await store.purge_expired(session, ctx.now())
    return ctx


async def stop(app: FastAPI) -> None:
    ctx: IssuerContext | None = getattr(app.state, "issuer", None)
    if ctx is not None:
        await ctx.engine.dispose()


STATIC = Path(__file__).parent / "static"


def attach(app: FastAPI) -> None:
    app.include_router(discovery.router)
    app.include_router(api.router)
    app.include_router(status_api.router)
    app.include_router(staff_api.router)
    app.include_router(offer_admin.router)
    app.include_router(pages.router)
    app.include_router(console_offers.router)
    app.include_router(console_class_file.router)
    app.include_router(offer_page.router)
    app.mount("/static/issuer", StaticFiles(directory=STATIC), name="issuer-static")
    web_pages.mount_shared_static(app)


SERVICE = service.Service(start, stop, attach, front_door.Door("/issuer/console", "building", "front.console", 1))


def build_app(settings: Settings | None = None) -> FastAPI:
    return service.build_app("Amana issuer", settings or get_settings(), [SERVICE])


app = build_app()
