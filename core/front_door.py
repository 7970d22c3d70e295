"""The node's front page at ``/``: a door per service this node runs (the wallet, the issuer's
console, the verifier's desk), in the reader's language, for a person who typed the node's
address. A browser that asks for an address no route answers gets the same page, status 404,
saying so, where it got a problem+json body; a program (one that does not accept HTML) still
gets the problem, and a protocol endpoint's own 404 (an offer used up, a check gone) is untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NamedTuple

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import i18n, web_pages


class Door(NamedTuple):
    """A service's page for people (``core.service.Service.door``), as the front page shows it."""

    path: str
    pictogram: str
    words_key: str  # i18n key of what a visitor comes to do there
    rank: int  # its place on the page: holders' first, whom the node is for


_templates = web_pages.page_templates(Path(__file__).parent / "templates")


def render(request: Request, doors: Sequence[Door], status: int = 200,
           lang: str | None = None) -> HTMLResponse:
    choice = i18n.choose(lang, request.headers.get("accept-language"))
    context = web_pages.open_page_context(choice, request) | {
        "doors": doors, "message": i18n.t(choice.lang, "front.not_found") if status == 404 else None}
    return HTMLResponse(_templates.get_template("front.html").render(context), status_code=status,
                        headers={"Cache-Control": "no-store", "Vary": "Accept-Language"})


def install(app: FastAPI, doors: Sequence[Door]) -> None:
    """Add ``/`` with ``doors``, and the browser's 404 page (after ``core.staff.install``: every
    other HTTP error goes on to the handler it left)."""
    doors = sorted(doors, key=lambda door: door.rank)
    previous = app.exception_handlers[StarletteHTTPException]  # web's, as core.staff refined it

    # HEAD too, as some uptime checks probe (RFC 9110 section 9.3.2); /health takes it as well.
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False, response_class=HTMLResponse)
    async def front(request: Request, lang: Annotated[str | None, Query(max_length=35)] = None) -> HTMLResponse:
        return render(request, doors, lang=lang)

    async def no_such_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and \
                "text/html" in request.headers.get("accept", ""):
            return render(request, doors, 404, request.query_params.get("lang"))
        answer = previous(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, no_such_page)
