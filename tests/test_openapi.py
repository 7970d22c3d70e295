"""The committed OpenAPI document (specs/openapi/amana.json) is the one the code serves."""

from __future__ import annotations

import json

from server.openapi import TARGET, document


def test_openapi_document_has_not_drifted() -> None:
    assert TARGET.read_text(encoding="utf-8") == document(), "run: python -m server.openapi"


def test_every_refusal_is_documented_as_the_node_answers_it() -> None:
    """FastAPI's 422 ``HTTPValidationError`` is never answered (core.web maps a malformed request to a
    400 problem): the document must not promise it, and every operation must say what else comes."""
    spec = json.loads(document())
    assert "HTTPValidationError" not in json.dumps(spec)
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            answers = operation["responses"]
            assert "422" not in answers, (method, path)
            assert answers["default"]["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}, (method, path)
    token = spec["paths"]["/issuers/{slug}/token"]["post"]["responses"]["400"]
    assert token["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OAuthError"}
