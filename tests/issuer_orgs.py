"""An organisation made on an in-process issuer (a TestClient's app), as many tests need one.

The store is async and the TestClient runs the app on its own event loop, so the organisation
is made there (``client.portal``). Returns its first staff member's API key."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.testclient import TestClient

from issuer import store

SKILL_VCT = "urn:amana:credential:SkillCertificate:1"


def org_on(client: TestClient, slug: str = "open-doors", *, names: dict[str, str] | None = None,
           vcts: Iterable[str] = (SKILL_VCT,), keep_claims_days: int | None = None, staff_name: str = "t") -> str:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def made() -> str:
        async with ctx.transaction() as session:
            _org, api_key = await store.create_org(session, ctx.node, slug=slug, names=names or {"en": slug},
                                                   vcts=list(vcts), keep_claims_days=keep_claims_days,
                                                   staff_name=staff_name, now=ctx.now())
        return str(api_key)

    return str(client.portal.call(made))  # type: ignore[union-attr]
