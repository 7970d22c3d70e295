"""Every open offer is within staff's reach (issue 10 item 10: "the open offers list, so a lost
sheet can be cancelled"; the same shape as issue 11 defect 5). The list stopped at the newest
500, one class CSV holds up to 500 trainees, and the console found an offer to confirm its
cancellation only in that list: a sheet printed before a large class could no longer be found,
cancelled or replaced. Now the list pages in a total order (Link: rel=next), finds an offer
by its reference, and the console opens any open offer by its id.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import console_app
from tests.test_issuer_console import _csrf, _signed_in

EXAMPLE = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
CLASS = "given_name,family_name\n" + "".join(f"Trainee,Number {i}\n" for i in range(300))


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    """A lost sheet made a minute before two classes of 300: 601 open offers."""
    for client, key in console_app(tmp_path_factory.mktemp("open-offers")):
        headers = {"Authorization": f"Bearer {key}"}
        ctx = client.app.state.issuer  # type: ignore[attr-defined]
        ctx.clock.offset = -60
        try:
            r = client.post("/api/issuer/offers", headers=headers,
                            json={"type": "SkillCertificate", "claims": EXAMPLE, "reference": "Lost sheet 4711"})
        finally:
            ctx.clock.offset = 0
        assert r.status_code == 201, r.text
        defaults = {k: v for k, v in EXAMPLE.items() if k not in ("given_name", "family_name")}
        for name in ("A", "B"):
            made = client.post("/api/issuer/classes", headers=headers,
                               json={"type": "SkillCertificate", "csv": CLASS, "defaults": defaults,
                                     "reference": f"Class {name}"})
            assert made.status_code == 201 and len(made.json()["offers"]) == 300, made.text[:300]
        yield client, key, r.json()["offer_id"]


def _pages(client: TestClient, key: str, url: str) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    while url:
        r = client.get(url, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        rows += r.json()
        pages += 1
        url = r.links.get("next", {}).get("url", "")
    return rows, pages


def test_every_open_offer_is_listed_page_by_page(crowded: tuple[TestClient, str, str]) -> None:
    client, key, lost = crowded
    rows, pages = _pages(client, key, "/api/issuer/offers?limit=250")
    assert pages == 3 and len(rows) == 601 and len({o["offer_id"] for o in rows}) == 601
    assert rows[-1]["offer_id"] == lost  # the oldest, last
    order = [(-o["created_at"], o["offer_id"]) for o in rows]
    assert order == sorted(order)
    assert client.get("/api/issuer/offers?after=nonsense", headers={"Authorization": f"Bearer {key}"}).status_code \
        == 400


def test_a_lost_sheet_is_found_by_its_reference_and_cancelled_from_the_console(
        crowded: tuple[TestClient, str, str]) -> None:
    client, key, lost = crowded
    found, _ = _pages(client, key, "/api/issuer/offers?reference=%20lost%20SHEET%204711")
    assert [o["offer_id"] for o in found] == [lost]
    home = _signed_in(client, key)
    asked = client.post(f"/issuer/console/offers/{lost}/cancel", data={"csrf": _csrf(home), "lang": "en"})
    assert asked.status_code == 200 and "Lost sheet 4711" in asked.text, asked.text[:500]  # the confirmation page
    client.post(f"/issuer/console/offers/{lost}/cancel",
                data={"csrf": _csrf(asked.text), "lang": "en", "confirm": "yes"})
    assert _pages(client, key, "/api/issuer/offers?reference=Lost%20sheet%204711")[0] == []
    searched = client.get("/issuer/console?reference=Class%20B%20%237")
    assert searched.text.count("Class B #7<") == 1 and "Class B #8<" not in searched.text  # finds offers too


def test_the_console_pages_through_open_offers(crowded: tuple[TestClient, str, str]) -> None:
    client, key, _ = crowded
    home = _signed_in(client, key)
    seen: list[str] = []
    for _ in range(20):
        seen += re.findall(r"/issuer/console/offers/([^/\"]+)/cancel", home)
        link = re.search(r'<a rel="next" href="([^"]+#open-offers)"', home)
        if not link:
            break
        home = client.get(html.unescape(link.group(1)).split("#")[0]).text
    listed = {o["offer_id"] for o in _pages(client, key, "/api/issuer/offers?limit=500")[0]}
    assert len(seen) == len(set(seen)) and set(seen) == listed  # each open offer on exactly one page
