"""The OpenAPI document's refusals, made to say what the node answers.

FastAPI documents every operation that takes a parameter as answering 422 with its own
``HTTPValidationError``, and nothing else. The node never answers that: ``core.web`` maps each
refusal once, to RFC 9457 problem details (``application/problem+json``; a malformed request
is a 400), and the wire protocols' endpoints answer with the error object their specs name
(RFC 6749 §5.2, RFC 6750 §3, OpenID4VCI 1.0 §6.3 and §8.3.1.2, OpenID4VP 1.0 §8.5 for
``direct_post``). A client generated from the old document expected the wrong status and the
wrong shape for every refusal.

So the document is rewritten once, when it is first built (``install``):

- the ``Problem`` and ``OAuthError`` schemas join its components, FastAPI's two go;
- FastAPI's 422 becomes a 400 problem, unless the route declared its own 400;
- every operation gets a ``default`` answer: a problem (404, 413, 429 and every other refusal);
- routes declare the OAuth-shaped answers themselves, with ``oauth`` below (the protocol
  endpoints, and the 401 of the APIs a Bearer key opens).

``tests/test_node_schemathesis.py`` holds the running node to it: every answer to thousands of
generated requests must have a documented status, media type and shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from core.errors import PROBLEM_TYPE_BASE

PROBLEM_JSON = "application/problem+json"
_REF = "#/components/schemas/"
_FASTAPIS = ("HTTPValidationError", "ValidationError")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": f"RFC 9457 problem details; `type` is `{PROBLEM_TYPE_BASE}` and `code`, the same code a program "
                   "reads in `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string", "description": "a short, fixed sentence for people"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what was wrong, never a value the request carried"},
        "code": {"type": "string"},
    },
}

OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "title": "OAuthError",
    "description": "RFC 6749 §5.2's error object, as OpenID4VCI and OpenID4VP use it. Members this node adds "
                   "(specs/formats/token-errors.md) may appear beside them.",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "tx_code_tries_left": {"type": "integer", "minimum": 0,
                               "description": "a wrong tx_code only: tries left before the offer locks"},
    },
}


def oauth(description: str) -> dict[str, Any]:
    """A route's ``responses`` entry for a refusal with the OAuth error object."""
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF + "OAuthError"}}}}


def problem(description: str) -> dict[str, Any]:
    """A route's ``responses`` entry for a refusal with RFC 9457 problem details."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": _REF + "Problem"}}}}


KEY_REFUSED: dict[int | str, dict[str, Any]] = {
    401: oauth("no key, or one unknown or revoked: `invalid_token` (RFC 6750 §3)")}
_MALFORMED = problem("the request is malformed")
_OTHERWISE = problem("any other refusal (not found, too large, too many requests, ...)")


def document_refusals(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (FastAPI's document) with its refusals as the node answers them; changed in place."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPIS:
        schemas.pop(name, None)
    schemas["Problem"], schemas["OAuthError"] = PROBLEM_SCHEMA, OAUTH_ERROR_SCHEMA
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            answers = operation.setdefault("responses", {})
            if answers.pop("422", None) is not None:
                answers.setdefault("400", _MALFORMED)
            answers["default"] = _OTHERWISE
    return spec


def install(app: FastAPI) -> None:
    """``app.openapi`` builds FastAPI's document once, then rewritten by ``document_refusals``."""
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_refusals(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
