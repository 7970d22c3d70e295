"""The committed OpenAPI document (specs/openapi/amana.json) is the one the code serves."""

from __future__ import annotations

from server.openapi import TARGET, document


def test_openapi_document_has_not_drifted() -> None:
    assert TARGET.read_text(encoding="utf-8") == document(), "run: python -m server.openapi"
