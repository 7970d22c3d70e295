"""The verifier service: ``uvicorn verifier.app:app`` alone, or inside ``amana serve``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from core import db, front_door, service, web_pages
from core.settings import Settings, get_settings
from verifier import api, ask_page, offline_pages, pages
from verifier.context import VerifierContext


async def start(app: FastAPI, settings: Settings) -> VerifierContext:
    ctx = VerifierContext.create(settings)
    app.state.verifier = ctx  # first: a start that fails below is stopped (core.service), its engine disposed
    await db.upgrade(ctx.engine)
    return ctx


async def stop(app: FastAPI) -> None:
    ctx: VerifierContext | None = getattr(app.state, "verifier", None)
    if ctx is not None:
        await ctx.stop_background()
        await ctx.engine.dispose()


STATIC = Path(__file__).parent / "static"


def attach(app: FastAPI) -> None:
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(offline_pages.router)
    app.include_router(ask_page.router)
    app.mount("/static/verifier", StaticFiles(directory=STATIC), name="verifier-static")
    web_pages.mount_shared_static(app)


SERVICE = service.Service(start, stop, attach, front_door.Door("/verifier/desk", "scan", "front.desk", 2))


def build_app(settings: Settings | None = None) -> FastAPI:
    return service.build_app("Amana verifier", settings or get_settings(), [SERVICE])


app = build_app()
