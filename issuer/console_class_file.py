"""A class file to start from: the console's empty CSV for a credential type, its header row only.

helper-92: a trainer had to guess the columns (the help named three, a wrong one was refused with
bare ids). The class form lists each column beside its label; this gives the same as a file that a
spreadsheet opens in the trainer's language (``classes.template``). Staff only, like the console.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from core import web_pages
from core.errors import Forbidden
from issuer import classes
from issuer.context import IssuerContext, get_context
from issuer.pages import who_is_in
from issuer.staff_api import allowed_type

router = APIRouter(prefix="/issuer/console", include_in_schema=False)
Ctx = Annotated[IssuerContext, Depends(get_context)]


@router.get("/class-file/{type_name}.csv")
async def class_file(type_name: str, request: Request, ctx: Ctx) -> Response:
    who = await who_is_in(ctx, request)
    if who is None:
        raise Forbidden("sign in to the console first")
    ctype = allowed_type(ctx, who[1], type_name)
    return Response(classes.template(ctype, web_pages.page_language(request)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{ctype.name}-class.csv"',
                             "Cache-Control": "no-store"})
